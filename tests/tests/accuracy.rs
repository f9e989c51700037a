//! Bounce-parsing accuracy on `../shared/corpus/bounces`, per format (sisimai's `engine`) and
//! overall, scored the way `../shared/eval/score.py` scores it: recipients matched by address
//! (case-insensitive), pseudo statuses compared by class digit, reasons by sisimai's names.

use std::collections::BTreeMap;

use ndr_tests::{corpus, jsonl, messages_of, native_json};
use serde_json::Value;

const NON_NDR: &[&str] = &["delivered", "vacation", "feedback"];

/// The targets. The floors below them are where the parser stands today; they only
/// ever go up, and the test fails if accuracy falls under them.
const TARGET: [f64; 4] = [0.99, 0.99, 0.97, 0.93];
const FLOOR: [f64; 4] = [0.995, 0.99, 0.975, 0.93];

fn reason_name(r: &str) -> &str {
    match r {
        "emailtoolarge" => "mesgtoobig",
        "ratelimited" => "speeding",
        other => other,
    }
}

#[derive(Default)]
struct Tally {
    files: usize,
    detected: usize,
    rows: usize,
    address: usize,
    status: usize,
    reason: usize,
}

#[test]
fn accuracy_per_format_and_overall() {
    let dir = corpus().join("bounces");
    let files: Vec<Value> = jsonl(&dir.join("files.jsonl"));
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in jsonl(&dir.join("expected.jsonl")) {
        rows.entry(r["file"].as_str().unwrap().to_string()).or_default().push(r);
    }
    let mut per_engine: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for f in &files {
        let file = f["file"].as_str().unwrap();
        // Only LF originals are scored; their CRLF and CR copies must answer alike (below).
        if f["folder"] != "bsd" {
            continue;
        }
        let expected: Vec<&Value> = rows
            .get(file)
            .into_iter()
            .flatten()
            .filter(|r| !NON_NDR.contains(&r["reason"].as_str().unwrap()))
            .collect();
        if expected.is_empty() {
            continue;
        }
        let reports: Vec<Value> = messages_of(&dir.join(file)).iter().map(|m| native_json(m)).collect();
        // An mbox holds several reports; like score.py, the last one answers for the file.
        let report = reports.last().unwrap();
        let engine = f["engine"].as_str().unwrap_or("(none)").to_string();
        let t = per_engine.entry(engine).or_default();
        t.files += 1;
        total.files += 1;
        let detected = report["is_bounce"] == true;
        t.detected += detected as usize;
        total.detected += detected as usize;
        let recipients = report["recipients"].as_array().cloned().unwrap_or_default();
        for r in expected {
            t.rows += 1;
            total.rows += 1;
            let want = r["recipient"].as_str().unwrap_or("").to_ascii_lowercase();
            let got = if want.is_empty() {
                recipients.get(r["recipient_index"].as_u64().unwrap_or(1) as usize - 1)
            } else {
                recipients.iter().find(|x| x["address"].as_str().unwrap_or("").eq_ignore_ascii_case(&want))
            };
            let Some(got) = got else { continue };
            t.address += 1;
            total.address += 1;
            let (ps, es) = (got["status"].as_str().unwrap_or(""), r["deliverystatus"].as_str().unwrap_or(""));
            let status_ok = if es.is_empty() {
                true
            } else if r["pseudo_status"] == true {
                !ps.is_empty() && ps[..1] == es[..1]
            } else {
                ps == es
            };
            t.status += status_ok as usize;
            total.status += status_ok as usize;
            let reason_ok =
                reason_name(got["reason"].as_str().unwrap_or("")) == reason_name(r["reason"].as_str().unwrap());
            t.reason += reason_ok as usize;
            total.reason += reason_ok as usize;
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "{:<18} {:>5} {:>9} {:>5} {:>9} {:>9} {:>9}",
        "format", "files", "detected", "rows", "recipient", "status", "reason"
    );
    for (engine, t) in &per_engine {
        println!(
            "{engine:<18} {:>5} {:>8.0}% {:>5} {:>8.0}% {:>8.0}% {:>8.0}%",
            t.files,
            pct(t.detected, t.files),
            t.rows,
            pct(t.address, t.rows),
            pct(t.status, t.rows),
            pct(t.reason, t.rows)
        );
    }
    let overall = [
        total.detected as f64 / total.files as f64,
        total.address as f64 / total.rows as f64,
        total.status as f64 / total.rows as f64,
        total.reason as f64 / total.rows as f64,
    ];
    println!(
        "overall: {} files, {} rows: detected {:.2}%, recipient {:.2}%, status {:.2}%, reason {:.2}%",
        total.files,
        total.rows,
        100.0 * overall[0],
        100.0 * overall[1],
        100.0 * overall[2],
        100.0 * overall[3]
    );
    println!(
        "targets: detected {:.0}%, recipient {:.0}%, status {:.0}%, reason {:.0}%",
        TARGET[0] * 100.0,
        TARGET[1] * 100.0,
        TARGET[2] * 100.0,
        TARGET[3] * 100.0
    );
    assert!(total.files > 400, "too few scored files: {}", total.files);
    for (i, name) in ["detected", "recipient", "status", "reason"].iter().enumerate() {
        assert!(overall[i] >= FLOOR[i], "{name} {:.4} fell below its floor {}", overall[i], FLOOR[i]);
    }
}

/// CRLF (`eml/dos/`) and CR (`eml/mac/`) copies answer exactly like their LF originals.
#[test]
fn line_ending_copies_answer_like_their_originals() {
    let dir = corpus().join("bounces/eml");
    let mut compared = 0;
    let mut differ = Vec::new();
    for folder in ["dos", "mac"] {
        for copy in ndr_tests::files_under(&dir.join(folder)) {
            let original = dir.join(copy.file_name().unwrap());
            if !original.is_file() {
                continue;
            }
            compared += 1;
            let strip = |mut v: Value| {
                // Only the recipients and kind are compared: the diagnostic texts are already
                // white-space-collapsed, so CR/LF differences do not reach them.
                v.as_object_mut()
                    .unwrap()
                    .retain(|k, _| ["kind", "format", "recipients", "is_bounce"].contains(&k.as_str()));
                v
            };
            let a = strip(native_json(&std::fs::read(&original).unwrap()));
            let b = strip(native_json(&std::fs::read(&copy).unwrap()));
            if a != b {
                differ.push(format!("{}: {a} vs {b}", copy.display()));
            }
        }
    }
    println!("{compared} CRLF/CR copies compared, {} differ", differ.len());
    assert!(compared >= 130, "{compared}");
    assert!(differ.is_empty(), "{differ:#?}");
}

/// Damaged and odd mail (`eml/err/`) gets a report without an error.
#[test]
fn damaged_mail_is_answered_without_error() {
    let files = ndr_tests::files_under(&corpus().join("bounces/eml/err"));
    assert!(files.len() >= 30);
    for f in &files {
        for m in messages_of(f) {
            let r = native_json(&m);
            assert!(r["error"].is_null() && r["kind"].is_string(), "{}: {r}", f.display());
        }
    }
}
