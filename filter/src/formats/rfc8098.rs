//! RFC 8098 message disposition notifications (read receipts). A Sieve `reject` sent as an MDN
//! (`Auto-Submitted: auto-replied (rejected)`, disposition `deleted`) is a bounce.

use super::Finding;
use super::fields::without_type;
use crate::mime::Mail;
use crate::report::{Kind, Recipient};
use crate::text::{address_in_field, collapse_ws, contains_ci, field_blocks};

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let part = mail.leaves.iter().find(|l| {
        matches!(
            l.content_type.as_str(),
            "message/disposition-notification" | "message/global-disposition-notification"
        )
    });
    // An empty notification part may vanish in parsing; the report type still says what it is.
    let declared = mail.containers.iter().any(|(_, rt)| rt.as_deref() == Some("disposition-notification"));
    if part.is_none() && !declared {
        return None;
    }
    let text = part.map(|p| String::from_utf8_lossy(p.bytes)).unwrap_or_default();
    let fields: Vec<(String, String)> = field_blocks(&text).into_iter().flatten().collect();
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let disposition = get("disposition").map(collapse_ws);
    let sieve_reject = mail.header("auto-submitted").is_some_and(|v| contains_ci(v, "rejected"))
        || disposition.as_deref().is_some_and(|d| contains_ci(d, "deleted") && contains_ci(d, "automatic"));
    // Without the fields, the rejected original's recipient is who refused it.
    let address = get("final-recipient")
        .or(get("original-recipient"))
        .and_then(address_in_field)
        .or_else(|| crate::original::find(mail, false).and_then(|o| o.to.into_iter().next()));
    let (kind, reason, status) = if sieve_reject {
        (Kind::Bounce, "filtered", Some("5.7.1".to_string()))
    } else {
        (Kind::ReadReceipt, "delivered", None)
    };
    let recipient = Recipient {
        address,
        action: disposition.clone(),
        status,
        diagnostic: disposition,
        reason: reason.into(),
        original_recipient: get("original-recipient").and_then(address_in_field),
        ..Default::default()
    };
    Some(Finding {
        kind,
        format: "rfc8098",
        recipients: vec![recipient],
        reporting_mta: get("reporting-ua").map(|v| without_type(v).to_string()),
        ..Default::default()
    })
}
