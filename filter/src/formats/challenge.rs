//! Challenge-response requests (TMDA, BoxTrapper, Spam Arrest, Mailblocks, ...): "confirm that
//! you are human before your mail is delivered". Sent to a forged sender they are backscatter.

use std::sync::LazyLock;

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{PhraseSet, address_in_field, contains_ci};

/// Headers that challenge-response systems put on their challenges.
const HEADERS: &[&str] = &["x-boxtrapper", "x-spamarrest-noauth", "x-spamarrest", "x-tmda-confirm", "x-challenge"];

/// Subject phrases of challenges (case-insensitive substrings).
const SUBJECT_PHRASES: &[&str] = &[
    "please confirm your message", // TMDA
    "please confirm your e-mail",
    "confirm your email address to",
    "verify your email address to",
    "is requesting your verification",
    "your email requires verification", // BoxTrapper
    "spam arrest sender verification",  // Spam Arrest
    "sender verification request",
    "auto-response: please verify",
];

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let subject = mail.header("subject").unwrap_or("");
    let by_header = HEADERS.iter().any(|h| mail.header(h).is_some());
    // TMDA sends its challenges from `user-confirm-<cookie>@domain`.
    let by_tmda = mail.header("from").is_some_and(|f| contains_ci(f, "-confirm-"));
    let by_subject = SUBJECT_PHRASES.iter().any(|p| contains_ci(subject, p));
    if !(by_header || by_tmda || by_subject) {
        return None;
    }
    let address = mail.header("from").and_then(address_in_field);
    let recipient = Recipient { address, reason: "undefined".into(), ..Default::default() };
    Some(Finding {
        kind: Kind::ChallengeResponse,
        format: "challenge-response",
        recipients: vec![recipient],
        ..Default::default()
    })
}

/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["subject", "from"], HEADERS];

/// This detector reads headers only: the gate is its test, with the subject's phrases found in
/// one reading of it.
pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    HEADERS.iter().any(|h| head.header(h).is_some())
        || head.header("from").is_some_and(|f| contains_ci(f, "-confirm-"))
        || GATE_SUBJECTS.any_in(head.header("subject").unwrap_or(""))
}

static GATE_SUBJECTS: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::of(SUBJECT_PHRASES));
