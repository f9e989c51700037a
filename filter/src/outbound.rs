//! The sending side: should an MTA that failed to deliver a message send a bounce, and the
//! bounce itself. Following RFC 5321 (§4.5.5, §6.1, §6.2) and RFC 3834, this is how a site stops
//! being a source of backscatter: no bounce to the null sender or about a report, none for spam
//! or viruses, and the full original only to senders it has verified.

use serde::{Deserialize, Serialize};

use crate::{Config, Envelope, Kind};

/// What the host knows about the failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SendContext {
    /// The DSN `NOTIFY` parameters of the failed recipients (`NEVER`, `FAILURE`, ...).
    pub notify: Vec<String>,
    /// The DSN `RET` parameter: `FULL` or `HDRS`.
    pub ret: Option<String>,
    /// The SPF result for the envelope sender (`pass`, `fail`, `softfail`, `none`, ...).
    pub spf: Option<String>,
    /// A valid DKIM signature aligned with the envelope sender's domain.
    pub dkim_aligned: bool,
    /// The message was submitted by an authenticated user of ours.
    pub authenticated: bool,
    /// The host's spam and virus verdicts for the message.
    pub spam: bool,
    pub virus: bool,
}

/// One recipient that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FailedRecipient {
    pub address: String,
    /// RFC 3463 status, e.g. `5.1.1`.
    pub status: String,
    /// `failed` (default) or `delayed`.
    pub action: Option<String>,
    pub remote_mta: Option<String>,
    /// The remote server's reply, e.g. `550 5.1.1 <x@y>: user unknown`.
    pub diagnostic: Option<String>,
}

/// The failure to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Failure {
    pub recipients: Vec<FailedRecipient>,
    /// Our MTA's host name, for `Reporting-MTA` and the bounce's From and Message-ID.
    pub reporting_mta: String,
    /// When we received the message (Unix seconds).
    pub arrival: Option<u64>,
}

/// What to do instead of (or how to) bounce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceDecision {
    Send,
    SendHeadersOnly,
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShouldBounce {
    pub decision: BounceDecision,
    /// Why: `null_sender`, `report_or_auto_reply`, `notify_never`, `spam_or_virus`,
    /// `sender_verified`, `sender_unverified`, `headers_requested`.
    pub reason: String,
}

/// Decide whether to bounce `raw` (the failed message) back to its envelope sender.
pub fn should_bounce(
    raw: &[u8],
    envelope: &Envelope,
    context: &SendContext,
    config: &Config,
    now: u64,
) -> ShouldBounce {
    let answer = |decision, reason: &str| ShouldBounce { decision, reason: reason.into() };
    let sender = envelope.mail_from.as_deref().unwrap_or("").trim_matches(['<', '>']);
    if sender.is_empty() {
        return answer(BounceDecision::Drop, "null_sender"); // RFC 5321 §4.5.5, §6.1
    }
    let report = crate::classify(raw, Some(envelope), config, now);
    if report.kind != Kind::Normal {
        return answer(BounceDecision::Drop, "report_or_auto_reply"); // never a bounce about a report
    }
    if context.notify.iter().any(|n| n.eq_ignore_ascii_case("never")) {
        return answer(BounceDecision::Drop, "notify_never"); // RFC 3461
    }
    if context.spam || context.virus {
        return answer(BounceDecision::Drop, "spam_or_virus"); // its sender is most likely forged
    }
    let verified = context.authenticated
        || context.dkim_aligned
        || context.spf.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("pass"));
    if !verified {
        return answer(BounceDecision::SendHeadersOnly, "sender_unverified");
    }
    if context.ret.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("hdrs")) {
        return answer(BounceDecision::SendHeadersOnly, "headers_requested");
    }
    answer(BounceDecision::Send, "sender_verified")
}

/// A bounce ready to send: its envelope and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dsn {
    /// Always the null sender.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub message: String,
}

