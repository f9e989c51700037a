//! A structural scan over the raw bytes of a MIME body, without parsing it: whether the body of
//! a multipart message can be searched for ASCII words as it stands, or must be parsed.
//!
//! The scan over-approximates mail-parser: it looks at every `Content-Type`,
//! `Content-Transfer-Encoding` and `charset` it finds anywhere in the body (in part headers,
//! quoted text, the preamble), because mail-parser finds a part's header block right after its
//! boundary, even in the middle of a line. A "searchable" answer is therefore certain; a
//! "must parse" answer only costs the parse. Checked against mail-parser on the corpus (in
//! `mime`'s tests) and by the `gate_scan` fuzz target.

/// What a multipart body holds, as far as a word search is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Searchable {
    /// Some part may be quoted-printable: the decoded body must be searched too.
    pub quoted_printable: bool,
}

/// Whether the body of a multipart message can be searched for ASCII words undecoded: `None`
/// when some part could be a report part (`message/*`, `text/rfc822-headers`, a delivery status,
/// a nested report or digest), a text or JSON part in base64 or another opaque encoding, or
/// text in a charset whose decoding changes ASCII; or when the body could hold more than
/// `max_parts` parts (the full parse would cut some, and say so).
pub fn searchable_multipart(body: &[u8], max_parts: usize) -> Option<Searchable> {
    // Every part starts after "--" and its boundary; the root and the container count too.
    // (A body holds at most half its length of them: most are too short to be counted.)
    if body.len() / 2 + 2 >= max_parts && memchr::memmem::find_iter(body, b"--").count().saturating_add(2) >= max_parts
    {
        return None;
    }
    let mut quoted_printable = false;
    // The three words in one reading of the body.
    for (at, word) in MIME_WORDS.occurrences_in_bytes(body) {
        let rest = &body[at + MIME_WORD_LIST[word].len()..];
        match word {
            CONTENT_TYPE => {
                if let Some(value) = field_value(rest)? {
                    if report_like(&media_type(value)?) {
                        return None;
                    }
                }
            }
            TRANSFER_ENCODING => {
                let Some(value) = field_value(rest)? else {
                    continue;
                };
                match token(value)?.to_ascii_lowercase().as_slice() {
                    b"7bit" | b"8bit" | b"binary" => {}
                    b"quoted-printable" => quoted_printable = true,
                    // Decoding hides the words: only a part no detector reads as text may be encoded.
                    _ => {
                        if !opaque_block(body, at)? {
                            return None;
                        }
                    }
                }
            }
            _ => match rest.trim_ascii_start().split_first() {
                Some((b'=', value)) => {
                    let value = value.trim_ascii_start();
                    let value = value.strip_prefix(b"\"").unwrap_or(value);
                    let name = std::str::from_utf8(token(value)?).ok()?;
                    if !crate::mime::keeps_ascii(name) {
                        return None;
                    }
                }
                // RFC 2231 parameters (`charset*=`): not read here.
                Some((b'*', _)) => return None,
                _ => {}
            },
        }
    }
    Some(Searchable { quoted_printable })
}

/// The field names and parameter [`searchable_multipart`] looks at, by tag.
const MIME_WORD_LIST: &[&str] = &["content-type", "content-transfer-encoding", "charset"];
const CONTENT_TYPE: usize = 0;
const TRANSFER_ENCODING: usize = 1;
static MIME_WORDS: std::sync::LazyLock<crate::text::PhraseSet> =
    std::sync::LazyLock::new(|| crate::text::PhraseSet::of(MIME_WORD_LIST));

/// The fields of the top header block a reader asked for, copied out as a header block of
/// their own, so that mail-parser reads only those (it reads each field on its own, so their
/// values come out as in the whole block); and where the body starts.
pub struct SelectedHead {
    /// The selected fields' raw lines, in order, then a blank line.
    pub block: Vec<u8>,
    /// The offset of the body in the message.
    pub body_start: usize,
    /// The block's first `Content-Type:` line declares a report structure
    /// ([`crate::mime::declares_structure`], read in the same pass).
    pub declares_structure: bool,
}

