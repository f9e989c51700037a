//! Input bounds applied before parsing, so that hostile input cannot exhaust time, memory or stack.

use std::borrow::Cow;

use crate::config::Limits;

/// Apply the limits and repair line endings; returns the bytes to parse and what was changed.
pub fn prepare<'a>(raw: &'a [u8], limits: &Limits, warnings: &mut Vec<String>) -> Cow<'a, [u8]> {
    let mut bytes: Cow<'a, [u8]> = Cow::Borrowed(raw);
    if bytes.len() > limits.max_message_bytes {
        warnings.push(format!("message truncated to {} of {} bytes", limits.max_message_bytes, raw.len()));
        bytes = Cow::Borrowed(&raw[..limits.max_message_bytes]);
    }
    if let Some(cut) = nth_embedded_message(&bytes, limits.max_embedded_messages) {
        warnings
            .push(format!("message cut at byte {cut}: more than {} embedded messages", limits.max_embedded_messages));
        bytes = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..cut]),
            Cow::Owned(mut v) => {
                v.truncate(cut);
                Cow::Owned(v)
            }
        };
    }
    if uses_bare_cr(&bytes) {
        // Old Mac mail ends lines with CR alone; the MIME parser wants LF.
        bytes = Cow::Owned(bytes.iter().map(|&b| if b == b'\r' { b'\n' } else { b }).collect());
    }
    bytes
}

/// A warning for each limit that [`crate::mime::view`] reached.
pub fn report_cuts(cuts: &crate::mime::Cuts, limits: &Limits, warnings: &mut Vec<String>) {
    if cuts.nested > 0 {
        warnings.push(format!("nested messages deeper than {} were not read", limits.max_nesting));
    }
    if cuts.parts > 0 {
        warnings.push(format!("{} MIME parts past the first {} were not read", cuts.parts, limits.max_parts));
    }
    if cuts.headers > 0 {
        warnings.push(format!(
            "{} header fields past {} in a header block were not read",
            cuts.headers, limits.max_headers
        ));
    }
    if cuts.header_values > 0 {
        warnings.push(format!("{} header values cut to {} bytes", cuts.header_values, limits.max_header_bytes));
    }
}

/// Start of the line holding the `n+1`-th `message/rfc822` or `message/global` type.
fn nth_embedded_message(b: &[u8], n: usize) -> Option<usize> {
    let start = EMBEDDED_TYPES.occurrences_in_bytes(b).into_iter().nth(n)?.0;
    Some(b[..start].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1))
}

/// The types of embedded messages, found in one pass that skips most bytes (a '/' is common).
static EMBEDDED_TYPES: std::sync::LazyLock<crate::text::PhraseSet> =
    std::sync::LazyLock::new(|| crate::text::PhraseSet::of(&["message/rfc822", "message/global"]));

/// True when lines end in CR alone: a CR in the first 64 KiB and no LF there.
fn uses_bare_cr(b: &[u8]) -> bool {
    let head = &b[..b.len().min(64 << 10)];
    // Most mail has an LF in its first line: then the search for a CR is not needed.
    memchr::memchr(b'\n', head).is_none() && memchr::memchr(b'\r', head).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_cr_becomes_lf() {
        let mut w = Vec::new();
        let out = prepare(b"Subject: x\r\rbody\r", &Limits::default(), &mut w);
        assert_eq!(&*out, b"Subject: x\n\nbody\n");
        assert!(w.is_empty());
    }

    #[test]
    fn size_and_nesting_are_cut() {
        let limits = Limits { max_message_bytes: 10, ..Limits::default() };
        let mut w = Vec::new();
        assert_eq!(prepare(b"0123456789abcdef", &limits, &mut w).len(), 10);
        assert_eq!(w.len(), 1);
        let nested = "Content-Type: message/rfc822\n\n".repeat(100);
        let mut w = Vec::new();
        let out = prepare(nested.as_bytes(), &Limits::default(), &mut w);
        assert_eq!(out.len(), 64 * 30);
        assert!(w[0].contains("embedded messages"));
    }
}