/// Build an RFC 3464 `multipart/report` about `raw` for its envelope sender. The original's
/// headers are returned (`text/rfc822-headers`) unless `full` asks for the whole message.
/// Deterministic: the same input gives the same bytes.
pub fn build_dsn(raw: &[u8], envelope: &Envelope, failure: &Failure, full: bool, now: u64) -> Result<Dsn, String> {
    let sender = envelope.mail_from.as_deref().unwrap_or("").trim_matches(['<', '>']).to_string();
    if sender.is_empty() {
        return Err("a bounce is never sent to the null sender".into());
    }
    if failure.recipients.is_empty() {
        return Err("no failed recipient to report".into());
    }
    let mta = if failure.reporting_mta.is_empty() { "localhost" } else { failure.reporting_mta.as_str() };
    let tag = fnv(raw, now);
    let boundary = format!("{tag:016x}.{now}/{mta}");
    let headers_end = find_headers_end(raw);
    let original_headers = String::from_utf8_lossy(&raw[..headers_end]);
    let mut m = String::new();
    m.push_str(&format!("From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\n"));
    m.push_str(&format!("To: <{sender}>\r\n"));
    let delayed = failure.recipients.iter().all(|r| r.action.as_deref() == Some("delayed"));
    m.push_str(if delayed {
        "Subject: Delayed Mail (still being retried)\r\n"
    } else {
        "Subject: Undelivered Mail Returned to Sender\r\n"
    });
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(now)));
    m.push_str(&format!("Message-ID: <{tag:016x}.{now}@{mta}>\r\n"));
    m.push_str("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str("This is a MIME-encapsulated message.\r\n\r\n");
    m.push_str(&format!("--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"));
    m.push_str(&format!("This is the mail system at host {mta}.\r\n\r\n"));
    m.push_str("Your message could not be delivered to one or more recipients:\r\n\r\n");
    for r in &failure.recipients {
        m.push_str(&format!("<{}>: {}\r\n", r.address, r.diagnostic.as_deref().unwrap_or(&r.status)));
    }
    m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"));
    m.push_str(&format!("Reporting-MTA: dns; {mta}\r\n"));
    if let Some(arrival) = failure.arrival {
        m.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(arrival)));
    }
    for r in &failure.recipients {
        m.push_str(&format!("\r\nFinal-Recipient: rfc822; {}\r\n", r.address));
        m.push_str(&format!("Action: {}\r\n", r.action.as_deref().unwrap_or("failed")));
        m.push_str(&format!("Status: {}\r\n", r.status));
        if let Some(remote) = &r.remote_mta {
            m.push_str(&format!("Remote-MTA: dns; {remote}\r\n"));
        }
        if let Some(d) = &r.diagnostic {
            m.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", d.replace(['\r', '\n'], " ")));
        }
    }
    if full {
        m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"));
        m.push_str(&String::from_utf8_lossy(raw));
    } else {
        m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"));
        m.push_str(&original_headers);
    }
    m.push_str(&format!("\r\n--{boundary}--\r\n"));
    Ok(Dsn { mail_from: String::new(), rcpt_to: vec![sender], message: m })
}

/// End of the header block (after the blank line), or the whole message.
fn find_headers_end(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    }
}

