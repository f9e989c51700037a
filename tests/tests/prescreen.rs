//! `ndr_prescreen` (the milter's end-of-headers decision) on the whole corpus, through the
//! module: how much ordinary mail is accepted without its body, and that no report sent the way
//! RFC 5321 says (null sender) is ever accepted unread. Prints the figures.

use ndr_tests::{corpus, files_under, filter};
use serde_json::{Value, json};

/// `ndr_prescreen`'s answer for a message sent by `mail_from`.
fn needs_body(raw: &[u8], mail_from: &str) -> bool {
    let request = json!({"envelope": {"mail_from": mail_from, "rcpt_to": ["alice@example.com"]}}).to_string();
    let mut instance = filter().instance().expect("instance");
    let doc = instance.prescreen(raw, request.as_bytes()).expect("prescreen answers");
    let answer: Value = serde_json::from_str(&doc).expect("JSON");
    answer["needs_body"].as_bool().expect("needs_body is a boolean")
}

/// The address in the message's `From:` field (a real sender), or a stand-in.
fn from_address(raw: &[u8]) -> String {
    let head = String::from_utf8_lossy(&raw[..raw.len().min(64 << 10)]).to_string();
    head.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| l.strip_prefix("From:").or_else(|| l.strip_prefix("from:")))
        .and_then(|v| {
            let v = v.trim();
            let inner = v.rsplit_once('<').map(|(_, r)| r.trim_end_matches('>').trim()).unwrap_or(v);
            inner.contains('@').then(|| inner.to_string())
        })
        .unwrap_or_else(|| "someone@remote.example".into())
}

#[test]
fn ordinary_mail_leaves_at_its_headers_and_reports_never_do() {
    let ham = files_under(&corpus().join("ham/eml"));
    let ham_read: Vec<_> = ham
        .iter()
        .filter(|p| {
            let raw = std::fs::read(p).unwrap();
            needs_body(&raw, &from_address(&raw))
        })
        .collect();
    let ham_unread = ham.len() - ham_read.len();
    eprintln!(
        "ham from its From: address: {ham_unread} of {} ({:.1}%) accepted at the end of the headers",
        ham.len(),
        100.0 * ham_unread as f64 / ham.len() as f64
    );

    let mut reports = Vec::new();
    for folder in ["bounces/eml", "autoreply/eml", "arf/eml", "backscatter/eml"] {
        reports.extend(files_under(&corpus().join(folder)));
    }
    let mut unread_with_sender = Vec::new();
    for p in &reports {
        let raw = std::fs::read(p).unwrap();
        assert!(needs_body(&raw, ""), "a null-sender report must be read: {}", p.display());
        if !needs_body(&raw, &from_address(&raw)) {
            unread_with_sender.push(p.strip_prefix(corpus()).unwrap().display().to_string());
        }
    }
    eprintln!(
        "reports sent with their From: address as a real envelope sender (an RFC 5321 violation): \
{} of {} would pass unread: {:?}",
        unread_with_sender.len(),
        reports.len(),
        unread_with_sender
    );
    // Ordinary mail is what the prescreen is for: most of it must leave at its headers. (Ham
    // that is read is mail with report-like headers: mailing-list bounces' subjects, daemons.)
    assert!(ham_unread * 100 >= ham.len() * 90, "only {ham_unread} of {} ham messages accepted at headers", ham.len());
    // A report shows itself in its headers even with a real sender, nearly always.
    assert!(
        unread_with_sender.len() * 100 <= reports.len() * 5,
        "{} of {} reports would pass unread with a real sender",
        unread_with_sender.len(),
        reports.len()
    );
}
