//! The human-readable part of a report: the text before the returned original, and the
//! paragraph that speaks of one recipient. Shared by the text-format detectors and by the
//! RFC 3464 reader (for DSNs whose recipient fields carry no diagnostic).

use std::sync::LazyLock;

use crate::mime::Mail;
use crate::text::{PhraseSet, collapse_ws, contains_ci, split_field};

/// Lines that introduce the returned original in text reports (ASCII case-insensitive).
static ORIGINAL_MARKERS: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "original message",               // many: "----- Original message -----", "original message follows"
        "this is a copy of the message",  // Exim
        "this is a copy of your message", // Exim (newer wording)
        "below this line is a copy",      // qmail
        "returned message",               // Sendmail "----- Returned message -----"
        "unsent message below",           // Sendmail
        "message headers follow",         // Postfix, Sendmail
        "header of original message",
        "headers of the original message",
        "content-type: message/rfc822", // a report whose MIME structure was lost
        "undelivered message headers",
        "the text you sent follows",
        "元のメッセージ", // Japanese: the original message
    ])
});

/// The report's own text: its first text parts (not inside an attached original), cut where
/// the returned original starts.
pub fn report_text<'a>(mail: &'a Mail<'_>) -> &'a str {
    mail.report_text.get_or_init(|| compute_report_text(mail))
}

fn compute_report_text(mail: &Mail<'_>) -> String {
    let mut text = String::new();
    for leaf in mail.text_parts().take(2) {
        if leaf.content_type == "text/rfc822-headers" {
            continue;
        }
        let t = leaf.text.as_deref().unwrap_or("");
        let t = if leaf.content_type == "text/html" { &strip_tags(t) } else { t };
        text.push_str(cut_at_original(t));
        text.push('\n');
    }
    text
}

/// The text before the first line that introduces the original, or before an inline header
/// block (three or more header lines starting with Received, Return-Path or similar).
pub fn cut_at_original(t: &str) -> &str {
    let mut offset = 0;
    let lines = crate::text::lines_inclusive(t);
    for (i, line) in lines.iter().enumerate() {
        let l = crate::text::trim(line);
        // Only separator-like lines: "The original message was received at ..." is no marker.
        let separator_like = l.len() < 50 || l.ends_with(':') || has_doubled_rule_char(l);
        let marker = separator_like && ORIGINAL_MARKERS.any_in(l);
        let header_block = is_original_header(l)
            && lines[i..].iter().take(3).all(|x| split_field(x.trim_end()).is_some() || x.starts_with([' ', '\t']));
        if (marker && offset > 0) || header_block {
            return &t[..offset];
        }
        offset += line.len();
    }
    t
}

/// Whether a line holds `--`, `==` or `**` (one pass: this runs on every long line of a
/// report). The three bytes are found eight at a step: a byte at a step cost most of cutting a
/// report at its original in the wasm module.
fn has_doubled_rule_char(l: &str) -> bool {
    use crate::scan::{any_byte_below, first_marked, splat};
    let b = l.as_bytes();
    // The cheap marks of a zero byte also mark a 1 above one: such a byte is passed over.
    let marks = |x: u64| {
        any_byte_below(x ^ splat(b'-'), 1) | any_byte_below(x ^ splat(b'='), 1) | any_byte_below(x ^ splat(b'*'), 1)
    };
    first_marked(b, marks, |at| b.get(at).is_some_and(|c| matches!(c, b'-' | b'=' | b'*') && b.get(at + 1) == Some(c)))
        .is_some()
}

fn is_original_header(l: &str) -> bool {
    ["received:", "return-path:", "message-id:", "dkim-signature:", "x-original-to:", "delivered-to:"]
        .iter()
        .any(|h| l.len() >= h.len() && l.as_bytes()[..h.len()].eq_ignore_ascii_case(h.as_bytes()))
}

