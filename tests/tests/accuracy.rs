//! Bounce-parsing accuracy on the corpus's bounces (`tests/corpus/bounces`), per format
//! (sisimai's `engine`) and overall, scored the way `tests/eval/score.py` scores it: recipients
//! matched by address (case-insensitive), pseudo statuses compared by class digit, reasons by
//! sisimai's names. Each figure is given for the tuned part and the blind part side by side
//! (`ndr_tests::is_blind`): a change that lifts the tuned part and not the blind part is fitting
//! the corpus, not reading mail.

use std::collections::{BTreeMap, BTreeSet};

use ndr_tests::{corpus, is_blind, jsonl, messages_of, native_json};
use serde_json::Value;

const NON_NDR: &[&str] = &["delivered", "vacation", "feedback"];

/// The measures, in table order: files detected as bounces, expected recipients found, statuses
/// and reasons right on those rows, and messages whose set of failed recipients is exactly right.
const MEASURES: [&str; 5] = ["detected", "recipient", "status", "reason", "exact set"];

/// The earlier targets for the whole corpus (the exact set had none).
const TARGET: [f64; 4] = [0.99, 0.99, 0.97, 0.93];
/// Floors on the whole corpus (tuned and blind together): where the parser stood before the
/// split (the exact set: its first measured value, rounded down); they only ever go up, and the
/// test fails if accuracy falls under them.
const FLOOR: [f64; 5] = [0.995, 0.99, 0.975, 0.93, 0.98];
/// Floors on the blind part: its measured values when the split was introduced (detected 100%,
/// recipient 99.4%, status 98.1%, reason 95.5%, exact set 99.3%), rounded down to the whole
/// percent; they only ever go up. Issue 16's aims for the blind part (reason ≥ 90%, status
/// ≥ 97%, recipient ≥ 99%) are met on this split; note that the whole corpus, this third
/// included, was tuned on before the split existed, so it is held back only from now on. Mail
/// the parser has never seen (issue 16: reason 71.8%, status 94.3%, recipient 97.1%) is the
/// harder measure.
const BLIND_FLOOR: [f64; 5] = [1.0, 0.99, 0.98, 0.95, 0.99];

fn reason_name(r: &str) -> &str {
    match r {
        "emailtoolarge" => "mesgtoobig",
        "ratelimited" => "speeding",
        other => other,
    }
}

/// An address as compared: without angle brackets or surrounding space, lower case.
fn normal_address(a: &str) -> String {
    a.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase()
}

/// Counts for one part of the corpus (a format's or all of it; tuned or blind).
#[derive(Default, Clone, Copy)]
struct Tally {
    files: usize,
    detected: usize,
    rows: usize,
    address: usize,
    status: usize,
    reason: usize,
    /// Files whose expected rows all name a recipient, so that the expected set is known.
    set_files: usize,
    set_exact: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.files += o.files;
        self.detected += o.detected;
        self.rows += o.rows;
        self.address += o.address;
        self.status += o.status;
        self.reason += o.reason;
        self.set_files += o.set_files;
        self.set_exact += o.set_exact;
    }

    /// The measures as fractions (`None` where nothing was counted), in `MEASURES` order.
    fn rates(&self) -> [Option<f64>; 5] {
        let r = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        [
            r(self.detected, self.files),
            r(self.address, self.rows),
            r(self.status, self.rows),
            r(self.reason, self.rows),
            r(self.set_exact, self.set_files),
        ]
    }
}

