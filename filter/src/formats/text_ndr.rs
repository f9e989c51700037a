//! Non-standard bounces: a text report from a mailer daemon that names the failed recipients in
//! prose ("The following addresses had permanent fatal errors", "<user@host>: host said: 550 ..."),
//! with the original pasted after a separator. This generic reader covers what MTA-specific
//! detectors do not; it needs a daemon sender or a bounce subject (or Exim's
//! `X-Failed-Recipients`) and at least one recipient named in the report text.

use std::sync::LazyLock;

use super::Finding;
use super::human::{has_code, last_line_about, paragraph_about, report_text};
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{
    PhraseSet, address_in_field, collapse_ws, contains_ci, find_addresses, find_reply_code, find_status_from,
    is_reply_subject, leading_reply_code, starts_with_ci,
};

/// Local parts of the senders of bounces.
const DAEMON_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "post_master",
    "mail-daemon",
    "maildaemon",
    "mailerdaemon",
    "mdaemon",
    "mail.delivery.system",
];

/// Display names of the senders of bounces.
const DAEMON_NAMES: &[&str] = &["mail delivery", "mailer-daemon", "mail administrator", "mail system", "postmaster"];

/// Subject phrases of bounces and delay notices (ASCII case-insensitive substrings).
static BOUNCE_SUBJECTS: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "undeliverable",                // Exchange, Outlook, Lotus
        "undelivered mail",             // Postfix
        "delivery status notification", // Gmail, Exchange
        "returned mail",                // Sendmail
        "delivery failure",
        "failure notice",       // qmail, Yahoo
        "mail delivery failed", // Exim
        "delivery failed",
        "non-delivery",
        "nondeliverable",
        "non remis", // French
        "could not be delivered",
        "delivery problem",
        "mail system error",
        "returned to sender",
        "message not delivered",
        "permanent error",
        "delivery has failed",
        "delayed mail", // Postfix delay warnings
        "delivery delayed",
        "warning: could not send message",
        "unzustellbar", // German Exchange
        "mail failure", // Exim "Mail failure - malformed recipient address"
        "error sending your mail",
        "エラー通知",     // Japanese: error notice (au one net)
        "配信エラー",     // Japanese: delivery error
        "不達",           // Japanese: not delivered
        "エラーメール",   // Japanese: error mail
        "送信できません", // Japanese: could not be sent
    ])
});

/// Wording that only a failure report uses (ASCII case-insensitive).
static STRONG_PHRASES: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "could not be delivered to",                  // KDDI / au one net, Exchange, Postfix, Exim
        "did not reach the following recipient",      // Exchange
        "delivery to the following recipient failed", // Gmail
        "delivery to the following recipients failed",
        "the following addresses had permanent fatal errors", // Sendmail
        "i'm afraid i wasn't able to deliver your message",   // qmail
    ])
});

/// Phrases that say delivery is still being tried (a delay notice, not a bounce).
static DELAY_PHRASES: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "will be retried",
        "will continue trying",
        "still trying",
        "has not yet been delivered",
        "not yet been delivered",
        "this is a warning only",
        "warning: message still undelivered",
        "delivery delayed",
        "delayed mail",
    ])
});

/// Phrases of a failure report, one of which must be in the text (ASCII case-insensitive).
static FAILURE_PHRASES: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        // Postfix bounce_templates.c:103-104 "could not be delivered to one or more recipients"
        // (folded after "not", see `says`); Exim deliver.c:6044,6049 "could not be delivered to
        // one or more of its recipients".
        "could not be delivered",
        "couldn't be delivered",
        "undeliverable",
        "not delivered",
        "delivery failed",
        "failed",
        "fatal error",
        "error",
        "rejected",
        "unknown",
        "does not exist",
        "not exist",
        "no such",
        "unable to deliver",
        "permanent",
        "refused",
        "denied",
        "full",
        "quota",
        "invalid",
        "unavailable",
        "did not reach",
        "delayed",
        "retried",
        "timed out",
        "not found",
        "malformed",
        "exceed",
        "配信",
        "送信",
        "エラー",
    ])
});

/// A one-part text message returns no original: only the header signs can make it a report.
/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["from", "sender", "subject", "x-failed-recipients"]];

pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    from_daemon(head)
        || BOUNCE_SUBJECTS.any_in(head.header("subject").unwrap_or(""))
        || head.header("x-failed-recipients").is_some()
}

fn from_daemon(mail: &Mail<'_>) -> bool {
    mail.header("from").is_some_and(is_daemon) || mail.header("sender").is_some_and(is_daemon)
}

/// Whether the text holds one of the phrases, also where a line break falls inside it: MTAs
/// fold their templates ("could not\nbe delivered to one or more recipients", Postfix
/// bounce_templates.c:103-104).
fn says(phrases: &PhraseSet, text: &str) -> bool {
    phrases.any_in(text) || phrases.any_in(&collapse_ws(text))
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let subject = mail.header("subject").unwrap_or("");
    let failed_header: Vec<String> = mail
        .header("x-failed-recipients")
        .map(|v| v.split(',').filter_map(address_in_field).collect())
        .unwrap_or_default();
    let from_daemon = from_daemon(mail);
    // A person's reply or forward is no report; a daemon's "Re:" (MMS gateways) still is.
    let reply_chain = is_reply_subject(subject);
    if reply_chain && !from_daemon {
        return None;
    }
    let subject_says = BOUNCE_SUBJECTS.any_in(subject);
    // Without a daemon sender or a bounce subject, the wording must be unmistakable and the
    // original must come back attached (au one net and other carriers' notices). Ordinary mail
    // has none of these, and leaves here without its text being read.
    let returns_original = mail.leaves.iter().any(|l| l.message.is_some() || l.content_type == "text/rfc822-headers");
    let structural = returns_original && says(&STRONG_PHRASES, report_text(mail));
    if !(from_daemon || subject_says || structural || !failed_header.is_empty())
        || mail.header("list-id").is_some() && !from_daemon
    {
        return None;
    }
    // A daemon sender with a bounce subject is evidence enough; otherwise the text must say so.
    let confident = !failed_header.is_empty() || (from_daemon && subject_says);
    let text = report_text(mail);
    let says_failure = says(&FAILURE_PHRASES, text);
    if !confident && !says_failure {
        return None;
    }
    let addresses = failed_addresses(mail, text, failed_header);
    // A daemon's report with a bounce subject is a report even when it names nobody (fake
    // bounces rarely do): the verdict then weighs its payload.
    if addresses.is_empty() && !(from_daemon && subject_says && says_failure) {
        return None;
    }
    let delayed = DELAY_PHRASES.any_in(text) || DELAY_PHRASES.any_in(subject);
    // The recipients came from a forwarded report (see `failed_addresses`): take its fields.
    let forwarded = mail
        .leaves
        .iter()
        .filter_map(|l| l.message.as_deref())
        .find_map(super::rfc3464::detect)
        .map(|f| f.recipients)
        .filter(|rs| !rs.is_empty() && rs.iter().map(|r| r.address.as_ref()).eq(addresses.iter().map(Some)));
    let recipients = match forwarded {
        Some(rs) => rs,
        None => recipients_from_text(&text, addresses, delayed),
    };
    let kind = if delayed && !recipients.iter().any(|r| r.status.as_deref().is_some_and(|s| s.starts_with('5'))) {
        Kind::Delay
    } else {
        Kind::Bounce
    };
    let mut finding = Finding { kind, format: "text", recipients, ..Default::default() };
    if finding.recipients.is_empty() {
        finding.warnings.push("the report names no failed recipient".into());
    }
    Some(finding)
}

