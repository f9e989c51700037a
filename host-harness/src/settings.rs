//! The `[service]` section of the site configuration: what the mail services (milter, policy)
//! read and the module never sees, with the limits that keep a hostile or broken client from
//! taking a service down. Every field has a safe default.

use serde::{Deserialize, Serialize};

/// The `[service]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// What a failure (trap, timeout, bad configuration) answers: `accept` or `tempfail`.
    pub on_failure: OnFailure,
    /// Wall-clock bound on one module call, in milliseconds (fuel bounds the CPU as well).
    pub timeout_ms: u64,
    /// Prefix of the verdict headers the milter adds (`X-NDR-Verdict`, `X-NDR-Signals`).
    pub header_prefix: String,
    /// Outbound mail: sessions that authenticated (the `{auth_authen}` macro) ...
    pub outbound_authenticated: bool,
    /// ... clients in these networks (IP addresses or CIDR ranges) ...
    pub outbound_networks: Vec<String>,
    /// ... or connections to these Postfix daemons (`milter_macro_daemon_name`, `{daemon_name}`).
    pub outbound_daemons: Vec<String>,
    /// BATV results that refuse a null-sender recipient at RCPT time (when the policy enforces).
    /// Untagged recipients are never refused at RCPT: address-verification probes look the same.
    pub rcpt_reject: Vec<String>,
    /// The reply to such a recipient.
    pub rcpt_reply: String,
    /// Read the body of every message. Off (the default): mail from a real sender whose headers
    /// show no report (`ndr_prescreen`) is accepted at the end of its headers, so its body is
    /// never sent to the milter; a report sent with a real sender and innocent headers then
    /// passes unread (it could not be blocked without positive evidence anyway).
    pub scan_all_mail: bool,
    /// Connections served at once; past it a new connection is closed at once (the MTA then
    /// applies its `milter_default_action`, or Postfix's policy client its default).
    pub max_connections: usize,
    /// Seconds a connection may wait between two packets (milter) or requests (policy).
    pub idle_timeout_secs: u64,
    /// Seconds one packet (milter) or one request (policy) may take to arrive once begun.
    pub read_timeout_secs: u64,
    /// Recipients kept per transaction for classification (more are checked at RCPT, not kept).
    pub max_recipients: usize,
    /// Bytes of macro names and values kept per connection and transaction.
    pub max_macro_bytes: usize,
    /// Bytes of message bodies kept by all milter connections together. Past it a message is
    /// not kept: it is passed on unscanned as `on_failure` says, never held or lost.
    pub max_kept_bytes: usize,
    /// Bytes of one policy request (all its `name=value` lines).
    pub max_request_bytes: usize,
    /// Attributes of one policy request.
    pub max_attributes: usize,
    /// Bytes of one HTTP request body (`ndr serve`); a longer one is refused with 413.
    pub max_body_bytes: usize,
    /// HTTP requests served at once (`ndr serve`); past it a request is refused with 503.
    pub max_requests: usize,
    /// Where to serve the counters (`GET /metrics`, Prometheus text format): an explicit
    /// `IP:PORT`, e.g. `127.0.0.1:9187`. Off by default; read at start, not on reload.
    pub metrics_listen: Option<String>,
    /// Permissions of a `unix:` socket, in octal (`"0660"`); unset keeps the umask's.
    pub socket_mode: Option<String>,
    /// Group of a `unix:` socket (`"postfix"`), so that the MTA's group can connect.
    pub socket_group: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            on_failure: OnFailure::Accept,
            timeout_ms: 5_000,
            header_prefix: "X-NDR".into(),
            outbound_authenticated: true,
            outbound_networks: Vec::new(),
            outbound_daemons: vec!["ORIGINATING".into()],
            rcpt_reject: vec!["bad_signature".into(), "malformed".into()],
            rcpt_reply: "550 5.7.1 Backscatter refused: invalid BATV signature".into(),
            scan_all_mail: false,
            // Postfix runs 100 smtpd processes by default, each with one milter connection.
            max_connections: 1000,
            // Postfix's smtpd_timeout (300 s) bounds an idle SMTP client; twice that here.
            idle_timeout_secs: 600,
            read_timeout_secs: 60,
            // Postfix's smtpd_recipient_limit.
            max_recipients: 1000,
            max_macro_bytes: 64 << 10,
            max_kept_bytes: 256 << 20,
            // A Postfix policy request is about 1 KB with some 30 attributes.
            max_request_bytes: 64 << 10,
            max_attributes: 100,
            // The module reads 32 MiB of a message at most; Stalwart's JSON escapes CR LF.
            max_body_bytes: 64 << 20,
            // Above the load a two-core host classifies with low latency (README, "HTTP service").
            max_requests: 512,
            metrics_listen: None,
            socket_mode: None,
            socket_group: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Accept,
    Tempfail,
}

