//! # ndr-filter
//!
//! The sans-IO core of the sandboxed backscatter filter: bytes of a message in, a [`Report`]
//! out. It answers what the message is (bounce, delay, auto-reply, feedback report, ...), what a
//! bounce says about each recipient, and (later) whether the bounce is about mail we sent.
//!
//! No I/O, no clock, no randomness: the host passes the time. The crate builds natively and to
//! `wasm32-unknown-unknown`; with the `abi` feature it exports the stable ABI of `docs/ABI.md`.
//!
//! ```
//! let raw = b"From: MAILER-DAEMON@mx.example\nSubject: Delivery Status Notification\n\
//! Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\
//! Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n\
//! Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n";
//! let report = ndr_filter::classify(raw, None, &ndr_filter::Config::default(), 0);
//! assert_eq!(report.kind, ndr_filter::Kind::Bounce);
//! assert_eq!(report.recipients[0].reason, "userunknown");
//! ```

/// The ABI's answer documents ([`abi`]).
#[cfg(any(feature = "abi", test))]
mod answer_json;
pub mod batv;
mod config;
pub(crate) mod formats;
mod limits;
mod mime;
pub mod network;
mod original;
pub mod outbound;
pub mod prescreen;
pub mod reason;
mod received;
mod report;
pub mod requests;
mod scan;
pub mod srs;
pub mod tags;
mod text;
pub mod verdict;

/// The exports of the wasm module (tested through wasmtime in `tests/`: its addresses are 32-bit).
#[cfg(feature = "abi")]
pub mod abi;
/// The per-call bump arena of the wasm module's allocations.
#[cfg(any(feature = "abi", test))]
mod arena;
#[cfg(feature = "js")]
pub mod js;

use std::sync::LazyLock;

pub use config::{Config, Envelope, Limits};
pub use report::{Feedback, Kind, Original, RcptCheck, ReasonSource, ReceivedHop, Recipient, Report};

/// ABI major version: a change that breaks hosts gets a new major and a new marker export.
pub const ABI_MAJOR: u32 = 1;
/// ABI minor version: new exports and new JSON fields.
pub const ABI_MINOR: u32 = 4;

/// Classify one message. `envelope` is the SMTP envelope when the host has it (absent for a
/// message read from disk); `now` is the host's clock in Unix seconds.
pub fn classify(raw: &[u8], envelope: Option<&Envelope>, config: &Config, now: u64) -> Report {
    classify_with_facts(raw, envelope, config, &verdict::Facts::default(), now)
}

