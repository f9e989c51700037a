//! fml (a Japanese mailing-list manager) error notices: the list refused a post (the sender is
//! not a member) or stopped a mail loop. Known by fml's `X-MLServer` header; the list's address
//! is the one the notice names in angle brackets ("… mailing list <list@example.org>.").

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Kind, Recipient};
use crate::text::{address_in_field, contains_ci};

/// Wordings of fml's notices (Subject or body) and what they mean; first match wins.
const NOTICES: &[(&str, &str)] = &[
    ("are not member", "rejected"), // Subject "You x are not member (list ML)"
    ("not a member of this mailing list", "rejected"), // body of the same notice
    ("not member article from", "rejected"), // "NOT MEMBER article from x"
    ("reject mail from", "rejected"), // fml's sender filter
    ("security alert", "securityerror"), // fml's command-mail security checks
    ("loop alert", "systemerror"),  // Subject "Loop Alert: Duplicated Message-ID"
    ("duplicated message-id", "systemerror"), // the loop check of fml 4
    ("loop back warning", "systemerror"),
    ("has detected a loop condition", "systemerror"),
    ("fml system error message", "systemerror"),
];

/// fml marks its mail with X-MLServer.
/// The header fields [`may_claim`] reads.
pub const GATE_FIELDS: &[&[&str]] = &[&["x-mlserver"]];

pub fn may_claim(head: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    is_fml(head)
}

fn is_fml(mail: &Mail<'_>) -> bool {
    mail.header("x-mlserver").is_some_and(|v| contains_ci(v, "fml"))
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    if !is_fml(mail) {
        return None;
    }
    let subject = mail.header("subject").unwrap_or("");
    let text = super::human::report_text(mail);
    let reason = NOTICES.iter().find(|(p, _)| contains_ci(subject, p) || contains_ci(text, p)).map(|(_, r)| *r)?;
    // "… <list@example.org>." at the end of a line names the list.
    let address = text.lines().find_map(|l| {
        let l = l.trim_end();
        let inner = l.strip_suffix(">.")?;
        address_in_field(&inner[inner.rfind('<')?..])
    })?;
    let recipient = Recipient {
        address: Some(address),
        action: Some("failed".into()),
        reason: reason.into(),
        diagnostic: Some(crate::text::collapse_ws(subject)).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    Some(Finding { kind: Kind::Bounce, format: "fml", recipients: vec![recipient], ..Default::default() })
}
