//! Small text scanners shared by the detectors: statuses, reply codes, addresses, field lines.
//! Hand-written rather than regex: the regex crate would double the module's size.

use std::sync::LazyLock;

/// `s.to_lowercase()`, the ASCII way when `s` is ASCII (the same result, one pass).
pub fn lower(s: &str) -> String {
    if s.is_ascii() { s.to_ascii_lowercase() } else { s.to_lowercase() }
}

/// A text as phrase sets read it lower-cased: an ASCII text as it is ([`PhraseSet`] ignores
/// ASCII case; lowering it would copy it for nothing), another one lowered.
pub fn lower_non_ascii(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() { s.into() } else { s.to_lowercase().into() }
}

/// Collapse runs of white space (including CR and LF) into one space and trim.
pub fn collapse_ws(s: &str) -> String {
    collapse_ws_joined(&[s])
}

/// [`collapse_ws`] of the texts joined by spaces, without a copy of them joined.
pub fn collapse_ws_joined(texts: &[&str]) -> String {
    let mut out = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
    for text in texts {
        each_word(text, |word| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        });
    }
    out
}

/// The words of a text, as `str::split_whitespace` gives them.
#[cfg(test)]
pub fn words(s: &str) -> Vec<&str> {
    let mut words = Vec::new();
    each_word(s, |word| words.push(word));
    words
}

/// Calls `f` with each word of a text, as `str::split_whitespace` gives them. An ASCII text is
/// read as bytes: `split_whitespace` decodes every character, which costs most in the wasm
/// module. Its white space in ASCII is `\t` to `\r` and the space.
pub(crate) fn each_word<'s>(s: &'s str, mut f: impl FnMut(&'s str)) {
    use crate::scan::{splat, visit_marked, zero_bytes};
    if !s.is_ascii() {
        s.split_whitespace().for_each(f);
        return;
    }
    // The white space found eight bytes a step: the space, and `\t` to `\r` as the bytes (all
    // below 0x80) that reach 0x80 plus 9 and not plus 14 (no sum carries into the next byte).
    let control = |x: u64| x.wrapping_add(splat(0x80 - 9)) & !x.wrapping_add(splat(0x80 - 14)) & splat(0x80);
    let space = |x: u64| zero_bytes(x ^ splat(b' ')) | control(x);
    let mut start = 0;
    visit_marked(s.as_bytes(), space, |at| {
        if at > start {
            f(&s[start..at]);
        }
        start = at + 1;
        true
    });
    if start < s.len() {
        f(&s[start..]);
    }
}

/// The lines of a text with their `\n`, as `str::split_inclusive('\n')` gives them. The line
/// ends are found eight bytes a step ([`crate::scan::visit_marked`]) in one pass: `str`'s char
/// searcher calls `memchr` and `memcmp` for each line, most of the cost of splitting a report
/// into lines in the wasm module.
pub fn lines_inclusive(s: &str) -> Vec<&str> {
    use crate::scan::{splat, visit_marked, zero_bytes};
    // Room for lines of 32 bytes on average (a report's are longer): the list is rarely grown,
    // each growth an allocation and a copy.
    let mut lines = Vec::with_capacity(s.len() / 32 + 1);
    let mut start = 0;
    visit_marked(
        s.as_bytes(),
        |x| zero_bytes(x ^ splat(b'\n')),
        |at| {
            lines.push(&s[start..=at]);
            start = at + 1;
            true
        },
    );
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// The lines of a text, as `str::lines` gives them (without their `\n` or `\r\n`), found as
/// [`lines_inclusive`] finds them.
pub fn lines(s: &str) -> Vec<&str> {
    let mut lines = lines_inclusive(s);
    for line in &mut lines {
        if let Some(l) = line.strip_suffix('\n') {
            *line = l.strip_suffix('\r').unwrap_or(l);
        }
    }
    lines
}

/// The first word of a text, as `str::split_whitespace().next()` gives it (an ASCII text read
/// as bytes).
pub fn first_word(s: &str) -> Option<&str> {
    if !s.is_ascii() {
        return s.split_whitespace().next();
    }
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_ascii_space(c))?;
    let end = b[start..].iter().position(|&c| is_ascii_space(c)).map_or(b.len(), |n| start + n);
    Some(&s[start..end])
}

/// White space in ASCII as `char::is_whitespace` has it: `\t` to `\r` and the space.
fn is_ascii_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

/// `str::trim`, with ASCII white space trimmed byte by byte: `trim` decodes each character,
/// which costs most in the wasm module. Other white space is left to `trim`.
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_ascii_space(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_ascii_space(c)).map_or(start, |at| at + 1);
    // Both ends are next to ASCII bytes (or at the text's ends): character boundaries.
    let t = &s[start..end];
    match (t.as_bytes().first(), t.as_bytes().last()) {
        (Some(&first), Some(&last)) if first >= 0x80 || last >= 0x80 => t.trim(),
        _ => t,
    }
}

/// Header-style fields (`Name: value`, continuation lines folded in) grouped into blocks that
/// blank lines separate. Lines that are not fields are skipped. Names are lower-cased.
pub fn field_blocks(s: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in lines_inclusive(s) {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if trim(line).is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = block.last_mut() {
                v.push(' ');
                v.push_str(trim(line));
            }
            continue;
        }
        if let Some((name, value)) = split_field(line) {
            block.push((name.to_ascii_lowercase(), trim(value).to_string()));
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

/// `Name: value` where the name is a header field name (printable, no spaces).
pub fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = crate::scan::find_byte(line.as_bytes(), b':')?;
    let name = &line[..colon];
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return None;
    }
    Some((name, &line[colon + 1..]))
}

fn is_digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(|c| c.is_ascii_digit())
}

/// The first RFC 3463 enhanced status code (`5.1.1`, `4.7.26`) in a text.
pub fn find_status(s: &str) -> Option<String> {
    find_status_from(s, b"245")
}

