//! What the mail services (`milter.rs`, `policy.rs`) share: the `[service]` configuration, the
//! loaded site configuration with reload on SIGHUP, module calls bounded in time on leased
//! instances, the failure policy (fail-open by default) and one JSON log line per decision.
//!
//! A module trap, an exhausted budget, a timeout or a configuration the module refuses is a
//! *failure*: the service answers as `on_failure` says (`accept` or `tempfail`), logs it, and
//! never drops or alters the message because of it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ndr_filter::network::Network;
use serde_json::{Value, json};

use crate::config_check::Invalid;
use crate::pool::{Lease, Pool};
use crate::{CallError, FilterInstance, request};

pub use crate::settings::{OnFailure, ServiceConfig};

/// A test hook: make every module call fail (`trap`) or hang (`stall`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    Trap,
    Stall,
}

/// One loaded configuration; replaced as a whole on reload.
#[derive(Debug)]
pub struct Loaded {
    /// The module's part of the site configuration.
    pub module: Value,
    pub service: ServiceConfig,
    /// The `[state]` section, when there is one (its limits are read on every call).
    pub state: Option<crate::state::StateConfig>,
    networks: Vec<Network>,
}

impl Loaded {
    /// Whether the client is in `outbound_networks`.
    pub fn is_outbound_client(&self, ip: &str) -> bool {
        let Ok(ip) = ip.trim_start_matches("IPv6:").parse::<IpAddr>() else { return false };
        self.networks.iter().any(|net| net.contains(ip))
    }

    /// Whether the module's policy carries out actions (not `observe`).
    pub fn enforcing(&self) -> bool {
        self.module["policy"]["mode"].as_str() != Some("observe")
    }
}

/// The service state every connection shares.
pub struct Service {
    pub name: &'static str,
    pub pool: Arc<Pool>,
    config_path: Option<PathBuf>,
    loaded: RwLock<Arc<Loaded>>,
    fault: Option<Fault>,
    /// Message bytes all connections keep together (`[service] max_kept_bytes`).
    pub kept: Arc<crate::kept_budget::KeptBytes>,
    /// Connections open now (`[service] max_connections`).
    open: std::sync::atomic::AtomicUsize,
    refused: std::sync::atomic::AtomicUsize,
    /// Decisions, failures and call latency (`[service] metrics_listen`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Limits, the sent-mail registry and report sources (`[state]`), opened at start.
    pub state: Option<Arc<crate::state::State>>,
}

/// A failed call: what went wrong, for the log.
#[derive(Debug, Clone)]
pub struct Failure(pub String);

