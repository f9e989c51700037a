//! What the services count: decisions by kind, verdict and action, failures by cause, BATV
//! results, and module call latency, served in the Prometheus text format on an optional
//! listener (`[service] metrics_listen`) and read back by `ndr stats`.
//!
//! The exposition is written here rather than with the `prometheus` crate: the label sets are
//! few and fixed, the text format is a few lines per family, and the crate's registry and
//! protobuf features would add build time for nothing the services use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// Upper bounds of the latency buckets, in seconds (a classification takes about a
/// millisecond; `timeout_ms` defaults to 5 s).
const BUCKETS: [f64; 13] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The module calls the services make, one histogram each.
const CALLS: [&str; 4] = ["classify", "prescreen", "batv_verify", "batv_sign"];

/// A fixed-bucket histogram; each bucket counts the calls at or below its bound (cumulated
/// when written out).
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The counters of one service process.
pub struct Metrics {
    service: &'static str,
    /// (kind, verdict, action) → messages.
    decisions: Mutex<BTreeMap<(String, String, String), u64>>,
    /// cause → failed calls.
    failures: Mutex<BTreeMap<String, u64>>,
    /// BATV verification result → recipients.
    batv: Mutex<BTreeMap<String, u64>>,
    latency: [Histogram; CALLS.len()],
}

/// A label value from the module's answer: its own short snake_case words, anything else
/// `other`, so that a broken module cannot make the label sets grow without bound.
fn label(v: &Value) -> String {
    match v.as_str() {
        None => "none".into(),
        Some(s) if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            s.to_string()
        }
        Some(_) => "other".into(),
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut m = match map.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    *m.entry(key).or_default() += 1;
}

fn snapshot<K: Ord + Clone>(map: &Mutex<BTreeMap<K, u64>>) -> BTreeMap<K, u64> {
    match map.lock() {
        Ok(m) => m.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl Metrics {
    pub fn new(service: &'static str) -> Metrics {
        Metrics {
            service,
            decisions: Mutex::default(),
            failures: Mutex::default(),
            batv: Mutex::default(),
            latency: Default::default(),
        }
    }

    /// One classified message, from its report.
    pub fn decision(&self, report: &Value) {
        let action = if report["action"].is_null() { json!("accept") } else { report["action"].clone() };
        bump(&self.decisions, (label(&report["kind"]), label(&report["verdict"]), label(&action)));
    }

    /// One failure: `timeout`, `trap`, `budget`, `module_error`, `panic`, `instantiate`,
    /// `bad_answer`, `over_budget` or `state` (a `[state]` call that failed or was skipped).
    pub fn failure(&self, cause: &str) {
        bump(&self.failures, cause.to_string());
    }

    /// One BATV verification answer.
    pub fn batv_result(&self, answer: &Value) {
        bump(&self.batv, label(&answer["result"]));
    }

    /// How long one module call took; `export` is the module's export name.
    pub fn latency(&self, export: &str, d: Duration) {
        let call = export.strip_prefix("ndr_").unwrap_or(export);
        if let Some(i) = CALLS.iter().position(|c| *c == call) {
            self.latency[i].observe(d);
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let s = self.service;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP ndr_decisions_total Messages classified, by kind, verdict and action.");
        let _ = writeln!(out, "# TYPE ndr_decisions_total counter");
        for ((kind, verdict, action), n) in snapshot(&self.decisions) {
            let _ = writeln!(
                out,
                "ndr_decisions_total{{service=\"{s}\",kind=\"{kind}\",verdict=\"{verdict}\",action=\"{action}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP ndr_failures_total Calls answered by on_failure, by cause.");
        let _ = writeln!(out, "# TYPE ndr_failures_total counter");
        for (cause, n) in snapshot(&self.failures) {
            let _ = writeln!(out, "ndr_failures_total{{service=\"{s}\",cause=\"{cause}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP ndr_batv_results_total BATV verifications (RCPT time, /batv/verify), by result.");
        let _ = writeln!(out, "# TYPE ndr_batv_results_total counter");
        for (result, n) in snapshot(&self.batv) {
            let _ = writeln!(out, "ndr_batv_results_total{{service=\"{s}\",result=\"{result}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP ndr_call_duration_seconds Module call latency, by call.");
        let _ = writeln!(out, "# TYPE ndr_call_duration_seconds histogram");
        for (call, h) in CALLS.iter().zip(&self.latency) {
            let count = h.count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let mut cumulated = 0;
            for (bound, b) in BUCKETS.iter().zip(&h.buckets) {
                cumulated += b.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "ndr_call_duration_seconds_bucket{{service=\"{s}\",call=\"{call}\",le=\"{bound}\"}} {cumulated}"
                );
            }
            let _ = writeln!(
                out,
                "ndr_call_duration_seconds_bucket{{service=\"{s}\",call=\"{call}\",le=\"+Inf\"}} {count}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "ndr_call_duration_seconds_sum{{service=\"{s}\",call=\"{call}\"}} {sum}");
            let _ = writeln!(out, "ndr_call_duration_seconds_count{{service=\"{s}\",call=\"{call}\"}} {count}");
        }
        out
    }
}

/// Serve `GET /metrics` on `addr` until the process ends; a failure to bind is logged and the
/// mail service goes on without it.
pub async fn serve(addr: String, metrics: std::sync::Arc<Metrics>) {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render()) }
        }),
    );
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            crate::service::log(json!({"event": "metrics_listen_failed", "on": addr, "error": e.to_string()}));
            return;
        }
    };
    crate::service::log(json!({"event": "metrics_listening", "on": format!("http://{addr}/metrics")}));
    if let Err(e) = axum::serve(listener, app).await {
        crate::service::log(json!({"event": "metrics_failed", "error": e.to_string()}));
    }
}