/// Select the fields named in `wanted` from the top header block of `raw`. `None` unless every
/// line of the block is a `name: value` field or a folded continuation, the block ends in a
/// blank line, and it is small enough that the limits cut nothing in it (`max_headers` fields,
/// `max_header_bytes` per decoded value): then the selected fields are read exactly as in the
/// whole block.
pub fn select_head(raw: &[u8], limits: &crate::Limits, wanted: &FieldNames) -> Option<SelectedHead> {
    const CONTENT_TYPE: FieldName = FieldName::of(b"content-type");
    const DATE: FieldName = FieldName::of(b"date");
    const RESENT_DATE: FieldName = FieldName::of(b"resent-date");
    // Room for the fields of nearly every message (about 200 bytes in ordinary mail): the
    // block is not grown and copied on the way.
    let mut block = Vec::with_capacity(512);
    let (mut fields, mut taking, mut in_date, mut start) = (0usize, false, false, 0usize);
    // Whether the first Content-Type line declares a report structure.
    let mut structure: Option<bool> = None;
    loop {
        let end = find_byte(&raw[start..], b'\n').map(|e| start + e)?;
        let line = &raw[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let next = end + 1;
        if line.is_empty() {
            // A decoded value is at most three bytes per raw byte (a replaced invalid byte)
            // plus a date's fixed length: past that, a limit could cut a value.
            if next.saturating_mul(3).saturating_add(64) > limits.max_header_bytes || fields > limits.max_headers {
                return None;
            }
            block.push(b'\n');
            return Some(SelectedHead { block, body_start: next, declares_structure: false });
        }
        if matches!(line[0], b' ' | b'\t') {
            // A continuation of the field before; a blank-only line would end the block there
            // (most lines end in a letter: then it is read no further).
            if fields == 0 || (line.last().is_some_and(u8::is_ascii_whitespace) && line.trim_ascii().is_empty()) {
                return None;
            }
            if in_date && date_overruns(&raw[start..end]) {
                return None;
            }
        } else {
            let (colon, short) = match FieldName::at_line_start(raw, start, end) {
                Some((colon, name)) => (colon, Some(name)),
                None => {
                    let colon = find_byte(line, b':')?;
                    (colon, FieldName::lowered(line[..colon].trim_ascii_end()))
                }
            };
            let name = line[..colon].trim_ascii_end();
            if name.is_empty() {
                return None;
            }
            fields += 1;
            // Only a line that begins `Content-Type:` declares a structure, and its name is this.
            if structure.is_none() && short == Some(CONTENT_TYPE) {
                structure = crate::mime::declares_report(line);
                if structure == Some(true) {
                    // A report: nothing is selected, the whole message is parsed.
                    return Some(SelectedHead { block: Vec::new(), body_start: 0, declares_structure: true });
                }
            }
            in_date = short.is_some_and(|n| n == DATE || n == RESENT_DATE);
            if in_date && date_overruns(&raw[start..end]) {
                return None;
            }
            if let Some(short) = short {
                taking = wanted.contains(&short);
            } else {
                // The name has a blank or a control byte, or is too long: it is not wanted as it
                // stands. mail-parser drops the blanks of a name it knows, keeps them in others:
                // a field (an mbox `From ` line) that may be read either way is not taken.
                if FieldName::squeezed(name).is_some_and(|n| wanted.contains(&n)) {
                    return None;
                }
                taking = false;
            }
        }
        if taking {
            block.extend_from_slice(&raw[start..next]);
        }
        start = next;
    }
}

/// Every wanted field name fits in this many 64-bit words.
const NAME_WORDS: usize = 4;

/// A header field name in lower case, as 64-bit words (zeros past its end): names are
/// compared and hashed a word at a time. (Words in fields of their own, not an array: the
/// wasm module then keeps a name in locals, not in memory.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldName {
    len: usize,
    w0: u64,
    w1: u64,
    w2: u64,
    w3: u64,
}

impl FieldName {
    /// `name` in lower case, when it is short enough to be wanted and has no byte below `!`
    /// (blanks, control characters); `None` otherwise. Eight bytes a step, as [`find_byte`]:
    /// in the wasm module a byte loop here cost more than the line's search.
    pub fn lowered(name: &[u8]) -> Option<FieldName> {
        // Letters fill the words past the name: they pass every test below, and are dropped.
        let mut padded = [b'a'; NAME_WORDS * 8];
        padded.get_mut(..name.len())?.copy_from_slice(name);
        let mut words = [0u64; NAME_WORDS];
        for (word, out) in padded.chunks_exact(8).zip(&mut words).take(name.len().div_ceil(8)) {
            let x = u64::from_le_bytes(word.try_into().ok()?);
            if any_byte_below(x, b'!') != 0 {
                return None;
            }
            *out = lower_word(x);
        }
        if name.len() % 8 != 0 {
            words[name.len() / 8] &= (1 << (name.len() % 8 * 8)) - 1;
        }
        Some(FieldName::from_words(name.len(), words))
    }