/// The lines that speak of `address`: its line and the continuation lines after it (indented or
/// up to the next blank line). When the address stands alone on its line (a list of failed
/// addresses), the paragraph that follows is taken.
pub fn paragraph_about(text: &str, address: &str) -> Option<String> {
    let (lines, at) = lines_from_first_naming(text, address)?;
    let mut out: Vec<&str> = vec![lines[at]];
    let mut i = at + 1;
    while i < lines.len() {
        let l = lines[i];
        if l.trim().is_empty() {
            // "There was an error delivering your mail to <x>." — the reply is the next paragraph.
            let has_reply = out.iter().any(|o| has_code(o));
            let next = lines[i..].iter().position(|x| !x.trim().is_empty()).map(|p| i + p);
            // A multi-line SMTP reply ("550-…" then "550 …") is one reply, blank lines or not.
            let continues_reply = |n: usize| {
                let last = out.last().map(|l| l.trim_start()).unwrap_or("");
                let b = last.as_bytes();
                b.len() > 4
                    && b[..3].iter().all(u8::is_ascii_digit)
                    && b[3] == b'-'
                    && lines[n].trim_start().starts_with(&last[..3])
            };
            match next {
                Some(n) if continues_reply(n) => {
                    i = n;
                    continue;
                }
                Some(n)
                    if !has_reply && out.len() <= 2 && !looks_like_new_item(lines[n]) && !is_separator(lines[n]) =>
                {
                    i = n;
                    continue;
                }
                _ => break,
            }
        }
        if out.len() > 1 && !l.starts_with([' ', '\t']) && looks_like_new_item(l) {
            break;
        }
        // The next recipient's line ("other@host: 550 …", Exim's indented "  other@host"): its
        // reply is not this one's.
        if starts_with_other_address(l, address) {
            break;
        }
        out.push(l);
        if out.len() >= 8 {
            break;
        }
        i += 1;
    }
    let joined = crate::text::collapse_ws_joined(&out);
    Some(joined).filter(|s| !s.is_empty())
}

/// The lines of `text` from the first line that names `address` on (that line at the index
/// returned). One search of the whole text finds it, and only the lines from there on are split
/// (an address that holds a line break is looked for line by line, as it cannot name a line).
fn lines_from_first_naming<'a>(text: &'a str, address: &str) -> Option<(Vec<&'a str>, usize)> {
    if address.contains(['\n', '\r']) {
        let lines = crate::text::lines(text);
        let at = lines.iter().position(|l| contains_ci(l, address))?;
        return Some((lines, at));
    }
    let found = crate::text::find_ci(text, address)?;
    let start = memchr::memrchr(b'\n', &text.as_bytes()[..found]).map_or(0, |n| n + 1);
    let lines = crate::text::lines(&text[start..]);
    (!lines.is_empty()).then_some((lines, 0))
}

/// A reply code or enhanced status in a line.
pub(crate) fn has_code(line: &str) -> bool {
    crate::text::find_status(line).is_some() || crate::text::find_reply_code(line).is_some()
}

/// A line of dashes, equals signs or asterisks, or a header of the returned original.
fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("--") || t.starts_with("==") || t.starts_with("**") || is_original_header(t)
}

/// In a session transcript (`>>> DATA` / `<<< 550 … <address>… User unknown`), the command
/// that the first reply naming `address` answered.
pub fn transcript_command(text: &str, address: &str) -> Option<&'static str> {
    // No line names it when the text does not (one search, not one per line).
    if !contains_ci(text, address) {
        return None;
    }
    let lines = crate::text::lines(text);
    let reply = lines.iter().position(|l| l.trim_start().starts_with("<<<") && contains_ci(l, address))?;
    // Only the command right before the reply: later replies answer other commands.
    let command = lines[..reply].iter().rev().find(|l| !l.trim().is_empty())?;
    command.trim_start().starts_with(">>>").then(|| crate::text::find_smtp_command(command)).flatten()
}

/// The last line of the text that names `address` and passes `wanted`, white space collapsed.
pub fn last_line_about(text: &str, address: &str, wanted: impl Fn(&str) -> bool) -> Option<String> {
    if !contains_ci(text, address) {
        return None;
    }
    let lines = crate::text::lines(text);
    lines.into_iter().rev().find(|l| contains_ci(l, address) && !is_recipient_field(l) && wanted(l)).map(collapse_ws)
}

/// A line that starts with a DSN recipient field (`Final-Recipient:` ...): the report's own
/// fields, pasted as text when a report lost its MIME structure, not its human-readable words.
pub fn is_recipient_field(line: &str) -> bool {
    split_field(line.trim_start()).is_some_and(|(name, _)| name.to_ascii_lowercase().ends_with("-recipient"))
}

/// A line whose first word is an address other than `address`.
fn starts_with_other_address(l: &str, address: &str) -> bool {
    let first = l.split_whitespace().next().unwrap_or("");
    let word = first.trim_start_matches('<').trim_end_matches([':', ',', '>', '.']).trim_end_matches('>');
    word.contains('@') && !word.starts_with('@') && !word.eq_ignore_ascii_case(address) && !contains_ci(word, address)
}

