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

/// `a` of `b` as a fraction, `None` where nothing was counted.
fn fraction(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
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
        let r = fraction;
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
        let reported: BTreeSet<String> = reported_failures(&recipients).collect();
        t.set_files = 1;
        t.set_exact = (reported == wanted) as usize;
    }
    t
}

/// The addresses a report gives as failed: those it says were delivered, relayed or expanded
/// are not failures.
fn reported_failures(recipients: &[Value]) -> impl Iterator<Item = String> + '_ {
    recipients
        .iter()
        .filter(|x| !["delivered", "relayed", "expanded"].contains(&x["action"].as_str().unwrap_or("")))
        .filter_map(|x| x["address"].as_str().map(normal_address))
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
    // Mail from outside the corpus's source, never tuned on: printed beside the two parts; its
    // floors are asserted by `outside_mail_scored_never_tuned_on`.
    for group in &OUTSIDE_GROUPS {
        println!("{}", score_outside(group).summary(group.name));
    }
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

/// A group of mail from other projects' test suites (`tests/corpus/outside*`): blind by nature,
/// since nothing was ever tuned on it. Its answers come from the source projects' own test
/// assertions and, where those say nothing, from the message's own report fields (each row's
/// `answers` says which); never from this filter.
struct OutsideGroup {
    name: &'static str,
    folder: &'static str,
    /// Bytes put before each file: text bodies that are not whole messages get a fixed envelope.
    envelope: &'static [u8],
}

/// The envelope around crisp-oss's text bodies (a report's text without its headers): the sender
/// every MTA's bounces come from, and a MIME header saying that plain UTF-8 text follows. It names
/// no recipient, status or reason and has no Subject; the filter reads prose reports only from a
/// mail-system sender (or a bounce subject), so without it none is read (`BARE_ENVELOPE`).
const TEXT_ENVELOPE: &[u8] =
    b"From: MAILER-DAEMON@example.invalid\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n";
/// The same text bodies with no sender: printed only, to show what the sender adds.
const BARE_ENVELOPE: &[u8] = b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n";

const OUTSIDE_GROUPS: [OutsideGroup; 2] = [
    OutsideGroup { name: "outside messages", folder: "outside", envelope: b"" },
    OutsideGroup { name: "outside text bodies", folder: "outside-text", envelope: TEXT_ENVELOPE },
];

/// Counts for an outside group. Each measure has its own denominator: the rows whose source (or
/// message) states that answer.
#[derive(Default)]
struct OutsideTally {
    bounces: usize,
    detected: usize,
    not_bounces: usize,
    false_positives: usize,
    rows: usize,
    address: usize,
    status_rows: usize,
    status: usize,
    reason_rows: usize,
    reason: usize,
    hard_rows: usize,
    hard: usize,
    set_files: usize,
    set_exact: usize,
    /// Found recipients the source calls a spam, reputation or IP block: never to be read as
    /// `userunknown`.
    block_rows: usize,
    block_not_userunknown: usize,
    /// Files answered with an error instead of a report.
    errors: usize,
    misses: Vec<String>,
}

impl OutsideTally {
    /// Detected, recipient, status, reason, exact set, hard/soft, false positives.
    fn rates(&self) -> [Option<f64>; 7] {
        let r = fraction;
        [
            r(self.detected, self.bounces),
            r(self.address, self.rows),
            r(self.status, self.status_rows),
            r(self.reason, self.reason_rows),
            r(self.set_exact, self.set_files),
            r(self.hard, self.hard_rows),
            r(self.false_positives, self.not_bounces),
        ]
    }

    fn summary(&self, name: &str) -> String {
        let f = |a: usize, b: usize| fraction(a, b).map_or("-".to_string(), |r| format!("{a}/{b} ({:.1}%)", 100.0 * r));
        format!(
            "{name}: detected {}, recipient {}, status {}, reason {}, exact set {}, hard/soft {}, \
             false positives {}, blocks not read as userunknown {}",
            f(self.detected, self.bounces),
            f(self.address, self.rows),
            f(self.status, self.status_rows),
            f(self.reason, self.reason_rows),
            f(self.set_exact, self.set_files),
            f(self.hard, self.hard_rows),
            f(self.false_positives, self.not_bounces),
            f(self.block_not_userunknown, self.block_rows)
        )
    }
}