/// One sample of an exposition: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of a text exposition (comments and malformed lines skipped). Label values
/// written here never hold quotes or commas, and that is all this reads.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        out.push(Sample { name: name.to_string(), labels, value });
    }
    out
}

/// `GET` a plain-HTTP URL (the metrics listener is loopback): the body of a 200 answer.
pub fn fetch(url: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{p}")),
        None => (rest, "/metrics".to_string()),
    };
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| format!("{url}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("{url}: {e}"))?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| format!("{url}: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| format!("{url}: not an HTTP answer"))?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("{url}: {status}"));
    }
    Ok(body.to_string())
}

/// The counters as JSON: decisions, failures and BATV results as rows with their counts;
/// latency per call as count, mean and the bucket bounds the 50th and 99th percentiles fall in.
pub fn to_json(samples: &[Sample]) -> Value {
    let rows = |name: &str| -> Vec<Value> {
        samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| {
                let mut row = serde_json::Map::new();
                for (k, v) in &s.labels {
                    row.insert(k.clone(), json!(v));
                }
                row.insert("count".into(), json!(s.value as u64));
                Value::Object(row)
            })
            .collect()
    };
    let mut latency = Vec::new();
    for count in samples.iter().filter(|s| s.name == "ndr_call_duration_seconds_count") {
        let same = |s: &&Sample| {
            s.labels.get("service") == count.labels.get("service") && s.labels.get("call") == count.labels.get("call")
        };
        let sum =
            samples.iter().filter(same).find(|s| s.name == "ndr_call_duration_seconds_sum").map_or(0.0, |s| s.value);
        let buckets: Vec<(&str, f64)> = samples
            .iter()
            .filter(same)
            .filter(|s| s.name == "ndr_call_duration_seconds_bucket")
            .filter_map(|s| Some((s.labels.get("le")?.as_str(), s.value)))
            .collect();
        let quantile = |q: f64| buckets.iter().find(|(_, n)| *n >= q * count.value).map(|(le, _)| le.to_string());
        latency.push(json!({
            "service": count.labels.get("service"), "call": count.labels.get("call"), "count": count.value as u64,
            "mean_seconds": if count.value > 0.0 { sum / count.value } else { 0.0 },
            "p50_at_most_seconds": quantile(0.5), "p99_at_most_seconds": quantile(0.99),
        }));
    }
    json!({
        "decisions": rows("ndr_decisions_total"),
        "failures": rows("ndr_failures_total"),
        "batv_results": rows("ndr_batv_results_total"),
        "latency": latency,
    })
}