/// The failed recipients a text report names: Exim's `X-Failed-Recipients` (given), else the
/// addresses of the report text that are not the report's own, else the returned original's
/// recipients.
pub fn failed_addresses(mail: &Mail<'_>, text: &str, failed_header: Vec<String>) -> Vec<String> {
    if !failed_header.is_empty() {
        return failed_header;
    }
    let own: Vec<String> = ["from", "to", "reply-to", "return-path", "sender"]
        .iter()
        .filter_map(|h| mail.header(h))
        .flat_map(|v| v.split(',').filter_map(address_in_field).collect::<Vec<_>>())
        .collect();
    let named: Vec<String> = find_addresses(text)
        .into_iter()
        .filter(|a| {
            let lines = lines_naming(text, a);
            let theirs = own.iter().any(|o| o.eq_ignore_ascii_case(a)) || sender_side(&lines) || only_quoted(&lines);
            (listed_as_failed(&lines, a) || !theirs) && plausible(a)
        })
        .collect();
    // "Contact postmaster@…" is advice, not a failed recipient, unless nobody else is named.
    let named: Vec<String> =
        if named.iter().any(|a| !is_daemon(a)) { named.into_iter().filter(|a| !is_daemon(a)).collect() } else { named };
    let mut addresses = without_mentions(text, named);
    if addresses.is_empty() {
        // A gateway forwarding the report it got (Trend Micro IMSS): the attached message is
        // itself a delivery report, and its recipients are the failed ones.
        addresses = mail
            .leaves
            .iter()
            .filter_map(|l| l.message.as_deref())
            .find_map(super::rfc3464::detect)
            .map(|f| f.recipients.into_iter().filter_map(|r| r.address).collect())
            .unwrap_or_default();
    }
    if addresses.is_empty() {
        // The report names nobody: the returned original's recipients are who it failed for.
        addresses = crate::original::find(mail, true).map(|o| o.to).unwrap_or_default();
        addresses.retain(|a| plausible(a) && !is_daemon(a));
        addresses.truncate(5);
    }
    addresses
}

/// Reports list each failed recipient first and its reason after it: Postfix starts the
/// recipient's paragraph with `<%s>: %s` (bounce_notify_util.c:651), qmail-send with `<%s>:`
/// (qmail-send.c:609), Exim indents the address alone on its line (deliver.c:6063), Sendmail
/// and Gmail list the addresses under a heading. Once a report lists someone that way, an address
/// it names only inside the reply that follows a listed address (after a reply code or status:
/// "550 5.7.1 … send an e-mail message to dz@rota.example") or only as where a recipient came
/// from (Postfix's `(expanded from <y>)`, bounce_notify_util.c:648; Exim's `(generated from y)`,
/// deliver.c:5628) is no failed recipient.
fn without_mentions(text: &str, named: Vec<String>) -> Vec<String> {
    if named.len() < 2 {
        return named;
    }
    let lines: Vec<&str> = text.lines().collect();
    let paragraphs = Paragraphs::of(&lines);
    let mentions: Vec<Vec<Mention>> = named.iter().map(|a| paragraphs.mentions_of(&lines, a)).collect();
    let listed = |m: &[Mention]| m.contains(&Mention::Listed);
    let mentioned_only =
        |a: &str, m: &[Mention]| !listed(m) && (m.iter().all(|x| *x == Mention::InReply) || only_as_origin(&lines, a));
    let kept: Vec<bool> = named.iter().zip(&mentions).map(|(a, m)| !mentioned_only(a, m)).collect();
    if !mentions.iter().zip(&kept).any(|(m, k)| *k && listed(m)) {
        return named;
    }
    named.into_iter().zip(kept).filter_map(|(a, k)| k.then_some(a)).collect()
}

/// How a line names an address.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mention {
    /// The line starts with it, as a report lists a failed recipient.
    Listed,
    /// Inside a server's reply: after a reply code or status of its paragraph.
    InReply,
    /// Anywhere else (prose, a heading).
    Other,
}

/// For each line: where its paragraph (lines up to a blank one) starts, and whether a reply code
/// or status stands on the paragraph's lines before it. One pass, whatever the number of
/// addresses asked about.
struct Paragraphs {
    start: Vec<usize>,
    code_before: Vec<bool>,
}

impl Paragraphs {
    fn of(lines: &[&str]) -> Paragraphs {
        let (mut start, mut code_before) = (Vec::with_capacity(lines.len()), Vec::with_capacity(lines.len()));
        let (mut from, mut seen) = (0, false);
        for (i, l) in lines.iter().enumerate() {
            if l.trim().is_empty() {
                (from, seen) = (i + 1, false);
            }
            start.push(from);
            code_before.push(seen);
            seen = seen || has_code(l);
        }
        Paragraphs { start, code_before }
    }