/// Scores one outside group from its `expected.jsonl` (one row per file).
fn score_outside(group: &OutsideGroup) -> OutsideTally {
    let dir = corpus().join(group.folder);
    let mut t = OutsideTally::default();
    for row in jsonl(&dir.join("expected.jsonl")) {
        let file = row["file"].as_str().unwrap();
        let path = dir.join(file);
        let report = if group.envelope.is_empty() {
            messages_of(&path).iter().map(|m| native_json(m)).last().unwrap()
        } else {
            native_json(&[group.envelope, &std::fs::read(&path).unwrap()].concat())
        };
        let said = |r: &Value| {
            format!("{} {} {} {}", r["address"], r["status"].as_str().unwrap_or("-"), r["reason"], r["hard"])
        };
        if !report["error"].is_null() || !report["kind"].is_string() {
            t.errors += 1;
            t.misses.push(format!("{file}: no answer: {}", report["error"]));
        }
        let detected = report["is_bounce"] == true;
        if row["is_bounce"] != true {
            t.not_bounces += 1;
            t.false_positives += detected as usize;
            if detected {
                t.misses.push(format!("{file}: false positive, kind {}", report["kind"]));
            }
            continue;
        }
        t.bounces += 1;
        t.detected += detected as usize;
        if !detected {
            t.misses.push(format!("{file}: not detected (kind {})", report["kind"]));
        }
        let got = report["recipients"].as_array().cloned().unwrap_or_default();
        let expected = row["recipients"].as_array().cloned().unwrap_or_default();
        // Every spelling the source accepts for a recipient, first the one it names.
        let names = |e: &Value| -> Vec<String> {
            let also = e["also"].as_array().into_iter().flatten().filter_map(Value::as_str);
            e["address"].as_str().into_iter().chain(also).map(normal_address).collect()
        };
        for e in &expected {
            // Each stated answer counts against a recipient that was not found, as in `score`.
            let (es, er, eh) = (e["status"].as_str(), e["reason"].as_str(), e["hard"].as_bool());
            let blocked =
                ["spam_content", "reputation", "ip_blocked_spam"].contains(&e["source_type"].as_str().unwrap_or(""));
            t.rows += 1;
            t.status_rows += es.is_some() as usize;
            t.reason_rows += er.is_some() as usize;
            t.hard_rows += eh.is_some() as usize;
            let wanted = names(e);
            let Some(r) = got.iter().find(|r| wanted.contains(&normal_address(r["address"].as_str().unwrap_or(""))))
            else {
                t.misses.push(format!("{file}: recipient {} not found", e["address"]));
                continue;
            };
            t.address += 1;
            if let Some(es) = es {
                let ps = r["status"].as_str().unwrap_or("");
                let right = if e["status_class_only"] == true { ps.get(..1) == es.get(..1) } else { ps == es };
                t.status += right as usize;
                if !right {
                    t.misses.push(format!("{file}: status {es}, we said {}", said(r)));
                }
            }
            if let Some(er) = er {
                let right = reason_name(r["reason"].as_str().unwrap_or("")) == reason_name(er);
                t.reason += right as usize;
                if !right {
                    t.misses.push(format!("{file}: reason {er}, we said {}", said(r)));
                }
            }
            if let Some(eh) = eh {
                let right = r["hard"].as_bool() == Some(eh);
                t.hard += right as usize;
                if !right {
                    t.misses.push(format!("{file}: hard {eh}, we said {}", said(r)));
                }
            }
            if blocked {
                t.block_rows += 1;
                t.block_not_userunknown += (r["reason"] != "userunknown") as usize;
            }
        }
        if row["set_known"] == true {
            // Reported failures (not delivered, relayed or expanded), each under the name the
            // source gives it where the report used an accepted other spelling.
            let reported: BTreeSet<String> = reported_failures(&got)
                .map(|a| expected.iter().map(names).find(|n| n.contains(&a)).map_or(a, |n| n[0].clone()))
                .collect();
            let wanted: BTreeSet<String> = expected.iter().map(|e| names(e)[0].clone()).collect();
            t.set_files += 1;
            t.set_exact += (reported == wanted) as usize;
            if reported != wanted {
                t.misses.push(format!("{file}: set {wanted:?}, we said {reported:?}"));
            }
        }
    }
    t
}

