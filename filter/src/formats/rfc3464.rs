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

/// Fields pasted in text start with a Final-Recipient or Original-Recipient line.
pub fn may_claim_in_text(_: &Mail<'_>, body: &PlainBody<'_>) -> bool {
    body.mentions("recipient:")
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

/// Recipients whose fields carry no diagnostic get the paragraph of the human-readable part
/// that names them (Sendmail's session transcript: "554 <user@host>... Service unavailable").
fn fill_from_transcript(mail: &Mail<'_>, recipients: &mut [Recipient]) {
    if recipients.iter().all(|r| r.diagnostic.is_some()) {
        return;
    }
    let text = human::report_text(mail);
    for r in recipients.iter_mut().filter(|r| r.diagnostic.is_none()) {
        let Some(address) = r.address.as_deref() else { continue };
        // The last line naming the address with a reply code or status is the server's reply.
        let Some(diag) = human::last_line_about(&text, address, |l| {
            leading_reply_code(l).is_some() || find_reply_code(l).is_some() || find_status(l).is_some()
        }) else {
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

/// Byte offset of the first line that starts with `prefix` (ASCII case-insensitive).
fn find_line_start(text: &str, prefix: &str) -> Option<usize> {
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