    /// How each line that names the address names it. A line that starts with it lists it,
    /// unless it continues, indented deeper, a paragraph whose reply has begun (Postfix wraps a
    /// reply onto indented lines, and one may start with an address the reply quotes).
    fn mentions_of(&self, lines: &[&str], address: &str) -> Vec<Mention> {
        let indent = |l: &str| l.len() - l.trim_start().len();
        lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| crate::text::find_ci(l, address).map(|at| (i, at)))
            .map(|(i, at)| {
                let start = self.start[i];
                let in_reply = self.code_before[i] || lines[i].get(..at).is_some_and(has_code);
                let continues = i > start && indent(lines[i]) > indent(lines[start]);
                match (starts_with_address(lines[i], address), in_reply) {
                    (true, false) => Mention::Listed,
                    (true, true) if !continues => Mention::Listed,
                    (_, true) => Mention::InReply,
                    (false, false) => Mention::Other,
                }
            })
            .collect()
    }
}

/// Whether the line starts with the address (after white space, `<`, quotes, and a type prefix
/// such as `SMTP:` or `rfc822;`).
fn starts_with_address(line: &str, address: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or("");
    let word = word.rsplit([':', ';']).find(|w| w.contains('@')).unwrap_or(word);
    let word = word.trim_start_matches(['<', '"', '\'', '(']);
    starts_with_ci(word, address) && word.as_bytes().get(address.len()).is_none_or(|c| !is_address_char(*c))
}

/// An address character: what may continue an address (so that `a@b.example` does not start
/// `a@b.example.org`).
fn is_address_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.+".contains(&c)
}

/// The words before the address a recipient came from: Postfix's `(expanded from <y>)`, Exim's
/// `(generated from y)` and `(ultimately generated from y)`.
const ORIGIN_MARKERS: &[&str] = &["expanded from ", "generated from "];

/// Whether every mention of the address is as the origin of another recipient.
fn only_as_origin(lines: &[&str], address: &str) -> bool {
    let mut named = lines.iter().filter(|l| contains_ci(l, address)).peekable();
    named.peek().is_some()
        && named.all(|l| {
            let as_origin: usize = ORIGIN_MARKERS
                .iter()
                .map(|m| count_ci(l, &format!("{m}{address}")) + count_ci(l, &format!("{m}<{address}")))
                .sum();
            count_ci(l, address) == as_origin
        })
}

/// The address `address` was expanded or generated from, when the report says so right after
/// it (`<x> (expanded from <y>):`, Exim's `x` then `(generated from y)` on the next line).
fn origin_of(paragraph: &str, address: &str) -> Option<String> {
    let at = crate::text::find_ci(paragraph, address)? + address.len();
    let rest = paragraph.get(at..)?.trim_start_matches('>').trim_start().strip_prefix('(')?.trim_start();
    let rest = strip_prefix_ci(rest, "ultimately ").unwrap_or(rest);
    let rest = ORIGIN_MARKERS.iter().find_map(|m| strip_prefix_ci(rest, m))?;
    address_in_field(&rest[..rest.find(')')?]).filter(|o| !o.eq_ignore_ascii_case(address))
}

/// `s` without `prefix` (ASCII case-insensitive), if it starts with it.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    starts_with_ci(s, prefix).then(|| &s[prefix.len()..])
}

/// How often `needle` occurs in `haystack` (ASCII case-insensitive).
fn count_ci(haystack: &str, needle: &str) -> usize {
    let (mut n, mut from) = (0, 0);
    while let Some(at) = haystack.get(from..).and_then(|h| crate::text::find_ci(h, needle)) {
        n += 1;
        from += at + needle.len().max(1);
    }
    n
}