impl Service {
    /// Load and check the configuration; a file with any problem is refused (the caller exits).
    pub fn new(
        name: &'static str,
        pool: Arc<Pool>,
        config_path: Option<PathBuf>,
        fault: Option<Fault>,
    ) -> Result<Arc<Service>, String> {
        let loaded = load(config_path.as_deref(), &pool)?;
        let metrics = Arc::new(crate::metrics::Metrics::new(name));
        let state = open_state(name, loaded.state.as_ref(), &pool, &metrics)?;
        let svc = Arc::new(Service {
            name,
            pool,
            config_path,
            loaded: RwLock::new(Arc::new(loaded)),
            fault,
            kept: Arc::default(),
            open: Default::default(),
            refused: Default::default(),
            metrics,
            state,
        });
        svc.log_config("loaded");
        Ok(svc)
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Read the configuration again (SIGHUP). A file with any problem is not used: the running
    /// configuration stays in force, and the log says why.
    pub fn reload(&self) {
        let Some(path) = &self.config_path else { return };
        let fresh = match load(Some(path), &self.pool) {
            Ok(f) => f,
            Err(e) => {
                log(json!({
                    "service": self.name, "event": "reload_failed", "config": path.display().to_string(),
                    "errors": e.lines().collect::<Vec<_>>(), "kept": "running configuration",
                }));
                return;
            }
        };
        match self.loaded.write() {
            Ok(mut l) => *l = Arc::new(fresh),
            Err(p) => *p.into_inner() = Arc::new(fresh),
        }
        self.log_config("reloaded");
    }

    fn log_config(&self, event: &str) {
        let c = self.config();
        let s = &c.service;
        log(json!({
            "service": self.name,
            "event": event,
            "config": self.config_path.as_ref().map(|p| p.display().to_string()),
            "on_failure": s.on_failure,
            "max_connections": s.max_connections,
            "max_kept_bytes": s.max_kept_bytes,
            "fault": self.fault.map(|f| format!("{f:?}").to_lowercase()),
        }));
    }

    /// Run one module call on the connection's instance, bounded by `timeout_ms`. The call runs
    /// on a blocking thread; after a timeout its instance is abandoned (fuel ends it).
    pub async fn call<F>(&self, lease: &mut Lease, f: F) -> Result<String, Failure>
    where
        F: FnOnce(&mut FilterInstance) -> Result<String, CallError> + Send + 'static,
    {
        let loaded = self.config();
        let mut instance = lease.checkout().map_err(|e| {
            self.metrics.failure("instantiate");
            Failure(format!("cannot instantiate the module: {e:#}"))
        })?;
        let fault = self.fault;
        let task = tokio::task::spawn_blocking(move || {
            let result = match fault {
                Some(Fault::Trap) => Err(CallError::Trap("test fault: trap".into())),
                Some(Fault::Stall) => {
                    std::thread::sleep(Duration::from_secs(600));
                    Err(CallError::Trap("test fault: stall".into()))
                }
                None => f(&mut instance),
            };
            (instance, result)
        });
        match tokio::time::timeout(Duration::from_millis(loaded.service.timeout_ms), task).await {
            Err(_) => {
                self.metrics.failure("timeout");
                Err(Failure(format!("timeout after {} ms", loaded.service.timeout_ms)))
            }
            Ok(Err(join)) => {
                self.metrics.failure("panic");
                Err(Failure(format!("module call panicked: {join}")))
            }
            Ok(Ok((instance, result))) => {
                // A trapped instance is poisoned: `put` drops it; a test-fault "trap" drops it too.
                if fault.is_none() {
                    lease.put(instance);
                }
                self.call_result(result)
            }
        }
    }

    /// Run a short module call (a header block, an address) on the connection's own task: on
    /// a busy machine the hand-off to a blocking thread and back costs more than such a call
    /// (a prescreen took 0.5 ms p50 and 43 ms p99 that way under the load test, for tens of µs
    /// of work). Fuel bounds it. A fault-injected service (tests) takes [`Self::call`], where a
    /// stall is timed out.
    pub async fn call_short<F>(&self, lease: &mut Lease, f: F) -> Result<String, Failure>
    where
        F: FnOnce(&mut FilterInstance) -> Result<String, CallError> + Send + 'static,
    {
        if self.fault.is_some() {
            return self.call(lease, f).await;
        }
        let mut instance = lease.checkout().map_err(|e| {
            self.metrics.failure("instantiate");
            Failure(format!("cannot instantiate the module: {e:#}"))
        })?;
        let result = f(&mut instance);
        lease.put(instance);
        self.call_result(result)
    }

    /// A call's answer document as JSON; one that is not JSON is counted (`bad_answer`).
    fn answer(&self, doc: Result<String, Failure>) -> Result<Value, Failure> {
        serde_json::from_str::<Value>(&doc?).map_err(|e| {
            self.metrics.failure("bad_answer");
            Failure(format!("bad answer from the module: {e}"))
        })
    }

    /// A call's answer, its failure counted.
    fn call_result(&self, result: Result<String, CallError>) -> Result<String, Failure> {
        result.map_err(|e| {
            self.metrics.failure(match e {
                CallError::Module { .. } => "module_error",
                CallError::Budget => "budget",
                CallError::Trap(_) => "trap",
            });
            Failure(e.to_string())
        })
    }

    /// Classify a message with its envelope; the report as JSON.
    pub async fn classify(&self, lease: &mut Lease, raw: Vec<u8>, envelope: Value) -> Result<Value, Failure> {
        self.classify_at(lease, raw, Some(envelope), request::unix_now()).await
    }

    /// Classify at a given time, with or without an envelope (`ndr serve` takes both from
    /// the client).
    pub async fn classify_at(
        &self,
        lease: &mut Lease,
        raw: Vec<u8>,
        envelope: Option<Value>,
        now: u64,
    ) -> Result<Value, Failure> {
        self.classify_with_facts(lease, Arc::new(raw), envelope, json!({}), now).await
    }

    /// Classify with the facts the state knows (ABI 1.4; `{}` for none). The message is shared,
    /// not copied, so that it can be classified again with more facts.
    pub async fn classify_with_facts(
        &self,
        lease: &mut Lease,
        raw: Arc<Vec<u8>>,
        envelope: Option<Value>,
        facts: Value,
        now: u64,
    ) -> Result<Value, Failure> {
        let mut req = request::classify(Some(&self.config().module), now, envelope);
        if facts.as_object().is_some_and(|f| !f.is_empty()) {
            req["facts"] = facts;
        }
        let req = req.to_string();
        let t = Instant::now();
        let doc = self.call(lease, move |i| i.classify(&raw, req.as_bytes())).await;
        self.metrics.latency("ndr_classify", t.elapsed());
        // Every service's decisions are counted here, where every classification passes.
        let report = self.answer(doc)?;
        self.metrics.decision(&report);
        Ok(report)
    }

    /// Whether a message needs its body read (`ndr_prescreen` on its header block). The request
    /// carries only what the module reads: the envelope and the limits.
    pub async fn prescreen(&self, lease: &mut Lease, headers: &[u8], envelope: Value) -> Result<Value, Failure> {
        let mut req = json!({ "envelope": envelope });
        if let Some(limits) = self.config().module.get("limits") {
            req["config"] = json!({ "limits": limits });
        }
        let req = req.to_string();
        let headers = headers.to_vec();
        let t = Instant::now();
        let doc = self.call_short(lease, move |i| i.prescreen(&headers, req.as_bytes())).await;
        self.metrics.latency("ndr_prescreen", t.elapsed());
        self.answer(doc)
    }

    /// An address request (`ndr_batv_sign`, `ndr_batv_verify`); the answer as JSON.
    pub async fn address(
        &self,
        lease: &mut Lease,
        export: &'static str,
        address: &str,
        destination: Option<&str>,
    ) -> Result<Value, Failure> {
        self.address_at(lease, export, address, destination, request::unix_now()).await
    }

    /// An address request at a given time.
    pub async fn address_at(
        &self,
        lease: &mut Lease,
        export: &'static str,
        address: &str,
        destination: Option<&str>,
        now: u64,
    ) -> Result<Value, Failure> {
        let req = request::address(Some(&self.config().module), now, address, destination).to_string();
        let t = Instant::now();
        let doc = self.call_short(lease, move |i| i.request(export, req.as_bytes())).await;
        self.metrics.latency(export, t.elapsed());
        let answer = self.answer(doc)?;
        if export == "ndr_batv_verify" {
            self.metrics.batv_result(&answer);
        }
        Ok(answer)
    }
}

/// What RCPT time decides for one recipient of a null-sender transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptCheck {
    /// Go on (no tag to refuse, or not enforcing); the rest is decided at end of data.
    Continue,
    /// Refuse the recipient with this reply (`[service] rcpt_reply`).
    Refuse(String),
    /// The module failed: answer as `on_failure` says.
    Failed(OnFailure),
}

