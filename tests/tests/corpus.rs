//! The real-mail corpus (`tests/corpus`) through the native core and the wasm module.

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

/// The kind each labelled message of the other corpora should get.
fn expected_kind(label: &str) -> Option<&'static str> {
    let l = label.to_ascii_lowercase();
    Some(match () {
        _ if l.starts_with("ndr") || l.starts_with("bounce") => "bounce",
        _ if l.starts_with("delay") => "delay",
        _ if l.starts_with("challenge") => "challenge_response",
        _ if l.starts_with("vacation") || l.starts_with("autoreply") => "auto_reply",
        _ if l.starts_with("virus notice") || l.starts_with("content-filter notice") => "bounce",
        _ if l.starts_with("ordinary") || l.starts_with("spam") || l.starts_with("synthetic") => "normal",
        _ => return None, // e.g. an Outlook read receipt wrapped in TNEF: not decidable here
    })
}

/// Auto-replies, challenge-response requests, VBounce messages and the flagged ham: by kind.
#[test]
fn other_corpora_are_classified_by_kind() {
    let c = corpus();
    // These four files of autoreply/ carry the label of the Lotus Notes out-of-office replies
    // that share their numbers in ham/suspect/, but hold other messages (a list member's reply
    // about a Dell machine, ...): the label is wrong, not the answer.
    const MISLABELLED: &[&str] = &[
        "sa-corpus__00213.cbab995631e4345875a326d533cf6cd6.eml",
        "sa-corpus__00236.0d42e8e99de86aae42a4f3e3cdc2465b.eml",
        "sa-corpus__00243.356078a6eb0847e4670477133553b3af.eml",
        "sa-corpus__01313.f8778c3339382c5514c9e201847f75ee.eml",
    ];
    let mut cases: Vec<(std::path::PathBuf, String)> = Vec::new();
    for r in jsonl(&c.join("autoreply/expected.jsonl")) {
        let file = r["file"].as_str().unwrap();
        if !MISLABELLED.iter().any(|m| file.ends_with(m)) {
            cases.push((c.join("autoreply").join(file), r["class"].as_str().unwrap().to_string()));
        }
    }
    for r in jsonl(&c.join("backscatter/expected.jsonl")) {
        cases.push((
            c.join("backscatter").join(r["file"].as_str().unwrap()),
            r["message_class"].as_str().unwrap().to_string(),
        ));
    }
    for r in jsonl(&c.join("ham/index.jsonl")) {
        if let (Some(file), Some(review)) = (r["file"].as_str(), r["review"].as_str()) {
            cases.push((c.join("ham").join(file), review.to_string()));
        }
    }
    let (mut checked, mut wrong) = (0, Vec::new());
    for (path, label) in &cases {
        let Some(want) = expected_kind(label) else { continue };
        checked += 1;
        let got = native_json(&std::fs::read(path).unwrap());
        if got["kind"] != want {
            wrong.push(format!("{}: {label} → {} (want {want})", path.display(), got["kind"]));
        }
    }
    println!("other corpora: {checked} labelled messages, {} classified otherwise", wrong.len());
    assert!(checked >= 50, "{checked}");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