/// The first enhanced status code whose class is one of `classes`. Candidates are found by
/// their first dot (one `memchr` pass), not by testing every byte of the text.
pub fn find_status_from(s: &str, classes: &[u8]) -> Option<String> {
    let b = s.as_bytes();
    // `i` is the class digit, `i + 1` its dot; the code needs at least `i + 4` bytes.
    for dot in memchr::memchr_iter(b'.', b.get(1..b.len().saturating_sub(3))?).map(|p| p + 1) {
        let i = dot - 1;
        if classes.contains(&b[i]) && (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            let mut j = i + 2;
            let s1 = j;
            while is_digit_at(b, j) && j - s1 < 3 {
                j += 1;
            }
            if j > s1 && b.get(j) == Some(&b'.') {
                let s2 = j + 1;
                let mut k = s2;
                while is_digit_at(b, k) && k - s2 < 3 {
                    k += 1;
                }
                let followed_ok = !is_digit_at(b, k) && !(b.get(k) == Some(&b'.') && is_digit_at(b, k + 1));
                if k > s2 && followed_ok {
                    return Some(s[i..k].to_string());
                }
            }
        }
    }
    None
}

/// An SMTP reply code at the start of a text (`550 ...`, `550-...`, `<550>`), after white space.
pub fn leading_reply_code(s: &str) -> Option<String> {
    let t = s.trim_start().trim_start_matches(['<', '(', '#', '[']);
    let b = t.as_bytes();
    // `get`: the text may start with a multi-byte character.
    let code = t.get(..3).filter(|c| is_reply_code(c))?;
    if !is_digit_at(b, 3) && b.get(3).is_none_or(|c| !c.is_ascii_alphabetic() && *c != b'.') {
        return Some(code.to_string());
    }
    None
}

/// Reply codes that SMTP servers really send (RFC 5321, 3207, 4954, 7504, 8689): other
/// three-digit numbers in a diagnostic ("426 connection timed out") are not reply codes.
const REPLY_CODES: &[&str] = &[
    "211", "214", "220", "221", "235", "250", "251", "252", "334", "354", "421", "422", "430", "432", "450", "451",
    "452", "453", "454", "455", "458", "459", "500", "501", "502", "503", "504", "521", "523", "524", "525", "530",
    "534", "535", "538", "550", "551", "552", "553", "554", "555", "556", "557",
];

pub fn is_reply_code(code: &str) -> bool {
    REPLY_CODES.contains(&code)
}

/// The first SMTP reply code anywhere in a text: three digits 2xx/4xx/5xx standing alone and
/// followed by a space, a hyphen or the end, not part of a status code or a number.
pub fn find_reply_code(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        if matches!(b[i], b'4' | b'5')
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b'-'))
            && matches!(b.get(i + 3), None | Some(b' ' | b'-' | b'\t' | b'\r' | b'\n' | b')' | b'>'))
        {
            let code = &s[i..i + 3];
            if is_reply_code(code) {
                return Some(code.to_string());
            }
        }
    }
    None
}

fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c)
}

fn is_domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_'
}