impl Service {
    /// RCPT time, for the milter and the policy service alike: verify the BATV tag of a
    /// null-sender recipient, refuse it when the result is in `rcpt_reject` and the policy
    /// enforces. Logs one line.
    pub async fn check_rcpt(&self, lease: &mut Lease, rcpt: &str, queue_id: Option<&str>) -> RcptCheck {
        self.check_rcpt_tag(lease, rcpt, queue_id).await.0
    }

    /// `check_rcpt`, and whether the recipient carries a valid tag of ours (such a report is
    /// never limited by `[state]`).
    pub async fn check_rcpt_tag(&self, lease: &mut Lease, rcpt: &str, queue_id: Option<&str>) -> (RcptCheck, bool) {
        let c = self.config();
        let limited = c.state.as_ref().is_some_and(|s| s.limits.any_null_sender());
        if (c.service.rcpt_reject.is_empty() && !limited) || c.module.get("batv").is_none() {
            return (RcptCheck::Continue, false);
        }
        let t = Instant::now();
        match self.address(lease, "ndr_batv_verify", rcpt, None).await {
            Ok(answer) => {
                let result = answer["result"].as_str().unwrap_or("");
                let refuse = c.enforcing() && c.service.rcpt_reject.iter().any(|r| r == result);
                log(json!({
                    "service": self.name, "stage": "rcpt", "queue_id": queue_id, "rcpt": rcpt, "batv": result,
                    "action": if refuse { "reject" } else { "continue" }, "us": micros(t),
                }));
                let check = if refuse { RcptCheck::Refuse(c.service.rcpt_reply.clone()) } else { RcptCheck::Continue };
                (check, result == "valid")
            }
            Err(f) => {
                let on_failure = c.service.on_failure;
                log(json!({
                    "service": self.name, "event": "failure", "stage": "rcpt", "queue_id": queue_id,
                    "error": f.0, "on_failure": on_failure, "us": micros(t),
                }));
                (RcptCheck::Failed(on_failure), false)
            }
        }
    }
}