    const fn from_words(len: usize, [w0, w1, w2, w3]: [u64; NAME_WORDS]) -> FieldName {
        FieldName { len, w0, w1, w2, w3 }
    }

    /// The offset of the first colon in the line that starts at `start` in `raw` (and ends
    /// at `end`), and the name before it as [`FieldName::lowered`] gives it, read in one or
    /// two words (most names are short); `None` unless the name has 1 to 15 bytes, none of
    /// them below `!` (the line is then read the long way).
    #[inline(always)]
    fn at_line_start(raw: &[u8], start: usize, end: usize) -> Option<(usize, FieldName)> {
        let word = |at: usize| raw.get(at..at + 8).map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        let (w0, k0) = name_word(word(start)?)?;
        let (colon, w1) = if k0 < 8 {
            (k0, 0)
        } else {
            match name_word(word(start + 8)?)? {
                (_, 8) => return None,
                (w1, k1) => (8 + k1, w1),
            }
        };
        (colon > 0 && start + colon < end).then_some((colon, FieldName { len: colon, w0, w1, w2: 0, w3: 0 }))
    }

    /// `name` without its ASCII blanks, in lower case, when it is short enough to be wanted
    /// (as [`FieldName::lowered`]).
    pub(crate) fn squeezed(name: &[u8]) -> Option<FieldName> {
        // A long name without blanks (most names that are too long to be wanted) stays too
        // long: told eight bytes a step, not squeezed byte by byte.
        if name.len() > NAME_WORDS * 8 && !has_byte_below(name, b'!') {
            return None;
        }
        let mut squeezed = [0u8; NAME_WORDS * 8];
        let mut len = 0;
        for &b in name.iter().filter(|b| !b.is_ascii_whitespace()) {
            *squeezed.get_mut(len)? = b;
            len += 1;
        }
        FieldName::lowered(&squeezed[..len])
    }

    /// A name given in lower case, for constants.
    const fn of(bytes: &[u8]) -> FieldName {
        let mut words = [0u64; NAME_WORDS];
        let mut i = 0;
        while i < bytes.len() {
            words[i / 8] |= (bytes[i] as u64) << (i % 8 * 8);
            i += 1;
        }
        FieldName::from_words(bytes.len(), words)
    }

    /// The name's slot in a table of `1 << bits` slots.
    fn slot(&self, bits: u32) -> usize {
        let x = self.len as u64 ^ self.w0 ^ self.w1 ^ self.w2 ^ self.w3;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }
}

/// Whether some byte of `bytes` is below `n` (at most 0x80), eight bytes a step.
fn has_byte_below(bytes: &[u8], n: u8) -> bool {
    let mut words = bytes.chunks_exact(8);
    let below = words.by_ref().any(|w| any_byte_below(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])), n) != 0);
    below || words.remainder().iter().any(|&b| b < n)
}

/// The bytes of `x` before its first colon, in lower case (zeros after), and how many they are
/// (8 when it has no colon); `None` when one of them is below `!`.
#[inline(always)]
fn name_word(x: u64) -> Option<(u64, usize)> {
    let colons = zero_bytes(x ^ splat(b':'));
    let k = (colons.trailing_zeros() / 8) as usize;
    let name = if k == 8 { u64::MAX } else { (1 << (8 * k)) - 1 };
    // Past the name, bytes that pass the test and are dropped.
    let x = x | !name;
    if any_byte_below(x, b'!') != 0 {
        return None;
    }
    Some((lower_word(x) & name, k))
}

/// `bytes` with the ASCII capitals in lower case, eight bytes a step (a byte a step was most
/// of the cost of lowering header names in the wasm module).
pub(crate) fn make_ascii_lowercase(bytes: &mut [u8]) {
    let mut words = bytes.chunks_exact_mut(8);
    for word in &mut words {
        let mut x = [0; 8];
        x.copy_from_slice(word);
        word.copy_from_slice(&lower_word(u64::from_le_bytes(x)).to_le_bytes());
    }
    words.into_remainder().make_ascii_lowercase();
}

