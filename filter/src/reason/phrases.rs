//! Phrase tables: what diagnostic texts say, per reason class. Entries are lower-case
//! substrings of the diagnostic; each line says where the wording is seen. The tables are tried
//! in `ORDER` (the first reason whose table matches wins), so a specific table goes before a
//! broader one: "recipient address rejected: user unknown" is `userunknown`, not `rejected`.
//! Operators extend a table by adding a line; keep phrases general (an MTA's way of saying it),
//! never a string unique to one message.

use std::sync::LazyLock;

use crate::text::PhraseSet;

pub const MAILBOXFULL: &[&str] = &[
    "メールボックスが一杯",         // Japanese: mailbox full (au, docomo)
    "容量超過",                     // Japanese: capacity exceeded
    "mailbox full",                 // Sendmail, Postfix local(8), many
    "mailbox is full",              // Exchange, Courier, Yahoo
    "mailbox exceeds allowed size", // various
    "mailbox size limit exceeded",  // Exim appendfile
    "mailbox has exceeded",         // qmail-ldap
    "user's mailbox is full",       // Sendmail text bounces
    "mailfolder is full",           // Microsoft SMTP service
    "over quota",                   // Gmail, qmail, vpopmail
    "quota exceeded",               // Dovecot, Cyrus, Postfix virtual
    "disk quota exceeded",          // local delivery (EDQUOT)
    "exceeded storage allocation",  // RFC 5321 552 text
    "insufficient storage",         // RFC 5321 452 wording in Exchange
    "mailbox quota",                // Zimbra, Dovecot
    "quota full",
    "account is over quota",      // Yahoo, vpopmail
    "would exceed mailbox quota", // Courier
    "too much mail data",         // Sendmail
    "user is over quota",
    "is over its quota",
    "not enough storage space",                 // Microsoft
    "user has exhausted allowed storage space", // Yahoo
    "mailbox full (quota",
    "boite du destinataire pleine",             // La Poste (French)
    "messages in recipient's mailbox exceeded", // BIGLOBE "The number of messages in recipient's mailbox exceeded the local limit"
];

pub const MESGTOOBIG: &[&str] = &[
    "message too big", // Postfix, qmail
    "message too large",
    "message is too large", // Gmail, Exchange
    "message size exceeds", // Postfix "message size exceeds fixed limit"
    "size limit exceeded",
    "exceeds size limit",
    "message length exceeds", // RFC 3463 5.3.4 wording
    "email is too large",
    "line limit exceeded", // Exim: 998-octet line limit (RFC 5322 §2.1.1)
    "line too long",
    "maximum message size",
    "size exceeds the maximum",
];

pub const EXCEEDLIMIT: &[&str] = &[
    "exceeds the size limit for the recipient", // Microsoft
    "message exceeds the recipient's limit",
    "recipient's message size limit",
];

pub const SUSPEND: &[&str] = &[
    "disabled recipient",        // Sendmail 5.7.13
    "account disabled",          // Gmail, Yahoo
    "account has been disabled", // Yahoo, Sendmail
    "account is disabled",
    "has been disabled or discontinued", // Yahoo "This account has been disabled or discontinued"
    "account is locked",                 // vpopmail, Zimbra
    "account is inactive",
    "account has been suspended",
    "account is suspended",
    "mailbox is frozen", // i.ua
    "mailbox disabled",  // Exchange 5.2.1 text
    "mailbox is disabled",
    "mailbox unavailable due to inactivity",
    "recipient suspended",
    "the recipient account is blocked",  // La Poste (English part)
    "compte du destinataire est bloque", // La Poste (French part)
    "user suspended",                    // Sendmail milters
    "temporarily disabled",
    "is inactive", // Gmail "The email account that you tried to reach is inactive"
];

pub const HASMOVED: &[&str] = &[
    "has been replaced by", // Postfix relocated(5): "user has moved to"
    "user has moved",
    "mailbox has moved",
    "address has changed",
    "no longer at this address",
];

pub const NORELAYING: &[&str] = &[
    "relay access denied", // Postfix
    "relaying denied",     // Sendmail, Exim
    "relay not permitted", // Exim
    "relaying not allowed",
    "not permitted to relay",
    "unable to relay", // Exchange, Sendmail
    "we do not relay", // Sendmail
    "relay denied",
    "no relaying",
    "relaying mail to",
    "not our customer",
];