/// One recipient per address, with the paragraph that names it as its diagnostic.
pub fn recipients_from_text(text: &str, addresses: Vec<String>, delayed: bool) -> Vec<Recipient> {
    let only_one = addresses.len() == 1;
    let only_status = only_one.then(|| find_status_from(text, b"45")).flatten();
    addresses
        .into_iter()
        .map(|address| {
            let mut diagnostic = paragraph_about(text, &address);
            // A listing that names the address without the server's reply: the reply stands
            // elsewhere ("Technical details: … 553 5.3.0 <x>… No such user", a "server message"
            // section, "Error message below: 550 …").
            if !diagnostic.as_deref().is_some_and(has_code) {
                let reply = last_line_about(text, &address, has_code).or_else(|| {
                    let failure = |l: &&str| leading_reply_code(l).is_some_and(|c| c.starts_with(['4', '5']));
                    let first = text.lines().map(str::trim).find(failure);
                    first.filter(|_| only_one).map(collapse_ws)
                });
                if let Some(reply) = reply {
                    diagnostic = Some(match diagnostic {
                        Some(d) if d != address && !d.contains(&reply) => format!("{d} {reply}"),
                        _ => reply,
                    });
                }
            }
            let diag = diagnostic.as_deref().unwrap_or("");
            // A transcript's "250 2.1.5 Ok" is no failure status.
            let status = find_status_from(diag, b"45").or_else(|| only_status.clone());
            let reply_code =
                leading_reply_code(diag).or_else(|| find_reply_code(diag)).or_else(|| labelled_reply_code(diag));
            let original_recipient = diagnostic.as_deref().and_then(|d| origin_of(d, &address));
            Recipient {
                action: Some(if delayed { "delayed" } else { "failed" }.to_string()),
                original_recipient,
                address: Some(address),
                status,
                reply_code,
                diagnostic,
                ..Default::default()
            }
        })
        .collect()
}

/// A reply code given as a labelled value: Zoho's "ERROR_CODE :421," and "ResponseCode 421,".
fn labelled_reply_code(diag: &str) -> Option<String> {
    const LABELS: &[&str] = &["error_code :", "responsecode "];
    let lower = diag.to_ascii_lowercase();
    LABELS.iter().find_map(|label| {
        let at = lower.find(label)? + label.len();
        let code = lower.get(at..at + 3)?;
        crate::text::is_reply_code(code).then(|| code.to_string())
    })
}

/// Every word [`is_daemon`] looks for: a value holding none of them (and no `\x{..}` escape,
/// which the address reading decodes) belongs to no daemon. Most senders leave here.
static DAEMON_WORDS: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(DAEMON_LOCAL_PARTS.iter().chain(DAEMON_NAMES).map(|w| (*w, 0))));

/// A header value or address that belongs to a mailer daemon.
fn is_daemon(v: &str) -> bool {
    if !crate::text::has_xtext_escape(v) && !DAEMON_WORDS.any_in(v) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    let local = address_in_field(v).and_then(|a| a.rsplit_once('@').map(|(l, _)| l.to_ascii_lowercase()));
    local.as_deref().is_some_and(|l| DAEMON_LOCAL_PARTS.contains(&l))
        || (!lower.contains('@') && DAEMON_LOCAL_PARTS.iter().any(|d| lower.trim() == *d))
        || DAEMON_NAMES.iter().any(|n| lower.split('<').next().is_some_and(|name| name.contains(n)))
}

/// The lines of `text` (as `str::lines` gives them) that name `address` (ignoring ASCII case),
/// each once, in order: found by searching the text for the address, not line by line.
fn lines_naming<'t>(text: &'t str, address: &str) -> Vec<&'t str> {
    // A quoted local part may hold a line break; no line holds such an address whole.
    if address.is_empty() || address.contains(['\n', '\r']) {
        return text.lines().filter(|l| contains_ci(l, address)).collect();
    }
    let mut lines: Vec<&str> = Vec::new();
    let (mut from, mut line_end) = (0, 0);
    while let Some(at) = crate::text::find_ci(&text[from..], address).map(|a| from + a) {
        if at >= line_end || lines.is_empty() {
            let b = text.as_bytes();
            let start = memchr::memrchr(b'\n', &b[..at]).map_or(0, |n| n + 1);
            let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |n| at + n);
            let line = &text[start..end];
            // `lines` drops the CR of a CRLF line ending only.
            let line = if end < b.len() { line.strip_suffix('\r').unwrap_or(line) } else { line };
            lines.push(line);
            line_end = end;
        }
        from = at + address.len();
    }
    lines
}

/// `<address>:` at the start of a line: how qmail, Postfix and others list a failed recipient.
/// `lines` are those that name the address ([`lines_naming`]).
fn listed_as_failed(lines: &[&str], address: &str) -> bool {
    lines.iter().any(|l| {
        let t = l.trim_start().trim_start_matches('<').as_bytes();
        let n = address.len();
        t.len() > n && t[..n].eq_ignore_ascii_case(address.as_bytes()) && matches!(t[n], b':' | b'>')
    })
}