/// The `[state]` of a configuration, opened; `facts` are passed only to a module that takes
/// them (ABI 1.4 and later).
fn open_state(
    name: &'static str,
    c: Option<&crate::state::StateConfig>,
    pool: &Pool,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<Option<Arc<crate::state::State>>, String> {
    let Some(c) = c else { return Ok(None) };
    let mut state = crate::state::State::open(c, name)?;
    state.metrics = Some(metrics.clone());
    if let Ok(mut i) = pool.take() {
        state.facts_supported = i.abi_version().is_ok_and(|v| v >= (1, 4));
        pool.give_back(i);
    }
    Ok(Some(Arc::new(state)))
}

/// The configuration at `path` (defaults without one); any problem refuses the whole file.
fn load(path: Option<&Path>, pool: &Pool) -> Result<Loaded, String> {
    let Some(path) = path else {
        return Ok(Loaded { module: json!({}), service: ServiceConfig::default(), state: None, networks: Vec::new() });
    };
    let file = check_config(path, pool).map_err(|e| e.to_string())?;
    let networks = file.service.outbound_networks.iter().filter_map(|n| Network::parse(n)).collect();
    Ok(Loaded { module: file.module, service: file.service, state: file.state, networks })
}

/// The whole validation of a configuration file (`ndr check-config` runs it too): every
/// section natively (`config_check`), then the module's part by the module itself, which has
/// the last word (a module built from other sources may read other fields).
pub fn check_config(path: &Path, pool: &Pool) -> Result<request::SiteFile, Invalid> {
    let file = crate::config_check::check_file(path)?;
    let req = request::classify(Some(&file.module), 0, None).to_string();
    let check = pool.take().map_err(|e| format!("{e:#}")).and_then(|mut i| {
        let r = i.classify(b"", req.as_bytes()).map_err(|e| e.to_string());
        if r.is_ok() && file.module.get("batv").is_some() {
            let req = request::address(Some(&file.module), 0, "check@example.invalid", None).to_string();
            i.request("ndr_batv_verify", req.as_bytes()).map_err(|e| e.to_string())?;
        }
        pool.give_back(i);
        r
    });
    match check {
        Ok(_) => Ok(file),
        Err(e) => {
            let e = crate::config_check::redact_secrets(&e, &file.module);
            Err(Invalid::whole(&path.display().to_string(), 0, format!("the module refuses the configuration: {e}")))
        }
    }
}

/// One JSON line on stderr, with the time. Callers never put keys or secrets in it.
pub fn log(mut record: Value) {
    if let Some(m) = record.as_object_mut() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        m.insert("ts".into(), json!(format!("{}.{:03}", now.as_secs(), now.subsec_millis())));
    }
    // One write per line: formatting straight into unbuffered stderr would issue a write for
    // every piece of the JSON, and a line per message is the most frequent thing a service does.
    let mut line = record.to_string();
    line.push('\n');
    // A log that cannot be written must not stop the mail (eprintln! would panic).
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// The signals of a report as `name=value(weight)` items, for logs and headers.
pub fn signal_list(report: &Value) -> Vec<String> {
    report["signals"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let v = s["value"].as_str().unwrap_or("");
            format!("{}={}({})", s["name"].as_str().unwrap_or("?"), v, s["weight"])
        })
        .collect()
}

/// The headers a verdict adds (`PREFIX-Verdict`, `PREFIX-Signals`), for every host that adds
/// headers (milter, Stalwart's hooks). Only reports carry a verdict: ordinary mail gets none,
/// and neither does mail the verdict refuses or drops.
pub fn verdict_headers(report: &Value, prefix: &str) -> Vec<(String, String)> {
    let action = report["action"].as_str().unwrap_or("accept");
    let Some(verdict) = report["verdict"].as_str().filter(|_| matches!(action, "accept" | "tag" | "quarantine")) else {
        return Vec::new();
    };
    let mut out = vec![(format!("{prefix}-Verdict"), format!("{verdict}; action={action}; score={}", report["score"]))];
    let signals = signal_list(report);
    if !signals.is_empty() {
        out.push((format!("{prefix}-Signals"), signals.join(", ")));
    }
    out
}

/// The SMTP reply of a `reject` or `tempfail` verdict: code, enhanced status and text, with
/// the defaults (550 5.7.1, 451 4.7.1) for parts the report lacks.
pub fn verdict_reply(report: &Value) -> (u64, String, String) {
    let r = &report["smtp_reply"];
    let (code, status) = if report["action"] == "tempfail" { (451, "4.7.1") } else { (550, "5.7.1") };
    (
        r["code"].as_u64().unwrap_or(code),
        r["status"].as_str().unwrap_or(status).to_string(),
        r["text"].as_str().unwrap_or("Refused").to_string(),
    )
}

