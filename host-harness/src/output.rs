//! What `ndr scan` and `ndr explain` print for people (the table and the explanation);
//! `--json` prints the module's documents unchanged.

use serde_json::{Map, Value, json};

/// The table's column titles.
pub fn table_header() -> String {
    format!(
        "{:<40} {:<18} {:<12} {:<34} {:<8} {:<14} {:<12} ACTION",
        "FILE", "KIND", "FORMAT", "RECIPIENT", "STATUS", "REASON", "VERDICT"
    )
}

/// A record for a message that produced no report.
pub fn failed(error: &str) -> Value {
    json!({ "kind": null, "is_bounce": null, "format": null, "recipients": [], "original": null, "warnings": [], "error": error })
}

/// `file` and `index` first, then the report's fields.
pub fn with_file(record: Value, file: &str, index: Option<usize>) -> Value {
    let mut m = Map::new();
    m.insert("file".into(), json!(file));
    m.insert("index".into(), json!(index));
    if let Value::Object(fields) = record {
        m.extend(fields);
    }
    Value::Object(m)
}

pub fn table_row(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut file = s(&v["file"]);
    if let Some(i) = v["index"].as_u64() {
        file = format!("{file}#{i}");
    }
    if file.chars().count() > 40 {
        file = format!("…{}", file.chars().rev().take(39).collect::<Vec<_>>().into_iter().rev().collect::<String>());
    }
    let recipients = v["recipients"].as_array().cloned().unwrap_or_default();
    let first = recipients.first().cloned().unwrap_or(Value::Null);
    let mut rcpt = s(&first["address"]);
    if recipients.len() > 1 {
        rcpt = format!("{rcpt} (+{})", recipients.len() - 1);
    }
    let kind = if v["error"].is_string() && v["kind"].is_null() { "error".to_string() } else { s(&v["kind"]) };
    let reason = if v["error"].is_string() { format!("error: {}", s(&v["error"])) } else { s(&first["reason"]) };
    format!(
        "{file:<40} {kind:<18} {:<12} {rcpt:<34} {:<8} {reason:<14} {:<12} {}",
        s(&v["format"]),
        s(&first["status"]),
        s(&v["verdict"]),
        s(&v["action"])
    )
}

/// The explanation of one report.
pub fn print_explain(file: &std::path::Path, report: &Value) {
    let s = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    println!("file:     {}", file.display());
    println!("kind:     {} ({})", s(&report["kind"]), s(&report["format"]));
    println!("verdict:  {}   score {}", s(&report["verdict"]), s(&report["score"]));
    let mut action = format!("{} at {}", s(&report["action"]), s(&report["stage"]));
    if let Some(reply) = report["smtp_reply"].as_object() {
        action.push_str(&format!(" with \"{} {} {}\"", s(&reply["code"]), s(&reply["status"]), s(&reply["text"])));
    }
    println!("action:   {action}");
    if report["envelope_inferred"] == true {
        println!("envelope: read from the delivery headers (override with --mail-from / --rcpt)");
    }
    println!("signals:");
    for sig in report["signals"].as_array().into_iter().flatten() {
        println!("  {:>5}  {:<30} {}", s(&sig["weight"]), s(&sig["name"]), s(&sig["value"]));
    }
    for r in report["recipients"].as_array().into_iter().flatten() {
        println!("recipient {}: {} {} ({})", s(&r["address"]), s(&r["status"]), s(&r["reason"]), s(&r["diagnostic"]));
        // Why this reason (ABI 1.3): the rule, and the table entry it used.
        if let Some(why) = r["reason_source"].as_object() {
            let field = |k: &str| why.get(k).map(s).unwrap_or_default();
            println!("  reason from {} {}: {}", field("rule"), field("table"), field("entry"));
        }
    }
}