/// Scores one file's report against its expected rows (the rows that are not delivered,
/// vacation or feedback).
fn score(report: &Value, expected: &[&Value]) -> Tally {
    let mut t = Tally { files: 1, detected: (report["is_bounce"] == true) as usize, ..Tally::default() };
    let recipients = report["recipients"].as_array().cloned().unwrap_or_default();
    for r in expected {
        t.rows += 1;
        let want = normal_address(r["recipient"].as_str().unwrap_or(""));
        let got = if want.is_empty() {
            recipients.get(r["recipient_index"].as_u64().unwrap_or(1) as usize - 1)
        } else {
            recipients.iter().find(|x| normal_address(x["address"].as_str().unwrap_or("")) == want)
        };
        let Some(got) = got else { continue };
        t.address += 1;
        let (ps, es) = (got["status"].as_str().unwrap_or(""), r["deliverystatus"].as_str().unwrap_or(""));
        t.status += if es.is_empty() {
            true
        } else if r["pseudo_status"] == true {
            !ps.is_empty() && ps[..1] == es[..1]
        } else {
            ps == es
        } as usize;
        t.reason +=
            (reason_name(got["reason"].as_str().unwrap_or("")) == reason_name(r["reason"].as_str().unwrap())) as usize;
    }
    // The exact set: what a list manager acts on. Known only where every expected row names an
    // address (sisimai invents `…@libsisimai.org.invalid` where the report names none).
    let wanted: Option<BTreeSet<String>> = expected
        .iter()
        .map(|r| r["recipient"].as_str().map(normal_address).filter(|a| !a.is_empty() && !a.ends_with(".invalid")))
        .collect();
    if let Some(wanted) = wanted {
        // Recipients the report says were delivered, relayed or expanded are not failures.
        let reported: BTreeSet<String> = recipients
            .iter()
            .filter(|x| !["delivered", "relayed", "expanded"].contains(&x["action"].as_str().unwrap_or("")))
            .filter_map(|x| x["address"].as_str().map(normal_address))
            .collect();
        t.set_files = 1;
        t.set_exact = (reported == wanted) as usize;
    }
    t
}

fn percent(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{:.0}%", 100.0 * r))
}

/// One table row: the tuned and the blind part side by side.
fn table_row(name: &str, parts: &[Tally; 2]) -> String {
    let mut line = format!("{name:<18}");
    for t in parts {
        line += &format!(" | {:>5}", t.files);
        for r in t.rates() {
            line += &format!(" {:>9}", percent(r));
        }
    }
    line
}

#[test]
fn accuracy_per_format_and_overall_tuned_and_blind() {
    let dir = corpus().join("bounces");
    let files: Vec<Value> = jsonl(&dir.join("files.jsonl"));
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in jsonl(&dir.join("expected.jsonl")) {
        rows.entry(r["file"].as_str().unwrap().to_string()).or_default().push(r);
    }
    // Index 0 is the tuned part, 1 the blind part.
    let mut per_engine: BTreeMap<String, [Tally; 2]> = BTreeMap::new();
    let mut total = [Tally::default(); 2];
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
        let t = score(reports.last().unwrap(), &expected);
        let side = is_blind(file) as usize;
        let engine = f["engine"].as_str().unwrap_or("(none)").to_string();
        per_engine.entry(engine).or_default()[side].add(&t);
        total[side].add(&t);
    }
    let columns = MEASURES.map(|m| format!("{m:>9}")).join(" ");
    println!("{:<18} | {:<55} | {:<55}", "", "tuned part", "blind part (only scored)");
    println!("{:<18} | {:>5} {columns} | {:>5} {columns}", "format", "files", "files");
    for (engine, parts) in &per_engine {
        println!("{}", table_row(engine, parts));
    }
    println!("{}", table_row("overall", &total));
    let mut whole = total[0];
    whole.add(&total[1]);
    let (whole_rates, blind_rates) = (whole.rates(), total[1].rates());
    let precise = |rates: &[Option<f64>; 5]| {
        MEASURES.iter().zip(rates).map(|(m, r)| format!("{m} {:.2}%", 100.0 * r.unwrap_or(0.0))).collect::<Vec<_>>()
    };
    for (name, t) in [("tuned", &total[0]), ("blind", &total[1]), ("whole", &whole)] {
        println!(
            "{name}: {} files, {} rows, {} with a known set: {}",
            t.files,
            t.rows,
            t.set_files,
            precise(&t.rates()).join(", ")
        );
    }
    println!(
        "earlier targets on the whole: detected {:.0}%, recipient {:.0}%, status {:.0}%, reason {:.0}%",
        TARGET[0] * 100.0,
        TARGET[1] * 100.0,
        TARGET[2] * 100.0,
        TARGET[3] * 100.0
    );
    println!("issue 16's aims on the blind part: reason 90%, status 97%, recipient 99%");
    assert!(whole.files > 400, "too few scored files: {}", whole.files);
    assert!(total[1].files * 4 > whole.files, "the blind part is under a quarter: {}", total[1].files);
    for (i, name) in MEASURES.iter().enumerate() {
        let (w, b) = (whole_rates[i].unwrap_or(0.0), blind_rates[i].unwrap_or(0.0));
        assert!(w >= FLOOR[i], "whole {name} {w:.4} fell below its floor {}", FLOOR[i]);
        assert!(b >= BLIND_FLOOR[i], "blind {name} {b:.4} fell below its floor {}", BLIND_FLOOR[i]);
    }
}