/// Every plausible e-mail address in a text, in order, without duplicates (case-insensitive).
pub fn find_addresses(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'@' {
            let mut start = i;
            // A quoted local part: "john doe"@example.com
            if i > 0 && b[i - 1] == b'"' {
                if let Some(q) = s[..i - 1].rfind('"') {
                    start = q;
                }
            } else {
                while start > 0 && is_local_char(b[start - 1]) {
                    start -= 1;
                }
            }
            let mut end = i + 1;
            while end < b.len() && is_domain_char(b[end]) {
                end += 1;
            }
            // Trailing dots and hyphens end a sentence, not a domain.
            while end > i + 1 && matches!(b[end - 1], b'.' | b'-') {
                end -= 1;
            }
            let local = s[start..i].trim_start_matches('.');
            let domain = &s[i + 1..end];
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') {
                let addr = format!("{local}@{domain}");
                if !out.iter().any(|a| a.eq_ignore_ascii_case(&addr)) {
                    out.push(addr);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// An address from a field such as `rfc822; <user@example.com>` or `"Name" <user@example.com>`.
/// A source route (`@relay.example:user@example.com`) is dropped.
pub fn address_in_field(v: &str) -> Option<String> {
    address_with_route(v).map(|a| match a.strip_prefix('@').and_then(|r| r.rsplit_once(':')) {
        Some((_, mailbox)) => mailbox.to_string(),
        None => a,
    })
}

fn address_with_route(v: &str) -> Option<String> {
    // Bytes found eight at a step (`scan::find_byte`) or by `memrchr`: `str`'s char searcher
    // costs a `memcmp` for each find in the wasm module, and this runs on every address of a
    // header. Patterns as closures: a `char` array is searched as a loop per character.
    let has = |s: &str, byte: u8| crate::scan::find_byte(s.as_bytes(), byte).is_some();
    let v = trim(v);
    // Drop an RFC 3464 address type (`rfc822;`, `utf-8;`, `x400;`).
    let v = match crate::scan::find_byte(v.as_bytes(), b';') {
        Some(at) if !has(&v[..at], b'@') && !has(&v[..at], b'<') => trim(&v[at + 1..]),
        _ => v,
    };
    let v = decode_utf8_xtext(v);
    if let (Some(a), Some(b)) = (crate::scan::find_byte(v.as_bytes(), b'<'), memchr::memrchr(b'>', v.as_bytes())) {
        if a < b {
            let inner = trim(&v[a + 1..b]);
            if has(inner, b'@') {
                return Some(inner.trim_matches(|c| matches!(c, '"' | '\'')).to_string()).filter(|s| !s.is_empty());
            }
        }
    }
    let v = v.trim_matches(|c| matches!(c, '<' | '>' | '\'' | ' ' | ',' | ';'));
    if has(v, b'@') {
        // A quoted local part keeps its quotes and spaces; otherwise the first word is it.
        let quoted = v.starts_with('"') && v.rfind("\"@").is_some();
        let token = if quoted { v } else { first_word(v).unwrap_or(v).trim_matches('"') };
        return Some(token.trim_matches(|c| matches!(c, '<' | '>' | '\'' | ',' | ';' | '(' | ')')).to_string());
    }
    find_addresses(v).into_iter().next()
}

/// Whether a value holds a `\x{` escape ([`decode_utf8_xtext`]): found from its backslash, as a
/// search for the three bytes costs more to set up than most values take to read; backslashes
/// found eight bytes a step (`memchr` reads four in the wasm module, and costs more to start).
pub fn has_xtext_escape(v: &str) -> bool {
    use crate::scan::{first_marked, splat, zero_bytes};
    let b = v.as_bytes();
    first_marked(b, |x| zero_bytes(x ^ splat(b'\\')), |at| b.get(at + 1..).is_some_and(|rest| rest.starts_with(b"x{")))
        .is_some()
}

/// RFC 6533 `utf-8` address type: `\x{HHHH}` escapes stand for Unicode scalar values.
fn decode_utf8_xtext(v: &str) -> std::borrow::Cow<'_, str> {
    if !has_xtext_escape(v) {
        return v.into();
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(pos) = rest.find("\\x{") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 3..];
        match after
            .find('}')
            .and_then(|end| u32::from_str_radix(&after[..end], 16).ok().and_then(char::from_u32).map(|c| (c, end)))
        {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\\x{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// Where an SMTP conversation failed, as MTAs word it: `CONN`, `HELO`, `EHLO`, `MAIL`, `RCPT`,
/// `DATA` (sisimai's names). The last clue in the text wins (a transcript's last command).
pub fn find_smtp_command(text: &str) -> Option<&'static str> {
    const CLUES: &[(&str, &str)] = &[
        ("in reply to rcpt to", "RCPT"), // Postfix
        ("in reply to mail from", "MAIL"),
        ("in reply to end of data", "DATA"),
        ("in reply to data", "DATA"),
        ("in reply to helo", "HELO"),
        ("in reply to ehlo", "EHLO"),
        ("after rcpt to", "RCPT"), // Exim
        ("after mail from", "MAIL"),
        ("after end of data", "DATA"),
        ("after data", "DATA"),
        ("after initial connection", "CONN"),
        ("after helo", "HELO"),
        ("after ehlo", "EHLO"),
        (">>> rcpt to", "RCPT"), // Sendmail session transcripts
        (">>> mail from", "MAIL"),
        (">>> data", "DATA"),
        (">>> helo", "HELO"),
        (">>> ehlo", "EHLO"),
        ("did not like our rcpt to", "RCPT"), // DragonFly Mail Agent
        ("did not like our mail from", "MAIL"),
        ("did not like our final data", "DATA"),
        ("does not like recipient", "RCPT"), // qmail
        ("failed after i sent the message", "DATA"),
        ("sender was rejected", "MAIL"),
        ("my name was rejected", "HELO"),
        ("most progress was rcpt to", "RCPT"), // qmail: "no SMTP connection got far enough"
        ("smtp:rcpt host", "RCPT"),            // "SMTP:RCPT host 192.0.2.8: 553 …" (X3 reports)
        ("[rcpt_to]", "RCPT"),                 // Yahoo
        ("[mail_from]", "MAIL"),
        ("[data]", "DATA"),
    ];
    static CLUE_SET: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(CLUES.iter().map(|c| c.0).zip(0..)));
    CLUE_SET.last_in(text).map(|i| CLUES[i].1)
}

/// The last RFC 3463 status of class 4 or 5 in a text: in a diagnostic that quotes several
/// replies ("554 4.4.7 expired <421 4.4.2 timed out>"), the last one is the remote server's.
pub fn find_last_failure_status(s: &str) -> Option<String> {
    let mut last = None;
    let mut rest = s;
    while let Some(found) = find_status_from(rest, b"45") {
        let at = rest.find(&found).unwrap_or(0);
        rest = &rest[at + found.len()..];
        last = Some(found);
    }
    last
}

/// The remote host a diagnostic names: "host mx.example.net [192.0.2.1]" (Exim, Postfix
/// "host mx.example[ip] said:"), "host: smtp-in.example.fr (ip)", "Remote host said" excluded.
pub fn find_remote_host(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("host") {
        let start = from + at;
        from = start + 4;
        let preceded_ok = start == 0 || !lower.as_bytes()[start - 1].is_ascii_alphanumeric();
        let rest = lower[start + 4..].trim_start_matches(':').trim_start();
        if !preceded_ok || !lower[start + 4..].starts_with([' ', ':']) {
            continue;
        }
        let token: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
        let token = token.trim_end_matches(['.', '-']);
        if token.contains('.') && token.chars().any(|c| c.is_ascii_alphabetic()) && !token.contains("..") {
            return Some(token.to_string());
        }
    }
    None
}

/// ASCII case-insensitive prefix test (non-ASCII bytes compare exactly).
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// A subject without leading mailing-list tags such as `[ILUG]`.
pub fn without_list_tags(subject: &str) -> &str {
    let mut s = subject.trim();
    while let Some(rest) = s.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(_, r)| r.trim_start()) {
        s = rest;
    }
    s
}

/// A person's reply or forward ("Re:", "Fwd:", "AW:", …), after any list tags.
pub fn is_reply_subject(subject: &str) -> bool {
    let s = without_list_tags(subject);
    ["re:", "fwd:", "fw:", "aw:", "wg:"].iter().any(|p| starts_with_ci(s, p))
}

/// `host` is `domain` or one of its subdomains (ASCII case-insensitive, trailing dot ignored).
pub fn host_in(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    h.len() >= d.len()
        && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
        && (h.len() == d.len() || h[h.len() - d.len() - 1] == b'.')
}

/// ASCII case-insensitive substring test.
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    find_ci(haystack, needle).is_some()
}

/// Where `needle` first occurs in `haystack`, ignoring ASCII case.
pub fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    find_ci_bytes(haystack.as_bytes(), needle.as_bytes())
}

/// Where `word` occurs in `text`, ignoring ASCII case, each occurrence after the end of the one
/// before.
pub fn find_ci_all<'a>(text: &'a [u8], word: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + find_ci_bytes(text.get(from..)?, word)?;
        from = at + word.len().max(1);
        Some(at)
    })
}

/// [`find_ci`] on bytes. Scans for one byte of the needle that case cannot
/// change, such as `:` or `"`, which are rarer in text than letters; else for its first letter
/// in either case. Compares the whole needle only there, eight bytes a step.
pub fn find_ci_bytes(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    if n.len() > h.len() {
        return None;
    }
    use crate::scan::{any_byte_below, eq_ignore_ascii_case_words, first_marked, splat, zero_bytes};
    // Candidates in order of position, so the first match is the first occurrence.
    let is_match = |at: usize| h.get(at..at + n.len()).is_some_and(|w| eq_ignore_ascii_case_words(w, n));
    // Candidates found eight bytes a step (`memchr` reads four in the wasm module).
    if let Some(k) = n.iter().position(|b| !b.is_ascii_alphabetic()) {
        let byte = splat(n[k]);
        // Most words hold no such byte: a cheaper test (whether, not where) passes them first.
        let marks = |x: u64| if any_byte_below(x ^ byte, 1) == 0 { 0 } else { zero_bytes(x ^ byte) };
        first_marked(&h[k..], marks, is_match)
    } else {
        // A letter in either case: setting bit 5 lowers a capital, and makes no other byte it.
        let letter = splat(n[0].to_ascii_lowercase());
        first_marked(h, |x| zero_bytes((x | splat(0x20)) ^ letter), is_match)
    }
}

