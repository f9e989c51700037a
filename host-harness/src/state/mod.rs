//! What the mail services learn across messages and hosts (issue 18): rate limits on
//! null-sender mail and on recipients refused as unknown, a sent-mail registry of keyed
//! Message-ID hashes, and the reputation of report sources. One small trait ([`Backend`]) with
//! two implementations: in this process ([`memory`], one host) and Redis or Valkey ([`redis`],
//! shared by a fleet). [`State`] puts the failure policy around every call: a bound in time, a
//! pause after a failure, a log line, and the `on_failure` answer.
//!
//! Stored: keyed hashes (HMAC-SHA256 with the site's `[state]` secret, 128 bits in hex) of
//! addresses and Message-IDs, never the text; client IP addresses, networks and reporting MTA
//! names as they are (infrastructure, not people: `ndr state` names the sources); counters and
//! times. Nothing else.

pub mod config;
pub mod gcra;
pub mod hooks;
pub mod memory;
pub mod redis;
pub mod show;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

pub use config::{BackendKind, Limit, LimitKind, StateConfig};
use gcra::{Decision, Rule};

use crate::settings::OnFailure;

/// A report source's verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Backscatter,
    Legitimate,
}

/// Verdicts counted for one source over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub backscatter: u64,
    pub legitimate: u64,
}

/// What `ndr state` shows: live buckets (key, µs of TAT ahead of now), sources, registry size.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub buckets: Vec<(String, u64)>,
    pub sources: Vec<(String, Counts)>,
    pub registry: u64,
    /// The server held more keys than `ndr state` reads.
    pub truncated: bool,
}

/// Where state is kept. Keys come whole from [`State`]; each names one hash slot.
#[async_trait]
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// One event of `cost` against a limit's bucket (GCRA); `peek` answers without charging.
    async fn rate(&self, key: &str, rule: Rule, cost: u64, now_us: u64, peek: bool) -> Result<Decision, String>;
    async fn registry_put(&self, key: &str, now: u64, ttl_secs: u64) -> Result<(), String>;
    async fn registry_contains(&self, key: &str, now: u64) -> Result<bool, String>;
    async fn reputation_add(&self, key: &str, verdict: Verdict, now: u64, window_secs: u64) -> Result<(), String>;
    async fn reputation_get(&self, key: &str, now: u64, window_secs: u64) -> Result<Counts, String>;
    async fn snapshot(&self, prefix: &str, now: u64, window_secs: u64) -> Result<Snapshot, String>;
}

/// Slots a reputation window is kept in: it slides by a twelfth.
const REPUTATION_SLOTS: u64 = 12;

/// The current slot and the oldest still in the window, for a time in seconds.
pub fn reputation_slots(now: u64, window_secs: u64) -> (u64, u64) {
    let width = (window_secs / REPUTATION_SLOTS).max(1);
    let slot = now / width;
    (slot, slot.saturating_sub(REPUTATION_SLOTS - 1))
}

/// What a limit answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Allow,
    /// Refused with this SMTP reply.
    Refuse(String),
}