/// `a.eq_ignore_ascii_case(b)`, eight bytes a step (a byte a step cost most of a phrase
/// search's comparisons in the wasm module).
pub(crate) fn eq_ignore_ascii_case_words(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word =
        |s: &[u8], at: usize| s.get(at..at + 8).map(|w| lower_word(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))));
    if n < 8 {
        return a.eq_ignore_ascii_case(b);
    }
    // The last word ends at the end, over the one before it when `n` is not a multiple of 8.
    (0..n - 8).step_by(8).all(|at| word(a, at) == word(b, at)) && word(a, n - 8) == word(b, n - 8)
}

/// The eight bytes of `x` with the ASCII capitals in lower case.
fn lower_word(x: u64) -> u64 {
    // The high bit of each byte from `A` to `Z`, moved to the case bit.
    let low = x & !HIGH;
    let upper = (low + ONES * (0x80 - 0x41)) & !(low + ONES * (0x80 - 0x5b)) & !x & HIGH;
    x | upper >> 2
}

/// A set of header field names (in lower case), looked up by a [`FieldName`] in a few steps
/// (a hash table at most half full, searched from the name's slot to an empty one).
pub struct FieldNames {
    names: Vec<FieldName>,
    /// For each slot, 1 + the index of its name in `names`, or 0.
    slots: Vec<u16>,
    bits: u32,
}

impl FieldNames {
    /// The set of `names`: each in lower case, at most 32 bytes and without blanks (such a
    /// name is the only kind [`FieldName::lowered`] can give; another is never found).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> FieldNames {
        let names: Vec<FieldName> = names
            .into_iter()
            .filter_map(|n| FieldName::lowered(n.as_bytes()).filter(|_| !n.bytes().any(|b| b.is_ascii_uppercase())))
            .collect();
        let bits = (names.len() * 2).next_power_of_two().trailing_zeros().max(4);
        let mut set = FieldNames { names: Vec::new(), slots: vec![0; 1 << bits], bits };
        for name in names {
            if set.contains(&name) {
                continue;
            }
            set.names.push(name);
            let mut slot = name.slot(bits);
            while set.slots[slot] != 0 {
                slot = (slot + 1) & (set.slots.len() - 1);
            }
            set.slots[slot] = u16::try_from(set.names.len()).unwrap_or(u16::MAX);
        }
        set
    }

    pub fn contains(&self, name: &FieldName) -> bool {
        let mut slot = name.slot(self.bits);
        loop {
            match self.slots.get(slot).copied().unwrap_or(0) {
                0 => return false,
                k if self.names.get(usize::from(k) - 1) == Some(name) => return true,
                _ => slot = (slot + 1) & (self.slots.len() - 1),
            }
        }
    }

    /// Whether `name` (as it stands: a name with a capital letter is not in the set) is one of
    /// the set's names.
    pub fn contains_str(&self, name: &str) -> bool {
        !name.bytes().any(|b| b.is_ascii_uppercase())
            && FieldName::lowered(name.as_bytes()).is_some_and(|n| self.contains(&n))
    }
}

/// The offset of the first `byte` in `hay`. `memchr` reads a 32-bit word a step in the wasm
/// module (its words are `usize`) and ends byte by byte, which made line ends the costliest
/// part of reading a header block there; 64-bit words, an exact zero-byte mask and a count of
/// trailing zeros take about a third of its instructions on header lines.
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let pattern = splat(byte);
    let mut found = None;
    visit_marked(
        hay,
        |x| zero_bytes(x ^ pattern),
        |at| {
            found = Some(at);
            false
        },
    );
    found
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of each zero byte of `x`, and no other bit.
pub(crate) fn zero_bytes(x: u64) -> u64 {
    !(((x & !HIGH) + !HIGH) | x | !HIGH)
}

/// Not 0 exactly when some byte of `x` is below `n` (at most 0x80): cheaper than
/// [`zero_bytes`], but the bits it sets do not say which bytes. (A word, not a yes or no, so
/// that several tests are joined with `|` and asked once.)
pub(crate) fn any_byte_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(splat(n)) & !x & HIGH
}

/// `byte` in each of the eight bytes of a word.
pub(crate) fn splat(byte: u8) -> u64 {
    ONES * u64::from(byte)
}

