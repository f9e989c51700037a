//! The real-mail corpus (`../shared/corpus`) through the native core and the wasm module.

use std::collections::BTreeMap;

use ndr_tests::{all_corpus_messages, corpus, filter, jsonl, messages_of, native_json};
use serde_json::Value;

/// Every message: the module answers (no trap, no exhausted budget), with a well-formed report,
/// and natively the same report.
#[test]
fn every_message_gets_the_same_report_natively_and_in_wasm() {
    let files = all_corpus_messages();
    assert!(files.len() > 2000, "corpus incomplete: {} files", files.len());
    let mut instance = filter().instance().expect("instance");
    let (mut messages, mut differ) = (0, Vec::new());
    for path in &files {
        for raw in messages_of(path) {
            messages += 1;
            let wasm = instance.classify(&raw, b"").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let wasm: Value = serde_json::from_str(&wasm).expect("report is JSON");
            assert!(wasm["kind"].is_string() && wasm["recipients"].is_array(), "{}: {wasm}", path.display());
            if wasm != native_json(&raw) {
                differ.push(path.display().to_string());
            }
        }
    }
    println!("{messages} messages from {} files: native and wasm differ on {}", files.len(), differ.len());
    assert!(differ.is_empty(), "native and wasm differ: {differ:?}");
}

/// Ordinary mail is never anything but `normal`.
#[test]
fn ham_is_normal() {
    let ham = ndr_tests::files_under(&corpus().join("ham/eml"));
    assert!(ham.len() > 1400);
    let wrong: Vec<String> = ham
        .iter()
        .filter_map(|p| {
            let r = native_json(&std::fs::read(p).expect("readable"));
            (r["kind"] != "normal").then(|| format!("{} → {}", p.display(), r["kind"]))
        })
        .collect();
    println!("ham: {} messages, {} not normal", ham.len(), wrong.len());
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The standard formats (sisimai engines RFC3464 and ARF) give the expected kind, recipients,
/// statuses and reply codes.
#[test]
fn standard_formats_match_expected_answers() {
    let dir = corpus().join("bounces");
    let engines: BTreeMap<String, String> = jsonl(&dir.join("files.jsonl"))
        .into_iter()
        .filter_map(|f| Some((f["file"].as_str()?.to_string(), f["engine"].as_str()?.to_string())))
        .collect();
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in jsonl(&dir.join("expected.jsonl")) {
        rows.entry(row["file"].as_str().unwrap_or("").to_string()).or_default().push(row);
    }
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut fields: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (file, engine) in engines.iter().filter(|(_, e)| *e == "RFC3464" || *e == "ARF") {
        // An mbox file holds several reports: their recipients are pooled.
        let reports: Vec<Value> = messages_of(&dir.join(file)).iter().map(|m| native_json(m)).collect();
        let kind_ok = reports.iter().all(|r| match engine.as_str() {
            "ARF" => r["kind"] == "feedback_report",
            _ => ["bounce", "delay", "delivered"].contains(&r["kind"].as_str().unwrap_or("")),
        });
        let e = per_kind.entry(engine.clone()).or_default();
        e.0 += 1;
        e.1 += kind_ok as usize;
        if !kind_ok {
            failures.push(format!("{file}: kind {}", reports[0]["kind"]));
        }
        let recipients: Vec<&Value> =
            reports.iter().flat_map(|r| r["recipients"].as_array().into_iter().flatten()).collect();
        for (i, row) in rows.get(file).into_iter().flatten().enumerate() {
            let want = row["recipient"].as_str().unwrap_or("").to_ascii_lowercase();
            // sisimai invents `…@libsisimai.org.invalid` where a report names no recipient.
            let got = if want.is_empty() || want.ends_with(".invalid") {
                recipients.get(i).copied()
            } else {
                recipients.iter().copied().find(|r| r["address"].as_str().unwrap_or("").eq_ignore_ascii_case(&want))
            };
            let mut check = |field: &'static str, ok: bool| {
                let f = fields.entry(field).or_default();
                f.0 += 1;
                f.1 += ok as usize;
                if !ok {
                    failures.push(format!(
                        "{file} #{}: {field} (want {want} {} {}, got {got:?})",
                        i + 1,
                        row["deliverystatus"],
                        row["replycode"]
                    ));
                }
            };
            check("recipient", got.is_some() || want.ends_with(".invalid"));
            let Some(got) = got else { continue };
            let status = got["status"].as_str().unwrap_or("");
            let want_status = row["deliverystatus"].as_str().unwrap_or("");
            let status_ok = if row["pseudo_status"] == true {
                status.get(..1) == want_status.get(..1)
            } else {
                status == want_status
            };
            check("status", status_ok);
            check("reply_code", got["reply_code"].as_str().unwrap_or("") == row["replycode"].as_str().unwrap_or(""));
        }
    }
    for (kind, (n, ok)) in &per_kind {
        println!("engine {kind:<8} files {n:>3}  right kind {ok:>3} ({:.1}%)", 100.0 * *ok as f64 / *n as f64);
    }
    for (field, (n, ok)) in &fields {
        println!("field {field:<10} rows {n:>3}  match {ok:>3} ({:.1}%)", 100.0 * *ok as f64 / *n as f64);
    }
    assert!(per_kind.values().map(|v| v.0).sum::<usize>() >= 40, "too few standard-format files");
    assert!(failures.is_empty(), "{failures:#?}");
}