/// Classify with the facts the host knows besides the message (ABI 1.4: its sent-mail registry,
/// the source's reputation); they add signals to the verdict.
pub fn classify_with_facts(
    raw: &[u8],
    envelope: Option<&Envelope>,
    config: &Config,
    facts: &verdict::Facts,
    now: u64,
) -> Report {
    let mut report = Report::default();
    let bytes = limits::prepare(raw, &config.limits, &mut report.warnings);
    // Ordinary mail leaves after its headers: the body is parsed only when some detector could
    // claim the message. `ordinary_view` is the header-only view of a message none could.
    let envelope_headers = reads_envelope_headers(envelope, config);
    let reads: &'static scan::FieldNames = if envelope_headers { &ORDINARY_READS } else { &GATE_AND_ANSWER_READS };
    let source = head_source(&bytes, &config.limits, reads);
    let head = parse_gate_head(&bytes, &source);
    let ordinary_view = head.as_ref().and_then(|head| ordinary(head, &bytes, &source, reads, &config.limits));
    let ordinary = ordinary_view.is_some();
    let whole = if ordinary { None } else { mime::parse(&bytes) };
    let mail = match (ordinary_view, &whole) {
        (Some(view), _) => view,
        (None, Some(msg)) => mime::view(msg, &config.limits),
        (None, None) => {
            report.error = Some("empty message".into());
            return report;
        }
    };
    report.subject = mail.header("subject").map(str::to_string);
    report.from = mail.header("from").map(str::to_string);
    limits::report_cuts(&mail.cuts, &config.limits, &mut report.warnings);
    let finding = if ordinary { None } else { formats::detect(&mail) };
    if let Some(finding) = finding {
        report.kind = finding.kind;
        report.format = Some(finding.format.to_string());
        report.recipients = finding.recipients;
        report.reporting_mta = finding.reporting_mta;
        report.arrival_date = finding.arrival_date;
        report.feedback = finding.feedback;
        report.warnings.extend(finding.warnings);
        if report.recipients.len() > config.limits.max_recipients {
            report.warnings.push(format!(
                "{} recipients; only the first {} are listed",
                report.recipients.len(),
                config.limits.max_recipients
            ));
            report.recipients.truncate(config.limits.max_recipients);
        }
        if report.kind != Kind::Normal {
            report.original = original::find(&mail, report.kind.is_bounce());
        }
    }
    // Without the SMTP envelope (a message read from disk) the delivery headers stand for it.
    let from_headers = if ordinary && !envelope_headers { None } else { verdict::envelope_from_headers(&mail) };
    let (merged, inferred) = merge_envelope(envelope, from_headers);
    let env = merged.as_ref();
    // The key ring is built once: the recipient checks and the verdict both use it.
    let ring = config.batv.as_ref().map(batv::KeyRing::new).transpose().unwrap_or_else(|e| {
        report.warnings.push(e);
        None
    });
    if let Some(env) = env {
        report.rcpt_checks = rcpt_checks(env, config, ring.as_ref(), now, &mut report.warnings);
    }
    if verdict::applies_to(report.kind) {
        let none = Envelope::default();
        let (decision, signals) =
            verdict::judge(&mail, &report, env.unwrap_or(&none), inferred, config, ring.as_ref(), facts, now);
        report.verdict = Some(decision.verdict);
        report.action = Some(decision.action);
        report.stage = Some(decision.stage);
        report.smtp_reply = decision.smtp_reply;
        report.score = Some(decision.score);
        report.envelope_inferred = decision.envelope_inferred;
        report.signals = signals;
    }
    report.is_bounce = report.kind.is_bounce();
    report
}

/// Where the header gate reads the top header block from.
pub(crate) enum HeadSource {
    /// The message declares a report or message structure: no gate, the whole is parsed.
    Structure,
    /// Only the fields the gate and an ordinary message's answer read ([`ORDINARY_READS`]).
    Selected(scan::SelectedHead),
    /// The whole block (it has lines that [`scan::select_head`] does not read).
    Whole,
}

/// `reads`: the fields an ordinary message's answer reads ([`ORDINARY_READS`] or
/// [`GATE_AND_ANSWER_READS`]).
pub(crate) fn head_source(bytes: &[u8], limits: &Limits, reads: &scan::FieldNames) -> HeadSource {
    match scan::select_head(bytes, limits, reads) {
        Some(head) if head.declares_structure => HeadSource::Structure,
        Some(head) => HeadSource::Selected(head),
        None if mime::declares_structure(bytes) => HeadSource::Structure,
        None => HeadSource::Whole,
    }
}

/// The header fields read when a message is ordinary: the gates', the subject and sender the
/// report shows, the MIME type and encoding (the gate's shape) and the envelope fields.
static ORDINARY_READS: LazyLock<scan::FieldNames> =
    LazyLock::new(|| scan::FieldNames::new(answer_reads().chain(verdict::ENVELOPE_HEADERS.iter().copied())));

/// [`ORDINARY_READS`] without the envelope fields, for an answer that does not read them
/// ([`reads_envelope_headers`]).
pub(crate) static GATE_AND_ANSWER_READS: LazyLock<scan::FieldNames> =
    LazyLock::new(|| scan::FieldNames::new(answer_reads()));

/// The fields of [`GATE_AND_ANSWER_READS`]: the gates' ([`formats::gate_fields`]), the
/// subject and sender the report shows, the MIME type and encoding (the gate's shape).
fn answer_reads() -> impl Iterator<Item = &'static str> {
    ["subject", "from", "content-type", "content-transfer-encoding"].into_iter().chain(formats::gate_fields())
}

/// Whether the answer for an ordinary message reads the envelope from the delivery headers:
/// only the recipient checks (BATV, SRS) use it there, and only the parts the host's envelope
/// leaves out ([`merge_envelope`]).
fn reads_envelope_headers(envelope: Option<&Envelope>, config: &Config) -> bool {
    (config.batv.is_some() || config.srs.is_some())
        && envelope.is_none_or(|e| e.mail_from.is_none() || e.rcpt_to.is_empty())
}

