//! What a site tells the verdict about itself, and the policy that maps verdicts to actions.

use serde::{Deserialize, Serialize};

/// The site: its domains and relays (evidence that a returned original is ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Our mail domains (envelope senders, From, Message-ID right-hand sides).
    pub domains: Vec<String>,
    /// Our outbound relays: host names (`*` wildcards allowed), IP addresses or CIDR ranges.
    pub relays: Vec<String>,
    /// Addresses that never send mail (no-reply, DMARC report addresses): bounces to them are
    /// never ours.
    pub never_sending: Vec<String>,
    /// Reporting MTAs whose reports are always accepted (host names, `*` wildcards allowed).
    pub allow_reporting_mtas: Vec<String>,
}

/// How verdicts become actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// `observe`: only tag (headers) and report; `enforce`: carry out the actions below.
    pub mode: Mode,
    /// Action for backscatter with strong evidence (a forged or missing tag we require).
    pub backscatter_strong: Action,
    /// Action for backscatter on content evidence only (relays, Message-ID, sender).
    pub backscatter: Action,
    pub ndr_spam: Action,
    pub unknown: Action,
    pub legitimate: Action,
    /// Score at or below which a report is backscatter, at or above which it is ours.
    pub threshold: i32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            mode: Mode::Enforce,
            backscatter_strong: Action::Reject,
            backscatter: Action::Quarantine,
            ndr_spam: Action::Quarantine,
            unknown: Action::Accept,
            legitimate: Action::Accept,
            threshold: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Observe,
    #[default]
    Enforce,
}

/// What the host does with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    /// Accept and add headers that carry the verdict.
    Tag,
    Quarantine,
    Reject,
    /// Accept and throw away: only on near-certainty (RFC 5321 §6.2).
    Drop,
    Tempfail,
}