pub const AUTHFAILURE: &[&str] = &[
    "dmarc policy",       // Gmail, Apple, Yahoo, mail.ru
    "dmarc verification", // Microsoft 5.7.509
    "per dmarc",
    "does not pass dmarc",
    "dmarc check",
    "spf check failed",
    "spf validation",
    "spf fail",
    "failed spf",
    "dkim verification failed",
    "dkim signature",                           // "no valid DKIM signature"
    "authentication checks failed",             // RFC 7372 5.7.26 wording
    "does not have authentication information", // Gmail 5.7.26
    "fails to pass authentication",             // Gmail 5.7.26
    "unauthenticated email",                    // Gmail DMARC rejection
    "sender policy framework",
    "fails to pass spf", // Gmail 5.7.26 "… fails to pass SPF checks"
];

pub const USERUNKNOWN: &[&str] = &[
    "recipient address rejected.", // Postfix without a stated reason
    "possibly incorrect",          // Mimecast "Recipient email address is possibly incorrect"
    "check if address is correct", // Trend Micro
    "存在しない",                  // Japanese: does not exist
    "宛先不明",                    // Japanese: unknown destination
    "user unknown",                // Sendmail, Postfix, many
    "unknown user",                // qmail, Courier, Exchange
    "unknown recipient",           // Exchange
    "unknown address",
    "no such user", // Sendmail, MessageLabs
    "no such mailbox",
    "no such recipient",
    "no such account",
    "user not found",
    "user not exist",
    "user doesn't exist",
    "user does not exist",
    "mailbox not found",
    "mailbox unavailable", // RFC 5321 550 text
    "mailbox does not exist",
    "mailbox not available",                     // Microsoft
    "recipient not found",                       // Exchange RESOLVER.ADR.RecipientNotFound
    "recipient address rejected: access denied", // Office 365 5.4.1 (directory-based edge blocking)
    "recipient address rejected: user unknown",  // Postfix
    "recipient unknown",
    "recipient name is not recognized", // Exchange 2003
    "invalid recipient",                // many
    "invalid mailbox",
    "invalid address",
    "address unknown",
    "unknown local part",  // Exim
    "unrouteable address", // Exim
    "does not exist",      // Gmail "The email account that you tried to reach does not exist"
    "doesn't have a",      // Yahoo "This user doesn't have a yahoo.com account"
    "not a valid mailbox",
    "no mailbox here",
    "is not a known user",
    "not our user",
    "account not found",
    "wasn't found at the destination", // Office 365 NDR text
    "was not found at the destination",
    "no such person",
    "no valid recipients for this mm",          // Verizon MMS gateway
    "not listed in domino directory",           // Lotus Domino: "User x (addr) not listed in Domino Directory"
    "not listed in public name & address book", // Lotus Notes (older wording)
    "ディレクトリのリストにありません",         // Lotus Notes (Japanese): not in the directory list
    "address couldn't be found",                // Gmail "** Address not found **"
    "address not found",
    "address does not exist",
    "adresse destinataire invalide", // La Poste
    "destinataire inconnu",          // French
    "unbekannt",                     // German "Empfänger unbekannt"
];

pub const FILTERED: &[&str] = &[
    "受信拒否", // Japanese carriers: refused by the recipient's filter
    "due to extended inactivity",
    "rejected by the domain filter",                   // au/EZweb
    "recipients was rejected by a remote mail server", // au/EZweb: its domain filter, in its English notice
    "domain filter",                                   // Japanese carriers' domain filters
    "message filtered",                                // Amazon SES receiving
    "filtered by",
    "refused due to recipient preferences", // Facebook RCP-P2: the recipient's own settings
    "content filter",                       // generic content filters
];

pub const REQUIREPTR: &[&str] = &[
    "reverse dns", // many: "Fix reverse DNS for", "Reverse DNS validation failed"
    "reverse dns validation",
    "no ptr record",
    "bad dns ptr",
    "ptr record",
    "cannot find your hostname", // Postfix reject_unknown_client_hostname
    "client host rejected: cannot find your reverse hostname",
    "ip name lookup failed", // Sendmail
    "without a valid sender domain",
    "mismatches client ip", // Outlook.com HELO/PTR check
    "hostname lookup failed",
    "reverse lookup",
    "not resolve your address",
    "reverse hostname",
    "rdns", // Exim ACLs "invalid RDNS record", GMX "c=rdns"
];

pub const NOTCOMPLIANTRFC: &[&str] = &[
    "not rfc 5322 compliant", // Gmail
    "rfc 5322",
    "multiple addresses in from", // Gmail
    "duplicate header",           // Amazon SES
    "multiple subject",           // Gmail "There are multiple Subject headers"
    "headers are not rfc",
];

