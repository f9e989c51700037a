//! RFC 3463 status codes and RFC 5321 reply codes mapped to reason classes.
//! The detail of a status decides where it is specific; a bare subject (`X.Y.0`) falls back to
//! the subject's class; `X.0.0` and unknown codes say nothing and leave it to the reply code.

/// `subject.detail` (class digit dropped) → reason. Sources: RFC 3463, RFC 7505 (null MX),
/// RFC 7372 (auth codes), RFC 8689; names as sisimai assigns them.
const BY_STATUS: &[(&str, &str)] = &[
    ("1.1", "userunknown"),     // bad destination mailbox address
    ("1.2", "hostunknown"),     // bad destination system address
    ("1.3", "userunknown"),     // bad destination mailbox address syntax
    ("1.4", "userunknown"),     // destination mailbox address ambiguous
    ("1.6", "hasmoved"),        // destination mailbox has moved, no forwarding address
    ("1.7", "rejected"),        // bad sender's mailbox address syntax
    ("1.8", "rejected"),        // bad sender's system address
    ("1.10", "notaccept"),      // recipient address has null MX (RFC 7505)
    ("2.1", "suspend"),         // mailbox disabled, not accepting messages
    ("2.2", "mailboxfull"),     // mailbox full
    ("2.3", "exceedlimit"),     // message length exceeds administrative limit
    ("2.4", "systemerror"),     // mailing list expansion problem
    ("3.1", "systemfull"),      // mail system full
    ("3.2", "notaccept"),       // system not accepting network messages
    ("3.3", "systemerror"),     // system not capable of selected features
    ("3.4", "mesgtoobig"),      // message too big for system
    ("3.5", "systemerror"),     // system incorrectly configured
    ("4.1", "expired"),         // no answer from host (sisimai: retried until it expired)
    ("4.2", "networkerror"),    // bad connection
    ("4.3", "systemerror"),     // directory server failure
    ("4.4", "hostunknown"),     // unable to route
    ("4.5", "systemerror"),     // mail system congestion
    ("4.6", "networkerror"),    // routing loop detected
    ("4.7", "expired"),         // delivery time expired
    ("5.3", "exceedlimit"),     // too many recipients
    ("5.4", "syntaxerror"),     // invalid command arguments
    ("5.5", "syntaxerror"),     // wrong protocol version
    ("5.6", "syntaxerror"),     // authentication exchange line too long
    ("6.0", "contenterror"),    // other or undefined media error
    ("6.1", "contenterror"),    // media not supported
    ("6.2", "contenterror"),    // conversion required and prohibited
    ("6.3", "contenterror"),    // conversion required but not supported
    ("6.5", "contenterror"),    // conversion failed
    ("6.6", "contenterror"),    // message content not available
    ("6.7", "contenterror"),    // non-ASCII addresses not permitted (RFC 6531)
    ("7.1", "securityerror"),   // delivery not authorized, message refused
    ("7.2", "systemerror"),     // mailing list expansion prohibited
    ("7.3", "securityerror"),   // security conversion required but not possible
    ("7.4", "securityerror"),   // security features not supported
    ("7.5", "securityerror"),   // cryptographic failure
    ("7.6", "securityerror"),   // cryptographic algorithm not supported
    ("7.7", "securityerror"),   // message integrity failure
    ("7.8", "securityerror"),   // authentication credentials invalid
    ("7.9", "securityerror"),   // authentication mechanism too weak
    ("7.10", "securityerror"),  // encryption needed
    ("7.11", "securityerror"),  // encryption required for requested mechanism
    ("7.13", "suspend"),        // user account disabled
    ("7.14", "securityerror"),  // trust relationship required
    ("7.15", "securityerror"),  // priority level too low
    ("7.16", "mesgtoobig"),     // message too big for specified priority
    ("7.17", "hasmoved"),       // mailbox owner has changed
    ("7.18", "hasmoved"),       // domain owner has changed
    ("7.20", "authfailure"),    // no passing DKIM signature found
    ("7.21", "authfailure"),    // no acceptable DKIM signature found
    ("7.22", "authfailure"),    // no valid author-matched DKIM signature found
    ("7.23", "authfailure"),    // SPF validation failed
    ("7.24", "authfailure"),    // SPF validation error
    ("7.25", "requireptr"),     // reverse DNS validation failed
    ("7.26", "authfailure"),    // multiple authentication checks failed
    ("7.27", "notaccept"),      // sender address has null MX
    ("7.28", "spamdetected"),   // mail flood detected
    ("7.29", "authfailure"),    // ARC validation failure
    ("7.30", "failedstarttls"), // REQUIRETLS support required
    ("7.54", "norelaying"),     // Exchange Online: unable to relay recipient in non-accepted domain
];