/// Floors for the outside messages (in `MEASURES` order): what the filter reached when they were
/// adopted, before anything was changed for them (detected 62/63, recipient 67/69, status 55/58,
/// exact set 59/62), rounded down to the whole percent. None of the sources states a reason in
/// sisimai's terms, so the reason has none. They only ever go up. The text bodies get no floor
/// beyond zero false positives: what they score depends on the envelope put around them, which
/// is this test's choice, not the mail's.
const OUTSIDE_FLOOR: [f64; 5] = [0.98, 0.96, 0.94, 0.0, 0.94];

/// Mail from other projects' test suites, scored and never tuned on: per group, every miss with
/// what was expected, and the floors. Non-bounces (ordinary mail, autoreplies, a complaint
/// report, text that is no report) must never be read as bounces.
#[test]
fn outside_mail_scored_never_tuned_on() {
    let messages = score_outside(&OUTSIDE_GROUPS[0]);
    let text = score_outside(&OUTSIDE_GROUPS[1]);
    for (group, t) in OUTSIDE_GROUPS.iter().zip([&messages, &text]) {
        println!("{}", t.summary(group.name));
        for m in &t.misses {
            println!("  miss: {m}");
        }
    }
    let bare = score_outside(&OutsideGroup { envelope: BARE_ENVELOPE, ..OUTSIDE_GROUPS[1] });
    println!("{}", bare.summary("outside text bodies without a sender"));
    for t in [&messages, &text] {
        assert!(t.bounces > 50 && t.not_bounces >= 2, "too few outside files: {} + {}", t.bounces, t.not_bounces);
        assert_eq!(t.false_positives, 0, "non-bounces read as bounces: {:#?}", t.misses);
        assert_eq!(t.errors, 0, "files answered with an error: {:#?}", t.misses);
    }
    let rates = messages.rates();
    for (i, name) in MEASURES.iter().enumerate() {
        let r = rates[i].unwrap_or(0.0);
        assert!(r >= OUTSIDE_FLOOR[i], "outside {name} {r:.4} fell below its floor {}", OUTSIDE_FLOOR[i]);
    }
}

/// Mail never tuned on answers alike whatever its line ends: each outside message (and text body
/// in its envelope), with its line ends made LF, CRLF and lone CR, gets the same report.
#[test]
fn outside_mail_answers_alike_with_any_line_ends() {
    let mut differ = Vec::new();
    let mut compared = 0;
    for group in &OUTSIDE_GROUPS {
        let dir = corpus().join(group.folder);
        for row in jsonl(&dir.join("expected.jsonl")) {
            let path = dir.join(row["file"].as_str().unwrap());
            let messages = if group.envelope.is_empty() {
                messages_of(&path)
            } else {
                vec![[group.envelope, &std::fs::read(&path).unwrap()].concat()]
            };
            for m in messages {
                let lf = with_lf(&m);
                let crlf: Vec<u8> =
                    lf.iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect();
                let cr: Vec<u8> = lf.iter().map(|&b| if b == b'\n' { b'\r' } else { b }).collect();
                let want = native_json(&lf);
                for (name, copy) in [("CRLF", &crlf), ("CR", &cr)] {
                    compared += 1;
                    let got = native_json(copy);
                    if got != want {
                        differ.push(format!("{} as {name}: {got} vs LF {want}", path.display()));
                    }
                }
            }
        }
    }
    println!("outside mail: {compared} CRLF/CR copies compared, {} differ", differ.len());
    assert!(compared > 300, "{compared}");
    assert!(differ.is_empty(), "{differ:#?}");
}
