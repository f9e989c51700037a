//! Recipient addresses as reports write them, normalised to a bare `local@domain`: the address
//! type of RFC 3464 (`rfc822;`, `smtp;`) and Exchange's X.400-style proxy prefixes (`SMTP:`,
//! `SMTP=`), quotes and angle brackets, punctuation that ends a sentence, RFC 2047 encoded words,
//! and an address broken over a folded or wrapped line. The other readers (`text.rs`) find
//! addresses; this gives every format's recipients one spelling.

use crate::text::find_addresses;

/// Prefixes that name an address's type rather than belong to it (case-insensitive): RFC 3464
/// address types and Exchange's proxy-address prefixes (`SMTP:a@b`, `smtp=a@b` in X.400 text).
const TYPE_PREFIXES: &[&str] = &["rfc822;", "rfc822:", "smtp;", "smtp:", "smtp=", "utf-8;", "mailto:"];

/// The normal form of a recipient address, or `None` when the text holds none.
pub fn normalise(raw: &str) -> Option<String> {
    let decoded = if raw.contains("=?") { crate::mime::decode_encoded_words(raw) } else { raw.to_string() };
    let mut v = decoded.trim();
    // Prefixes may repeat: "rfc822; SMTP:a@b".
    loop {
        let before = v;
        for p in TYPE_PREFIXES {
            if v.len() >= p.len() && v.is_char_boundary(p.len()) && v[..p.len()].eq_ignore_ascii_case(p) {
                v = v[p.len()..].trim_start();
            }
        }
        if v == before {
            break;
        }
    }
    // Between angle brackets, the address alone; white space there is a line break (a folded
    // field, or a text wrapped at its width), never part of an address.
    let inner = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b && v[a + 1..b].contains('@') => v[a + 1..b].to_string(),
        _ => v.to_string(),
    };
    let joined = join_broken(&inner);
    let mut trimmed = joined.as_str();
    loop {
        let before = trimmed;
        trimmed = trimmed
            .trim_matches(|c: char| matches!(c, '\'' | '<' | '>' | '(' | ')' | '[' | ']' | ' '))
            .trim_end_matches(['.', ',', ';', ':', '!', '?']);
        if trimmed.starts_with('"') && !trimmed.contains("\"@") {
            trimmed = trimmed.trim_matches('"');
        }
        if trimmed == before {
            break;
        }
    }
    if let Some((local, domain)) = trimmed.rsplit_once('@') {
        let quoted = local.len() > 1 && local.starts_with('"') && local.ends_with('"');
        let plain = !local.is_empty() && !local.contains(char::is_whitespace) && !local.contains('"');
        if (quoted || plain) && domain.contains('.') && !domain.contains(char::is_whitespace) {
            return Some(format!("{local}@{domain}"));
        }
    }
    find_addresses(trimmed).into_iter().next()
}

/// An address broken by a line fold: white space right next to `@`, `.` or `-`, or inside a
/// bracketed address, is removed. A quoted local part keeps its spaces.
fn join_broken(s: &str) -> String {
    let s = s.trim();
    if s.starts_with('"') && s.rfind("\"@").is_some() {
        let at = s.rfind("\"@").unwrap_or(0);
        let domain: String = s[at + 1..].split_whitespace().collect();
        return format!("{}{domain}", &s[..at + 1]);
    }
    // Only a single address may be joined: two words without a joining character are not one.
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() > 1 {
        let joinable = words.windows(2).all(|w| {
            let (a, b) = (w[0], w[1]);
            a.ends_with(['@', '.', '-', '_']) || b.starts_with(['@', '.', '-', '_'])
        });
        if !joinable {
            return s.to_string();
        }
    }
    words.concat()
}

#[cfg(test)]
mod tests {
    use super::normalise;

    fn n(s: &str) -> Option<String> {
        normalise(s)
    }

    #[test]
    fn type_and_proxy_prefixes() {
        assert_eq!(n("rfc822; kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("RFC822;<kijitora@example.jp>").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("smtp;kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("SMTP:kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("SMTP=kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("rfc822; SMTP:kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("mailto:kijitora@example.jp").as_deref(), Some("kijitora@example.jp"));
    }

    #[test]
    fn quotes_brackets_and_trailing_punctuation() {
        assert_eq!(n("<kijitora@example.jp>").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("\"<kijitora@example.jp>\"").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("'kijitora@example.jp'").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("\"Kiji Tora\" <kijitora@example.jp>").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("kijitora@example.jp.").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("kijitora@example.jp,").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("(kijitora@example.jp);").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("<kijitora@example.jp>:").as_deref(), Some("kijitora@example.jp"));
        // A quoted local part keeps its quotes and spaces.
        assert_eq!(n("<\"kiji tora\"@example.jp>").as_deref(), Some("\"kiji tora\"@example.jp"));
    }

    #[test]
    fn encoded_words() {
        assert_eq!(n("=?utf-8?Q?kijitora=40example=2Ejp?=").as_deref(), Some("kijitora@example.jp"));
        assert_eq!(n("=?ISO-2022-JP?B?GyRCR2sbKEI=?= <kijitora@example.jp>").as_deref(), Some("kijitora@example.jp"));
    }

    #[test]
    fn addresses_broken_over_lines() {
        assert_eq!(n("<kijitora-nyaan@exam-\n ple.jp>").as_deref(), Some("kijitora-nyaan@exam-ple.jp"));
        assert_eq!(n("rfc822; very.long.local.part@\n example.jp").as_deref(), Some("very.long.local.part@example.jp"));
        assert_eq!(n("very.long.local.part\n @example.jp").as_deref(), Some("very.long.local.part@example.jp"));
        assert_eq!(n("<kijitora@example\n .jp>").as_deref(), Some("kijitora@example.jp"));
    }

    #[test]
    fn no_address_no_answer() {
        assert_eq!(n(""), None);
        assert_eq!(n("rfc822;"), None);
        assert_eq!(n("postmaster"), None);
        // Two addresses are not joined into one: the first is taken.
        assert_eq!(n("a@example.jp b@example.jp").as_deref(), Some("a@example.jp"));
    }
}