/// A subject with no specific detail → reason.
const BY_SUBJECT: &[(&str, &str)] = &[
    ("1", "userunknown"),
    ("2", "mailboxfull"),
    ("3", "systemerror"),
    ("4", "networkerror"),
    ("5", "syntaxerror"),
    ("6", "contenterror"),
    ("7", "securityerror"),
];

/// SMTP reply codes (RFC 5321 §4.2.3) that carry a reason on their own.
const BY_REPLY_CODE: &[(&str, &str)] = &[
    ("421", "systemerror"),   // service not available, closing channel
    ("450", "systemerror"),   // mailbox unavailable (busy, or blocked for policy)
    ("452", "mailboxfull"),   // insufficient system storage
    ("500", "syntaxerror"),   // syntax error, command unrecognised
    ("501", "syntaxerror"),   // syntax error in parameters
    ("502", "syntaxerror"),   // command not implemented
    ("503", "syntaxerror"),   // bad sequence of commands
    ("504", "syntaxerror"),   // command parameter not implemented
    ("523", "mesgtoobig"),    // message too big (non-standard, seen from Exchange)
    ("530", "securityerror"), // authentication required
    ("535", "securityerror"), // authentication credentials invalid
    ("551", "hasmoved"),      // user not local
    ("552", "mailboxfull"),   // exceeded storage allocation
    ("553", "userunknown"),   // mailbox name not allowed
    ("556", "notaccept"),     // domain does not accept mail (RFC 7504)
];

/// sisimai 5.1's pseudo statuses: the detail it infers for a reason when a report has no code.
const PSEUDO: &[(&str, &str)] = &[
    ("authfailure", "0.972"),
    ("badreputation", "0.975"),
    ("blocked", "0.971"),
    ("contenterror", "0.960"),
    ("exceedlimit", "0.923"),
    ("expired", "0.947"),
    ("filtered", "0.910"),
    ("hasmoved", "0.916"),
    ("hostunknown", "0.912"),
    ("mailboxfull", "0.922"),
    ("mailererror", "0.939"),
    ("mesgtoobig", "0.934"),
    ("networkerror", "0.944"),
    ("norelaying", "0.909"),
    ("notaccept", "0.932"),
    ("notcompliantrfc", "0.974"),
    ("onhold", "0.901"),
    ("policyviolation", "0.972"),
    ("rejected", "0.918"),
    ("requireptr", "0.973"),
    ("securityerror", "0.970"),
    ("spamdetected", "0.980"),
    ("speeding", "0.946"),
    ("suspend", "0.921"),
    ("syntaxerror", "0.902"),
    ("systemerror", "0.930"),
    ("systemfull", "0.931"),
    ("toomanyconn", "0.945"),
    ("undefined", "0.900"),
    ("userunknown", "0.911"),
    ("virusdetected", "0.971"),
];

/// The pseudo status of a reason in a class (`'5'` or `'4'`).
pub fn pseudo_status(reason: &str, class: char) -> String {
    let detail = PSEUDO.iter().find(|(r, _)| *r == reason).map_or("0.900", |(_, d)| *d);
    format!("{class}.{detail}")
}

/// The reason that a status code alone implies, if any.
pub fn reason_for_status(status: &str) -> Option<&'static str> {
    let (_class, rest) = status.split_once('.')?;
    let (subject, detail) = rest.split_once('.')?;
    if subject == "0" {
        return None;
    }
    let key_len = subject.len() + 1 + detail.len();
    BY_STATUS
        .iter()
        .find(|(k, _)| k.len() == key_len && k.split_once('.') == Some((subject, detail)))
        .or_else(|| if detail == "0" { BY_SUBJECT.iter().find(|(k, _)| *k == subject) } else { None })
        .map(|(_, r)| *r)
}

/// The reason that a reply code alone implies, if any.
pub fn reason_for_reply_code(code: &str) -> Option<&'static str> {
    BY_REPLY_CODE.iter().find(|(k, _)| *k == code).map(|(_, r)| *r)
}

/// Every reason the tables name (for the consistency test).
#[cfg(test)]
pub fn all_reasons() -> impl Iterator<Item = &'static str> {
    let tables = BY_STATUS.iter().chain(BY_SUBJECT).chain(BY_REPLY_CODE).map(|(_, r)| *r);
    tables.chain(PSEUDO.iter().map(|(r, _)| *r))
}
