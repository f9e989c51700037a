//! The decision a mail server can take at the end of the headers: does this message need its
//! body read at all? (ABI 1.4, `ndr_prescreen`.)
//!
//! A report (bounce, delay notice, auto-reply, challenge, feedback report, read receipt) shows
//! itself in its envelope or headers: a null sender (RFC 5321 §4.5.5), a report content type
//! (RFC 6522, RFC 5965, RFC 8098), or what one of the format detectors gates on (a daemon
//! sender, a bounce or auto-reply subject, `Auto-Submitted`, `X-Failed-Recipients`, …). Mail
//! from a real sender that shows none of these is ordinary whatever its body says: the answer
//! is "accept without the body". What is given up is only a report sent with a real sender
//! *and* innocent headers, which could never be blocked anyway without positive evidence; a
//! host that wants fake bounces in such mail read too scans every message (the milter's
//! `scan_all_mail`).

use mail_parser::MimeHeaders;
use serde::Serialize;

use crate::mime::{self, PlainBody};
use crate::{Envelope, Limits, formats};

/// The answer of [`prescreen`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prescreen {
    /// Whether the message must be classified whole; `false`: it is ordinary mail.
    pub needs_body: bool,
    /// Why, in words (for logs).
    pub why: &'static str,
}

/// Decide from the envelope and the header block alone. `raw` may hold the whole message or
/// only its headers: nothing past the first blank line is read.
pub fn prescreen(raw: &[u8], envelope: Option<&Envelope>, limits: &Limits) -> Prescreen {
    let needs = |why| Prescreen { needs_body: true, why };
    match envelope.and_then(|e| e.mail_from.as_deref()) {
        None => return needs("no envelope sender given"),
        Some(s) if s.is_empty() || s == "<>" => return needs("null envelope sender"),
        Some(_) => {}
    }
    // Line endings repaired (and the limits applied) as for a classification, on the headers;
    // then the header gate's own reading of them (only the fields the gates read, when the
    // block is well formed).
    let headers = crate::limits::prepare(&raw[..header_block_end(raw)], limits, &mut Vec::new());
    let source = crate::head_source(&headers, limits, &crate::GATE_AND_ANSWER_READS);
    if matches!(source, crate::HeadSource::Structure) {
        return needs("report content type");
    }
    let Some(head) = crate::parse_gate_head(&headers, &source) else {
        return needs("no header block");
    };
    // A type folded onto a continuation line is seen only in the parse.
    if declares_report_type(&head) {
        return needs("report content type");
    }
    if formats::may_claim(&mime::view(&head, limits), &PlainBody::empty()) {
        return needs("report headers");
    }
    Prescreen { needs_body: false, why: "ordinary sender and headers" }
}

/// The length of the header block with its blank line (all of `raw` when there is none), in
/// any line ending: LF, CRLF, or the bare CR of old Mac mail.
fn header_block_end(raw: &[u8]) -> usize {
    // No headers at all: the message begins with its blank line.
    match raw {
        [b'\r', b'\n', ..] => return 2,
        [b'\n' | b'\r', ..] => return 1,
        _ => {}
    }
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\n' || raw[i] == b'\r' {
            // The next line begins at `j`; a line break there makes this the blank line.
            let j = if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 };
            match (raw.get(j), raw.get(j + 1)) {
                (Some(b'\n'), _) => return j + 1,
                (Some(b'\r'), Some(b'\n')) => return j + 2,
                (Some(b'\r'), _) => return j + 1,
                _ => i = j,
            }
        } else {
            i += 1;
        }
    }
    raw.len()
}

/// Whether the parsed top `Content-Type` is a structure [`mime::declares_report`] names: a
/// report, a digest, or a message/* type.
fn declares_report_type(head: &mail_parser::Message<'_>) -> bool {
    head.root_part().content_type().is_some_and(|ct| {
        let (t, sub) = (ct.ctype(), ct.subtype().unwrap_or(""));
        t.eq_ignore_ascii_case("message")
            || (t.eq_ignore_ascii_case("multipart")
                && (sub.eq_ignore_ascii_case("report") || sub.eq_ignore_ascii_case("digest")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(from: &str) -> Envelope {
        Envelope { mail_from: Some(from.into()), ..Envelope::default() }
    }

    fn check(from: &str, headers: &str) -> Prescreen {
        prescreen(headers.as_bytes(), Some(&env(from)), &Limits::default())
    }

    const PLAIN: &str = "From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\nSubject: lunch\r\n\r\n";

    #[test]
    fn ordinary_mail_from_a_real_sender_needs_no_body() {
        assert_eq!(
            check("carol@remote.example", PLAIN),
            Prescreen { needs_body: false, why: "ordinary sender and headers" }
        );
        let mixed =
            "From: c@r.example\r\nSubject: photos\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\n\r\n--x\r\n";
        assert!(!check("c@r.example", mixed).needs_body);
    }

    #[test]
    fn a_null_or_unknown_sender_needs_the_body() {
        assert!(check("", PLAIN).needs_body);
        assert!(check("<>", PLAIN).needs_body);
        assert!(prescreen(PLAIN.as_bytes(), None, &Limits::default()).needs_body);
    }

    #[test]
    fn report_structure_in_the_headers_needs_the_body() {
        let report =
            "From: c@r.example\r\nContent-Type: multipart/report;\r\n report-type=delivery-status; boundary=b\r\n\r\n";
        assert_eq!(check("c@r.example", report).why, "report content type");
        let folded = "From: c@r.example\r\nContent-Type:\r\n message/rfc822\r\n\r\n";
        assert!(check("c@r.example", folded).needs_body);
        for h in [
            "From: MAILER-DAEMON@mx.example\r\nSubject: hello\r\n\r\n",
            "From: c@r.example\r\nSubject: Undeliverable: lunch\r\n\r\n",
            "From: c@r.example\r\nSubject: lunch\r\nX-Failed-Recipients: bob@x.example\r\n\r\n",
            "From: c@r.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\n",
        ] {
            assert_eq!(check("c@r.example", h).why, "report headers", "{h}");
        }
    }

    #[test]
    fn any_line_ending_ends_the_headers() {
        for (text, end) in [("A: 1\n\nB", 6), ("A: 1\r\n\r\nB", 8), ("A: 1\r\rB", 6), ("A: 1", 4), ("\r\nB", 2)] {
            assert_eq!(header_block_end(text.as_bytes()), end, "{text:?}");
        }
        let cr = PLAIN.replace("\r\n", "\r").replace("lunch", "Undeliverable: lunch");
        assert_eq!(check("c@r.example", &cr).why, "report headers");
    }

    #[test]
    fn the_body_is_never_read() {
        let mut with_body = PLAIN.to_string();
        with_body.push_str("This is the mail system at host mx.example.\r\nContent-Type: multipart/report\r\n");
        assert!(!check("carol@remote.example", &with_body).needs_body);
    }
}