/// FNV-1a over the message and the time: a stable, unique-enough tag for Message-ID and boundary.
fn fnv(raw: &[u8], now: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw.iter().chain(now.to_le_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `Tue, 24 Nov 2026 10:00:00 +0000` (days-to-civil after Howard Hinnant).
fn rfc5322_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Return-Path: <alice@example.com>\nFrom: Alice <alice@example.com>\nTo: bob@remote.example\nSubject: hi\nMessage-ID: <m1@example.com>\n\nHello Bob.\n";

    fn env(from: &str) -> Envelope {
        Envelope { mail_from: Some(from.into()), rcpt_to: vec!["bob@remote.example".into()], ..Default::default() }
    }

    fn decide(raw: &[u8], from: &str, ctx: SendContext) -> (BounceDecision, String) {
        let r = should_bounce(raw, &env(from), &ctx, &Config::default(), 1_795_478_400);
        (r.decision, r.reason)
    }

    #[test]
    fn should_bounce_case_by_case() {
        let verified = SendContext { spf: Some("pass".into()), ..Default::default() };
        assert_eq!(decide(MSG, "", verified.clone()), (BounceDecision::Drop, "null_sender".into()));
        assert_eq!(decide(MSG, "<>", verified.clone()), (BounceDecision::Drop, "null_sender".into()));
        let dsn = build_dsn(MSG, &env("alice@example.com"), &failure(), false, 1_795_478_400).unwrap();
        assert_eq!(decide(dsn.message.as_bytes(), "x@example.org", verified.clone()).0, BounceDecision::Drop);
        let auto = b"From: a@example.org\nAuto-Submitted: auto-replied\nSubject: Out of office\n\naway\n";
        assert_eq!(
            decide(auto, "a@example.org", verified.clone()),
            (BounceDecision::Drop, "report_or_auto_reply".into())
        );
        let never = SendContext { notify: vec!["NEVER".into()], ..verified.clone() };
        assert_eq!(decide(MSG, "alice@example.com", never).1, "notify_never");
        let spam = SendContext { spam: true, ..verified.clone() };
        assert_eq!(decide(MSG, "alice@example.com", spam), (BounceDecision::Drop, "spam_or_virus".into()));
        let virus = SendContext { virus: true, authenticated: true, ..Default::default() };
        assert_eq!(decide(MSG, "alice@example.com", virus).0, BounceDecision::Drop);
        assert_eq!(
            decide(MSG, "alice@example.com", SendContext::default()),
            (BounceDecision::SendHeadersOnly, "sender_unverified".into())
        );
        assert_eq!(
            decide(MSG, "alice@example.com", SendContext { spf: Some("softfail".into()), ..Default::default() }).0,
            BounceDecision::SendHeadersOnly
        );
        assert_eq!(
            decide(MSG, "alice@example.com", verified.clone()),
            (BounceDecision::Send, "sender_verified".into())
        );
        assert_eq!(
            decide(MSG, "alice@example.com", SendContext { dkim_aligned: true, ..Default::default() }).0,
            BounceDecision::Send
        );
        assert_eq!(
            decide(
                MSG,
                "alice@example.com",
                SendContext { authenticated: true, ret: Some("HDRS".into()), ..Default::default() }
            )
            .0,
            BounceDecision::SendHeadersOnly
        );
    }

    fn failure() -> Failure {
        Failure {
            recipients: vec![
                FailedRecipient {
                    address: "bob@remote.example".into(),
                    status: "5.1.1".into(),
                    remote_mta: Some("mx.remote.example".into()),
                    diagnostic: Some("550 5.1.1 <bob@remote.example>: user unknown".into()),
                    action: None,
                },
                FailedRecipient {
                    address: "carol@remote.example".into(),
                    status: "4.2.2".into(),
                    diagnostic: Some("452 4.2.2 mailbox full".into()),
                    ..Default::default()
                },
            ],
            reporting_mta: "mx1.example.com".into(),
            arrival: Some(1_795_478_000),
        }
    }

    #[test]
    fn a_built_dsn_parses_back_to_the_same_recipients() {
        let dsn = build_dsn(MSG, &env("alice@example.com"), &failure(), false, 1_795_478_400).unwrap();
        assert_eq!((dsn.mail_from.as_str(), dsn.rcpt_to.as_slice()), ("", &["alice@example.com".to_string()][..]));
        assert!(dsn.message.contains("Auto-Submitted: auto-replied"));
        assert!(dsn.message.contains("Content-Type: text/rfc822-headers") && !dsn.message.contains("Hello Bob"));
        assert!(dsn.message.contains("Date: Tue, 24 Nov 2026 "));
        let report = crate::classify(dsn.message.as_bytes(), None, &Config::default(), 0);
        assert_eq!(report.kind, Kind::Bounce);
        let got: Vec<(Option<&str>, Option<&str>)> =
            report.recipients.iter().map(|r| (r.address.as_deref(), r.status.as_deref())).collect();
        assert_eq!(
            got,
            vec![(Some("bob@remote.example"), Some("5.1.1")), (Some("carol@remote.example"), Some("4.2.2"))]
        );
        assert_eq!(report.recipients[0].reason, "userunknown");
        assert_eq!(report.original.as_ref().and_then(|o| o.message_id.as_deref()), Some("m1@example.com"));
        let full = build_dsn(MSG, &env("alice@example.com"), &failure(), true, 1_795_478_400).unwrap();
        assert!(full.message.contains("Content-Type: message/rfc822") && full.message.contains("Hello Bob"));
        assert_eq!(
            build_dsn(MSG, &env("alice@example.com"), &failure(), false, 1_795_478_400).unwrap(),
            dsn,
            "deterministic"
        );
        assert!(build_dsn(MSG, &env(""), &failure(), false, 0).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_795_478_400), "Tue, 24 Nov 2026 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
