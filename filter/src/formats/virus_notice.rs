//! Virus-scanner notices ("VIRUS IN YOUR MAIL", "BitDefender Antivirus found an infected
//! message"): a gateway refused a message for its content and told the (often forged) sender.
//! Reported as bounces with reason `virusdetected`; sent to a forged sender they are backscatter.

use std::sync::LazyLock;

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{PhraseSet, address_in_field, contains_ci, is_reply_subject};

/// Subject phrases of scanner notices (ASCII case-insensitive substrings).
const SUBJECTS: &[&str] = &[
    "virus in your mail", // AMaViS
    "virus found in",     // various gateways
    "virus detected",
    "found an infected message", // BitDefender
    "infected message",
    "virus alert",
    "virus notification",
    "virus warning",
    "banned content",    // amavisd-new "BANNED contents from you"
    "content violation", // MailScanner, Symantec
    "antivirus notification",
    "malware detected",
];

/// Scanner notices say so in their subject.
/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["subject"]];

/// The gate: [`subject_says`], all the phrases in one reading of the subject.
pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    GATE_SUBJECTS.any_in(head.header("subject").unwrap_or(""))
}

static GATE_SUBJECTS: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::of(SUBJECTS));

fn subject_says(subject: &str) -> bool {
    SUBJECTS.iter().any(|p| contains_ci(subject, p))
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let subject = mail.header("subject").unwrap_or("");
    if is_reply_subject(subject) || mail.header("list-id").is_some() {
        return None;
    }
    if !subject_says(subject) {
        return None;
    }
    let body_says = mail.text_parts().take(2).any(|l| {
        let t = l.text.as_deref().unwrap_or("");
        contains_ci(t, "virus") || contains_ci(t, "infected") || contains_ci(t, "banned") || contains_ci(t, "malware")
    });
    if !body_says {
        return None;
    }
    // The original's recipient when the notice names it, else the notice's addressee.
    let address = crate::original::find(mail, true)
        .and_then(|o| o.to.into_iter().next())
        .or_else(|| mail.header("to").and_then(address_in_field));
    let recipient =
        Recipient { address, action: Some("failed".into()), reason: "virusdetected".into(), ..Default::default() };
    Some(Finding { kind: Kind::Bounce, format: "virus-notice", recipients: vec![recipient], ..Default::default() })
}
