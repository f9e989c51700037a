//! The `[state]` section: where the services keep what they learn across messages and hosts
//! (limits, the sent-mail registry, report sources), and the limits themselves. Without the
//! section nothing is kept and nothing changes. Read at start; `limits` also on reload.

use serde::Deserialize;

use crate::settings::OnFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// In this process: one host.
    #[default]
    Memory,
    /// Redis or Valkey, shared by every host that names the same server and prefix.
    Redis,
}

/// The `[state]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    pub backend: BackendKind,
    /// `redis://[user:password@]host:port/db`, `rediss://…` or `unix:///path/redis.sock`.
    pub url: Option<String>,
    /// Put before every key, so that several sites (or tests) share one server.
    pub key_prefix: String,
    /// Bound on connecting to the server, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Bound on one command, in milliseconds: the most a state call adds to a message.
    pub command_timeout_ms: u64,
    /// After a failure the server is not asked again for this long (every call answers as
    /// `on_failure` says at once), so a dead server costs mail no time.
    pub retry_after_ms: u64,
    /// What a limit answers when the state cannot be read: `accept` or `tempfail`.
    pub on_failure: OnFailure,
    /// The key of the hashes stored for addresses and Message-IDs (HMAC-SHA256). Every host
    /// sharing a server needs the same one; one of `secret` and `secret_file` is required with
    /// `backend = "redis"`.
    pub secret: Option<String>,
    pub secret_file: Option<String>,
    /// Days a sent Message-ID stays in the registry: the bounce horizon.
    pub registry_days: u64,
    /// Hours of history kept per report source.
    pub reputation_hours: u64,
    pub limits: Limits,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            backend: BackendKind::Memory,
            url: None,
            key_prefix: "ndr:".into(),
            connect_timeout_ms: 250,
            command_timeout_ms: 100,
            retry_after_ms: 1000,
            on_failure: OnFailure::Accept,
            secret: None,
            secret_file: None,
            // RFC 5321 §4.5.4.1: senders give up after 4–5 days; a week covers late bounces.
            registry_days: 7,
            reputation_hours: 24,
            limits: Limits::default(),
        }
    }
}

/// The limits, each off unless configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Null-sender mail to one recipient (a bounce flood at one forged address).
    pub null_sender_rcpt: Option<Limit>,
    /// Null-sender mail from one client IP address.
    pub null_sender_client: Option<Limit>,
    /// Null-sender mail from one client network (IPv4 /24, IPv6 /64).
    pub null_sender_network: Option<Limit>,
    /// Null-sender mail from one reporting MTA (as the report names it; milter only).
    pub null_sender_reporting_mta: Option<Limit>,
    /// Recipients refused as unknown per client network (a dictionary-harvest attack): past
    /// it, every further recipient from that network gets the answer.
    pub unknown_rcpt_network: Option<Limit>,
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    NullSenderRcpt,
    NullSenderClient,
    NullSenderNetwork,
    NullSenderReportingMta,
    UnknownRcptNetwork,
}

impl LimitKind {
    pub const ALL: [LimitKind; 5] = [
        LimitKind::NullSenderRcpt,
        LimitKind::NullSenderClient,
        LimitKind::NullSenderNetwork,
        LimitKind::NullSenderReportingMta,
        LimitKind::UnknownRcptNetwork,
    ];

    /// The configuration field, also the kind in key names.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::NullSenderRcpt => "null_sender_rcpt",
            LimitKind::NullSenderClient => "null_sender_client",
            LimitKind::NullSenderNetwork => "null_sender_network",
            LimitKind::NullSenderReportingMta => "null_sender_reporting_mta",
            LimitKind::UnknownRcptNetwork => "unknown_rcpt_network",
        }
    }

    fn default_text(self) -> &'static str {
        match self {
            LimitKind::NullSenderRcpt => "Too many delivery reports for this recipient",
            LimitKind::NullSenderClient | LimitKind::NullSenderNetwork => "Too many delivery reports from your network",
            LimitKind::NullSenderReportingMta => "Too many delivery reports from this reporting MTA",
            LimitKind::UnknownRcptNetwork => "Too many unknown recipients from your network",
        }
    }
}

impl Limits {
    pub fn get(&self, kind: LimitKind) -> Option<&Limit> {
        match kind {
            LimitKind::NullSenderRcpt => self.null_sender_rcpt.as_ref(),
            LimitKind::NullSenderClient => self.null_sender_client.as_ref(),
            LimitKind::NullSenderNetwork => self.null_sender_network.as_ref(),
            LimitKind::NullSenderReportingMta => self.null_sender_reporting_mta.as_ref(),
            LimitKind::UnknownRcptNetwork => self.unknown_rcpt_network.as_ref(),
        }
    }

    /// Whether any null-sender limit is configured.
    pub fn any_null_sender(&self) -> bool {
        LimitKind::ALL[..4].iter().any(|k| self.get(*k).is_some())
    }
}

/// `rate` events per `period_secs`, `burst` at once (default: `rate`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub rate: u64,
    #[serde(default = "default_period")]
    pub period_secs: u64,
    pub burst: Option<u64>,
    #[serde(default)]
    pub answer: LimitAnswer,
    /// The SMTP reply; default `451 4.7.1 …` or `550 5.7.1 …` with a text naming the limit.
    pub reply: Option<String>,
}