pub const BADREPUTATION: &[&str] = &[
    "low reputation", // Gmail 5.7.1 "very low reputation of the sending IP"
    "ip reputation",  // Microsoft 4.7.650
    "poor reputation",
    "sender reputation",
    "domain reputation",
    "unexpected volume or user complaints", // Yahoo TSS04
];

pub const REJECTED: &[&str] = &[
    "permission to post",      // Google Groups (English)
    "投稿する権限がない",      // Google Groups (Japanese): no permission to post
    "sender rejected",         // Cox, Spectrum
    "sender address rejected", // Postfix
    "sender not allowed",
    "sender verify failed", // Exim
    "sender is blacklisted",
    "address that has been blacklisted",
    "from address rejected",
    "domain of sender address", // Postfix: "Domain of sender address ... does not exist"
    "unroutable sender",
    "unroutable se", // Exim "Unroutable sender address" (cut)
    "sender domain",
    "invalid sender",
    "bad sender",
    "mail rejected by destination domain", // Zoho 5.4.1
    "please provide a valid from",         // GoDaddy IB506 "From: Domain is invalid. Please provide a valid From:"
    "is not a registered gateway user",
    "was not accepted by the group",      // Google Groups
    "you do not have permission to post", // Google Groups
    "from a different address or alias",  // Gmail CustomFromDenied: a misconfigured "Send mail as" sender
];

pub const HOSTUNKNOWN: &[&str] = &[
    "host unknown", // Sendmail "Host unknown (Authoritative answer from name server)"
    "host not found",
    "domain not found",
    "no such domain", // Courier
    "unknown host",
    "name or service not known",
    "domain name not found",
    "unrouteable mail domain", // Exim
    "domain does not exist",
    "nxdomain",
    "no mx or a record",
    "does not exist (domain",
    "the account or domain may not exist", // cPanel Exim: its default failure text
];

pub const SPAMDETECTED: &[&str] = &[
    "blacklisted url", // URI blocklists: the content, not the client
    "scored as spam",  // Postfix + content filters
    "spam detected",
    "detected as spam",
    "identified as spam",
    "classified as spam",
    "spam classification", // Google Groups
    "considered spam",
    "likely spam",
    "looks like spam",
    "message is spam",
    "rejected as spam",
    "spam message",
    "ube,",                     // Barracuda "Message content rejected, UBE"
    "message content rejected", // Barracuda, Sendmail milters: the content scanner refused it
    "unsolicited bulk",
    "- spam", // Amavis "Reject, id=... - SPAM"
    "spam content",
    "spam score",
    "high spam",
];

pub const SPEEDING: &[&str] = &[
    "too many recipients this hour", // GoDaddy
    "rate limit",                    // many ("rate limited")
    "rate-limit",
    "sending too fast",
    "too many messages",
    "too many emails",
    "frequency limited", // Tencent "Ip frequency limited"
];

pub const TOOMANYCONN: &[&str] = &[
    "too many connections",
    "too many concurrent",
    "connection limit",
    "too many recipients", // Postfix 452/552 "Too many recipients" (sisimai: toomanyconn)
    "service refuse",      // Orange / La Poste "Service refuse"
    "connection frequency",
];

pub const BLOCKED: &[&str] = &[
    "blocked using",        // Postfix reject_rbl_client
    "client host rejected", // Postfix (blocked client)
    "listed in",            // "Your IP is listed in ..."
    "blacklisted",          // "IP address blacklisted by recipient"
    "blocklisted",
    "spamhaus",          // Spamhaus lookup URLs
    "banned sending ip", // Microsoft 5.7.606
    "access denied, banned",
    "not accepting connections",    // iCloud
    "unfortunately, messages from", // Outlook.com SC-00x
    "your ip",
    "ip address",
    "sending ip",
    "blocked ip",
    "rejected by this system",
    "(bl)",
    "invalid ip for sending", // Yahoo
    "network not allowed",
    "may not be mail exchanger", // Postfix client restriction
    "refused to talk to me",     // Postfix greeting 554/421
    "my name was rejected",      // qmail: the HELO name was refused
    "smtp server of your isp",   // Japanese ISPs (OP25B): dynamic clients must use their ISP's relay
    "dnsbl",
    "rbl",
];