pub(crate) fn parse_gate_head<'m>(bytes: &'m [u8], source: &'m HeadSource) -> Option<mail_parser::Message<'m>> {
    match source {
        HeadSource::Structure => None,
        HeadSource::Selected(head) => mime::parse_selected_head(&head.block),
        HeadSource::Whole => mime::parse_head(bytes),
    }
}

/// The header-only view of `bytes` (its headers parsed as `head` from `source`) when no
/// detector could claim the message; `None` when its body must be parsed.
fn ordinary<'m>(
    head: &'m mail_parser::Message<'m>,
    bytes: &'m [u8],
    source: &HeadSource,
    reads: &'static scan::FieldNames,
    limits: &Limits,
) -> Option<mime::Mail<'m>> {
    let (body, only) = match source {
        HeadSource::Selected(selected) => (bytes.get(selected.body_start..)?, Some(reads)),
        _ => (mime::body_after(head, bytes), None),
    };
    let body =
        mime::plain_body(head, body, limits)?.with_words(&formats::GATE_WORDS).with_quick(formats::quick_reading);
    let mut view = mime::view(head, limits);
    // Fields past `max_headers` and value bytes past `max_header_bytes` are not in the view, but
    // the full parse reads the structure they declare: such a message is parsed whole.
    if view.cuts.headers > 0 || view.cuts.header_values > 0 {
        return None;
    }
    view.only = only;
    (!formats::may_claim(&view, &body)).then_some(view)
}

/// For the `gate` fuzz target and the corpus test: panics when the header gate turns away a
/// message that the full parse gives to a detector, or reads its headers differently, with
/// either selection of fields `classify` makes. Returns whether the gate turned the message
/// away, and from only the selected fields. Not API.
#[doc(hidden)]
pub fn check_gate(raw: &[u8], limits: &Limits) -> Option<bool> {
    let bytes = limits::prepare(raw, limits, &mut Vec::new());
    let whole = mime::parse(&bytes)?;
    let full = mime::view(&whole, limits);
    let mut selected = None;
    // Both selections `classify` makes: with the envelope fields, and without them.
    for reads in [&*ORDINARY_READS, &*GATE_AND_ANSWER_READS] {
        let source = head_source(&bytes, limits, reads);
        let Some(view) = parse_gate_head(&bytes, &source).and_then(|head| {
            let view = ordinary(&head, &bytes, &source, reads, limits)?;
            let read = |m: &mime::Mail<'_>| -> Vec<(String, String)> {
                m.fields_read().into_iter().filter(|(name, _)| reads.contains_str(name)).collect()
            };
            assert_eq!(read(&view), read(&full), "the header-only parse reads other headers");
            Some(view.cuts)
        }) else {
            continue;
        };
        if selected.is_none() {
            if let Some(finding) = formats::detect(&full) {
                panic!("the gate turned away a message the {} detector claims", finding.format);
            }
        }
        assert_eq!(view, full.cuts, "the header-only parse cuts otherwise");
        selected.get_or_insert(matches!(source, HeadSource::Selected(_)));
    }
    selected
}

/// The envelope to judge by: what the host gave, with the parts it left out taken from the
/// delivery headers (a message read from disk has only those). Returns whether any part came
/// from the headers.
fn merge_envelope(given: Option<&Envelope>, from_headers: Option<Envelope>) -> (Option<Envelope>, bool) {
    match (given, from_headers) {
        (None, headers) => {
            let inferred = headers.is_some();
            (headers, inferred)
        }
        (Some(e), None) => (Some(e.clone()), false),
        (Some(e), Some(h)) => {
            let inferred =
                (e.mail_from.is_none() && h.mail_from.is_some()) || (e.rcpt_to.is_empty() && !h.rcpt_to.is_empty());
            let merged = Envelope {
                mail_from: e.mail_from.clone().or(h.mail_from),
                rcpt_to: if e.rcpt_to.is_empty() { h.rcpt_to } else { e.rcpt_to.clone() },
                client_ip: e.client_ip.clone(),
                helo: e.helo.clone(),
            };
            (Some(merged), inferred)
        }
    }
}

