//! `ndr state`: what the configured backend holds now: the report sources with the most
//! backscatter, the fullest limit buckets, and the registry's size. Read-only.

use serde_json::{Value, json};

use super::{LimitKind, State, StateConfig};

/// The snapshot as JSON: `{"backend", "registry", "sources": [...], "buckets": [...]}`.
pub async fn snapshot_json(c: &StateConfig, top: usize) -> Result<Value, String> {
    let state = State::open(c, "state")?;
    let now = crate::request::unix_now();
    let window = c.reputation_hours.saturating_mul(3600);
    let t = std::time::Duration::from_millis(c.connect_timeout_ms + 30_000);
    let mut s = tokio::time::timeout(t, state.snapshot(now, window))
        .await
        .map_err(|_| "the state backend did not answer in time".to_string())??;
    s.sources.sort_by(|a, b| b.1.backscatter.cmp(&a.1.backscatter).then(b.1.legitimate.cmp(&a.1.legitimate)));
    let prefix = state.prefix().len();
    // `{prefix}{kind:part}` → (kind, part).
    let split = |key: &str| {
        let inner = key.get(prefix..).unwrap_or("").trim_start_matches('{').trim_end_matches('}');
        let (kind, part) = inner.split_once(':').unwrap_or((inner, ""));
        (kind.to_string(), part.to_string())
    };
    let sources: Vec<Value> = s
        .sources
        .iter()
        .take(top)
        .map(|(k, n)| {
            let (_, source) = split(k);
            json!({"source": source, "backscatter": n.backscatter, "legitimate": n.legitimate})
        })
        .collect();
    let mut buckets: Vec<Value> = s
        .buckets
        .iter()
        .filter_map(|(k, ahead_us)| {
            let (kind, part) = split(k);
            let limit = LimitKind::ALL.into_iter().find(|l| l.name() == kind).and_then(|l| c.limits.get(l))?;
            let rule = limit.rule();
            let used = ahead_us.div_ceil(rule.interval_us);
            Some(json!({"limit": kind, "key": part, "used": used, "burst": rule.burst, "full": used >= rule.burst}))
        })
        .collect();
    buckets.sort_by(|a, b| b["used"].as_u64().cmp(&a["used"].as_u64()));
    buckets.truncate(top);
    Ok(json!({
        "backend": state.backend_name(), "registry": s.registry, "sources": sources, "buckets": buckets,
        "window_hours": c.reputation_hours, "truncated": s.truncated,
    }))
}

/// The snapshot for people.
pub fn to_text(v: &Value) -> String {
    let mut out = format!(
        "backend {}; sent-mail registry: {} Message-IDs{}\n",
        v["backend"].as_str().unwrap_or("?"),
        v["registry"],
        if v["truncated"] == true { " (or more: not every key was read)" } else { "" }
    );
    if v["backend"] == "memory" {
        out.push_str("(the memory backend lives inside each service process: this command sees none of it)\n");
    }
    out.push_str(&format!("\nreport sources, last {} hours (most backscatter first):\n", v["window_hours"]));
    let sources = v["sources"].as_array().cloned().unwrap_or_default();
    if sources.is_empty() {
        out.push_str("  none\n");
    }
    for s in sources {
        out.push_str(&format!(
            "  {:<40} {:>8} backscatter {:>8} legitimate\n",
            s["source"].as_str().unwrap_or(""),
            s["backscatter"],
            s["legitimate"]
        ));
    }
    out.push_str("\nlimit buckets (fullest first; recipients are keyed hashes):\n");
    let buckets = v["buckets"].as_array().cloned().unwrap_or_default();
    if buckets.is_empty() {
        out.push_str("  none\n");
    }
    for b in buckets {
        out.push_str(&format!(
            "  {:<26} {:<40} {:>5}/{:<5}{}\n",
            b["limit"].as_str().unwrap_or(""),
            b["key"].as_str().unwrap_or(""),
            b["used"],
            b["burst"],
            if b["full"] == true { " full" } else { "" }
        ));
    }
    out
}
