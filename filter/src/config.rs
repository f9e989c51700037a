//! Site configuration and the envelope, as the host passes them (JSON over the ABI).

use serde::{Deserialize, Serialize};

/// Everything a site configures. Unknown fields are refused so that a typo is an error, not a
/// silently ignored setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub limits: Limits,
    /// BATV key ring and policy (`batv.rs`).
    pub batv: Option<crate::batv::BatvConfig>,
    /// SRS forwarding (`srs.rs`).
    pub srs: Option<crate::srs::SrsConfig>,
    /// Our domains and relays, for the backscatter verdict.
    pub site: Option<crate::verdict::SiteConfig>,
    /// How verdicts become actions.
    pub policy: crate::verdict::PolicyConfig,
}

/// Bounds on the work done for one message. Past a limit the report says what was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Bytes of the message that are read; the rest is ignored (a warning says so).
    pub max_message_bytes: usize,
    /// How deep nested messages (`message/rfc822` inside `message/rfc822`) are followed.
    pub max_nesting: usize,
    /// Embedded messages read at all; the message is cut before the next one.
    pub max_embedded_messages: usize,
    /// Recipients listed in one report.
    pub max_recipients: usize,
    /// MIME parts read, over the whole message and its nested messages.
    pub max_parts: usize,
    /// Header fields read per header block.
    pub max_headers: usize,
    /// Bytes of one header value (decoded) that are read.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 32 << 20,
            max_nesting: 8,
            max_embedded_messages: 64,
            max_recipients: 1000,
            max_parts: 1000,
            max_headers: 1000,
            max_header_bytes: 64 << 10,
        }
    }
}

/// The SMTP envelope of the message, when the host knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Envelope {
    /// MAIL FROM without angle brackets; empty string for the null sender `<>`.
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    pub client_ip: Option<String>,
    pub helo: Option<String>,
}
