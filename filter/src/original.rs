//! The returned original message: attached (`message/rfc822`, `message/global`), its headers only
//! (`text/rfc822-headers`, `message/global-headers`), or pasted inline after the report text.

use crate::mime::{self, Mail};
use crate::report::Original;
use crate::text::{address_in_field, starts_with_ci};

const ATTACHED: &[&str] = &["message/rfc822", "message/global", "message/partial"];
const HEADERS_ONLY: &[&str] = &["text/rfc822-headers", "message/global-headers", "text/rfc822-header"];

/// Header names that begin a pasted original in the text of non-MIME bounces.
const INLINE_STARTS: &[&str] = &["return-path:", "received:", "message-id:", "from:", "date:", "subject:", "to:", "x-"];

/// Find the original in a report. `inline` allows the search of text parts (for text NDRs).
pub fn find(mail: &Mail<'_>, inline: bool) -> Option<Original> {
    for leaf in &mail.leaves {
        if ATTACHED.contains(&leaf.content_type.as_str()) {
            if let Some(m) = leaf.message.as_deref() {
                let headers_only = m.leaves.iter().all(|l| l.bytes.iter().all(u8::is_ascii_whitespace));
                return Some(from_mail(m, &leaf.content_type, headers_only));
            }
        }
        if HEADERS_ONLY.contains(&leaf.content_type.as_str()) {
            return from_header_bytes(leaf.bytes, &leaf.content_type, true);
        }
    }
    if inline {
        for leaf in mail.text_parts() {
            if let Some(o) = leaf.text.as_deref().and_then(find_inline) {
                return Some(o);
            }
        }
    }
    None
}

/// Read header text as the header block of a message of its own. What follows the block (a
/// pasted original's body) is not parsed: only the headers are reported. Only the fields
/// [`from_mail`] reads are parsed when [`crate::scan::select_head`] can copy them out (mail-parser
/// reads each field on its own, so they come out as in the whole block); else the whole block.
fn from_header_bytes(bytes: &[u8], source: &str, headers_only: bool) -> Option<Original> {
    let limits = crate::Limits { max_nesting: 0, ..crate::Limits::default() };
    let selected = crate::scan::select_head(bytes, &limits, &ORIGINAL_READS).filter(|s| !s.declares_structure);
    if let Some(selected) = selected {
        let view = mime::parse_selected_head(&selected.block).map(|msg| {
            let view = mime::view(&msg, &limits);
            view.has_headers().then(|| from_mail(&view, source, headers_only))
        });
        if let Some(Some(original)) = view {
            return Some(original);
        }
    }
    let msg = mime::parse_head(bytes)?;
    let view = mime::view(&msg, &limits);
    if !view.has_headers() {
        return None;
    }
    Some(from_mail(&view, source, headers_only))
}

/// The header fields [`from_mail`] reads (names in lower case).
static ORIGINAL_READS: std::sync::LazyLock<crate::scan::FieldNames> = std::sync::LazyLock::new(|| {
    crate::scan::FieldNames::new(["message-id", "from", "to", "subject", "date", "return-path", "received"])
});

/// An original pasted into a text part: the first run of at least three header lines that
/// includes one of Message-ID, From, Subject, Received.
fn find_inline(text: &str) -> Option<Original> {
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let start = line.trim_start_matches('>').trim_start();
        if start.len() > 3 && INLINE_STARTS.iter().any(|p| starts_with_ci(start, p)) {
            let run = lines[i..]
                .iter()
                .take_while(|l| {
                    let t = l.trim_end();
                    !t.is_empty() && (t.starts_with([' ', '\t']) || crate::text::split_field(t).is_some())
                })
                .count();
            let block: String = lines[i..i + run].concat();
            let key = block.to_ascii_lowercase();
            let has_key = ["\nmessage-id:", "\nfrom:", "\nsubject:", "\nreceived:"]
                .iter()
                .any(|k| key.contains(k) || key.starts_with(&k[1..]));
            if run >= 3 && has_key {
                let body = &text[offset..];
                return from_header_bytes(body.as_bytes(), "inline", body[block.len()..].trim().is_empty());
            }
        }
        offset += line.len();
    }
    None
}

fn from_mail(m: &Mail<'_>, source: &str, headers_only: bool) -> Original {
    // Each name is given to `Mail::header` as it stands: a constant name is found at less cost.
    let first = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    Original {
        source: source.to_string(),
        headers_only,
        message_id: first(m.header("message-id")).map(|v| v.trim_matches(['<', '>']).to_string()),
        from: first(m.header("from")).and_then(|v| address_in_field(&v)),
        to: m.header("to").map(|v| v.split(',').filter_map(address_in_field).collect()).unwrap_or_default(),
        subject: first(m.header("subject")),
        date: first(m.header("date")),
        return_path: first(m.header("return-path")).map(|v| v.trim_matches(['<', '>', ' ']).to_string()),
        received: m.received_hops(),
    }
}
