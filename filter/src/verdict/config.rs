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
    /// Domains we accept and relay mail for but do not own (a backup MX, an outbound gateway
    /// for customers): their reports are never judged as ours or as backscatter, and our BATV
    /// keys never verify their addresses. They pass.
    pub relay_domains: Vec<String>,
}

impl SiteConfig {
    /// True when `address` (or a bare domain) is in a domain we relay for but do not own.
    pub fn relays_for(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map_or(address, |(_, d)| d).trim_end_matches('>');
        self.relay_domains.iter().any(|d| crate::text::host_in(domain, d))
    }
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
    /// Score at or below which a report is backscatter, at or above which it is ours. A
    /// backscatter verdict also needs one signal of real weight against (see `verdict`): weak
    /// signals never add up to a block.
    pub threshold: i32,
    /// Days after a BATV tag expired within which a bounce to it is still a plausible late
    /// bounce of our mail (RFC 5321 §4.5.4.1: senders give up after 4–5 days): weak evidence.
    /// Past it, a tag is a replay of an old address of ours: strong evidence of forgery.
    pub bounce_horizon_days: u32,
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
            bounce_horizon_days: 5,
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
