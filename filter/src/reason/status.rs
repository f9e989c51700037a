//! Enhanced status codes (the IANA "SMTP Enhanced Status Codes" registry) and RFC 5321 reply
//! codes mapped to reason classes. The detail of a status decides where it is specific; a bare
//! subject (`X.Y.0`) falls back to the subject's class; `X.0.0` and unknown codes say nothing
//! and leave it to the reply code.

/// Every enumerated code of the IANA registry (smtp-enhanced-status-codes-3, last updated
/// 2024-12-06), `subject.detail` (class digit dropped) → reason, with the document that defines
/// it. `None`: the code reports success or a changed transfer, never the cause of a failure
/// (RFC 3463 uses them with class 2), so the reply code or the words decide. Reason names are
/// sisimai's (`shared/reasons.md`); the comment gives the registry's summary.
const BY_STATUS: &[(&str, Option<&str>, &str)] = &[
    ("1.1", Some("userunknown"), "rfc3463"),     // bad destination mailbox address
    ("1.2", Some("hostunknown"), "rfc3463"),     // bad destination system address
    ("1.3", Some("userunknown"), "rfc3463"),     // bad destination mailbox address syntax
    ("1.4", Some("userunknown"), "rfc3463"),     // destination mailbox address ambiguous
    ("1.5", None, "rfc3463"),                    // destination address valid (success)
    ("1.6", Some("hasmoved"), "rfc3463"),        // destination mailbox has moved, no forwarding address
    ("1.7", Some("rejected"), "rfc3463"),        // bad sender's mailbox address syntax
    ("1.8", Some("rejected"), "rfc3463"),        // bad sender's system address
    ("1.9", None, "rfc3886"),                    // message relayed to non-compliant mailer (success)
    ("1.10", Some("notaccept"), "rfc7505"),      // recipient address has null MX
    ("2.1", Some("suspend"), "rfc3463"),         // mailbox disabled, not accepting messages
    ("2.2", Some("mailboxfull"), "rfc3463"),     // mailbox full
    ("2.3", Some("exceedlimit"), "rfc3463"),     // message length exceeds administrative limit
    ("2.4", Some("systemerror"), "rfc3463"),     // mailing list expansion problem
    ("3.1", Some("systemfull"), "rfc3463"),      // mail system full
    ("3.2", Some("notaccept"), "rfc3463"),       // system not accepting network messages
    ("3.3", Some("systemerror"), "rfc3463"),     // system not capable of selected features
    ("3.4", Some("mesgtoobig"), "rfc3463"),      // message too big for system
    ("3.5", Some("systemerror"), "rfc3463"),     // system incorrectly configured
    ("3.6", None, "rfc6710"),                    // requested priority was changed (success)
    ("4.1", Some("expired"), "rfc3463"),         // no answer from host (sisimai: retried until it expired)
    ("4.2", Some("networkerror"), "rfc3463"),    // bad connection
    ("4.3", Some("systemerror"), "rfc3463"),     // directory server failure
    ("4.4", Some("hostunknown"), "rfc3463"),     // unable to route
    ("4.5", Some("systemerror"), "rfc3463"),     // mail system congestion
    ("4.6", Some("networkerror"), "rfc3463"),    // routing loop detected
    ("4.7", Some("expired"), "rfc3463"),         // delivery time expired
    ("5.1", Some("syntaxerror"), "rfc3463"),     // invalid command
    ("5.2", Some("syntaxerror"), "rfc3463"),     // syntax error
    ("5.3", Some("exceedlimit"), "rfc3463"),     // too many recipients
    ("5.4", Some("syntaxerror"), "rfc3463"),     // invalid command arguments
    ("5.5", Some("syntaxerror"), "rfc3463"),     // wrong protocol version
    ("5.6", Some("syntaxerror"), "rfc4954"),     // authentication exchange line is too long
    ("6.1", Some("contenterror"), "rfc3463"),    // media not supported
    ("6.2", Some("contenterror"), "rfc3463"),    // conversion required and prohibited
    ("6.3", Some("contenterror"), "rfc3463"),    // conversion required but not supported
    ("6.4", Some("contenterror"), "rfc3463"),    // conversion with loss performed (a failure where loss is prohibited)
    ("6.5", Some("contenterror"), "rfc3463"),    // conversion failed
    ("6.6", Some("contenterror"), "rfc4468"),    // message content not available
    ("6.7", Some("contenterror"), "rfc6531"),    // non-ASCII addresses not permitted for that sender/recipient
    ("6.8", Some("contenterror"), "rfc6531"),    // UTF-8 string reply required, not permitted by the client
    ("6.9", Some("contenterror"), "rfc6531"),    // UTF-8 header message cannot be transferred
    ("7.1", Some("securityerror"), "rfc3463"),   // delivery not authorized, message refused
    ("7.2", Some("systemerror"), "rfc3463"),     // mailing list expansion prohibited
    ("7.3", Some("securityerror"), "rfc3463"),   // security conversion required but not possible
    ("7.4", Some("securityerror"), "rfc3463"),   // security features not supported
    ("7.5", Some("securityerror"), "rfc3463"),   // cryptographic failure
    ("7.6", Some("securityerror"), "rfc3463"),   // cryptographic algorithm not supported
    ("7.7", Some("securityerror"), "rfc3463"),   // message integrity failure
    ("7.8", Some("securityerror"), "rfc4954"),   // authentication credentials invalid
    ("7.9", Some("securityerror"), "rfc4954"),   // authentication mechanism is too weak
    ("7.10", Some("securityerror"), "rfc5248"),  // encryption needed
    ("7.11", Some("securityerror"), "rfc4954"),  // encryption required for requested authentication mechanism
    ("7.12", Some("securityerror"), "rfc4954"),  // a password transition is needed
    ("7.13", Some("suspend"), "rfc5248"),        // user account disabled
    ("7.14", Some("securityerror"), "rfc5248"),  // trust relationship required
    ("7.15", Some("securityerror"), "rfc6710"),  // priority level is too low
    ("7.16", Some("mesgtoobig"), "rfc6710"),     // message is too big for the specified priority
    ("7.17", Some("hasmoved"), "rfc7293"),       // mailbox owner has changed
    ("7.18", Some("hasmoved"), "rfc7293"),       // domain owner has changed
    ("7.19", Some("securityerror"), "rfc7293"),  // RRVS test cannot be completed
    ("7.20", Some("authfailure"), "rfc7372"),    // no passing DKIM signature found
    ("7.21", Some("authfailure"), "rfc7372"),    // no acceptable DKIM signature found
    ("7.22", Some("authfailure"), "rfc7372"),    // no valid author-matched DKIM signature found
    ("7.23", Some("authfailure"), "rfc7372"),    // SPF validation failed
    ("7.24", Some("authfailure"), "rfc7372"),    // SPF validation error
    ("7.25", Some("requireptr"), "rfc7372"),     // reverse DNS validation failed
    ("7.26", Some("authfailure"), "rfc7372"),    // multiple authentication checks failed
    ("7.27", Some("notaccept"), "rfc7505"),      // sender address has null MX
    ("7.28", Some("spamdetected"), "iana"),      // mail flood detected
    ("7.29", Some("authfailure"), "rfc8617"),    // ARC validation failure
    ("7.30", Some("failedstarttls"), "rfc8689"), // REQUIRETLS support required
    ("7.54", Some("norelaying"), "exchange-online"), // not registered: Exchange Online "unable to relay recipient in non-accepted domain"
];

