//! Google Groups refusals: a group that does not exist or does not let the sender post.
//! Written in the sender's language, so recognised by structure rather than wording: Google's
//! mailer daemon, the group's address in `X-Failed-Recipients`, and the Groups help link.

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{address_in_field, contains_ci};

/// Google names the refused groups in X-Failed-Recipients.
/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["x-failed-recipients"]];

pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    head.header("x-failed-recipients").is_some()
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let from_google = mail.header("from").is_some_and(|f| contains_ci(f, "mailer-daemon@google"));
    let groups: Vec<String> = mail
        .header("x-failed-recipients")
        .map(|v| v.split(',').filter_map(address_in_field).filter(|a| contains_ci(a, "@googlegroups.com")).collect())
        .unwrap_or_default();
    if !from_google || groups.is_empty() {
        return None;
    }
    let text_says =
        mail.text_parts().take(1).any(|l| contains_ci(l.text.as_deref().unwrap_or(""), "groups.google.com"));
    if !text_says {
        return None;
    }
    let recipients = groups
        .into_iter()
        .map(|address| Recipient {
            address: Some(address),
            action: Some("failed".into()),
            // The group refused the post (or does not exist): the sender was refused.
            reason: "rejected".into(),
            ..Default::default()
        })
        .collect();
    Some(Finding { kind: Kind::Bounce, format: "google-groups", recipients, ..Default::default() })
}
