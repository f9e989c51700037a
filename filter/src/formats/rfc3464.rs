//! RFC 3464 / RFC 6522 delivery status notifications, and RFC 6533's
//! `message/global-delivery-status`. The report may be nested in other multiparts.

use super::fields::{recipient, split_blocks, without_type};
use super::{Finding, human};
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{contains_ci, field_blocks, find_reply_code, find_status, leading_reply_code};

const STATUS_TYPES: &[&str] = &["message/delivery-status", "message/global-delivery-status", "text/delivery-status"];

/// A `message/delivery-status` (or global) part anywhere in the message's own MIME tree.
pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let texts: Vec<String> = mail
        .leaves
        .iter()
        .filter(|l| STATUS_TYPES.contains(&l.content_type.as_str()))
        .map(|l| String::from_utf8_lossy(l.bytes).into_owned())
        .collect();
    if texts.is_empty() {
        return None;
    }
    let mut finding = from_status_texts(texts.iter().map(String::as_str));
    let failed_header: Vec<String> = mail
        .header("x-failed-recipients")
        .map(|v| v.split(',').filter_map(crate::text::address_in_field).collect())
        .unwrap_or_default();
    // Exim names a file or pipe recipient by its path ("Final-Recipient: rfc822;/mail/spool/…")
    // and the address that led there in X-Failed-Recipients.
    if failed_header.len() == finding.recipients.len() {
        for (r, a) in finding.recipients.iter_mut().zip(&failed_header) {
            if r.address.is_none() {
                r.address = Some(a.clone());
            }
        }
    }
    if finding.recipients.is_empty() {
        // "Delivery report unavailable": the human part or the original names the recipients.
        let text = human::report_text(mail);
        let addresses = super::text_ndr::failed_addresses(mail, &text, failed_header);
        finding.recipients = super::text_ndr::recipients_from_text(&text, addresses, false);
        finding.kind = kind_of(&finding.recipients);
    }
    if finding.recipients.is_empty() {
        finding.warnings.push("delivery-status part without recipient fields".into());
    }
    fill_from_transcript(mail, &mut finding.recipients);
    Some(finding)
}

/// Fields pasted in text start with a Final-Recipient or Original-Recipient line. Most mail
/// has no `recipient:`: the quick reading says so before the body is searched for every
/// gate's words.
pub fn may_claim_in_text(_: &Mail<'_>, body: &PlainBody<'_>) -> bool {
    body.quick() & super::HOLDS_RECIPIENT_KEY != 0 && body.mentions("recipient:")
}

/// The delivery-status fields pasted into a text part: a report whose MIME structure was broken
/// (a mangled boundary) or that was forwarded as text. Needs a recipient field and an
/// `Action:` or `Status:` field on lines of their own.
pub fn detect_in_text(mail: &Mail<'_>) -> Option<Finding> {
    let is_report = mail.containers.iter().any(|(_, rt)| rt.as_deref() == Some("delivery-status"));
    for leaf in mail.text_parts() {
        let text = leaf.text.as_deref().unwrap_or("");
        let start =
            match find_line_start(text, "final-recipient:").or_else(|| find_line_start(text, "original-recipient:")) {
                Some(s) => s,
                None => continue,
            };
        let head_start = find_line_start(text, "reporting-mta:").filter(|&p| p < start).unwrap_or(start);
        let section = &text[head_start..];
        if !(is_report || has_line(section, "action:") || has_line(section, "status:")) {
            continue;
        }
        let mut finding = from_status_texts(std::iter::once(section));
        if !finding.recipients.is_empty() {
            fill_from_transcript(mail, &mut finding.recipients);
            return Some(finding);
        }
    }
    None
}

/// Recipients whose fields carry no diagnostic get what the human-readable part says of them
/// (RFC 3464 §2.1: the first part explains the failure to a person): the last line naming them
/// with the server's reply (Sendmail's session transcript: "554 <user@host>... Service
/// unavailable"), else their paragraph when it holds a reply (CommuniGate Pro: "Failed to
/// deliver to 'x'" and, below it, "550 5.1.1 User unknown").
fn fill_from_transcript(mail: &Mail<'_>, recipients: &mut [Recipient]) {
    if recipients.iter().all(|r| r.diagnostic.is_some()) {
        return;
    }
    let text = human::report_text(mail);
    for r in recipients.iter_mut().filter(|r| r.diagnostic.is_none()) {
        let Some(address) = r.address.as_deref() else { continue };
        let replied =
            |l: &str| leading_reply_code(l).is_some() || find_reply_code(l).is_some() || find_status(l).is_some();
        let Some(diag) = human::last_line_about(&text, address, replied)
            .or_else(|| human::paragraph_about(&text, address).filter(|p| replied(p) && !human::is_recipient_field(p)))
        else {
            continue;
        };
        let code = leading_reply_code(&diag).or_else(|| find_reply_code(&diag));
        r.reply_code = r.reply_code.take().or(code);
        r.diagnostic = Some(diag);
    }
}

fn has_line(text: &str, prefix: &str) -> bool {
    find_line_start(text, prefix).is_some()
}