/// The state and its failure policy, shared by every connection of a service.
pub struct State {
    backend: Box<dyn Backend>,
    prefix: String,
    key: Vec<u8>,
    on_failure: OnFailure,
    command_timeout: Duration,
    retry_after: Duration,
    /// No call before this instant (after a failure).
    paused_until: Mutex<Option<Instant>>,
    service: &'static str,
    /// Latency of each state call in µs (the first `MAX_SAMPLES`), for the load test.
    samples: Mutex<Vec<u32>>,
    /// Calls that failed or were skipped during a pause.
    failed: std::sync::atomic::AtomicU64,
    /// Whether the module takes `facts` (ABI 1.4 and later).
    pub facts_supported: bool,
    /// The service's counters: failures count as `state`.
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

const MAX_SAMPLES: usize = 1 << 20;

impl State {
    /// The state a `[state]` section describes (the Redis client connects on first use).
    /// Called within a Tokio runtime: the Redis client's connection task runs on it.
    pub fn open(c: &StateConfig, service: &'static str) -> Result<State, String> {
        let backend: Box<dyn Backend> = match c.backend {
            BackendKind::Memory => Box::new(memory::Memory::default()),
            BackendKind::Redis => Box::new(redis::Redis::new(
                c.url.as_deref().unwrap_or_default(),
                c.connect_timeout_ms,
                c.command_timeout_ms,
            )?),
        };
        // One host alone may go without a configured secret: a random one keeps its hashes
        // keyed all the same (they live no longer than the process).
        let key = match c.secret_bytes()? {
            Some(k) => k,
            None => random_key(),
        };
        Ok(State {
            backend,
            prefix: c.key_prefix.clone(),
            key,
            on_failure: c.on_failure,
            command_timeout: Duration::from_millis(c.command_timeout_ms),
            retry_after: Duration::from_millis(c.retry_after_ms),
            paused_until: Mutex::new(None),
            service,
            samples: Mutex::new(Vec::new()),
            failed: Default::default(),
            facts_supported: true,
            metrics: None,
        })
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}{kind:part}`: the braces make the whole name one Redis Cluster hash slot.
    pub fn key(&self, kind: &str, part: &str) -> String {
        format!("{}{{{kind}:{part}}}", self.prefix)
    }

    /// The keyed hash of an address or Message-ID (case-folded), 128 bits in hex.
    pub fn hash(&self, text: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else { return String::new() };
        mac.update(text.trim().to_lowercase().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Run one backend call within the command timeout; a failure pauses calls for
    /// `retry_after` and is logged (the key names no address: only hashes and networks).
    async fn guarded<T, F>(&self, op: &str, call: F) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<T, String>>,
    {
        let paused = self.paused_until.lock().map(|p| *p).unwrap_or(None);
        if paused.is_some_and(|until| Instant::now() < until) {
            self.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err("paused after a failure".into());
        }
        let t = Instant::now();
        let result = match tokio::time::timeout(self.command_timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout after {} ms", self.command_timeout.as_millis())),
        };
        if let Ok(mut s) = self.samples.lock()
            && s.len() < MAX_SAMPLES
        {
            s.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
        if let Err(e) = &result {
            self.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(m) = &self.metrics {
                m.failure("state");
            }
            let first = self
                .paused_until
                .lock()
                .map(|mut p| {
                    let first = p.is_none_or(|until| Instant::now() >= until);
                    *p = Some(Instant::now() + self.retry_after);
                    first
                })
                .unwrap_or(true);
            if first {
                crate::service::log(json!({
                    "service": self.service, "event": "state_failure", "backend": self.backend.name(), "op": op,
                    "error": e, "on_failure": self.on_failure, "paused_ms": self.retry_after.as_millis() as u64,
                }));
            }
        } else if let Ok(mut p) = self.paused_until.lock() {
            *p = None;
        }
        result
    }

    /// State calls that failed so far (timeouts, errors, and calls skipped during a pause).
    pub fn failures(&self) -> u64 {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Latencies of the state calls so far, in µs.
    pub fn latencies(&self) -> Vec<u32> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// One event against a limit: `Allow`, or the limit's reply; a failure answers as
    /// `on_failure` says (tempfail: `451 4.7.1`).
    pub async fn limit(&self, kind: LimitKind, limit: &Limit, part: &str, now_us: u64, peek: bool) -> Answer {
        let key = self.key(kind.name(), part);
        match self.guarded(kind.name(), self.backend.rate(&key, limit.rule(), 1, now_us, peek)).await {
            Ok(d) if d.allowed => Answer::Allow,
            Ok(_) => Answer::Refuse(limit.reply(kind)),
            Err(_) => self.failure_answer(),
        }
    }

    /// The answer when the state cannot be read.
    pub fn failure_answer(&self) -> Answer {
        match self.on_failure {
            OnFailure::Accept => Answer::Allow,
            OnFailure::Tempfail => Answer::Refuse("451 4.7.1 Try again later".into()),
        }
    }

    /// Record Message-IDs we send, for `ttl_secs`. Failures are logged only: outbound mail
    /// never waits for the registry.
    pub async fn record_sent(&self, ids: &[String], now: u64, ttl_secs: u64) {
        for id in ids {
            let key = self.key("reg", &self.hash(id));
            let _ = self.guarded("registry_put", self.backend.registry_put(&key, now, ttl_secs)).await;
        }
    }

    /// Whether any of `ids` is in the registry; `None` when it could not be read.
    pub async fn sent(&self, ids: &[String], now: u64) -> Option<bool> {
        for id in ids {
            let key = self.key("reg", &self.hash(id));
            if self.guarded("registry_contains", self.backend.registry_contains(&key, now)).await.ok()? {
                return Some(true);
            }
        }
        Some(false)
    }

    pub async fn reputation(&self, source: &str, now: u64, window_secs: u64) -> Option<Counts> {
        let key = self.key("rep", source);
        self.guarded("reputation_get", self.backend.reputation_get(&key, now, window_secs)).await.ok()
    }

    pub async fn add_reputation(&self, sources: &[String], verdict: Verdict, now: u64, window_secs: u64) {
        for s in sources {
            let key = self.key("rep", s);
            let _ = self.guarded("reputation_add", self.backend.reputation_add(&key, verdict, now, window_secs)).await;
        }
    }

    pub async fn snapshot(&self, now: u64, window_secs: u64) -> Result<Snapshot, String> {
        self.backend.snapshot(&self.prefix, now, window_secs).await
    }
}

/// A key for hashes that live no longer than this process.
fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key)).is_err() {
        // No randomness: the time and the process id, still unknown to a sender.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        key = format!("{}:{}", t.as_nanos(), std::process::id()).into_bytes();
    }
    key
}

/// The network a client address counts in: IPv4 /24, IPv6 /64 (one customer's allocation).
pub fn network_of(ip: &str) -> Option<String> {
    match ip.trim_start_matches("IPv6:").parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
        }
    }
}

/// The client address in its canonical form (for keys).
pub fn canonical_ip(ip: &str) -> Option<String> {
    ip.trim_start_matches("IPv6:").parse::<IpAddr>().ok().map(|a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_keys() {
        assert_eq!(network_of("192.0.2.77").as_deref(), Some("192.0.2.0/24"));
        assert_eq!(network_of("IPv6:2001:db8:1:2:3::4").as_deref(), Some("2001:db8:1:2::/64"));
        assert_eq!(network_of("unknown"), None);
        let s = State::open(&StateConfig { secret: Some("0123456789abcdef".into()), ..StateConfig::default() }, "t")
            .unwrap();
        assert_eq!(s.key("reg", "ab"), "ndr:{reg:ab}");
        let h = s.hash("Alice@Example.com");
        assert_eq!((h.len(), h.clone()), (32, s.hash("alice@example.com ")));
        assert!(!h.contains("alice"));
    }

    #[tokio::test]
    async fn a_dead_server_answers_at_once_as_configured() {
        // Nothing listens on port 1: every call fails; after the first, none waits.
        let c = StateConfig {
            backend: BackendKind::Redis,
            url: Some("redis://127.0.0.1:1/".into()),
            secret: Some("0123456789abcdef".into()),
            on_failure: OnFailure::Tempfail,
            ..StateConfig::default()
        };
        let s = State::open(&c, "t").unwrap();
        let limit = Limit { rate: 1, period_secs: 60, burst: None, answer: Default::default(), reply: None };
        let t = Instant::now();
        for _ in 0..100 {
            let a = s.limit(LimitKind::NullSenderRcpt, &limit, "x", 1, false).await;
            assert_eq!(a, Answer::Refuse("451 4.7.1 Try again later".into()));
        }
        assert!(t.elapsed() < Duration::from_millis(1000), "{:?}", t.elapsed());
        assert_eq!(s.sent(&["a@b".into()], 1).await, None);
    }
}