pub const POLICYVIOLATION: &[&str] = &[
    "policy violation", // generic, Zoho 5.7.7
    "policy reasons",   // Yahoo 5.7.9, generic
    "denied by policy",
    "local policy",
    "violates our policy",
    "against our policy",
    "not accepted for policy",
];

pub const VIRUSDETECTED: &[&str] = &[
    "virus", // "virus detected", "infected with a virus"
    "malware",
    "security policies", // Mimecast "rejected due to security policies"
    "infected",
];

pub const SECURITYERROR: &[&str] = &[
    "unauthenticated senders not allowed",
    "access denied", // many
    "sender is not authorized",
    "starttls",
    "tls required",
];

pub const NOTACCEPT: &[&str] = &[
    "not accepting network messages", // RFC 3463 X.3.2 wording
    "null mx",                        // RFC 7505
    "does not accept mail",
    "doesn't receive email", // Gmail null MX
    "does not receive email",
    "indicated no smtp service", // Exim null MX / SRV
    "no mail service",
    "not accepting mail",
    "couldn't find a mail exchanger", // qmail
];

pub const NETWORKERROR: &[&str] = &[
    "name service error", // Postfix
    "dns error",          // Gmail
    "dns lookup",
    "network error", // OpenSMTPD
    "network is unreachable",
    "no route to host",
    "mail loops back", // Postfix routing loop
    "routing loop",
    "too many hops",
    "malformed or unexpected name server reply",
    "host name lookup failure", // Sendmail "Deferred: Name server: x.: host name lookup failure"
    "wasn't able to establish an smtp connection", // qmail (#4.4.1): no server answered
];

/// The note that retries ran out, appended to the last error (qmail "I'm not going to try
/// again; this message has been in the queue too long", Yahoo "... giving up"): `expired` only
/// when neither the error nor its status says more.
pub const GAVE_UP_PHRASES: &[&str] = &["in the queue too long", "giving up"];
pub static GAVE_UP: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::of(GAVE_UP_PHRASES));

/// A lookup that failed because the name does not exist (a host, not a network, problem).
pub static HOST_NOT_FOUND: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "host not found", // DragonFly "DNS lookup failure: host x not found"
        "host unknown",   // Sendmail
        "domain not found",
        "no such domain",
        "domain does not exist",
        "nxdomain", // Gmail "DNS Error: … responded with code NXDOMAIN"
    ])
});

pub const EXPIRED: &[&str] = &[
    "did not accept our requests to connect", // Gmail: connections refused until it gave up
    "has been delayed",                       // Gmail delay notices ("Delivery ... has been delayed")
    "will be retried for",
    "envelope expired",       // OpenSMTPD
    "message expired",        // Exchange 4.4.7 / 5.4.316
    "retry timeout exceeded", // Exim
    "retry time not reached",
    "have been failing for a long time", // Exim
    "could not be delivered within",
    "not delivered within", // au/EZweb "Your message was not delivered within 0 days and 1 hours"
    "delivery time expired",
    "attempts:", // "Delivery failed 20 attempts"
    "timed out", // connection timed out until expiry
    "timeout",
    "deferred", // Sendmail "Deferred: ..."
    "unable to establish an smtp connection",
    "host not reachable", // Zoho: its retries to an unreachable host ran out
    "try again later",
    "could not connect",
];

pub const SYSTEMFULL: &[&str] = &[
    "insufficient disk space", // Sendmail 452 4.4.5
    "insufficient system storage",
    "mail system full",
    "disk full",
    "out of disk space",
];

pub const SYSTEMERROR: &[&str] = &[
    "system error",
    "internal error",
    "server error",
    "temporary failure",
    "queue file write error", // Postfix
    "service currently unavailable",
    "service unavailable",
    "resources temporarily unavailable",
    "local error",
    "could not load",
    "error: queue",
];

pub const MAILERERROR: &[&str] = &[
    "procmail", // local delivery agents
    "maildrop",
    "mailer error",
    "command died with status", // Postfix pipe(8)
    "command output",
    "pipe to |",
    "x-unix;",
    "child status",
];

pub const SYNTAXERROR: &[&str] = &[
    "malformed address", // Exim "malformed address: <x> may not follow <y>"
    "syntax error",
    "command unrecognized",
    "command not recognized",
    "unrecognized command",
    "bad sequence of commands",
];

pub const CONTENTERROR: &[&str] = &[
    "content error",
    "invalid header",
    "header error",
    "illegal character",
    "media error", // RFC 3463 X.6.0 wording
];