/// Byte offset of the first line that starts with `prefix` (ASCII case-insensitive, after
/// white space). The prefix is searched for in the whole text, and each occurrence's line is
/// looked at: most texts hold none, and are read in one byte search instead of line by line.
fn find_line_start(text: &str, prefix: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = crate::text::find_ci(&text[from..], prefix).map(|a| from + a) {
        let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |n| n + 1);
        if text[line_start..at].trim_start().is_empty() {
            return Some(at);
        }
        from = at + prefix.len().max(1);
    }
    None
}

fn from_status_texts<'a>(texts: impl Iterator<Item = &'a str>) -> Finding {
    let mut finding = Finding { format: "rfc3464", ..Default::default() };
    for text in texts {
        let (per_message, blocks) = split_blocks(field_blocks(text));
        for (name, value) in &per_message {
            match name.as_str() {
                "reporting-mta" if finding.reporting_mta.is_none() => {
                    finding.reporting_mta = Some(without_type(value).to_string())
                }
                "arrival-date" if finding.arrival_date.is_none() => finding.arrival_date = Some(value.clone()),
                _ => {}
            }
        }
        finding.recipients.extend(blocks.iter().filter_map(|b| recipient(b)));
    }
    finding.kind = kind_of(&finding.recipients);
    finding
}

/// Failed beats delayed beats delivered; without actions the status class decides.
pub fn kind_of(recipients: &[Recipient]) -> Kind {
    let action = |a: &str| recipients.iter().any(|r| r.action.as_deref() == Some(a));
    let class = |c: char| recipients.iter().any(|r| r.status.as_deref().is_some_and(|s| s.starts_with(c)));
    if action("failed") {
        Kind::Bounce
    } else if action("delayed") {
        Kind::Delay
    } else if action("delivered") || action("relayed") || action("expanded") {
        if class('5') { Kind::Bounce } else { Kind::Delivered }
    } else if class('5') {
        Kind::Bounce
    } else if class('4') {
        if recipients.iter().any(|r| r.diagnostic.as_deref().is_some_and(|d| contains_ci(d, "giving up"))) {
            Kind::Bounce
        } else {
            Kind::Delay
        }
    } else if class('2') {
        Kind::Delivered
    } else {
        Kind::Bounce
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::finding;

    /// The reading [`super::find_line_start`] replaces: line by line.
    fn line_by_line(text: &str, prefix: &str) -> Option<usize> {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            if t.len() >= prefix.len() && t.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()) {
                return Some(offset + (line.len() - t.len()));
            }
            offset += line.len();
        }
        None
    }

    #[test]
    fn a_field_line_is_found_as_a_line_by_line_reading_finds_it() {
        let pieces = ["Status:", "status: ", "x", " ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", "é", ":", "Status"];
        for text in crate::text::random_joins(&pieces, 4000, 17) {
            assert_eq!(super::find_line_start(&text, "status:"), line_by_line(&text, "status:"), "{text:?}");
        }
    }

    /// A DSN whose recipient group has only a generic status and no Diagnostic-Code; the
    /// human-readable part (RFC 3464 §2.1) gives the remote server's reply in the recipient's
    /// paragraph, as CommuniGate Pro writes it.
    fn dsn(status: &str, human: &str) -> String {
        format!(
            "From: <MAILER-DAEMON@mx.example.org>\nSubject: Undeliverable mail: hello\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\n{human}\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822;<a@example.net>\nAction: failed\nStatus: {status}\n\n--b--\n"
        )
    }

    const COMMUNIGATE: &str = "Failed to deliver to 'a@example.net'\nSMTP module(domain example.net) reports:\n host mx.example.net says:\n 550 5.1.1 User unknown";

    #[test]
    fn a_generic_status_gives_way_to_the_reply_in_the_recipients_paragraph() {
        let f = finding(dsn("5.0.0", COMMUNIGATE).as_bytes());
        let r = &f.recipients[0];
        // RFC 3463: X.0.0 says only "permanent failure"; the remote's 5.1.1 says which.
        assert_eq!((r.status.as_deref(), r.reply_code.as_deref()), (Some("5.1.1"), Some("550")));
        assert_eq!(r.reason, "userunknown");
        assert!(r.diagnostic.as_deref().is_some_and(|d| d.contains("User unknown")));
        // A specific status of the report's own is kept over a generic one in the reply.
        let f = finding(dsn("5.2.2", &COMMUNIGATE.replace("5.1.1 User unknown", "5.0.0 Over quota")).as_bytes());
        assert_eq!(f.recipients[0].status.as_deref(), Some("5.2.2"));
        // The report's own fields pasted as text are no paragraph of the human-readable part.
        let pasted = "Delivery failed.\n\nFinal-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0";
        assert_eq!(finding(dsn("5.0.0", pasted).as_bytes()).recipients[0].diagnostic, None);
        // A paragraph without a reply leaves the recipient without a diagnostic.
        let f = finding(dsn("5.0.0", "Failed to deliver to 'a@example.net'\nSee the attached report.").as_bytes());
        assert_eq!(f.recipients[0].diagnostic, None);
    }
}