/// BATV and SRS on each envelope recipient. A configuration error is a warning here (the
/// message is still classified); the BATV and SRS requests report it as an error.
fn rcpt_checks(
    envelope: &Envelope,
    config: &Config,
    ring: Option<&batv::KeyRing>,
    now: u64,
    warnings: &mut Vec<String>,
) -> Vec<RcptCheck> {
    let srs = config.srs.as_ref().map(srs::Srs::new).transpose().unwrap_or_else(|e| {
        warnings.push(e);
        None
    });
    if ring.is_none() && srs.is_none() {
        return Vec::new();
    }
    envelope
        .rcpt_to
        .iter()
        .map(|rcpt| RcptCheck {
            address: rcpt.clone(),
            batv: ring.map(|r| r.verify_at_site(rcpt, config.site.as_ref(), now)),
            srs: srs.as_ref().map(|s| s.reverse(rcpt, now)).filter(|r| r.error != Some(srs::ReverseError::NotSrs)),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every file under tests/corpus.
    pub(crate) fn corpus_files() -> Vec<std::path::PathBuf> {
        let mut folders = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")];
        let mut files = Vec::new();
        while let Some(dir) = folders.pop() {
            for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
                if path.is_dir() { folders.push(path) } else { files.push(path) }
            }
        }
        files
    }

    /// The header gate as `classify` runs it, on every message of the corpus, against the full
    /// parse (see [`check_gate`]); most ordinary mail is read from its selected fields only.
    #[test]
    fn the_gate_agrees_with_the_full_parse_on_the_corpus() {
        let (mut turned_away, mut selected) = (0, 0);
        for path in corpus_files() {
            if let Some(only_selected) = check_gate(&std::fs::read(&path).unwrap(), &Limits::default()) {
                turned_away += 1;
                selected += only_selected as usize;
            }
        }
        assert!(
            turned_away > 1100 && selected * 10 > turned_away * 9,
            "{turned_away} turned away, {selected} selected"
        );
    }

    /// The sets of field names `classify` selects hold exactly the names of their lists (the
    /// registry's gate fields among them), looked up as the header scan looks them up: every
    /// field name of the corpus, and names made from them and from the wanted ones (cut,
    /// grown, one byte changed, capitals, blanks).
    #[test]
    fn the_selected_field_names_are_those_of_the_registry() {
        let envelope = || verdict::ENVELOPE_HEADERS.iter().copied();
        let lists: [(&scan::FieldNames, Vec<&str>); 2] = [
            (&GATE_AND_ANSWER_READS, answer_reads().collect()),
            (&ORDINARY_READS, answer_reads().chain(envelope()).collect()),
        ];
        let mut names: Vec<Vec<u8>> = Vec::new();
        for path in corpus_files() {
            let raw = std::fs::read(&path).unwrap();
            for line in raw.split(|&b| b == b'\n').take_while(|l| !l.trim_ascii().is_empty()) {
                if let Some(colon) = line.iter().position(|&b| b == b':') {
                    names.push(line[..colon].to_vec());
                }
            }
        }
        for wanted in answer_reads().chain(envelope()) {
            let w = wanted.as_bytes();
            names.extend([w[..w.len() - 1].to_vec(), [w, b"x"].concat(), [w, b"\0"].concat(), w.to_ascii_uppercase()]);
            names.extend((0..w.len()).map(|i| [&w[..i], &b" "[..], &w[i..]].concat()));
            names.extend((0..w.len()).map(|i| [&w[..i], &[w[i] ^ 1], &w[i + 1..]].concat()));
        }
        for (set, list) in &lists {
            let mut found = 0;
            for name in &names {
                let lower = name.to_ascii_lowercase();
                let listed = |n: &[u8]| list.iter().any(|w| w.as_bytes() == n);
                if let Ok(text) = std::str::from_utf8(name) {
                    assert_eq!(set.contains_str(text), listed(name), "{text:?}");
                }
                if let Some(lowered) = scan::FieldName::lowered(name) {
                    found += set.contains(&lowered) as usize;
                    assert_eq!(set.contains(&lowered), listed(&lower), "{:?}", String::from_utf8_lossy(name));
                }
                // Without its blanks, as the header scan reads a name that has some.
                let squeezed: Vec<u8> = lower.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
                let got = scan::FieldName::squeezed(name).is_some_and(|n| set.contains(&n));
                assert_eq!(got, listed(&squeezed), "{:?}", String::from_utf8_lossy(name));
            }
            assert!(found > 10_000, "{found}");
        }
    }

    /// The gate fuzz target's first find: a Date whose zone is one letter at the line's end made
    /// mail-parser swallow the blank line, and read the body's part headers as the message's.
    #[test]
    fn a_date_that_swallows_the_next_line_is_read_as_the_whole_parse_reads_it() {
        let raw = b"From: neko-admin@example.org\nDate: Fri, 29 Apr 2005 23:34:45 r\r\n\r\n--bound\r\n\
                    Content-Transfer-Encoding: binary\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
        assert_eq!(check_gate(raw, &Limits::default()), Some(false));
    }

    /// The gate fuzz target's find, under the target's tight limits (8 fields, values cut to
    /// 64 bytes): a mutated read receipt whose Content-Type (`multipart/~report;
    /// report-type=disposition-notification`, folded) comes after more fields than the limit
    /// keeps. The gate's cut view did not show the report type, while the full parse reads the
    /// structure from the whole header block, and the read-receipt detector claimed it.
    #[test]
    fn a_report_structure_past_the_header_limits_is_not_turned_away() {
        let raw = include_bytes!("../testdata/gate-report-type-cut.eml");
        let tight = Limits { max_parts: 8, max_headers: 8, max_header_bytes: 64, ..Limits::default() };
        assert_eq!(check_gate(raw, &tight), None, "parsed whole, not turned away");
    }

    #[test]
    fn configured_limits_cut_parts_headers_and_values_and_say_so() {
        let limits = Limits { max_parts: 3, max_headers: 2, max_header_bytes: 5, ..Limits::default() };
        let config = Config { limits, ..Config::default() };
        let raw = "Subject: abcdefgh\nFrom: a@example.com\nX-A: 1\nContent-Type: multipart/mixed; boundary=p\n\n\
                   --p\n\nx\n--p\n\ny\n--p\n\nz\n--p\n\nw\n--p--\n";
        let report = classify(raw.as_bytes(), None, &config, 0);
        assert_eq!(report.subject.as_deref(), Some("abcde"));
        assert_eq!(
            report.warnings,
            [
                "2 MIME parts past the first 3 were not read",
                "2 header fields past 2 in a header block were not read",
                "2 header values cut to 5 bytes",
            ]
        );
        let defaults = classify(raw.as_bytes(), None, &Config::default(), 0);
        assert!(defaults.warnings.is_empty(), "{:?}", defaults.warnings);
    }

    #[test]
    fn envelope_recipients_are_checked_against_our_tags() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "batv": {"keys": [{"digit": 0, "secret": "secret"}], "mode": "exact"},
            "srs": {"domain": "example.com", "secrets": ["tops3cr3t"]}
        }))
        .unwrap();
        let envelope = Envelope {
            mail_from: Some(String::new()),
            rcpt_to: vec![
                "prvs=02694aa88d=userx@test.ex".into(),
                "SRS0=XjO9=2V=otherdomain.com=test@example.com".into(),
            ],
            ..Default::default()
        };
        let report = classify(b"Subject: x\n\nbody\n", Some(&envelope), &config, 1577836860);
        assert_eq!(report.rcpt_checks.len(), 2);
        assert_eq!(report.rcpt_checks[0].batv.as_ref().unwrap().result, batv::Outcome::Valid);
        assert!(report.rcpt_checks[0].srs.is_none());
        assert_eq!(report.rcpt_checks[1].srs.as_ref().unwrap().address.as_deref(), Some("test@otherdomain.com"));
        assert_eq!(report.rcpt_checks[1].batv.as_ref().unwrap().result, batv::Outcome::ForeignTag);
        let without = classify(b"Subject: x\n\nbody\n", Some(&envelope), &Config::default(), 1577836860);
        assert!(without.rcpt_checks.is_empty());
    }
}