/// A set of tagged phrases, all found in one pass over a text, ignoring ASCII case. Phrases
/// are indexed by a hash of their first bytes, so each position of the text costs one table
/// look-up instead of one search per phrase, and most positions are skipped (Wu–Manber). (An
/// Aho-Corasick automaton searches as fast but costs milliseconds to build in each fresh module
/// instance; this index builds in microseconds.)
pub struct PhraseSet {
    /// Phrases shorter than [`SHORT_PHRASE`], searched on their own.
    short: Vec<(&'static str, usize)>,
    /// The others by length: the long ones read through a wide window, which skips more bytes
    /// at a time, the shorter ones through their own narrower window.
    classes: Vec<Windowed>,
}

/// Phrases shorter than this are searched one by one: they would keep the window narrow.
const SHORT_PHRASE: usize = 4;

/// In a set of [`MANY_PHRASES`] or more, phrases at least this long are read through a window
/// of their own, hashed on three bytes.
const LONG_PHRASE: usize = 8;
const MANY_PHRASES: usize = 64;

/// Phrases of one length class, found through a window as wide as the shortest of them.
struct Windowed {
    /// The length of the shortest phrase: the text is read through a window this wide.
    window: usize,
    /// For each hash slot, 1 + its bucket's index in `buckets`, or 0.
    index: Box<[u16]>,
    /// Each phrase with its tag and its position among the set's phrases.
    buckets: Vec<Vec<(&'static [u8], usize, usize)>>,
    /// How far the window may move when its last hashed bytes hash to a slot: no phrase can
    /// start in the positions skipped. Most windows move several bytes at once. Its variant
    /// says how many bytes are hashed (at the window's end to skip, at a phrase's start to
    /// index) and how many slots the tables have.
    skip: Skips,
}

/// A skip table as an array of its size (by the bytes hashed): a hashed slot is then in it
/// without a bounds check, in the step every window takes. Three hashed bytes take more slots
/// to keep most of them empty, so most skips long.
enum Skips {
    Two(Box<[u8; 1 << 12]>),
    Three(Box<[u8; 1 << 14]>),
}

impl Skips {
    /// A table for `block` hashed bytes (2 or 3), every skip `longest`.
    fn new(block: usize, longest: u8) -> Skips {
        if block == 3 { Skips::Three(Box::new([longest; 1 << 14])) } else { Skips::Two(Box::new([longest; 1 << 12])) }
    }

    /// The number of slots, a power of two.
    fn slots(&self) -> usize {
        match self {
            Skips::Two(table) => table.len(),
            Skips::Three(table) => table.len(),
        }
    }