/// `ndr stats`: the counters at `url`, for people or as JSON.
pub fn stats(url: &str, as_json: bool) -> Result<String, String> {
    let stats = to_json(&parse(&fetch(url)?));
    Ok(if as_json { format!("{stats:#}\n") } else { to_text(&stats) })
}

/// The counters for people: one block per family, one line per row.
pub fn to_text(stats: &Value) -> String {
    let mut out = String::new();
    for (family, columns) in [
        ("decisions", &["service", "kind", "verdict", "action"][..]),
        ("failures", &["service", "cause"][..]),
        ("batv_results", &["service", "result"][..]),
    ] {
        let rows = stats[family].as_array().cloned().unwrap_or_default();
        let _ = writeln!(out, "{family}:{}", if rows.is_empty() { " none" } else { "" });
        for r in rows {
            let cells: Vec<String> = columns.iter().map(|c| format!("{:<12}", r[*c].as_str().unwrap_or("-"))).collect();
            let _ = writeln!(out, "  {} {:>8}", cells.join(" "), r["count"]);
        }
    }
    let rows = stats["latency"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(out, "latency:{}", if rows.is_empty() { " none" } else { "" });
    for r in rows {
        let ms =
            |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).map_or("-".into(), |s| format!("{}ms", s * 1e3));
        let _ = writeln!(
            out,
            "  {:<12} {:<12} calls {:>8}  mean {:.2}ms  p50 <= {}  p99 <= {}",
            r["service"].as_str().unwrap_or("-"),
            r["call"].as_str().unwrap_or("-"),
            r["count"],
            r["mean_seconds"].as_f64().unwrap_or(0.0) * 1e3,
            ms(&r["p50_at_most_seconds"]),
            ms(&r["p99_at_most_seconds"]),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_and_read_back() {
        let m = Metrics::new("milter");
        m.decision(&json!({"kind": "bounce", "verdict": "backscatter", "action": "reject"}));
        m.decision(&json!({"kind": "bounce", "verdict": "backscatter", "action": "reject"}));
        m.decision(&json!({"kind": "ordinary", "verdict": null, "action": "accept"}));
        m.decision(&json!({"kind": "bad label\"}", "action": "accept"}));
        m.failure("timeout");
        m.latency("ndr_classify", Duration::from_micros(700));
        m.latency("ndr_classify", Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains(
            "ndr_decisions_total{service=\"milter\",kind=\"bounce\",verdict=\"backscatter\",action=\"reject\"} 2"
        ));
        assert!(text.contains("kind=\"other\",verdict=\"none\""));
        assert!(text.contains("ndr_call_duration_seconds_bucket{service=\"milter\",call=\"classify\",le=\"0.001\"} 1"));
        assert!(text.contains("ndr_call_duration_seconds_bucket{service=\"milter\",call=\"classify\",le=\"0.05\"} 2"));
        let stats = to_json(&parse(&text));
        assert_eq!(stats["decisions"][0]["count"], 2);
        assert_eq!(stats["failures"][0], json!({"service": "milter", "cause": "timeout", "count": 1}));
        assert_eq!(stats["latency"][0]["count"], 2);
        assert_eq!(stats["latency"][0]["p50_at_most_seconds"], "0.001");
        assert_eq!(stats["latency"][0]["p99_at_most_seconds"], "0.05");
        assert!(to_text(&stats).contains("backscatter"));
    }
}