/// A subject with no specific detail (`X.Y.0`, the registry's "other or undefined ... status")
/// → the subject's reason: only a hint, which any wording outranks.
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
    lookup(status).map(|(r, _)| r)
}

/// The reason a status code implies and the document that defines the code (for a bare
/// subject, `rfc3463-subject`).
pub fn lookup(status: &str) -> Option<(&'static str, &'static str)> {
    let (_class, rest) = status.split_once('.')?;
    let (subject, detail) = rest.split_once('.')?;
    if subject == "0" {
        return None;
    }
    // The key `subject.detail`, compared in place: a `split_once` of every key of that length
    // cost most of a bounce's status look-ups in the wasm module (`subject` holds no dot, so
    // the dot after it is a key's first).
    let key_len = subject.len() + 1 + detail.len();
    let is_key = |k: &str| {
        let (k, n) = (k.as_bytes(), subject.len());
        k.len() == key_len && k[..n] == *subject.as_bytes() && k[n] == b'.' && k[n + 1..] == *detail.as_bytes()
    };
    if let Some((_, reason, reference)) = BY_STATUS.iter().find(|(k, _, _)| is_key(k)) {
        return reason.map(|r| (r, *reference));
    }
    if detail == "0" {
        BY_SUBJECT.iter().find(|(k, _)| *k == subject).map(|(_, r)| (*r, "rfc3463-subject"))
    } else {
        None
    }
}

/// Whether a status names only its class or subject (`X.0.0`, `X.1.0` ...: the registry's
/// "other or undefined" codes): any wording says more.
pub fn is_generic(status: &str) -> bool {
    status.ends_with(".0")
}

/// The reason that a reply code alone implies, if any.
pub fn reason_for_reply_code(code: &str) -> Option<&'static str> {
    BY_REPLY_CODE.iter().find(|(k, _)| *k == code).map(|(_, r)| *r)
}

/// Every reason the tables name (for the consistency test).
#[cfg(test)]
pub fn all_reasons() -> impl Iterator<Item = &'static str> {
    let codes = BY_STATUS.iter().filter_map(|(_, r, _)| *r);
    let tables = BY_SUBJECT.iter().chain(BY_REPLY_CODE).map(|(_, r)| *r);
    codes.chain(tables).chain(PSEUDO.iter().map(|(r, _)| *r))
}

#[cfg(test)]
mod tests {
    /// The former look-up: every key of the length split at its dot.
    fn lookup_by_split(status: &str) -> Option<(&'static str, &'static str)> {
        let (_class, rest) = status.split_once('.')?;
        let (subject, detail) = rest.split_once('.')?;
        if subject == "0" {
            return None;
        }
        let key_len = subject.len() + 1 + detail.len();
        if let Some((_, reason, reference)) =
            super::BY_STATUS.iter().find(|(k, _, _)| k.len() == key_len && k.split_once('.') == Some((subject, detail)))
        {
            return reason.map(|r| (r, *reference));
        }
        if detail == "0" {
            super::BY_SUBJECT.iter().find(|(k, _)| *k == subject).map(|(_, r)| (*r, "rfc3463-subject"))
        } else {
            None
        }
    }

    #[test]
    fn a_status_is_looked_up_as_by_splitting_every_key() {
        let parts = ["0", "1", "2", "7", "10", "26", "01", "", "x", "1.1", "é", "100"];
        let mut statuses: Vec<String> = super::BY_STATUS.iter().map(|(k, _, _)| format!("5.{k}")).collect();
        for a in parts {
            for b in parts {
                statuses.extend([
                    format!("5.{a}.{b}"),
                    format!("{a}.{b}"),
                    format!("4.{a}.{b}.1"),
                    format!("2.{a}{b}"),
                ]);
            }
        }
        for status in &statuses {
            assert_eq!(super::lookup(status), lookup_by_split(status), "{status}");
        }
    }
}
