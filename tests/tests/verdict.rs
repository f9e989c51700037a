//! The backscatter verdict on `tests/corpus/backscatter`: each message with the site's relays
//! from its `our_relays` (and the trusted networks of `extra_config`), as SpamAssassin's tests
//! configure them. `expected_backscatter` must be agreed on every message.

use ndr_tests::{corpus, jsonl};
use serde_json::{Value, json};

fn site_config(row: &Value) -> Value {
    let mut relays: Vec<String> =
        row["our_relays"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_string)).collect();
    for line in row["extra_config"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        // "trusted_networks 66.224.197.128/27": our own networks count as relays.
        if let Some(net) = line.split_whitespace().nth(1) {
            relays.push(net.to_string());
        }
    }
    if relays.is_empty() { json!({}) } else { json!({"site": {"relays": relays}}) }
}

#[test]
fn backscatter_corpus_is_agreed_on_every_message() {
    let dir = corpus().join("backscatter");
    let mut wrong = Vec::new();
    let rows = jsonl(&dir.join("expected.jsonl"));
    let mut instance = ndr_tests::filter().instance().unwrap();
    let mut nothing_to_observe = Vec::new();
    for row in &rows {
        let raw = std::fs::read(dir.join(row["file"].as_str().unwrap())).unwrap();
        let request = json!({"config": site_config(row), "now": 1_795_478_400u64}).to_string();
        let report: Value = serde_json::from_str(&instance.classify(&raw, request.as_bytes()).unwrap()).unwrap();
        let backscatter = report["verdict"] == "backscatter";
        let expected = row["expected_backscatter"].as_bool().unwrap();
        let summary = format!("{}: {} {} score {}", row["file"], report["kind"], report["verdict"], report["score"]);
        if expected && !quotes_received(&raw) {
            // SpamAssassin fires on the absence; here the relay signal sees nothing, and only
            // other evidence (a virus notice) may decide.
            let relay =
                report["signals"].as_array().into_iter().flatten().find(|s| s["name"] == "original_via_our_relay");
            let other_evidence = report["signals"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["name"] != "original_via_our_relay" && s["weight"].as_i64().unwrap_or(0) <= -30);
            if relay.is_some_and(|r| r["weight"] != 0 || r["observed"] != false) || (backscatter && !other_evidence) {
                wrong.push(format!("{summary}: quotes no Received line, so that says nothing"));
            }
            nothing_to_observe.push(summary);
        } else if backscatter != expected {
            wrong.push(summary);
        }
    }
    println!(
        "backscatter corpus: {} messages, {} disagree; {} quote no Received line (backscatter to SpamAssassin for that absence alone): {nothing_to_observe:#?}",
        rows.len(),
        wrong.len(),
        nothing_to_observe.len()
    );
    assert!(rows.len() >= 30);
    assert!(
        nothing_to_observe.len() * 3 < rows.len(),
        "most messages must carry evidence for this test to mean anything"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A naive reading, independent of the filter's: does a line below the message's own header
/// block start a Received field (quoted with `>` or not)?
fn quotes_received(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let body = text.split_once("\n\n").map_or("", |(_, b)| b);
    body.lines().any(|l| l.trim_start_matches(['>', ' ']).get(..9).is_some_and(|h| h.eq_ignore_ascii_case("received:")))
}