/// A relay or server that wants the client to authenticate first: the refusal names relaying,
/// but the cause is the missing authentication (MessageLabs, Exchange).
pub const AUTH_REQUIRED: &[&str] = &[
    "turn on smtp authentication", // MessageLabs "Please turn on SMTP Authentication in your mail client"
    "authentication required",     // Exchange RESOLVER.RST.AuthRequired
    "authentication is required",
    "must be authenticated",
];

/// "User unknown" wordings that name a failed address lookup: certain, unless said after DATA
/// (plain "user unknown" at an unknown stage may be a filter speaking).
pub static USERUNKNOWN_CERTAIN: LazyLock<PhraseSet> = LazyLock::new(|| {
    PhraseSet::of(&[
        "possibly incorrect",
        "check if address is correct",
        "recipient name is not recognized", // Exchange 2003
        "recipient not found",              // Exchange RESOLVER.ADR.RecipientNotFound
        "recipientnotfound",
        "wasn't found at the destination", // Office 365
        "was not found at the destination",
        "unknown recipient", // Exchange
        "invalid recipient",
        "destinataire invalide", // La Poste
        "mailbox unavailable",   // Outlook.com 550 5.5.0
        "not found by smtp address lookup",
        "unknown user:",                  // IMail Server "Unknown user: x": its own directory lookup
        "address couldn't be found",      // Gmail "** Address not found **": its own reading of the reply
        "not listed in domino directory", // Lotus Domino: a directory lookup
        "not listed in public name & address book",
        "ディレクトリのリストにありません", // Lotus Notes (Japanese)
        "no valid recipients for this mm",  // Verizon MMS gateway
    ])
});

/// Words that name a refusal of the sender, its network or its message (rate limits, spam,
/// policy, reputation, block lists). Servers also answer such refusals with X.1.1 or "user
/// unknown" wording (a rate limit sent as 5.1.1, "mailbox unavailable" for a policy block), and
/// a hard `userunknown` would remove a subscriber whose mailbox exists: where these words are
/// in the recipient's own diagnostic, they decide. Tried in this order.
pub const NOT_THE_MAILBOX: &[Table] = &[
    table("speeding", "speeding", SPEEDING),
    table("spamdetected", "spamdetected", SPAMDETECTED),
    table("badreputation", "badreputation", BADREPUTATION),
    table("block_lists", "blocked", BLOCK_LISTS),
    table("policyviolation", "policyviolation", POLICYVIOLATION),
];

/// Block lists named by the refusal: a refusal of the client, never of the mailbox.
pub const BLOCK_LISTS: &[&str] = &[
    "blocked using", // Postfix reject_rbl_client: "blocked using zen.spamhaus.org" (smtpd_check.c)
    "blacklisted",   // many: "IP address blacklisted", "sender is blacklisted"
    "blocklisted",
    "block listed", // GMX "IP address is block listed" (postmaster.gmx.net)
    "dnsbl",
    "spamhaus",
    "banned sending ip", // Exchange Online 5.7.606-649 (NDR reference)
];