/// The first offset [`visit_marked`] visits at which `is_match` holds.
pub(crate) fn first_marked(
    hay: &[u8],
    marks: impl Fn(u64) -> u64,
    mut is_match: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut found = None;
    visit_marked(hay, marks, |at| {
        if is_match(at) {
            found = Some(at);
        }
        found.is_none()
    });
    found
}

/// Calls `visit` with the offset of each byte of `hay`, in order, whose high bit `marks` sets
/// in the little-endian word of eight bytes it stands in (built from [`zero_bytes`] and
/// [`splat`]; the last word is filled up with zeros), until `visit` returns false.
pub(crate) fn visit_marked(hay: &[u8], marks: impl Fn(u64) -> u64, mut visit: impl FnMut(usize) -> bool) {
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else { return };
        let mut found = marks(u64::from_le_bytes(word));
        while found != 0 {
            if !visit(at + (found.trailing_zeros() / 8) as usize) {
                return;
            }
            found &= found - 1;
        }
        at += 8;
    }
    let rest = words.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let mut found = marks(u64::from_le_bytes(tail));
    while found != 0 {
        let offset = at + (found.trailing_zeros() / 8) as usize;
        if offset >= rest.len() + at || !visit(offset) {
            return;
        }
        found &= found - 1;
    }
}

/// Whether mail-parser's date reader may read past the end of this line of a Date field (the
/// line without its LF): it takes the two bytes after a time zone's first letter whatever they
/// are, so a word of one or two letters at the line's end ("UT") swallows the line after it.
fn date_overruns(line: &[u8]) -> bool {
    let n = line.len();
    (n.saturating_sub(2)..n).any(|i| line[i].is_ascii_alphabetic() && (i == 0 || !line[i - 1].is_ascii_alphabetic()))
}

/// The value after a field name: `Some(None)` when no colon follows (a word in text, not a
/// field), `None` when it cannot be read here (a comment), else the value up to its line's end.
fn field_value(rest: &[u8]) -> Option<Option<&[u8]>> {
    let rest = rest.trim_ascii_start();
    let Some(value) = rest.strip_prefix(b":") else {
        return Some(None);
    };
    // Folded lines continue the value; blanks (newlines too) before it are skipped.
    let value = value.trim_ascii_start();
    let end = value.iter().position(|&b| b == b'\n' || b == b';').unwrap_or(value.len());
    let value = &value[..end];
    if value.contains(&b'(') || value.contains(&b'"') {
        return None;
    }
    Some(Some(value))
}

/// A field value's leading token (a type, an encoding, a charset name), or `None` when empty.
fn token(value: &[u8]) -> Option<&[u8]> {
    let end = value
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'+' | b'/')))
        .unwrap_or(value.len());
    (end > 0).then_some(&value[..end])
}

/// `type/subtype` in lower case, blanks around the slash dropped; `None` for an empty value.
fn media_type(value: &[u8]) -> Option<Vec<u8>> {
    let value = value.trim_ascii();
    let (kind, sub) = match value.iter().position(|&b| b == b'/') {
        Some(slash) => (value[..slash].trim_ascii(), value[slash + 1..].trim_ascii_start()),
        None => (value, &b""[..]),
    };
    let sub = token(sub).unwrap_or_default();
    let mut out = kind.to_ascii_lowercase();
    out.push(b'/');
    out.extend(sub.to_ascii_lowercase());
    Some(out)
}

/// Types whose part a detector reads as a report, or whose children are messages.
fn report_like(media: &[u8]) -> bool {
    media.starts_with(b"message/")
        || media.starts_with(b"multipart/report")
        || media.starts_with(b"multipart/digest")
        || media.starts_with(b"text/rfc822-headers")
        || media.starts_with(b"text/delivery-status")
        || media.starts_with(b"text/global-")
}

/// Whether the header block around `at` (between blank lines) declares only types that no
/// detector reads as text: images, sound, video, fonts and application data other than JSON
/// and form posts. `None` when it declares none (a part without a type is text).
fn opaque_block(body: &[u8], at: usize) -> Option<bool> {
    let start = memchr::memmem::rfind(&body[..at], b"\n\n").or_else(|| memchr::memmem::rfind(&body[..at], b"\n\r\n"));
    let start = start.map_or(0, |s| s + 1);
    let end = blank_line(&body[at..]).map_or(body.len(), |e| at + e);
    let block = &body[start..end];
    let mut any = false;
    for ct in crate::text::find_ci_all(block, b"content-type") {
        let Some(value) = field_value(&block[ct + b"content-type".len()..])?.and_then(media_type) else {
            return Some(false);
        };
        any = true;
        let opaque = [&b"image/"[..], b"audio/", b"video/", b"font/", b"model/", b"application/"]
            .iter()
            .any(|p| value.starts_with(p))
            && !(value == b"application/json"
                || value.ends_with(b"+json")
                || value.starts_with(b"application/x-www-form-urlencoded"));
        if !opaque {
            return Some(false);
        }
    }
    any.then_some(true)
}