/// Microseconds since `t`.
pub fn micros(t: Instant) -> u64 {
    t.elapsed().as_micros() as u64
}

/// Where a service listens: `inet:HOST:PORT` (also `inet:PORT@HOST`, Sendmail's form) or
/// `unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Inet(String),
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Listen, String> {
        if let Some(path) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("local:")) {
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        let rest = s.strip_prefix("inet:").ok_or_else(|| format!("{s}: use inet:HOST:PORT or unix:PATH"))?;
        let addr = match rest.split_once('@') {
            Some((port, host)) => format!("{host}:{port}"),
            None => rest.to_string(),
        };
        if addr.rsplit_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_err()) {
            return Err(format!("{s}: no port"));
        }
        Ok(Listen::Inet(addr))
    }
}

/// A stream from either kind of listener.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// Accept connections forever, each handled on its own task. SIGHUP reloads the configuration.
pub async fn serve<H, Fut>(listen: &Listen, svc: Arc<Service>, handler: H) -> anyhow::Result<()>
where
    H: Fn(Box<dyn Stream>, Arc<Service>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if let Some(addr) = svc.config().service.metrics_listen.clone() {
        tokio::spawn(crate::metrics::serve(addr, svc.metrics.clone()));
    }
    let reloader = svc.clone();
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            let s = reloader.clone();
            // Reading keys and checking them with the module blocks: keep it off the event loop.
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });
    match listen {
        Listen::Inet(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            log(json!({"service": svc.name, "event": "listening", "on": format!("inet:{addr}")}));
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        start(&svc, &handler, Box::new(crate::quick_ack::QuickAck::new(stream)));
                    }
                    Err(e) => accept_error(&svc, e).await,
                }
            }
        }
        Listen::Unix(path) => {
            // A stale socket from an earlier run is replaced; any other file is left alone.
            use std::os::unix::fs::FileTypeExt;
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(path);
            }
            let listener = tokio::net::UnixListener::bind(path)?;
            let loaded = svc.config();
            let access = &loaded.service;
            crate::socket_access::apply(path, access.socket_mode.as_deref(), access.socket_group.as_deref())?;
            log(json!({"service": svc.name, "event": "listening", "on": format!("unix:{}", path.display())}));
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => start(&svc, &handler, Box::new(stream)),
                    Err(e) => accept_error(&svc, e).await,
                }
            }
        }
    }
}

/// Serve a new connection on its own task, or close it at once past `max_connections`.
fn start<H, Fut>(svc: &Arc<Service>, handler: &H, stream: Box<dyn Stream>)
where
    H: Fn(Box<dyn Stream>, Arc<Service>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(slot) = svc.open_connection() else { return };
    let work = handler(stream, svc.clone());
    tokio::spawn(async move {
        work.await;
        drop(slot);
    });
}

/// A connection being served; counted against `max_connections` until dropped.
pub struct ConnectionSlot(Arc<Service>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Service {
    /// A slot for a new connection, or `None` past `max_connections`: the caller closes the
    /// connection at once, so the MTA applies its default action instead of waiting.
    fn open_connection(self: &Arc<Self>) -> Option<ConnectionSlot> {
        use std::sync::atomic::Ordering;
        let max = self.config().service.max_connections;
        match self.open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)) {
            Ok(_) => Some(ConnectionSlot(self.clone())),
            Err(open) => {
                // One line for the first refusal and every thousandth: a flood must not flood the log.
                let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_multiple_of(1000) {
                    log(
                        json!({"service": self.name, "event": "connection_refused", "open": open, "max_connections": max, "refused_total": n}),
                    );
                }
                None
            }
        }
    }
}

/// Out of file descriptors and the like: log, wait a little, go on.
async fn accept_error(svc: &Service, e: std::io::Error) {
    log(json!({"service": svc.name, "event": "accept_failed", "error": e.to_string()}));
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        assert_eq!("inet:127.0.0.1:8891".parse(), Ok(Listen::Inet("127.0.0.1:8891".into())));
        assert_eq!("inet:8891@localhost".parse(), Ok(Listen::Inet("localhost:8891".into())));
        assert_eq!("unix:/run/ndr.sock".parse(), Ok(Listen::Unix("/run/ndr.sock".into())));
        assert!("inet:127.0.0.1".parse::<Listen>().is_err());
        assert!("tcp:1".parse::<Listen>().is_err());
    }
}