static NOT_THE_MAILBOX_PHRASES: LazyLock<(PhraseSet, Vec<(usize, &'static str)>)> =
    LazyLock::new(|| tagged(NOT_THE_MAILBOX));

/// The first [`NOT_THE_MAILBOX`] table with a phrase in the (lower-cased) text, and the phrase.
pub fn not_the_mailbox(lower: &str) -> Option<(&'static Table, &'static str)> {
    first_in(&NOT_THE_MAILBOX_PHRASES, NOT_THE_MAILBOX, lower)
}

/// Every phrase of some tables, in table order, tagged with its position in that order.
fn tagged(tables: &'static [Table]) -> (PhraseSet, Vec<(usize, &'static str)>) {
    let entries: Vec<(usize, &'static str)> =
        tables.iter().enumerate().flat_map(|(rank, t)| t.phrases.iter().map(move |p| (rank, *p))).collect();
    (PhraseSet::new(entries.iter().enumerate().map(|(tag, (_, p))| (*p, tag))), entries)
}

/// The first table (and its first phrase) of `tables` with a phrase in `lower`: the lowest tag.
fn first_in(
    set: &(PhraseSet, Vec<(usize, &'static str)>),
    tables: &'static [Table],
    lower: &str,
) -> Option<(&'static Table, &'static str)> {
    let (rank, phrase) = set.1.get(set.0.lowest_tag_in(lower)?)?;
    Some((&tables[*rank], phrase))
}

/// A phrase table: the reason its phrases name, and the name `reason_source` gives it.
pub struct Table {
    pub name: &'static str,
    pub reason: &'static str,
    pub phrases: &'static [&'static str],
}

const fn table(name: &'static str, reason: &'static str, phrases: &'static [&'static str]) -> Table {
    Table { name, reason, phrases }
}

/// The order in which the tables are tried: the first match decides.
pub const ORDER: &[Table] = &[
    table("mailboxfull", "mailboxfull", MAILBOXFULL),
    table("mesgtoobig", "mesgtoobig", MESGTOOBIG),
    table("exceedlimit", "exceedlimit", EXCEEDLIMIT),
    table("suspend", "suspend", SUSPEND),
    table("hasmoved", "hasmoved", HASMOVED),
    table("auth_required", "securityerror", AUTH_REQUIRED),
    table("norelaying", "norelaying", NORELAYING),
    table("authfailure", "authfailure", AUTHFAILURE),
    table("requireptr", "requireptr", REQUIREPTR),
    table("notcompliantrfc", "notcompliantrfc", NOTCOMPLIANTRFC),
    table("badreputation", "badreputation", BADREPUTATION),
    table("spamdetected", "spamdetected", SPAMDETECTED),
    table("speeding", "speeding", SPEEDING),
    table("toomanyconn", "toomanyconn", TOOMANYCONN),
    table("notaccept", "notaccept", NOTACCEPT),
    table("rejected", "rejected", REJECTED),
    // DNS lookup failures ("DNS Error: ... NXDOMAIN", "Name service error") are network errors
    // before they are unknown hosts: the lookup, not the answer, failed.
    table("networkerror", "networkerror", NETWORKERROR),
    table("hostunknown", "hostunknown", HOSTUNKNOWN),
    table("userunknown", "userunknown", USERUNKNOWN),
    table("filtered", "filtered", FILTERED),
    table("blocked", "blocked", BLOCKED),
    table("policyviolation", "policyviolation", POLICYVIOLATION),
    table("virusdetected", "virusdetected", VIRUSDETECTED),
    table("securityerror", "securityerror", SECURITYERROR),
    table("systemfull", "systemfull", SYSTEMFULL),
    table("expired", "expired", EXPIRED),
    table("mailererror", "mailererror", MAILERERROR),
    table("systemerror", "systemerror", SYSTEMERROR),
    table("syntaxerror", "syntaxerror", SYNTAXERROR),
    table("contenterror", "contenterror", CONTENTERROR),
];

/// Every phrase of [`ORDER`], in table order, tagged with its position in that order: the
/// lowest tag found is the first table's first phrase, and a text is read once, not once per
/// phrase (hundreds of searches, each a pass over the text).
static ORDER_PHRASES: LazyLock<(PhraseSet, Vec<(usize, &'static str)>)> = LazyLock::new(|| tagged(ORDER));

/// The table whose phrase the diagnostic text holds, and that phrase, if any (`lower` is the
/// lower-cased text): the first table in [`ORDER`] with a phrase in the text. The text is read
/// once, not once per phrase.
pub fn table_for_text(lower: &str) -> Option<(&'static Table, &'static str)> {
    first_in(&ORDER_PHRASES, ORDER, lower)
}

/// The reason the diagnostic text names, if any (see [`table_for_text`]).
#[cfg(test)]
pub fn reason_for_text(lower: &str) -> Option<&'static str> {
    table_for_text(lower).map(|(t, _)| t.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The meaning of the tables: the first table in ORDER with a phrase in the text.
    fn by_table_order(lower: &str) -> Option<&'static str> {
        ORDER.iter().find(|t| t.phrases.iter().any(|p| lower.contains(p))).map(|t| t.reason)
    }

    #[test]
    fn one_pass_answers_as_the_tables_read_in_order() {
        let phrases: Vec<&str> = ORDER.iter().flat_map(|t| t.phrases.iter().copied()).collect();
        let mut texts: Vec<String> = phrases.iter().map(|p| format!("550 5.0.0 <a@b.example>: {p} (x)")).collect();
        // Two phrases of different tables in one text, in both orders: the table order decides.
        for (i, a) in phrases.iter().enumerate().step_by(7) {
            let b = phrases[(i * 31 + 17) % phrases.len()];
            texts.push(format!("{a} ... {b}"));
            texts.push(format!("{b} ... {a}"));
        }
        texts.push("nothing to see here".into());
        texts.push(String::new());
        for t in &texts {
            assert_eq!(reason_for_text(t), by_table_order(t), "{t:?}");
        }
    }
}