    fn get_mut(&mut self, slot: usize) -> &mut u8 {
        match self {
            Skips::Two(table) => &mut table[slot],
            Skips::Three(table) => &mut table[slot],
        }
    }
}

/// The hash slot of `B` bytes, the same for either ASCII case. Setting bit 5 lowers a capital
/// letter; on other bytes it only merges a few slots, which costs a look at a bucket or a
/// shorter skip, never a missed phrase.
fn phrase_slot<const B: usize>(bytes: &[u8; B], bits: u32) -> usize {
    // One load of the bytes as a little-endian word (the wasm module reads them in one or two
    // steps, not byte by byte).
    let mut word = [0u8; 4];
    word[..B].copy_from_slice(bytes);
    let key = u32::from_le_bytes(word) | 0x2020_2020;
    (key.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

/// [`phrase_slot`] of the `B` bytes at `at` (which must be in `b`).
fn slot_at<const B: usize>(b: &[u8], at: usize, bits: u32) -> usize {
    match b.get(at..at + B).and_then(|w| <&[u8; B]>::try_from(w).ok()) {
        Some(w) => phrase_slot(w, bits),
        None => 0,
    }
}

impl Windowed {
    /// `phrases` as `(phrase, tag, position)`, none shorter than `block`.
    fn new(phrases: Vec<(&'static [u8], usize, usize)>, block: usize) -> Windowed {
        let window = phrases.iter().map(|p| p.0.len()).min().unwrap_or(0).min(usize::from(u8::MAX));
        let skip = Skips::new(block, (window + 1 - block) as u8);
        let index = vec![0; skip.slots()].into_boxed_slice();
        let mut set = Windowed { window, index, buckets: Vec::new(), skip };
        for (phrase, tag, rank) in phrases {
            // A window whose last bytes are a phrase's bytes q-block .. q-1 may hold that
            // phrase's start `window - q` bytes back: it may move no further than that.
            for q in block..=window {
                let slot = set.slot_at(phrase, q - block);
                let skip = set.skip.get_mut(slot);
                *skip = (*skip).min((window - q) as u8);
            }
            let slot = set.slot_at(phrase, 0);
            if set.index[slot] == 0 {
                set.buckets.push(Vec::new());
                // There are at most 16,384 slots, so a bucket number fits in a u16.
                set.index[slot] = u16::try_from(set.buckets.len()).unwrap_or(u16::MAX);
            }
            if let Some(bucket) = set.buckets.get_mut(usize::from(set.index[slot]) - 1) {
                bucket.push((phrase, tag, rank));
            }
        }
        set
    }

    /// The slot of the block of bytes at `at`.
    fn slot_at(&self, b: &[u8], at: usize) -> usize {
        let bits = self.skip.slots().trailing_zeros();
        match self.skip {
            Skips::Two(_) => slot_at::<2>(b, at, bits),
            Skips::Three(_) => slot_at::<3>(b, at, bits),
        }
    }

    /// Calls `visit(position, tag, rank)` for every occurrence in text order (at one position,
    /// in the order of the phrases) until it returns false; returns false if it stopped.
    fn scan(&self, b: &[u8], visit: &mut impl FnMut(usize, usize, usize) -> bool) -> bool {
        match &self.skip {
            Skips::Two(skips) => self.scan_with::<2, { 1 << 12 }>(skips, b, visit),
            Skips::Three(skips) => self.scan_with::<3, { 1 << 14 }>(skips, b, visit),
        }
    }

    /// [`Windowed::scan`] with `B` hashed bytes and the skip table of `SLOTS` slots.
    fn scan_with<const B: usize, const SLOTS: usize>(
        &self,
        skips: &[u8; SLOTS],
        b: &[u8],
        visit: &mut impl FnMut(usize, usize, usize) -> bool,
    ) -> bool {
        let (window, bits) = (self.window, SLOTS.trailing_zeros());
        let Some(last_block) = b.len().checked_sub(B) else {
            return true;
        };
        // `at` is the first of a window's last `B` bytes; a phrase may start at the window's
        // first byte. (One bound, and blocks read within it: the step that most windows take,
        // a skip, then costs a third less in the wasm module than with a slice's own checks.)
        let mut at = window - B;
        while at <= last_block {
            let last = b.get(at..at + B).and_then(|w| <[u8; B]>::try_from(w).ok()).unwrap_or([0; B]);
            let skip = skips[phrase_slot(&last, bits)];
            if skip > 0 {
                at += usize::from(skip);
                continue;
            }
            let i = at + B - window;
            let slot = self.index[slot_at::<B>(b, i, bits)];
            if slot != 0 {
                for &(phrase, tag, rank) in &self.buckets[usize::from(slot) - 1] {
                    let here =
                        b.get(i..i + phrase.len()).is_some_and(|h| crate::scan::eq_ignore_ascii_case_words(h, phrase));
                    if here && !visit(i, tag, rank) {
                        return false;
                    }
                }
            }
            at += 1;
        }
        true
    }
}

impl PhraseSet {
    pub fn new(phrases: impl IntoIterator<Item = (&'static str, usize)>) -> PhraseSet {
        let phrases: Vec<(&'static str, usize)> = phrases.into_iter().collect();
        // A small set is read in one pass; a large one would fill the skip table of one narrow
        // window, and is read through two, which skip more in all.
        let long_from = if phrases.len() >= MANY_PHRASES { LONG_PHRASE } else { usize::MAX };
        let (mut short, mut mid, mut long) = (Vec::new(), Vec::new(), Vec::new());
        for (rank, (phrase, tag)) in phrases.into_iter().enumerate() {
            match phrase.len() {
                n if n < SHORT_PHRASE => short.push((phrase, tag)),
                n if n < long_from => mid.push((phrase.as_bytes(), tag, rank)),
                _ => long.push((phrase.as_bytes(), tag, rank)),
            }
        }
        let mut classes = Vec::new();
        if !mid.is_empty() {
            classes.push(Windowed::new(mid, 2));
        }
        if !long.is_empty() {
            classes.push(Windowed::new(long, 3));
        }
        PhraseSet { short, classes }
    }

    /// A set whose tags are the phrases' positions in `phrases`.
    pub fn of(phrases: &[&'static str]) -> PhraseSet {
        PhraseSet::new(phrases.iter().enumerate().map(|(tag, p)| (*p, tag)))
    }

    /// Calls `visit(position, tag)` for every occurrence of every phrase until it returns false:
    /// first those of the short phrases (the empty phrase occurs once, at 0), then the others in
    /// text order within each length class.
    fn scan(&self, text: &str, visit: impl FnMut(usize, usize) -> bool) {
        self.scan_bytes(text.as_bytes(), visit)
    }

    /// [`PhraseSet::scan`] over bytes that need not be UTF-8.
    fn scan_bytes(&self, b: &[u8], mut visit: impl FnMut(usize, usize) -> bool) {
        if self.scan_short(b, &mut visit) {
            self.scan_classes(b, &mut |at, tag, _| visit(at, tag));
        }
    }

    /// The short phrases' occurrences; false if `visit` stopped.
    fn scan_short(&self, b: &[u8], visit: &mut impl FnMut(usize, usize) -> bool) -> bool {
        for &(phrase, tag) in &self.short {
            let mut from = 0;
            while let Some(at) = b.get(from..).and_then(|rest| find_ci_bytes(rest, phrase.as_bytes())) {
                if !visit(from + at, tag) {
                    return false;
                }
                if phrase.is_empty() {
                    break;
                }
                from += at + 1;
            }
        }
        true
    }

    /// The other phrases' occurrences as `(position, tag, rank)`, class by class.
    fn scan_classes(&self, b: &[u8], visit: &mut impl FnMut(usize, usize, usize) -> bool) {
        for class in &self.classes {
            if !class.scan(b, visit) {
                return;
            }
        }
    }

    /// The lowest tag among the phrases that occur in `text`.
    pub fn lowest_tag_in(&self, text: &str) -> Option<usize> {
        self.lowest_tag_among(text, 0..usize::MAX)
    }

    /// The lowest tag in `tags` among the phrases that occur in `text`.
    pub fn lowest_tag_among(&self, text: &str, tags: std::ops::Range<usize>) -> Option<usize> {
        let mut best: Option<usize> = None;
        self.scan(text, |_, tag| {
            if tags.contains(&tag) {
                best = Some(best.map_or(tag, |b| b.min(tag)));
            }
            best != Some(tags.start)
        });
        best
    }

    /// Whether any phrase occurs in `text`.
    pub fn any_in(&self, text: &str) -> bool {
        let mut found = false;
        self.scan(text, |_, _| {
            found = true;
            false
        });
        found
    }

    /// The tag of the phrase whose occurrence starts last in `text` (at one position, the
    /// highest tag).
    pub fn last_in(&self, text: &str) -> Option<usize> {
        let mut last: Option<(usize, usize)> = None;
        self.scan(text, |at, tag| {
            last = last.max(Some((at, tag)));
            true
        });
        last.map(|(_, tag)| tag)
    }

    /// How many occurrences of phrases `text` holds.
    pub fn count_in(&self, text: &str) -> usize {
        let mut n = 0;
        self.scan(text, |_, _| {
            n += 1;
            true
        });
        n
    }

    /// How many different tags occur in `text`.
    pub fn distinct_in(&self, text: &str) -> usize {
        let mut seen = Vec::new();
        self.add_tags_in(text, &mut seen);
        seen.len()
    }

    /// Adds to `seen` the tags that occur in `text` and are not in it yet: the distinct tags
    /// of several texts, read one by one.
    pub fn add_tags_in(&self, text: &str, seen: &mut Vec<usize>) {
        self.add_tags_in_bytes(text.as_bytes(), seen);
    }

    /// Every occurrence in `text` (bytes that need not be UTF-8) as `(position, tag)`: those of
    /// the short phrases first, then the others in text order.
    pub fn occurrences_in_bytes(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut all = Vec::new();
        self.scan_short(text, &mut |at, tag| {
            all.push((at, tag));
            true
        });
        // The classes' occurrences merged: in text order, at one position in phrase order.
        let mut others = Vec::new();
        self.scan_classes(text, &mut |at, tag, rank| {
            others.push((at, rank, tag));
            true
        });
        if self.classes.len() > 1 {
            others.sort_unstable();
        }
        all.extend(others.into_iter().map(|(at, _, tag)| (at, tag)));
        all
    }

    /// [`PhraseSet::add_tags_in`] over bytes that need not be UTF-8.
    pub fn add_tags_in_bytes(&self, text: &[u8], seen: &mut Vec<usize>) {
        self.scan_bytes(text, |_, tag| {
            if !seen.contains(&tag) {
                seen.push(tag);
            }
            true
        });
    }
}

/// For tests: `count` texts of up to `max - 1` pieces each, drawn from `pieces` by a fixed
/// pseudo-random sequence (so that occurrences overlap, repeat and sit at both ends).
#[cfg(test)]
pub(crate) fn random_joins(pieces: &[&str], count: usize, max: usize) -> Vec<String> {
    let mut seed = 7u32;
    (0..count)
        .map(|len| {
            (0..len % max)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    pieces[(seed >> 16) as usize % pieces.len()]
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_phrase_set_finds_the_lowest_tag_present() {
        use super::PhraseSet;
        let set = PhraseSet::new([("user unknown", 3), ("unknown", 5), ("x", 4), ("mailbox full", 1), ("", 9)]);
        assert_eq!(set.lowest_tag_in("550 user unknown"), Some(3));
        assert_eq!(set.lowest_tag_in("unknown host x"), Some(4));
        assert_eq!(set.lowest_tag_in("mailbox full; user unknown"), Some(1));
        assert_eq!(set.lowest_tag_in("nothing here"), Some(9), "the empty phrase is in every text");
        assert_eq!(PhraseSet::new([("ab", 0)]).lowest_tag_in("a"), None);
        assert_eq!(PhraseSet::new([("ab", 0)]).lowest_tag_in("xab"), Some(0));
        assert_eq!(PhraseSet::new([("メール", 2)]).lowest_tag_in("このメールは"), Some(2));
        assert_eq!(PhraseSet::new([("user unknown", 0)]).lowest_tag_in("550 User Unknown"), Some(0));
    }

    #[test]
    fn a_phrase_set_agrees_with_naive_search_on_many_texts() {
        // Phrases of every length class, sharing letters, on texts from a small alphabet so
        // that occurrences overlap, repeat and sit at both ends.
        // `@` and `` ` `` share hash slots (bit 5 is set on both): a shared slot must not match.
        let phrases = [
            "abab",
            "ba",
            "b",
            "aab",
            "abba",
            "babaab",
            "BAAB",
            "abaabab",
            "bb a",
            "a$",
            "b@ab",
            "abbaabab",
            "baab aab",
            "ABABABABA",
            "bab@ab$b",
            "aabbaabbaa",
        ];
        // The same phrases in a set large enough to be read through two windows: fillers
        // that never occur (`~` is not in the texts) come after them.
        let fillers = (0..60).map(|k| &*Box::leak(format!("~{k}~ab~ba~").into_boxed_str()));
        let large = PhraseSet::of(&phrases.iter().copied().chain(fillers).collect::<Vec<_>>());
        assert_eq!(large.classes.len(), 2);
        let set = PhraseSet::of(&phrases);
        let mut seed = 7u32;
        for len in 0..800 {
            let text: String = (0..len % 37)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ['a', 'b', 'A', 'B', ' ', '$', '@', '`'][(seed >> 16) as usize % 8]
                })
                .collect();
            let lower = text.to_ascii_lowercase();
            let mut occurrences: Vec<(usize, usize)> = Vec::new();
            for (tag, p) in phrases.iter().enumerate() {
                let p = p.to_ascii_lowercase();
                occurrences.extend((0..lower.len()).filter(|&at| lower[at..].starts_with(&p)).map(|at| (at, tag)));
            }
            let mut tags: Vec<usize> = occurrences.iter().map(|o| o.1).collect();
            tags.sort();
            tags.dedup();
            assert_eq!(set.lowest_tag_in(&text), tags.first().copied(), "{text:?}");
            let among = tags.iter().copied().find(|t| (3..9).contains(t));
            assert_eq!(set.lowest_tag_among(&text, 3..9), among, "{text:?}");
            assert_eq!(set.any_in(&text), !tags.is_empty(), "{text:?}");
            assert_eq!(set.distinct_in(&text), tags.len(), "{text:?}");
            assert_eq!(set.count_in(&text), occurrences.len(), "{text:?}");
            assert_eq!(set.last_in(&text), occurrences.iter().max().map(|o| o.1), "{text:?}");
            // The short phrases' occurrences first, then the others in text order.
            let short = |tag: usize| phrases[tag].len() < super::SHORT_PHRASE;
            let mut expected: Vec<(usize, usize)> = occurrences.iter().copied().filter(|o| short(o.1)).collect();
            let mut others: Vec<(usize, usize)> = occurrences.iter().copied().filter(|o| !short(o.1)).collect();
            others.sort();
            expected.extend(others);
            assert_eq!(set.occurrences_in_bytes(text.as_bytes()), expected, "{text:?}");
            assert_eq!(large.occurrences_in_bytes(text.as_bytes()), expected, "{text:?}");
            assert_eq!(large.lowest_tag_in(&text), tags.first().copied(), "{text:?}");
            assert_eq!(large.last_in(&text), occurrences.iter().max().map(|o| o.1), "{text:?}");
        }
    }

    #[test]
    fn a_phrase_set_answers_every_question_as_one_search_per_phrase() {
        let phrases = ["after rcpt to", "after data", "rcpt", "x", "data", "$$$"];
        let set = PhraseSet::of(&phrases);
        let texts = [
            "",
            "x",
            "X",
            "after DATA then after rcpt to",
            "After RCPT TO: 550 after data",
            "$$$ xx data data",
            "nothing",
            "datadata after rcpt toafter data",
        ];
        for text in texts {
            let lower = text.to_ascii_lowercase();
            let occurrences: Vec<(usize, usize)> = phrases
                .iter()
                .enumerate()
                .flat_map(|(tag, p)| lower.match_indices(p).map(move |(at, _)| (at, tag)))
                .collect();
            let mut tags: Vec<usize> = occurrences.iter().map(|o| o.1).collect();
            tags.sort();
            tags.dedup();
            assert_eq!(set.lowest_tag_in(text), tags.first().copied(), "{text}");
            assert_eq!(set.any_in(text), !tags.is_empty(), "{text}");
            assert_eq!(set.distinct_in(text), tags.len(), "{text}");
            // `match_indices` skips overlapping occurrences; none of these texts has any.
            assert_eq!(set.count_in(text), occurrences.len(), "{text}");
            let last = phrases.iter().enumerate().filter_map(|(tag, p)| lower.rfind(p).map(|at| (at, tag))).max();
            assert_eq!(set.last_in(text), last.map(|l| l.1), "{text}");
        }
    }

    #[test]
    fn white_space_is_collapsed_as_split_whitespace_splits_it() {
        let pieces = [" ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "a", "bc", "é", "\u{a0}", "\u{3000}", "\u{85}"];
        let ascii = [" ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "a", "bc"];
        for text in random_joins(&pieces, 3000, 13).into_iter().chain(random_joins(&ascii, 3000, 13)) {
            assert_eq!(words(&text), text.split_whitespace().collect::<Vec<_>>(), "{text:?}");
            assert_eq!(collapse_ws(&text), text.split_whitespace().collect::<Vec<_>>().join(" "), "{text:?}");
        }
    }

    #[test]
    fn lines_and_trims_are_those_of_str() {
        let pieces =
            ["\n", "\r", "\r\n", " ", "\t", "\x0b", "a", "bc", "é", "\u{a0}", "\u{3000}", "\u{85}", "12345678"];
        let mut texts = random_joins(&pieces, 4000, 20);
        for path in crate::tests::corpus_files().iter().step_by(5) {
            texts.push(String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned());
        }
        for text in &texts {
            assert_eq!(lines_inclusive(text), text.split_inclusive('\n').collect::<Vec<_>>(), "{text:?}");
            assert_eq!(lines(text), text.lines().collect::<Vec<_>>(), "{text:?}");
            for line in text.split_inclusive('\n') {
                assert_eq!(trim(line), line.trim(), "{line:?}");
            }
            assert_eq!(trim(text), text.trim(), "{text:?}");
            assert_eq!(first_word(text), text.split_whitespace().next(), "{text:?}");
            let pieces: Vec<&str> = text.split('\n').collect();
            assert_eq!(collapse_ws_joined(&pieces), collapse_ws(&pieces.join(" ")), "{text:?}");
        }
    }

    #[test]
    fn a_case_insensitive_search_finds_the_first_occurrence() {
        // Needles that start with a letter or hold a case-free byte, on texts from a small
        // alphabet (occurrences overlap, repeat, cross eight-byte words and sit at both ends),
        // and on corpus lines.
        let needles = [
            "a",
            "ab",
            "aB",
            "b-a",
            "-",
            "a:",
            "ba:b",
            "é",
            "aaaaaaaaa",
            "@",
            "`",
            "A@",
            "x",
            "",
            " ",
            "a ",
            ":a",
            "bé",
            "éA",
            "@`",
            "`@",
            "Ab:aB-",
            "aBaBaBaBaBaBaBaBa",
            "abab:abab:abab:ab",
            "a@b",
            "AAAAAAAA",
            "ba",
            "b a:b",
        ];
        let naive = |h: &[u8], n: &[u8]| {
            (0..=h.len()).find(|&at| h.len() >= at + n.len() && h[at..at + n.len()].eq_ignore_ascii_case(n))
        };
        let pieces =
            ["a", "A", "b", "B", "-", ":", "@", "`", "é", "É", " ", "\u{0}", "\u{1}", "!", "\u{1a}", "A@", "ba"];
        let mut texts = random_joins(&pieces, 6000, 30);
        for path in crate::tests::corpus_files().iter().step_by(7) {
            let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
            texts.extend(text.lines().map(str::to_string));
        }
        for text in &texts {
            let long =
                ["recipient:", "Final-Recipient", "550 5.1.1", "mailer-daemon", "$$$", "Received:", "Content-Type"];
            for needle in needles.iter().chain(&long) {
                let (h, n) = (text.as_bytes(), needle.as_bytes());
                assert_eq!(find_ci_bytes(h, n), naive(h, n), "{text:?} / {needle:?}");
            }
        }
    }

    #[test]
    fn leading_reply_code_on_multibyte_text() {
        // A line starting with Cyrillic (Mail.Ru's notice) once panicked on a byte slice.
        assert_eq!(super::leading_reply_code("Это письмо"), None);
        assert_eq!(super::leading_reply_code("<550> no"), Some("550".into()));
    }

    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(find_status("smtp; 550 5.1.1 <a@b.c>: no").as_deref(), Some("5.1.1"));
        assert_eq!(find_status("Status: 4.7.26 (x)").as_deref(), Some("4.7.26"));
        assert_eq!(find_status("version 1.5.1.2 and 10.5.1.1"), None);
        assert_eq!(find_status("ip 192.5.1.1"), None);
        assert_eq!(find_status("ends 5.2.2."), Some("5.2.2".to_string()));
        assert_eq!(
            find_last_failure_status("554 4.4.7 expired <421 4.4.2 Connection timed out>").as_deref(),
            Some("4.4.2")
        );
        assert_eq!(find_last_failure_status("Out: 250 2.1.5 Ok Out: 451 4.3.0 Error").as_deref(), Some("4.3.0"));
    }

    #[test]
    fn reply_codes() {
        assert_eq!(leading_reply_code("550-5.1.1 The email").as_deref(), Some("550"));
        assert_eq!(leading_reply_code(" 452 4.2.2 full").as_deref(), Some("452"));
        assert_eq!(leading_reply_code("5.1.1 user"), None);
        assert_eq!(find_reply_code("said: 554 5.7.1 rejected").as_deref(), Some("554"));
        assert_eq!(find_reply_code("port 587 and 5.1.1"), None);
    }

    #[test]
    fn subjects_and_hosts() {
        assert!(is_reply_subject("[ILUG] Re: out of office"));
        assert!(is_reply_subject("AW: Abwesenheitsnotiz"));
        assert!(!is_reply_subject("Undelivered Mail Returned to Sender"));
        assert!(host_in("Mail.Example.COM.", "example.com"));
        assert!(host_in("example.com", "example.com"));
        assert!(!host_in("notexample.com", "example.com"));
    }

    #[test]
    fn case_insensitive_search() {
        assert!(contains_ci("Mail Delivery FAILED", "delivery failed"));
        assert!(contains_ci("xx", ""));
        assert!(!contains_ci("abc", "abcd"));
        assert!(contains_ci("aaab", "aab"));
        assert!(!contains_ci("配信エラー a", "b"));
        assert!(contains_ci("配信エラー", "エラー"));
        // Needles found by a case-free byte (':', '"', '-'), at the edges and repeated.
        for (h, n, at) in [
            ("Final-Recipient: a", "recipient:", Some(6)),
            ("x: recipient recipient: y", "RECIPIENT:", Some(13)),
            ("recipient", "recipient:", None),
            (":recipient:", "recipient:", Some(1)),
            ("{\"notificationType\":1}", "\"notificationtype\"", Some(1)),
            ("a-b A-B", "a-b", Some(0)),
            ("xx a-", "a-b", None),
        ] {
            assert_eq!(find_ci(h, n), at, "{h} / {n}");
        }
    }

    #[test]
    fn remote_hosts() {
        assert_eq!(
            find_remote_host(
                "SMTP error from remote mail server after RCPT TO:<a@b.c>: host mx.example.jp [192.0.2.153]: 550"
            )
            .as_deref(),
            Some("mx.example.jp")
        );
        assert_eq!(
            find_remote_host("<a@b.c>: host mx.user.example.or.jp[192.0.2.22] said: 550").as_deref(),
            Some("mx.user.example.or.jp")
        );
        assert_eq!(
            find_remote_host("for TEXT command, host: smtp-in.orange.fr (193.252.22.65) reason: 550").as_deref(),
            Some("smtp-in.orange.fr")
        );
        assert_eq!(find_remote_host("Remote host said: 550 no"), None);
        assert_eq!(find_remote_host("localhost refused"), None);
    }

    #[test]
    fn smtp_commands() {
        assert_eq!(find_smtp_command("said: 550 unknown (in reply to RCPT TO command)"), Some("RCPT"));
        assert_eq!(find_smtp_command(">>> RCPT To:<a@b.c>\n<<< 250 ok\n>>> DATA\n<<< 554 no"), Some("DATA"));
        assert_eq!(find_smtp_command("SMTP error from remote mail server after end of data:"), Some("DATA"));
        assert_eq!(find_smtp_command("550 no such user"), None);
    }

    /// The former reading of an address field, with `str`'s searches.
    fn address_by_str_searches(v: &str) -> Option<String> {
        let v = v.trim();
        let v = match v.split_once(';') {
            Some((t, rest)) if !t.contains('@') && !t.contains('<') => rest.trim(),
            _ => v,
        };
        let v = decode_utf8_xtext(v);
        if let (Some(a), Some(b)) = (v.find('<'), v.rfind('>')) {
            if a < b && v[a + 1..b].trim().contains('@') {
                return Some(v[a + 1..b].trim().trim_matches(['"', '\'']).to_string()).filter(|s| !s.is_empty());
            }
        }
        let v = v.trim_matches(['<', '>', '\'', ' ', ',', ';']);
        if v.contains('@') {
            let quoted = v.starts_with('"') && v.rfind("\"@").is_some();
            let token = if quoted { v } else { v.split_whitespace().next().unwrap_or(v).trim_matches('"') };
            return Some(token.trim_matches(['<', '>', '\'', ',', ';', '(', ')']).to_string());
        }
        find_addresses(v).into_iter().next()
    }

    #[test]
    fn address_fields_read_as_with_str_searches() {
        // Every field value of the corpus that holds an `@` or a `;`, and each comma-separated
        // piece of it, and pieces joined at random.
        let pieces = ["a@b.c", " ", "<", ">", ";", "rfc822", "\"", "'", "\u{a0}", "é", "(", "x", "\\x{41}", "\t", "@"];
        let mut values = random_joins(&pieces, 5000, 10);
        for path in crate::tests::corpus_files().iter().step_by(3) {
            let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
            for line in text.lines().filter(|l| l.contains(['@', ';'])) {
                let value = line.split_once(':').map_or(line, |(_, v)| v);
                values.push(value.to_string());
                values.extend(value.split(',').map(str::to_string));
            }
        }
        assert!(values.len() > 20_000, "{}", values.len());
        for v in &values {
            assert_eq!(address_with_route(v), address_by_str_searches(v), "{v:?}");
        }
    }

    #[test]
    fn an_escape_is_found_where_its_three_bytes_are() {
        for v in ["", "\\", "\\x", "\\x{", "a\\\\x{b", "\\y{ \\x{00FC}", "x{\\", "\\x\\x{", "é\\x{"] {
            assert_eq!(has_xtext_escape(v), v.contains("\\x{"), "{v:?}");
        }
        for v in random_joins(&["\\", "x", "{", "\\x", "x{", "é", "a", "\\x{", "]", "X"], 5000, 20) {
            assert_eq!(has_xtext_escape(&v), v.contains("\\x{"), "{v:?}");
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(find_addresses("to <Kiji.Tora@Example.JP>, and x@y.org."), vec!["Kiji.Tora@Example.JP", "x@y.org"]);
        assert_eq!(address_in_field("rfc822; <user@example.com>").as_deref(), Some("user@example.com"));
        assert_eq!(address_in_field("rfc822;user@example.com").as_deref(), Some("user@example.com"));
        assert_eq!(address_in_field("utf-8; j\\x{00FC}rgen@example.de").as_deref(), Some("jürgen@example.de"));
        assert_eq!(address_in_field("rfc822;@smtp.example.net:kijitora@server").as_deref(), Some("kijitora@server"));
        assert_eq!(address_in_field("\"quoted local\"@example.com").as_deref(), Some("\"quoted local\"@example.com"));
    }

    #[test]
    fn blocks() {
        let b = field_blocks(
            "Reporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\nDiagnostic-Code: smtp; 550\r\n  no such user\r\n",
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[1][1], ("diagnostic-code".to_string(), "smtp; 550 no such user".to_string()));
    }
}
