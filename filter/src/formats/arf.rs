//! RFC 5965 abuse feedback reports (ARF), and Microsoft's JMRP complaints that carry the
//! complained-about message with an `X-HmXmrOriginalRecipient` header, and Apple Mail's
//! one-click unsubscribe messages (feedback type `opt-out`).

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Feedback, Kind, Recipient};
use crate::text::{address_in_field, contains_ci, field_blocks};

/// In a one-part text message only Apple Mail's unsubscribe header can make a report.
/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["x-apple-unsubscribe"]];

pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    head.header("x-apple-unsubscribe").is_some()
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    if let Some(part) = mail.leaves.iter().find(|l| l.content_type == "message/feedback-report") {
        let text = String::from_utf8_lossy(part.bytes);
        let fields: Vec<(String, String)> = field_blocks(&text).into_iter().flatten().collect();
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let mut addresses: Vec<String> =
            fields.iter().filter(|(k, _)| k == "original-rcpt-to").filter_map(|(_, v)| address_in_field(v)).collect();
        if addresses.is_empty() {
            addresses = original_to(mail);
        }
        let feedback = Feedback {
            feedback_type: get("feedback-type").map(|v| v.to_ascii_lowercase()),
            user_agent: get("user-agent"),
            source_ip: get("source-ip"),
            original_mail_from: get("original-mail-from").and_then(|v| address_in_field(&v)),
            reported_domain: get("reported-domain"),
        };
        return Some(finding(addresses, feedback));
    }
    // Apple Mail's unsubscribe: a mail to the List-Unsubscribe address, marked with a header.
    if mail.header("x-apple-unsubscribe").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        let feedback = Feedback { feedback_type: Some("opt-out".into()), ..Default::default() };
        return Some(finding(mail.header("from").and_then(address_in_field).into_iter().collect(), feedback));
    }
    // Microsoft JMRP: multipart/mixed with the original attached, "complaint about message from".
    let jmrp_subject = mail.header("subject").is_some_and(|s| contains_ci(s, "complaint about message from"));
    let original = mail.leaves.iter().find_map(|l| l.message.as_deref())?;
    let rcpt = original.header("x-hmxmroriginalrecipient")?;
    if !jmrp_subject {
        return None;
    }
    let feedback = Feedback { feedback_type: Some("abuse".into()), ..Default::default() };
    Some(finding(address_in_field(rcpt).into_iter().collect(), feedback))
}

fn original_to(mail: &Mail<'_>) -> Vec<String> {
    let headers = mail.leaves.iter().find_map(|l| match &l.message {
        Some(m) => m.header("to").map(str::to_string),
        None if l.content_type == "text/rfc822-headers" => l
            .text
            .as_deref()
            .and_then(|t| field_blocks(t).into_iter().flatten().find(|(n, _)| n == "to").map(|(_, v)| v)),
        None => None,
    });
    headers.and_then(|v| address_in_field(&v)).into_iter().collect()
}

fn finding(addresses: Vec<String>, feedback: Feedback) -> Finding {
    let recipients = addresses
        .into_iter()
        .map(|a| Recipient { address: Some(a), reason: "feedback".into(), ..Default::default() })
        .collect();
    Finding { kind: Kind::FeedbackReport, format: "arf", recipients, feedback: Some(feedback), ..Default::default() }
}