/// The offset of the first blank line (`\n\n` or `\n\r\n`) in `text`.
fn blank_line(text: &[u8]) -> Option<usize> {
    let lf = memchr::memmem::find(text, b"\n\n");
    let crlf = memchr::memmem::find(text, b"\n\r\n");
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowered_as_bytes_are() {
        // Every byte value, at every offset in a word and in the tail past the last word.
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let mut words = all[..len].to_vec();
            make_ascii_lowercase(&mut words);
            assert_eq!(words, all[..len].to_ascii_lowercase(), "{len} bytes");
        }
        let mut shifted: Vec<u8> = (0..=255).chain(0..=255).skip(3).collect();
        let expected = shifted.to_ascii_lowercase();
        make_ascii_lowercase(&mut shifted);
        assert_eq!(shifted, expected);
    }

    #[test]
    fn texts_are_compared_ignoring_case_eight_bytes_a_step_as_byte_by_byte() {
        // Every byte value against itself and its other case, at every offset of texts of 0 to
        // 40 bytes (a difference in each word, in the tail, in the overlapping last word).
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..=40 {
            for start in [0, 3, 64, 250 - len.min(250)] {
                let a = &all[start..start + len];
                for at in 0..len {
                    let mut b = a.to_vec();
                    for other in [b[at].to_ascii_uppercase(), b[at].to_ascii_lowercase(), b[at] ^ 0x20, b[at] ^ 1] {
                        b[at] = other;
                        assert_eq!(eq_ignore_ascii_case_words(a, &b), a.eq_ignore_ascii_case(&b), "{a:?} {b:?}");
                    }
                }
                assert!(eq_ignore_ascii_case_words(a, &a.to_ascii_uppercase()));
                assert!(!eq_ignore_ascii_case_words(a, &all[start..start + len + 1]));
            }
        }
    }

    fn scan(body: &str) -> Option<Searchable> {
        searchable_multipart(body.as_bytes(), 1000)
    }

    #[test]
    fn plain_alternatives_and_opaque_attachments_are_searchable() {
        let body = "--b\nContent-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: 7bit\n\nhi\n\
                    --b\nContent-Type: image/png;\n name=x.png\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n";
        assert_eq!(scan(body), Some(Searchable { quoted_printable: false }));
        let qp = "--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx=3D\r\n--b--\r\n";
        assert_eq!(scan(qp), Some(Searchable { quoted_printable: true }));
        // Words in text, not fields.
        assert!(scan("--b\n\nWhich content-type and charset do you use?\n--b--\n").is_some());
    }

    #[test]
    fn report_parts_encoded_text_and_odd_charsets_must_be_parsed() {
        for body in [
            "--b\nContent-Type: message/rfc822\n\nFrom: x\n\nhi\n--b--\n",
            "--b\nContent-Type: Message / Delivery-Status\n\nx\n--b--\n",
            "--b\nContent-Type:\n text/rfc822-headers\n\nx\n--b--\n",
            "--b\nContent-Type: multipart/report; boundary=c\n\n--c--\n--b--\n",
            "--b\nContent-Type: multipart/digest; boundary=c\n\n--c--\n--b--\n",
            "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n",
            "--b\nContent-Transfer-Encoding: base64\n\naGk=\n--b--\n",
            "--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\ne30=\n--b--\n",
            "--b\nContent-Type: text/plain; charset=utf-16\n\nx\n--b--\n",
            "--b\nContent-Type: text/plain; charset*=utf-8''x\n\nx\n--b--\n",
            "--b\nContent-Type: text/plain (comment)\n\nx\n--b--\n",
            // mail-parser reads a part's header block right after its boundary, mid-line.
            "junk --bContent-Type: message/rfc822\n\nFrom: x\n\n--b--\n",
        ] {
            assert_eq!(scan(body), None, "{body}");
        }
        assert_eq!(searchable_multipart("--b\n\nx\n--b\n\ny\n--b--\n".as_bytes(), 4), None);
    }

    #[test]
    fn positions_are_those_of_the_marked_bytes_in_order() {
        let text: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 26) as u8).collect();
        for start in 0..20 {
            for end in [start, start + 3, start + 8, start + 13, text.len()] {
                let hay = &text[start..end];
                let marks =
                    |x: u64| zero_bytes(x ^ splat(7)) | zero_bytes((x | splat(0x20)) ^ splat(0x2a)) | zero_bytes(x);
                let want: Vec<usize> =
                    (0..hay.len()).filter(|&i| hay[i] == 7 || hay[i] | 0x20 == 0x2a || hay[i] == 0).collect();
                let mut got = Vec::new();
                visit_marked(hay, marks, |at| {
                    got.push(at);
                    true
                });
                assert_eq!(got, want, "{start} {end}");
            }
        }
    }

    #[test]
    fn a_name_is_lowered_eight_bytes_a_step_as_byte_by_byte() {
        for name in
            ["Subject", "CONTENT-TRANSFER-ENCODING", "X-@[`{Zz~", "Ünïcode", "a", "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{_1"]
        {
            let want = FieldName::of(&name.as_bytes().to_ascii_lowercase());
            assert_eq!(FieldName::lowered(name.as_bytes()), Some(want), "{name}");
        }
        for name in [&b"From a"[..], b"X-\x01", b"a\tb", b"x\x00", &[b'a'; 33]] {
            assert_eq!(FieldName::lowered(name), None, "{name:?}");
        }
        for b in 0..=255u8 {
            let want = (b > b' ').then(|| FieldName::of(&[b'x', b.to_ascii_lowercase()]));
            assert_eq!(FieldName::lowered(&[b'X', b]), want, "{b}");
        }
        // What pads the last word is not part of the name.
        assert_ne!(FieldName::lowered(b"subject"), FieldName::lowered(b"subjecta"));
        assert_ne!(FieldName::lowered(b"to"), FieldName::lowered(b"to\0"));
    }

    /// Texts made of pieces of field names, blanks, colons and odd bytes, and every line of
    /// the corpus's top header blocks: each a line start with the rest of its text after it.
    fn lines_to_read() -> Vec<Vec<u8>> {
        let pieces = [
            "Subject",
            "X-",
            ":",
            " ",
            "\t",
            "content-type",
            "\n",
            "\r",
            "é",
            "\u{1}",
            "a",
            "Z",
            "-",
            "received",
            "DATE",
            "x-spamarrest-noauth",
            "0123456789",
            "@",
        ];
        let mut lines: Vec<Vec<u8>> =
            crate::text::random_joins(&pieces, 3000, 9).into_iter().map(String::into_bytes).collect();
        for path in crate::tests::corpus_files() {
            let raw = std::fs::read(&path).unwrap();
            let mut start = 0;
            while let Some(end) = find_byte(&raw[start..], b'\n').map(|e| start + e) {
                if raw[start..end].trim_ascii().is_empty() {
                    break;
                }
                lines.push(raw[start..].to_vec());
                start = end + 1;
            }
        }
        lines
    }

    #[test]
    fn a_name_read_at_the_line_start_is_the_name_before_the_first_colon() {
        let mut read = 0;
        for text in lines_to_read() {
            let end = find_byte(&text, b'\n').unwrap_or(text.len());
            let line = &text[..end];
            if let Some((colon, name)) = FieldName::at_line_start(&text, 0, end) {
                read += 1;
                assert_eq!(find_byte(line, b':'), Some(colon), "{:?}", String::from_utf8_lossy(line));
                let want = FieldName::lowered(line[..colon].trim_ascii_end());
                assert_eq!(Some(name), want, "{:?}", String::from_utf8_lossy(line));
            }
        }
        // Most names of the corpus are read this way.
        assert!(read > 40_000, "{read}");
    }

    #[test]
    fn a_byte_below_is_found_eight_bytes_a_step_as_byte_by_byte() {
        for len in 0..40 {
            for at in 0..=len {
                for byte in [b' ', b'\t', 0, b'!', b'a', 0x80, 0xff] {
                    let mut name = vec![b'x'; len];
                    if let Some(b) = name.get_mut(at) {
                        *b = byte;
                    }
                    assert_eq!(has_byte_below(&name, b'!'), name.iter().any(|&b| b < b'!'), "{name:?}");
                }
            }
        }
        // A long name with a blank is squeezed; one without stays too long.
        assert!(FieldName::squeezed("x-a ".repeat(10).as_bytes()).is_some());
        assert_eq!(FieldName::squeezed("x-abc".repeat(7).as_bytes()), None);
        assert_eq!(
            FieldName::squeezed(b"Content - Type                                   "),
            Some(FieldName::of(b"content-type"))
        );
    }

    #[test]
    fn a_byte_is_found_where_memchr_finds_it() {
        let text: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8 + b'0').collect();
        for start in 0..40 {
            for byte in [b'0', b'5', b'9', b':', b'\n', 0x80, 0xff, 0] {
                for end in [start, start + 1, start + 7, start + 8, start + 9, start + 17, text.len()] {
                    let hay = &text[start..end.min(text.len())];
                    assert_eq!(find_byte(hay, byte), memchr::memchr(byte, hay), "{start} {end} {byte}");
                }
            }
        }
        let high = [0x80u8, 0x00, 0xff, 0x0a, 0x8a, 0x0a, 0x01, 0x0b, 0x0a];
        for byte in [0x00, 0x0a, 0x8a, 0xff, 0x80, 0x01, 0x0b, 0x7f] {
            assert_eq!(find_byte(&high, byte), memchr::memchr(byte, &high), "{byte}");
        }
    }

    #[test]
    fn the_selected_fields_come_out_as_a_block_of_their_own() {
        let limits = crate::Limits::default();
        let raw = b"Received: from x\r\n by y\r\nSubject: hi\r\n there\r\nX-Other: 1\r\nfrom:a@b\r\n\r\nbody";
        let wanted = FieldNames::new(["subject", "from"]);
        let head = select_head(raw, &limits, &wanted).unwrap();
        assert_eq!(head.block, b"Subject: hi\r\n there\r\nfrom:a@b\r\n\n");
        assert_eq!(&raw[head.body_start..], b"body");
        // A report's header block is seen in the same pass, and nothing is selected.
        let report = b"From: a\nContent-Type: Multipart/Report; report-type=delivery-status\n\nbody";
        assert!(select_head(report, &limits, &wanted).unwrap().declares_structure);
        assert!(!select_head(raw, &limits, &wanted).unwrap().declares_structure);
        // An mbox `From ` line is a field to mail-parser, not one of those wanted.
        let mbox = b"From a@b  Mon Jan  1 00:00:00 2001\nSubject: x\n\nbody";
        assert_eq!(select_head(mbox, &limits, &FieldNames::new(["subject"])).unwrap().block, b"Subject: x\n\n");
        // Lines a header parser might read otherwise; no blank line; limits that could cut.
        for odd in [
            &b"Subject: x\nno colon here\n\nbody"[..],
            b"Sub ject: x\n\nbody",
            b" Subject: x\n\nbody",
            b"Subject: x\n  \nbody\n",
            b"Sub ject: x\n\nbody",
            b"Subject: x\n",
        ] {
            assert!(select_head(odd, &limits, &wanted).is_none(), "{}", String::from_utf8_lossy(odd));
        }
        // mail-parser's date reader swallows the line after a one- or two-letter zone at the end
        // (the first find of the gate fuzz target): such a block is parsed whole.
        for date in ["Date: Fri, 29 Apr 2005 23:34:45 r\n", "Date: Fri, 29 Apr 2005 23:34:45 UT\n", "Date: x\n Z\n"] {
            let raw = format!("From: a\n{date}Subject: hidden\n\nbody");
            assert!(select_head(raw.as_bytes(), &limits, &wanted).is_none(), "{date}");
        }
        for date in ["Date: Fri, 29 Apr 2005 23:34:45 GMT\n", "Date: Fri, 29 Apr 2005 23:34:45 -0700 (PDT)\n"] {
            let raw = format!("From: a\n{date}Subject: x\n\nbody");
            assert!(select_head(raw.as_bytes(), &limits, &wanted).is_some(), "{date}");
        }
        let tight = crate::Limits { max_headers: 1, ..crate::Limits::default() };
        assert!(select_head(b"A: 1\nB: 2\n\n", &tight, &wanted).is_none());
        let tight = crate::Limits { max_header_bytes: 60, ..crate::Limits::default() };
        assert!(select_head(b"A: 1\n\n", &tight, &wanted).is_none());
    }
}