impl ServiceConfig {
    /// What the types cannot say: (field, problem) for each bad value.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut positive = |field: &str, v: u64| {
            if v == 0 {
                out.push((field.to_string(), "must be at least 1".to_string()));
            }
        };
        positive("timeout_ms", self.timeout_ms);
        positive("max_connections", self.max_connections as u64);
        positive("idle_timeout_secs", self.idle_timeout_secs);
        positive("read_timeout_secs", self.read_timeout_secs);
        positive("max_recipients", self.max_recipients as u64);
        positive("max_request_bytes", self.max_request_bytes as u64);
        positive("max_attributes", self.max_attributes as u64);
        positive("max_body_bytes", self.max_body_bytes as u64);
        positive("max_requests", self.max_requests as u64);
        if self.header_prefix.is_empty() || !self.header_prefix.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            out.push(("header_prefix".into(), "must be a header field name (printable ASCII, no ':')".into()));
        }
        for (i, n) in self.outbound_networks.iter().enumerate() {
            if ndr_filter::network::Network::parse(n).is_none() {
                out.push((format!("outbound_networks[{i}]"), format!("{n:?} is not an IP address or CIDR range")));
            }
        }
        for (i, r) in self.rcpt_reject.iter().enumerate() {
            if serde_json::from_value::<ndr_filter::batv::Outcome>(serde_json::json!(r)).is_err() {
                out.push((
                    format!("rcpt_reject[{i}]"),
                    format!("{r:?} is not a BATV result (bad_signature, malformed, expired, unknown_key, ...)"),
                ));
            }
        }
        if let Some(mode) = &self.socket_mode
            && parse_socket_mode(mode).is_none()
        {
            out.push(("socket_mode".into(), format!("{mode:?} is not an octal mode from \"0000\" to \"0777\"")));
        }
        if let Some(group) = &self.socket_group
            && !is_group_name(group)
        {
            out.push(("socket_group".into(), format!("{group:?} is not a group name")));
        }
        if let Some(addr) = &self.metrics_listen
            && !addr.parse::<std::net::SocketAddr>().is_ok_and(|a| !a.ip().is_unspecified())
        {
            // An explicit address only: a wildcard would publish the counters to every network.
            out.push((
                "metrics_listen".into(),
                format!("{addr:?} is not an explicit IP:PORT (e.g. \"127.0.0.1:9187\"; not 0.0.0.0 or ::)"),
            ));
        }
        if !is_smtp_reply(&self.rcpt_reply) {
            out.push(("rcpt_reply".into(), "must start with a 4xx or 5xx SMTP code, e.g. \"550 5.7.1 ...\"".into()));
        }
        out
    }
}

/// `"0660"`, `"660"`: permission bits only (no setuid, setgid or sticky bit on a socket).
pub fn parse_socket_mode(s: &str) -> Option<u32> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o777)
}

/// A group name as useradd/groupadd accept it (a numeric id is accepted too).
fn is_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `550 5.7.1 text`, `451 text`: a three-digit 4xx/5xx code, then a space or the end.
pub(crate) fn is_smtp_reply(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && matches!(b[0], b'4' | b'5')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && (b.len() == 3 || b[3] == b' ')
        && !s.contains(['\r', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_fail_open_and_never_refuse_untagged_at_rcpt() {
        let c = ServiceConfig::default();
        assert_eq!(c.problems(), Vec::<(String, String)>::new());
        assert_eq!(c.on_failure, OnFailure::Accept);
        assert!(!c.rcpt_reject.iter().any(|r| r == "untagged"));
    }

    #[test]
    fn bad_values_are_named() {
        let c = ServiceConfig {
            outbound_networks: vec!["192.0.2.0/33".into()],
            rcpt_reject: vec!["bad_sig".into()],
            rcpt_reply: "250 ok".into(),
            max_connections: 0,
            ..ServiceConfig::default()
        };
        let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["max_connections", "outbound_networks[0]", "rcpt_reject[0]", "rcpt_reply"]);
    }

    #[test]
    fn metrics_listen_is_an_explicit_address() {
        for bad in ["localhost:9187", "127.0.0.1", "0.0.0.0:9187", "[::]:9187"] {
            let c = ServiceConfig { metrics_listen: Some(bad.into()), ..ServiceConfig::default() };
            let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
            assert_eq!(fields, ["metrics_listen"], "{bad}");
        }
        for good in ["127.0.0.1:9187", "[::1]:9187", "192.0.2.1:9187"] {
            let c = ServiceConfig { metrics_listen: Some(good.into()), ..ServiceConfig::default() };
            assert!(c.problems().is_empty(), "{good}");
        }
    }

    #[test]
    fn socket_mode_and_group_are_checked() {
        assert_eq!(parse_socket_mode("0660"), Some(0o660));
        assert_eq!(parse_socket_mode("660"), Some(0o660));
        for bad in ["", "0888", "4770", "rw-rw----", "07770"] {
            assert_eq!(parse_socket_mode(bad), None, "{bad}");
        }
        let c = ServiceConfig {
            socket_mode: Some("0999".into()),
            socket_group: Some("post fix".into()),
            ..ServiceConfig::default()
        };
        let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["socket_mode", "socket_group"]);
        let good = ServiceConfig {
            socket_mode: Some("0660".into()),
            socket_group: Some("postfix".into()),
            ..ServiceConfig::default()
        };
        assert!(good.problems().is_empty());
    }
}
