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
    // Each type takes 14 bytes and no two overlap: a shorter message cannot hold n+1 of them.
    if b.len() < n.saturating_add(1).saturating_mul(EMBEDDED_TYPE_LEN) {
        return None;
    }
    let (mut seen, mut start) = (0, None);
    visit_embedded_types(b, |at| {
        seen += 1;
        start = Some(at);
        seen <= n
    });
    let start = start.filter(|_| seen > n)?;
    Some(b[..start].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1))
}

/// The types of embedded messages, both as long as [`EMBEDDED_TYPE_LEN`].
const EMBEDDED_TYPES: [&[u8; EMBEDDED_TYPE_LEN]; 2] = [b"message/rfc822", b"message/global"];
const EMBEDDED_TYPE_LEN: usize = 14;

/// For each byte ending a 14-byte window, how far the window may move on before a type could
/// end in it, in either ASCII case: `[0]` for a window not yet looked at (0: a type may end
/// here), `[1]` for one that was (no type ends at its last byte any more). Tables built at
/// compile time, read once a step: most steps move 7 to 14 bytes on text (a hashed window, or
/// a table built in each module instance, cost more in the wasm module).
const EMBEDDED_SKIPS: [[u8; 256]; 2] = {
    let mut skips = [[EMBEDDED_TYPE_LEN as u8; 256]; 2];
    let mut t = 0;
    while t < EMBEDDED_TYPES.len() {
        let mut i = 0;
        while i < EMBEDDED_TYPE_LEN {
            let c = EMBEDDED_TYPES[t][i];
            // The window's last byte is this one of the type: the type ends `to_end` bytes on.
            let to_end = (EMBEDDED_TYPE_LEN - 1 - i) as u8;
            let cases = [c.to_ascii_lowercase() as usize, c.to_ascii_uppercase() as usize];
            let mut k = 0;
            while k < cases.len() {
                let c = cases[k];
                if to_end < skips[0][c] {
                    skips[0][c] = to_end;
                }
                if to_end > 0 && to_end < skips[1][c] {
                    skips[1][c] = to_end;
                }
                k += 1;
            }
            i += 1;
        }
        t += 1;
    }
    skips
};

/// Calls `visit` with the offset of every `message/rfc822` and `message/global` in `b`, in
/// either ASCII case and in order, until it returns false (multi-pattern Horspool on the
/// window's last byte).
fn visit_embedded_types(b: &[u8], mut visit: impl FnMut(usize) -> bool) {
    let [skip, skip_after] = &EMBEDDED_SKIPS;
    // The last byte of the window.
    let mut end = EMBEDDED_TYPE_LEN - 1;
    while let Some(&c) = b.get(end) {
        let k = skip[usize::from(c)];
        if k > 0 {
            end += usize::from(k);
            continue;
        }
        let start = end + 1 - EMBEDDED_TYPE_LEN;
        end += usize::from(skip_after[usize::from(c)]);
        let here = b
            .get(start..start + EMBEDDED_TYPE_LEN)
            .is_some_and(|w| EMBEDDED_TYPES.iter().any(|t| w.eq_ignore_ascii_case(&t[..])));
        if here && !visit(start) {
            return;
        }
    }
}

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

    /// The search it replaced, as the oracle: every occurrence in either ASCII case.
    fn embedded_types_by_phrase_set(b: &[u8]) -> Vec<usize> {
        let set = crate::text::PhraseSet::of(&["message/rfc822", "message/global"]);
        set.occurrences_in_bytes(b).into_iter().map(|(at, _)| at).collect()
    }

    #[test]
    fn embedded_types_are_found_where_the_phrase_set_finds_them() {
        let pieces = [
            "message/rfc822",
            "MESSAGE/RFC822",
            "Message/Global",
            "message/globa",
            "essage/rfc822",
            "message/",
            "/rfc822",
            "l",
            "2",
            "a",
            "m",
            "\r\n",
            "\n",
            "\r",
            "Content-Type: ",
            "x",
            "message/rfc82",
            "message/global",
            "messag",
            "/",
            "mmessage/rfc8222",
        ];
        let mut texts: Vec<Vec<u8>> =
            crate::text::random_joins(&pieces, 3000, 40).into_iter().map(String::into_bytes).collect();
        texts.extend(
            [&b""[..], b"message/rfc822", b"message/rfc82", b"xmessage/global", b"message/globalmessage/rfc822"]
                .map(<[u8]>::to_vec),
        );
        for dir in ["tests/corpus/ham/eml", "tests/corpus/bounces/eml"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                texts.extend(std::fs::read(entry.path()));
            }
        }
        assert!(texts.len() > 3000);
        let mut found = 0;
        for text in &texts {
            let want = embedded_types_by_phrase_set(text);
            found += want.len();
            let mut got = Vec::new();
            visit_embedded_types(text, |at| {
                got.push(at);
                true
            });
            assert_eq!(got, want, "{}", String::from_utf8_lossy(text));
        }
        assert!(found > 1000, "{found}");
    }

    #[test]
    fn the_cut_is_at_the_line_of_the_type_past_the_limit() {
        let text = b"A: message/rfc822\nB: MESSAGE/GLOBAL\nC: message/rfc822\n";
        assert_eq!(nth_embedded_message(text, 0), Some(0));
        assert_eq!(nth_embedded_message(text, 1), Some(18));
        assert_eq!(nth_embedded_message(text, 2), Some(36));
        assert_eq!(nth_embedded_message(text, 3), None);
        assert_eq!(nth_embedded_message(&text[..text.len() - 2], 2), None);
    }
}