/// The split is FNV-1a 64 of the base name modulo 3, the same wherever the file lies.
#[test]
fn the_blind_split_is_the_agreed_hash_of_the_base_name() {
    // FNV-1a 64 of `lhost-postfix-01.eml` is 0xd01349f14cf2a5ef (≡ 0 mod 3), of
    // `lhost-exim-01.eml` 0xad08f3c393cfe2d5 (≡ 1), of `arf-01.eml` 0xf726de93e75d3454 (≡ 2).
    assert!(is_blind("lhost-postfix-01.eml"));
    assert!(is_blind("eml/dos/lhost-postfix-01.eml"));
    assert!(is_blind("eml/mac/lhost-postfix-01.eml"));
    assert!(!is_blind("lhost-exim-01.eml"));
    assert!(!is_blind("eml/arf-01.eml"));
}

/// The same bytes with CRLF and lone CR line ends turned into LF.
fn with_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\r' {
            bytes.next_if_eq(&&b'\n');
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

/// CRLF (`eml/dos/`) and CR (`eml/mac/`) copies answer exactly like their LF originals (a CR copy
/// whose LF original is not in the corpus, like its CRLF copy): the whole report where the copy
/// differs only in line ends. Some of sisimai's copies also differ in content (an encoded
/// Subject stored decoded, ...); on those only the kind, format and recipients are compared.
#[test]
fn line_ending_copies_answer_like_their_originals() {
    let dir = corpus().join("bounces/eml");
    let (mut whole, mut in_part, mut differ) = (0, 0, Vec::new());
    for folder in ["dos", "mac"] {
        for copy in ndr_tests::files_under(&dir.join(folder)) {
            let name = copy.file_name().unwrap();
            let original = [dir.join(name), dir.join("dos").join(name)].into_iter().find(|p| p.is_file() && *p != copy);
            let Some(original) = original else { continue };
            let (a_raw, b_raw) = (std::fs::read(&original).unwrap(), std::fs::read(&copy).unwrap());
            let (mut a, mut b) = (native_json(&a_raw), native_json(&b_raw));
            if with_lf(&a_raw) == with_lf(&b_raw) {
                whole += 1;
            } else {
                in_part += 1;
                for v in [&mut a, &mut b] {
                    v.as_object_mut()
                        .unwrap()
                        .retain(|k, _| ["kind", "format", "recipients", "is_bounce"].contains(&k.as_str()));
                }
            }
            if a != b {
                differ.push(format!("{} vs {}: {a} vs {b}", copy.display(), original.display()));
            }
        }
    }
    println!("CRLF/CR copies: {whole} compared whole, {in_part} in part (content differs), {} differ", differ.len());
    assert!(whole >= 100 && whole + in_part >= 140, "{whole} + {in_part}");
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