/// An address that the text names only as the original's sender or Message-ID ("From: x",
/// "MAIL FROM: x", "Message-ID: <x>" in a summary of the returned message), given the lines that
/// name it.
fn sender_side(lines: &[&str]) -> bool {
    const FIELDS: &[&str] = &["from:", "mail from:", "message-id:", "return-path:", "reply-to:", "sender:"];
    !lines.is_empty()
        && lines.iter().all(|l| {
            let t = l.trim_start().as_bytes();
            FIELDS.iter().any(|f| t.len() >= f.len() && t[..f.len()].eq_ignore_ascii_case(f.as_bytes()))
        })
}

/// An address the text names only in quoted lines ("> ..."): words of the returned message's
/// body or of an earlier conversation, not the report's own listing of a failed recipient.
fn only_quoted(lines: &[&str]) -> bool {
    !lines.is_empty() && lines.iter().all(|l| l.trim_start().starts_with('>'))
}

/// Not a Message-ID or a token that merely contains an `@`.
fn plausible(a: &str) -> bool {
    let (local, domain) = a.rsplit_once('@').unwrap_or(("", ""));
    !local.is_empty() && local.len() <= 64 && domain.len() <= 255 && !local.contains('$') && domain.contains('.')
}

#[cfg(test)]
mod tests {
    use super::super::tests::finding;

    /// Postfix's bounce as bounce_templates.c:99-110 and bounce_notify_util.c:648-651 write it.
    fn postfix(recipients: &str) -> String {
        format!(
            "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nTo: sender@example.com\n\nThis is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\nFor further assistance, please send mail to postmaster.\n\n                   The mail system\n\n{recipients}\n"
        )
    }

    /// Exim's bounce as deliver.c:6040-6063 writes it (print_address_information).
    fn exim(recipients: &str) -> String {
        format!(
            "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\nSubject: Mail delivery failed: returning message to sender\n\nThis message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n{recipients}\n"
        )
    }

    #[test]
    fn the_lines_naming_an_address_are_those_a_line_by_line_reading_finds() {
        let pieces = ["a@b.c", "A@B.C", "x", " ", "\n", "\r\n", "\r", "a@b.cc", "é", ">"];
        for text in crate::text::random_joins(&pieces, 4000, 15) {
            for address in ["a@b.c", "\"x\ny\"@b.c", ""] {
                let expected: Vec<&str> = text.lines().filter(|l| super::contains_ci(l, address)).collect();
                assert_eq!(super::lines_naming(&text, address), expected, "{text:?}");
            }
        }
    }

    fn addresses(raw: &str) -> Vec<String> {
        finding(raw.as_bytes()).recipients.iter().filter_map(|r| r.address.clone()).collect()
    }

    #[test]
    fn an_address_inside_the_remote_reply_is_no_failed_recipient() {
        // Postfix: the reply after "said:" wraps onto indented lines (bounce_print_wrap).
        let p = postfix(
            "<a@example.net>: host mx.example.net[192.0.2.1] said: 554 IP=192.0.2.9 - bad\n    reputation. Ask your postmaster to contact reset@example.net for help\n    (in reply to RCPT TO command)",
        );
        assert_eq!(addresses(&p), ["a@example.net"]);
        // The reply names another mailbox of the same domain: still the listed one only.
        let p = postfix(
            "<a@example.net>: host mx.example.net[192.0.2.1] said: 550\n    5.2.1 <a2@example.net>... Addressee unknown (in reply to RCPT TO command)",
        );
        assert_eq!(addresses(&p), ["a@example.net"]);
        // A wrapped reply line may start with the address it quotes.
        let p = postfix(
            "<a@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1\n    <sender@example.com>: unauthorized sender (in reply to RCPT TO command)",
        );
        assert_eq!(addresses(&p), ["a@example.net"]);
        // Sendmail lists the recipients one under the other, each with its reason indented.
        let sendmail = "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nSubject: Returned mail: see transcript for details\n\n   ----- The following addresses had permanent fatal errors -----\n<a@example.net>\n    (reason: 550 5.1.1 <a@example.net>... User unknown)\n<b@example.net>\n    (reason: 552 5.2.2 Mailbox full)\n";
        assert_eq!(addresses(sendmail), ["a@example.net", "b@example.net"]);
        // Exim: the address alone on its line, the reply below it.
        let e = exim(
            "  a@example.net\n    host mx.example.net [192.0.2.1]\n    SMTP error from remote mail server after RCPT TO:<a@example.net>:\n    550 5.7.1 Blocked by a DNSBL; write to unblock@example.net",
        );
        assert_eq!(addresses(&e), ["a@example.net"]);
        // Every recipient a report lists is kept, whatever its reply names.
        let two = postfix(
            "<a@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 <a@example.net>:\n    User unknown (in reply to RCPT TO command)\n\n<b@example.net>: host mx.example.net[192.0.2.1] said: 552 5.2.2 <b@example.net>:\n    Mailbox full (in reply to RCPT TO command)",
        );
        assert_eq!(addresses(&two), ["a@example.net", "b@example.net"]);
        // A report that lists nobody: the address in the reply is the failed one.
        let bare = "From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail Returned to Sender\n\nDelivery failed.\n\nRemote server said: 550 5.1.1 <c@example.net>... User unknown\n";
        assert_eq!(addresses(bare), ["c@example.net"]);
    }

