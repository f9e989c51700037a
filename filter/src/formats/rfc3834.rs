//! RFC 3834 automatic replies: vacation and out-of-office notices. Recognised by the
//! `Auto-Submitted: auto-replied` header, legacy headers of autoresponders, and the subject
//! prefixes that mail clients and Sieve vacation put on them (English, European, Japanese).

use std::sync::LazyLock;

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{PhraseSet, address_in_field, is_reply_subject, starts_with_ci, without_list_tags};

/// Headers whose presence (with the value shown, or any value for "") marks an auto-reply.
const HEADERS: &[(&str, &str)] = &[
    ("x-autoreply", "yes"),       // legacy vacation(1), Yahoo
    ("x-autorespond", ""),        // cPanel and other autoresponders
    ("x-autoresponder", ""),      // various
    ("precedence", "auto_reply"), // Cyrus, Sieve implementations
    ("x-vacation", ""),           // some webmail vacation modules
];

/// Subject prefixes of automatic replies (compared case-insensitively, at the start).
const SUBJECT_PREFIXES: &[&str] = &[
    "automatic reply:", // Outlook / Exchange
    "auto:",            // Sieve vacation (Dovecot, Cyrus)
    "autoreply:",       // various
    "auto-reply:",
    "auto reply:",
    "auto response:",
    "autoresponse:",
    "auto-response:",
    "out of office", // Outlook, Gmail vacation templates
    "out of the office",
    "away from my mail",
    "vacation reply",
    "on vacation",
    "abwesenheitsnotiz",    // German Outlook
    "automatische antwort", // German
    "réponse automatique",  // French Outlook
    "respuesta automática", // Spanish Outlook
    "risposta automatica",  // Italian Outlook
    "自動返信",             // Japanese: automatic reply
    "自動応答",             // Japanese: automatic response
    "不在",                 // Japanese: absent
];

/// Subject phrases anywhere in the subject: Lotus Notes writes "<Name> is out of the office."
const SUBJECT_PHRASES: &[&str] = &["is out of the office", "is out of office"];

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let auto_submitted = mail.header("auto-submitted").map(|v| v.trim().to_ascii_lowercase());
    let subject = without_list_tags(mail.header("subject").unwrap_or(""));
    let lower_subject = subject.to_lowercase();
    let subject_says = SUBJECT_PREFIXES.iter().any(|p| starts_with_ci(subject, p))
        || SUBJECT_PHRASES.iter().any(|p| lower_subject.contains(p));
    let header_says = HEADERS.iter().any(|(name, value)| {
        mail.header(name).is_some_and(|v| value.is_empty() || v.trim().eq_ignore_ascii_case(value))
    });
    let replied = auto_submitted.as_deref().is_some_and(|v| v.starts_with("auto-replied"));
    let generated = auto_submitted.as_deref().is_some_and(|v| v.starts_with("auto-generated"));
    let is_reply_chain = is_reply_subject(subject);
    let yes = replied || header_says || (subject_says && !is_reply_chain) || (generated && subject_says);
    if !yes {
        return None;
    }
    let address = mail.header("from").and_then(address_in_field);
    let recipient = Recipient { address, reason: "vacation".into(), ..Default::default() };
    Some(Finding { kind: Kind::AutoReply, format: "rfc3834", recipients: vec![recipient], ..Default::default() })
}

/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["auto-submitted", "subject", "from"], &HEADER_NAMES];

/// The names of [`HEADERS`].
const HEADER_NAMES: [&str; HEADERS.len()] = {
    let mut names = [""; HEADERS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = HEADERS[i].0;
        i += 1;
    }
    names
};

/// This detector reads headers only. The gate is its test without the exceptions (a reply
/// chain), with the subject's prefixes and phrases found anywhere in one reading of it: the
/// subject without its list tags is part of the subject, and no character outside ASCII
/// lowers to the ASCII letters of a phrase.
pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    head.header("auto-submitted").is_some_and(|v| starts_with_ci(v.trim(), "auto-replied"))
        || HEADERS.iter().any(|(name, value)| {
            head.header(name).is_some_and(|v| value.is_empty() || v.trim().eq_ignore_ascii_case(value))
        })
        || GATE_SUBJECTS.any_in(head.header("subject").unwrap_or(""))
}

static GATE_SUBJECTS: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::of(&[SUBJECT_PREFIXES, SUBJECT_PHRASES].concat()));
