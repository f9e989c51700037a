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
    for row in &rows {
        let raw = std::fs::read(dir.join(row["file"].as_str().unwrap())).unwrap();
        let request = json!({"config": site_config(row), "now": 1_795_478_400u64}).to_string();
        let report: Value = serde_json::from_str(&instance.classify(&raw, request.as_bytes()).unwrap()).unwrap();
        let backscatter = report["verdict"] == "backscatter";
        if backscatter != row["expected_backscatter"].as_bool().unwrap() {
            wrong.push(format!("{}: {} {} score {}", row["file"], report["kind"], report["verdict"], report["score"]));
        }
    }
    println!("backscatter corpus: {} messages, {} disagree", rows.len(), wrong.len());
    assert!(rows.len() >= 30);
    assert!(wrong.is_empty(), "{wrong:#?}");
}