fn default_period() -> u64 {
    3600
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LimitAnswer {
    /// `451 4.7.1`: a real sender retries, and a retry after the refill passes.
    #[default]
    Tempfail,
    Reject,
}

impl Limit {
    pub fn rule(&self) -> super::gcra::Rule {
        let rate = self.rate.max(1);
        super::gcra::Rule {
            interval_us: (self.period_secs.max(1).saturating_mul(1_000_000) / rate).max(1),
            burst: self.burst.unwrap_or(rate).max(1),
        }
    }

    /// The reply of a refused event.
    pub fn reply(&self, kind: LimitKind) -> String {
        self.reply.clone().unwrap_or_else(|| match self.answer {
            LimitAnswer::Tempfail => format!("451 4.7.1 {}; try again later", kind.default_text()),
            LimitAnswer::Reject => format!("550 5.7.1 {}", kind.default_text()),
        })
    }
}

impl StateConfig {
    /// What the types cannot say: (field, problem) for each bad value. Never quotes a secret
    /// or the URL (it may carry a password).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut positive = |field: &str, v: u64| {
            if v == 0 {
                out.push((field.to_string(), "must be at least 1".to_string()));
            }
        };
        positive("connect_timeout_ms", self.connect_timeout_ms);
        positive("command_timeout_ms", self.command_timeout_ms);
        positive("registry_days", self.registry_days);
        positive("reputation_hours", self.reputation_hours);
        if self.registry_days > 365 {
            out.push(("registry_days".into(), "must be at most 365".into()));
        }
        if self.reputation_hours > 24 * 90 {
            out.push(("reputation_hours".into(), "must be at most 2160 (90 days)".into()));
        }
        if self.key_prefix.len() > 64 || self.key_prefix.contains(['{', '}', ' ', '*', '?', '[', ']']) {
            out.push((
                "key_prefix".into(),
                "must be at most 64 characters, without braces, blanks or glob characters".into(),
            ));
        }
        match (&self.url, self.backend) {
            (None, BackendKind::Redis) => out.push(("url".into(), "is required with backend = \"redis\"".into())),
            (Some(u), _) if redis::Client::open(u.as_str()).is_err() => out.push((
                "url".into(),
                "is not a Redis URL (redis://[user:password@]host:port/db, rediss://… or unix:///path)".into(),
            )),
            _ => {}
        }
        match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => out.push(("secret_file".into(), "give secret or secret_file, not both".into())),
            (None, None) if self.backend == BackendKind::Redis => out.push((
                "secret".into(),
                "secret or secret_file is required with backend = \"redis\" (every host sharing it needs the same)"
                    .into(),
            )),
            _ => {}
        }
        match self.secret_bytes() {
            Err(e) => out.push(("secret_file".into(), e)),
            Ok(Some(s)) if s.len() < 16 => {
                let field = if self.secret.is_some() { "secret" } else { "secret_file" };
                out.push((field.into(), "must be at least 16 bytes".into()));
            }
            _ => {}
        }
        for kind in LimitKind::ALL {
            let Some(l) = self.limits.get(kind) else { continue };
            let at = |f: &str| format!("limits.{}.{f}", kind.name());
            for (f, v) in [("rate", l.rate), ("period_secs", l.period_secs), ("burst", l.burst.unwrap_or(1))] {
                if v == 0 {
                    out.push((at(f), "must be at least 1".into()));
                }
            }
            if let Some(r) = &l.reply {
                let class = if l.answer == LimitAnswer::Tempfail { '4' } else { '5' };
                if !crate::settings::is_smtp_reply(r) || !r.starts_with(class) {
                    out.push((at("reply"), format!("must start with a {class}xx SMTP code, as answer says")));
                }
            }
        }
        out
    }

    /// The hashing key: `secret`, the first line of `secret_file`, or none.
    pub fn secret_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        if let Some(s) = &self.secret {
            return Ok(Some(s.as_bytes().to_vec()));
        }
        let Some(path) = &self.secret_file else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {}", e.kind()))?;
        Ok(Some(text.lines().next().unwrap_or("").trim().as_bytes().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &StateConfig) -> Vec<String> {
        c.problems().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn defaults_are_valid_and_limit_nothing() {
        let c = StateConfig::default();
        assert!(c.problems().is_empty());
        assert!(LimitKind::ALL.iter().all(|k| c.limits.get(*k).is_none()));
    }

    #[test]
    fn redis_needs_a_url_and_a_shared_secret() {
        let c = StateConfig { backend: BackendKind::Redis, ..StateConfig::default() };
        assert_eq!(fields(&c), ["url", "secret"]);
        let c = StateConfig {
            backend: BackendKind::Redis,
            url: Some("http://x".into()),
            secret: Some("short".into()),
            ..StateConfig::default()
        };
        let p = c.problems();
        assert_eq!(p.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["url", "secret"]);
        assert!(p.iter().all(|(_, m)| !m.contains("short") && !m.contains("http://x")), "{p:?}");
    }

    #[test]
    fn limits_are_checked_and_explained() {
        let l =
            Limit { rate: 0, period_secs: 60, burst: None, answer: LimitAnswer::Reject, reply: Some("451 x".into()) };
        let c =
            StateConfig { limits: Limits { null_sender_rcpt: Some(l), ..Limits::default() }, ..StateConfig::default() };
        assert_eq!(fields(&c), ["limits.null_sender_rcpt.rate", "limits.null_sender_rcpt.reply"]);
        let l = Limit { rate: 10, period_secs: 60, burst: None, answer: LimitAnswer::Tempfail, reply: None };
        assert_eq!(l.rule(), crate::state::gcra::Rule { interval_us: 6_000_000, burst: 10 });
        assert!(l.reply(LimitKind::NullSenderRcpt).starts_with("451 4.7.1 "));
    }
}