fn looks_like_new_item(l: &str) -> bool {
    let t = l.trim_start();
    t.starts_with('<') || t.contains('@') && t.ends_with(':')
}

/// Crude tag removal for HTML-only reports (Office 365 sends them).
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    if !out.contains('&') {
        return out;
    }
    out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_two_of_the_same_dash_equals_or_star() {
        for yes in ["--", "a == b", "** note", "x-**", "==="] {
            assert!(has_doubled_rule_char(yes), "{yes}");
        }
        for no in ["", "-", "a-b-c", "=*-", "- = *", "a=b*c"] {
            assert!(!has_doubled_rule_char(no), "{no}");
        }
        // As the former byte-by-byte test, on lines of the corpus and on texts of rule bytes,
        // their neighbours (`,` `.` `<` `>` `)` `+`: one above and below) and others.
        let by_bytes = |l: &str| l.as_bytes().windows(2).any(|w| w[0] == w[1] && matches!(w[0], b'-' | b'=' | b'*'));
        let pieces = ["-", "=", "*", ",", ".", "<", ">", ")", "+", "a", " ", "é", "\u{0}"];
        let mut texts = crate::text::random_joins(&pieces, 5000, 24);
        for path in crate::tests::corpus_files().iter().step_by(5) {
            let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
            texts.extend(text.lines().map(str::to_string));
        }
        for text in &texts {
            assert_eq!(has_doubled_rule_char(text), by_bytes(text), "{text:?}");
        }
    }

    /// The lines from the first that names the address on, found line by line.
    fn lines_from_first_naming_line_by_line<'a>(text: &'a str, address: &str) -> Option<Vec<&'a str>> {
        let lines = crate::text::lines(text);
        let at = lines.iter().position(|l| contains_ci(l, address))?;
        Some(lines[at..].to_vec())
    }

    fn assert_same_lines_from_first_naming(text: &str, address: &str) {
        let found = lines_from_first_naming(text, address).map(|(lines, at)| lines[at..].to_vec());
        assert_eq!(found, lines_from_first_naming_line_by_line(text, address), "{address:?} in {text:?}");
    }

    #[test]
    fn the_first_line_naming_an_address_is_the_one_a_line_by_line_search_finds() {
        for (text, address) in [
            ("", ""),
            ("", "a@b"),
            ("\n", ""),
            ("x", ""),
            ("a@b", "a@b"),
            ("one\r\nTwo A@B.example x\r\nthree\n", "a@b.example"),
            ("a@b\nc", "b\nc"),
            ("a\r\nb", "a\r"),
            ("a\rb\nx", "a\rb"),
            ("no\nmatch\n", "a@b"),
            ("é a@b\n\nnext a@b", "A@B"),
            ("a@", "a@b"),
        ] {
            assert_same_lines_from_first_naming(text, address);
        }
    }

    /// Every report text of the bounce corpus, with every word in it that holds `@`.
    #[test]
    fn the_first_line_naming_an_address_is_found_as_line_by_line_on_the_corpus() {
        let mut checked = 0;
        for path in crate::tests::corpus_files().iter().filter(|p| p.to_string_lossy().contains("bounces")) {
            let raw = std::fs::read(path).unwrap();
            let Some(msg) = crate::mime::parse(&raw) else { continue };
            let mail = crate::mime::view(&msg, &crate::Limits::default());
            let text = report_text(&mail);
            let words: Vec<&str> = text.split_whitespace().filter(|w| w.contains('@')).take(20).collect();
            for word in words {
                assert_same_lines_from_first_naming(text, word);
                assert_same_lines_from_first_naming(text, word.trim_matches(['<', '>', ':', ',', '.']));
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked} addresses");
    }

    #[test]
    fn the_text_is_cut_at_a_separator_line_that_names_the_original() {
        let long = "x".repeat(60);
        let t =
            format!("Delivery failed.\n{long}\n------ This is a copy of the original message ------\nSubject: hi\n");
        assert_eq!(cut_at_original(&t), format!("Delivery failed.\n{long}\n"));
        // A long line without a rule is no separator, even when it mentions the original.
        let prose = format!("The original message was received at {long}\n");
        assert_eq!(cut_at_original(&format!("Hello\n{prose}")), format!("Hello\n{prose}"));
    }
}
