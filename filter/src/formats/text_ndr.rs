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
    is_reply_subject, leading_reply_code,
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
        "could not be delivered to",                  // KDDI / au one net, Exchange
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
pub fn gate_reads(name: &str) -> bool {
    matches!(name, "from" | "sender" | "subject" | "x-failed-recipients")
}

pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    from_daemon(head)
        || BOUNCE_SUBJECTS.any_in(head.header("subject").unwrap_or(""))
        || head.header("x-failed-recipients").is_some()
}

fn from_daemon(mail: &Mail<'_>) -> bool {
    mail.header("from").is_some_and(is_daemon) || mail.header("sender").is_some_and(is_daemon)
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
    let structural = returns_original && STRONG_PHRASES.any_in(report_text(mail));
    if !(from_daemon || subject_says || structural || !failed_header.is_empty())
        || mail.header("list-id").is_some() && !from_daemon
    {
        return None;
    }
    // A daemon sender with a bounce subject is evidence enough; otherwise the text must say so.
    let confident = !failed_header.is_empty() || (from_daemon && subject_says);
    let text = report_text(mail);
    let says_failure = FAILURE_PHRASES.any_in(text);
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
            let theirs = own.iter().any(|o| o.eq_ignore_ascii_case(a)) || sender_side(text, a) || only_quoted(text, a);
            (listed_as_failed(text, a) || !theirs) && plausible(a)
        })
        .collect();
    // "Contact postmaster@…" is advice, not a failed recipient, unless nobody else is named.
    let mut addresses: Vec<String> =
        if named.iter().any(|a| !is_daemon(a)) { named.into_iter().filter(|a| !is_daemon(a)).collect() } else { named };
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
            Recipient {
                action: Some(if delayed { "delayed" } else { "failed" }.to_string()),
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
    if !v.contains("\\x{") && !DAEMON_WORDS.any_in(v) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    let local = address_in_field(v).and_then(|a| a.rsplit_once('@').map(|(l, _)| l.to_ascii_lowercase()));
    local.as_deref().is_some_and(|l| DAEMON_LOCAL_PARTS.contains(&l))
        || (!lower.contains('@') && DAEMON_LOCAL_PARTS.iter().any(|d| lower.trim() == *d))
        || DAEMON_NAMES.iter().any(|n| lower.split('<').next().is_some_and(|name| name.contains(n)))
}

/// `<address>:` at the start of a line: how qmail, Postfix and others list a failed recipient.
fn listed_as_failed(text: &str, address: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start().trim_start_matches('<').as_bytes();
        let n = address.len();
        t.len() > n && t[..n].eq_ignore_ascii_case(address.as_bytes()) && matches!(t[n], b':' | b'>')
    })
}

/// An address that the text names only as the original's sender or Message-ID ("From: x",
/// "MAIL FROM: x", "Message-ID: <x>" in a summary of the returned message).
fn sender_side(text: &str, address: &str) -> bool {
    const FIELDS: &[&str] = &["from:", "mail from:", "message-id:", "return-path:", "reply-to:", "sender:"];
    let mut lines = text.lines().filter(|l| contains_ci(l, address)).peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let t = l.trim_start().as_bytes();
            FIELDS.iter().any(|f| t.len() >= f.len() && t[..f.len()].eq_ignore_ascii_case(f.as_bytes()))
        })
}

/// An address the text names only in quoted lines ("> ..."): words of the returned message's
/// body or of an earlier conversation, not the report's own listing of a failed recipient.
fn only_quoted(text: &str, address: &str) -> bool {
    let mut lines = text.lines().filter(|l| contains_ci(l, address)).peekable();
    lines.peek().is_some() && lines.all(|l| l.trim_start().starts_with('>'))
}

/// Not a Message-ID or a token that merely contains an `@`.
fn plausible(a: &str) -> bool {
    let (local, domain) = a.rsplit_once('@').unwrap_or(("", ""));
    !local.is_empty() && local.len() <= 64 && domain.len() <= 255 && !local.contains('$') && domain.contains('.')
}