    #[test]
    fn the_address_a_recipient_was_expanded_from_is_its_origin_not_a_failure() {
        // Postfix bounce_notify_util.c:648: "<%s> (expanded from <%s>): %s".
        let p = postfix(
            "<x@example.net> (expanded from <alias@example.org>): host mx.example.net[192.0.2.1]\n    said: 550 5.1.1 User unknown (in reply to RCPT TO command)",
        );
        let f = finding(p.as_bytes());
        assert_eq!(f.recipients.len(), 1);
        assert_eq!(f.recipients[0].address.as_deref(), Some("x@example.net"));
        assert_eq!(f.recipients[0].original_recipient.as_deref(), Some("alias@example.org"));
        // Exim deliver.c:5628: "(generated from %s)" on the next line, "ultimately " when the
        // alias was itself expanded.
        for marker in ["generated from", "ultimately generated from"] {
            let e = exim(&format!(
                "  x@example.net\n    ({marker} alias@example.org)\n    LMTP error after RCPT TO:<x@example.net>:\n    550 5.1.1 <x@example.net> User doesn't exist"
            ));
            let f = finding(e.as_bytes());
            assert_eq!(f.recipients.len(), 1, "{marker}");
            assert_eq!(f.recipients[0].address.as_deref(), Some("x@example.net"));
            assert_eq!(f.recipients[0].original_recipient.as_deref(), Some("alias@example.org"));
        }
        // Unfinished markers and multi-byte text around them are read without a fault.
        for tail in ["(expanded from <", "(ultimately generated from", "(expanded from <ü@例え.jp", "ü (generated"]
        {
            let p = postfix(&format!("<x@example.net> {tail}\n    said: 550 5.1.1 ü <é@example.org> 例え"));
            assert_eq!(finding(p.as_bytes()).recipients[0].address.as_deref(), Some("x@example.net"), "{tail}");
        }
        // The alias that fails on its own is listed on its own: both are kept.
        let both = postfix(
            "<x@example.net> (expanded from <alias@example.org>): host mx.example.net[192.0.2.1]\n    said: 550 5.1.1 User unknown (in reply to RCPT TO command)\n\n<alias@example.org>: mail forwarding loop for alias@example.org",
        );
        assert_eq!(addresses(&both), ["x@example.net", "alias@example.org"]);
    }

    #[test]
    fn a_folded_template_says_failure_without_a_subject() {
        // A daemon's report without a Subject (or with a rewritten one), whose reply has no
        // failure words: Postfix's template line, folded after "could not", says it.
        let p = postfix(
            "<a@example.net>: host mx.example.net[192.0.2.1] said: 450 User is\n    receiving mail too quickly (in reply to RCPT TO command)",
        );
        let f = finding(p.as_bytes());
        assert_eq!(f.recipients[0].address.as_deref(), Some("a@example.net"));
        assert_eq!(f.recipients[0].reply_code.as_deref(), Some("450"));
        // The same sender with nothing that says failure is no report.
        let raw = b"From: MAILER-DAEMON@mx.example.org\nTo: a@example.com\n\nYour mailbox a@example.net\nwas moved to the new server.\n";
        let mail = crate::mime::parse(raw).expect("parses");
        assert!(super::detect(&crate::mime::view(&mail, &crate::Limits::default())).is_none());
    }
}
