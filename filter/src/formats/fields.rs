//! RFC 3464 recipient fields (shared by delivery-status, global-delivery-status and MDN parts).

use crate::report::{ReasonSource, Recipient};
use crate::text::{address_in_field, collapse_ws, find_reply_code, find_status, leading_reply_code};

/// Drop an RFC 3464 type prefix (`dns;`, `smtp;`, `X-Postfix;`) from a field value.
pub fn without_type(v: &str) -> &str {
    match v.split_once(';') {
        Some((t, rest)) if !t.trim().is_empty() && t.len() <= 20 && !t.contains(' ') => rest.trim(),
        _ => v.trim(),
    }
}

/// SES's older diagnostics wrap the remote server's reply in its own category
/// ("5.1.0 - Unknown address error 550-'5.7.1 <x>... Access denied' (delivery attempts: 0)"):
/// the quoted reply is what the receiver said; the category is SES's guess.
pub fn remote_reply(diag: &str) -> &str {
    let wrapped = diag.split_whitespace().next().is_some_and(|w| crate::text::find_status(w).is_some())
        && diag.contains(" - ")
        && diag.contains(" error ");
    match diag.find('\'').zip(diag.rfind('\'')) {
        Some((a, b)) if wrapped && b > a + 1 => &diag[a + 1..b],
        _ => diag,
    }
}

/// One recipient from the fields of its block. `None` when the block names no recipient.
pub fn recipient(fields: &[(String, String)]) -> Option<Recipient> {
    let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let original = get("original-recipient").and_then(address_in_field);
    let address = get("final-recipient")
        .and_then(address_in_field)
        .or_else(|| get("x-actual-recipient").and_then(address_in_field))
        // An unqualified final address (`user@server` after a source route) says less than the
        // original recipient.
        .filter(|a| a.rsplit_once('@').is_some_and(|(_, d)| d.contains('.')) || original.is_none())
        .or_else(|| original.clone());
    if address.is_none() && get("action").is_none() && get("status").is_none() {
        return None;
    }
    let diagnostic =
        get("diagnostic-code").map(|d| collapse_ws(remote_reply(without_type(d)))).filter(|d| !d.is_empty());
    let diag = diagnostic.as_deref().unwrap_or("");
    // The remote server's own code in the diagnostic is preferred later (formats::enrich).
    let status = get("status").and_then(find_status);
    let reply_code = leading_reply_code(diag).or_else(|| find_reply_code(diag));
    let action = get("action").map(|a| a.split_whitespace().next().unwrap_or("").to_ascii_lowercase());
    // Failed and delayed recipients get their reason when the report is complete (formats::enrich).
    let delivered = matches!(action.as_deref(), Some("delivered" | "relayed" | "expanded"));
    // `X-Unix;`: the local delivery program (procmail, a pipe) failed, not the SMTP peer; its
    // words count only where they say the mailbox or the disk is full (sisimai's mailererror).
    let local_mailer = get("diagnostic-code")
        .and_then(|d| d.split_once(';'))
        .is_some_and(|(t, _)| t.trim().eq_ignore_ascii_case("x-unix"));
    let (reason, reason_source) = if delivered {
        ("delivered".to_string(), Some(ReasonSource::new("format", "rfc3464", "delivered")))
    } else if local_mailer {
        let decision = crate::reason::decide(status.as_deref(), None, &[diag], None);
        match decision.reason {
            r @ ("mailboxfull" | "systemfull" | "mesgtoobig" | "exceedlimit") => (r.to_string(), Some(decision.source)),
            _ => ("mailererror".to_string(), Some(ReasonSource::new("diagnostic_type", "rfc3464", "x-unix"))),
        }
    } else {
        (String::new(), None)
    };
    Some(Recipient {
        hard: false,
        reason,
        reason_source,
        address,
        action,
        status,
        reply_code,
        diagnostic,
        remote_mta: get("remote-mta").map(|v| without_type(v).to_string()).filter(|v| !v.is_empty()),
        smtp_command: None,
        pseudo_status: false,
        original_recipient: original,
        last_attempt: get("last-attempt-date").map(str::to_string),
    })
}

/// Split a report's field blocks into per-message fields and recipient blocks. Tolerates a
/// missing blank line between them (a recipient field starts the recipient part) and several
/// recipients in one block (a repeated Final-Recipient starts the next one).
pub fn split_blocks(blocks: Vec<Vec<(String, String)>>) -> (Vec<(String, String)>, Vec<Vec<(String, String)>>) {
    const STARTS: &[&str] = &["final-recipient", "original-recipient"];
    let mut per_message = Vec::new();
    let mut recipients: Vec<Vec<(String, String)>> = Vec::new();
    for block in blocks {
        let mut current: Vec<(String, String)> = Vec::new();
        for (name, value) in block {
            let starts_recipient = STARTS.contains(&name.as_str());
            // A recipient field that repeats begins the next recipient: the fields come in any
            // order (Amazon SES writes Action first, Facebook Status first).
            let repeated = is_recipient_field(&name) && current.iter().any(|(n, _)| n == &name);
            if repeated {
                recipients.push(std::mem::take(&mut current));
            }
            if current.is_empty() && !starts_recipient && !is_recipient_field(&name) {
                per_message.push((name, value));
            } else {
                current.push((name, value));
            }
        }
        if !current.is_empty() {
            recipients.push(current);
        }
    }
    (per_message, recipients)
}

fn is_recipient_field(name: &str) -> bool {
    matches!(
        name,
        "final-recipient"
            | "original-recipient"
            | "action"
            | "status"
            | "remote-mta"
            | "diagnostic-code"
            | "last-attempt-date"
            | "will-retry-until"
            | "x-actual-recipient"
            | "final-log-id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::field_blocks;

    #[test]
    fn fields_before_the_address_belong_to_it() {
        let text = "Reporting-MTA: dns; 10.0.0.1\n\nDiagnostic-Code: SMTP; 550 5.1.1 Recipient address does not exist\nStatus: 5.1.1\nFinal-Recipient: rfc822; a@x.example\n";
        let (_, rcpts) = split_blocks(field_blocks(text));
        assert_eq!(rcpts.len(), 1);
        let r = recipient(&rcpts[0]).unwrap();
        assert_eq!((r.address.as_deref(), r.status.as_deref()), (Some("a@x.example"), Some("5.1.1")));
    }

    #[test]
    fn recipients_without_blank_lines() {
        let text = "Reporting-MTA: dns; mx.example\nFinal-Recipient: rfc822; a@x.example\nAction: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; b@x.example\nAction: delayed\nStatus: 4.4.1\n";
        let (msg, rcpts) = split_blocks(field_blocks(text));
        assert_eq!(msg.len(), 1);
        assert_eq!(rcpts.len(), 2);
        let b = recipient(&rcpts[1]).unwrap();
        assert_eq!(b.address.as_deref(), Some("b@x.example"));
        assert_eq!(b.status.as_deref(), Some("4.4.1"));
    }

    #[test]
    fn reply_code_from_diagnostic() {
        let f = field_blocks(
            "Final-Recipient: rfc822;x@y.example\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1 <x@y.example>: Recipient address rejected\n",
        );
        let r = recipient(&f[0]).unwrap();
        assert_eq!(r.status.as_deref(), Some("5.0.0"));
        assert_eq!(r.reply_code.as_deref(), Some("550"));
    }
}
