//! The signals: every fact about a report that says whether its original was ours. The weights
//! are the table below; `mod.rs` adds them up.

use std::net::IpAddr;
use std::sync::LazyLock;

use super::{Signal, SiteConfig};
use crate::Envelope;
use crate::batv::Outcome;
use crate::mime::Mail;
use crate::network::Network;
use crate::report::{Kind, Report};
use crate::srs::ReverseError;
use crate::tags;
use crate::text::{PhraseSet, host_in};

/// Words of advertising payloads (lower case), counted in the returned original and the text.
const MARKETING: &[&str] = &[
    "unsubscribe",
    "click here",
    "limited time",
    "act now",
    "special offer",
    "free gift",
    "buy now",
    "order now",
    "discount",
    "viagra",
    "cialis",
    "casino",
    "mortgage",
    "loan",
    "earn over",
    "per month",
    "wealthy",
    "work from home",
    "business opportunity",
    "lowest price",
    "100% free",
    "winner",
    "congratulations",
    "pharmacy",
    "replica",
    "weight loss",
    "$$$",
];

fn signal(name: &str, value: impl Into<String>, weight: i32) -> Signal {
    Signal { name: name.into(), value: value.into(), weight, spam: 0 }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

fn is_ours(domain: &str, site: &SiteConfig) -> bool {
    site.domains.iter().any(|o| host_in(domain, o))
}

/// `*` matches any run of characters in a host name pattern.
fn glob(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == h;
    }
    let mut rest = h.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// A relay pattern (host name with `*`, IP address, or CIDR range) against a host or IP token.
fn relay_matches(pattern: &str, token: &str) -> bool {
    if pattern.contains('/') {
        let (Some(net), Ok(ip)) = (Network::parse(pattern), token.parse::<IpAddr>()) else {
            return false;
        };
        return net.contains(ip);
    }
    glob(pattern, token)
}

/// Every `Received:` line quoted below the report's own headers: in the attached or inline
/// original, wherever it stands (SpamAssassin's VBounce looks there too).
fn quoted_received_lines(mail: &Mail<'_>, report: &Report) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    if let Some(o) = &report.original {
        for hop in &o.received {
            lines.push(
                [&hop.from_host, &hop.by_host, &hop.ip]
                    .iter()
                    .filter_map(|x| x.as_deref())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    // Text parts and returned messages only: attachments hold no Received lines.
    for leaf in
        mail.leaves.iter().filter(|l| l.text.is_some() || l.message.is_some() || l.content_type.starts_with("text/"))
    {
        let text = String::from_utf8_lossy(&leaf.bytes[..leaf.bytes.len().min(PAYLOAD_LIMIT)]);
        let mut current: Option<String> = None;
        for line in text.lines() {
            let t = line.trim_start_matches(['>', ' ']);
            if t.len() >= 9 && t.as_bytes()[..9].eq_ignore_ascii_case(b"received:") {
                if let Some(c) = current.take() {
                    lines.push(c);
                }
                current = Some(t.to_string());
            } else if let Some(c) = current.as_mut() {
                if line.starts_with([' ', '\t']) {
                    c.push(' ');
                    c.push_str(line.trim());
                } else {
                    lines.push(current.take().unwrap_or_default());
                }
            }
        }
        lines.extend(current);
    }
    lines
}

/// The advertising words and links the payload features count, in one pass each.
static MARKETING_SET: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::of(MARKETING));
static LINKS: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::of(&["http://", "https://"]));

fn tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))).filter(|t| !t.is_empty())
}

/// How much text the payload features read: advertising shows early, and the cost stays bounded.
const PAYLOAD_LIMIT: usize = 64 << 10;

/// How many different advertising words the text of the report and of the returned original
/// hold (bounded), read part by part without copying: no word spans two parts.
fn payload_ads(mail: &Mail<'_>) -> usize {
    let mut seen = Vec::new();
    let mut read = 0;
    for leaf in &mail.leaves {
        // A leaf is text or a returned message (whose text parts are read), never both.
        let nested = leaf.message.iter().flat_map(|m| m.leaves.iter().filter_map(|l| l.text.as_deref()));
        for t in leaf.text.as_deref().into_iter().chain(nested) {
            MARKETING_SET.add_tags_in(t, &mut seen);
            read += t.len();
        }
        read += 1;
        if read > PAYLOAD_LIMIT {
            break;
        }
    }
    seen.len()
}

pub fn collect(
    mail: &Mail<'_>,
    report: &Report,
    envelope: &Envelope,
    site: &SiteConfig,
    ring: Option<&crate::batv::KeyRing>,
    now: u64,
) -> Vec<Signal> {
    let mut out = Vec::new();
    // The envelope: a report comes from the null sender, to one recipient.
    let null_sender = envelope.mail_from.as_deref().is_some_and(|m| m.is_empty());
    out.push(signal("null_sender", null_sender.to_string(), 0));
    let daemon = envelope
        .mail_from
        .as_deref()
        .and_then(|m| m.rsplit_once('@'))
        .is_some_and(|(local, _)| ["mailer-daemon", "postmaster"].iter().any(|d| local.eq_ignore_ascii_case(d)));
    if daemon {
        out.push(signal("daemon_sender", envelope.mail_from.clone().unwrap_or_default(), 0));
    }
    if null_sender && envelope.rcpt_to.len() > 1 {
        out.push(signal("null_sender_to_several", envelope.rcpt_to.len().to_string(), -40));
    }
    for rcpt in &envelope.rcpt_to {
        if site.never_sending.iter().any(|n| n.eq_ignore_ascii_case(&tags::strip(rcpt))) {
            out.push(signal("never_sending_recipient", rcpt.clone(), -100));
        }
    }
    if let Some(mta) = &report.reporting_mta {
        if site.allow_reporting_mtas.iter().any(|p| glob(p, mta)) {
            out.push(signal("allowed_reporting_mta", mta.clone(), 100));
        }
    }
    // Our tags on the recipient: the one verifiable answer.
    for check in &report.rcpt_checks {
        if let Some(b) = &check.batv {
            let value =
                serde_json::to_value(b.result).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let weight = match b.result {
                Outcome::Valid => 100,
                Outcome::BadSignature | Outcome::Malformed => -100,
                // A tag that expired a few days ago is most likely a late genuine bounce.
                Outcome::Expired => -20,
                // Untagged: decisive only once the rollout enforces, and only for our domains.
                Outcome::Untagged if b.enforcing && is_ours(domain_of(&check.address), site) => -60,
                Outcome::Untagged => -5,
                Outcome::UnknownKey | Outcome::ForeignTag => 0,
            };
            out.push(signal("batv", value, weight));
        }
        if let Some(s) = &check.srs {
            let (value, weight) = match s.error {
                None => ("valid".to_string(), 100),
                Some(ReverseError::BadHash) | Some(ReverseError::Malformed) => (format!("{:?}", s.error), -60),
                Some(ReverseError::Expired) => ("expired".into(), -20),
                Some(e) => (format!("{e:?}"), 0),
            };
            out.push(signal("srs", value.to_ascii_lowercase(), weight));
        }
    }
    // The returned original.
    match &report.original {
        None if matches!(report.kind, Kind::Bounce | Kind::Delay) => out.push(signal("original", "missing", -5)),
        None => {}
        Some(o) => {
            out.push(signal("original", o.source.clone(), 0));
            if !site.domains.is_empty() {
                if let Some(id) = &o.message_id {
                    let ours = is_ours(domain_of(id), site);
                    out.push(signal(
                        "original_message_id",
                        if ours { "ours" } else { "foreign" },
                        if ours { 40 } else { -20 },
                    ));
                }
                let sender = o.return_path.as_deref().or(o.from.as_deref()).map(tags::strip);
                if let Some(sender) = sender.filter(|s| s.contains('@')) {
                    let ours = is_ours(domain_of(&sender), site);
                    out.push(signal(
                        "original_sender",
                        if ours { "ours" } else { "foreign" },
                        if ours { 10 } else { -40 },
                    ));
                }
            }
        }
    }
    // Our own BATV tag on the original's Return-Path: we signed that envelope (expired or not).
    if let (Some(ring), Some(rp)) = (ring, report.original.as_ref().and_then(|o| o.return_path.as_deref())) {
        let v = ring.verify(rp, now);
        match v.result {
            Outcome::Valid | Outcome::Expired => out.push(signal("original_return_path_tag", "ours", 60)),
            Outcome::BadSignature | Outcome::Malformed => out.push(signal("original_return_path_tag", "forged", -40)),
            _ => {}
        }
    }
    // Without our domains, the bounce's recipient should at least be the original's sender.
    if site.domains.is_empty() {
        if let (Some(o), Some(rcpt)) = (&report.original, envelope.rcpt_to.first()) {
            let sender = o.return_path.as_deref().or(o.from.as_deref()).map(tags::strip);
            if let Some(sender) = sender.filter(|s| s.contains('@')) {
                let same = sender.eq_ignore_ascii_case(&tags::strip(rcpt))
                    || domain_of(&sender).eq_ignore_ascii_case(domain_of(rcpt));
                out.push(signal("original_sender_is_recipient", same.to_string(), if same { 10 } else { -30 }));
            }
        }
    }
    if !site.relays.is_empty() {
        let lines = quoted_received_lines(mail, report);
        let hit = lines
            .iter()
            .find_map(|l| tokens(l).find(|t| site.relays.iter().any(|p| relay_matches(p, t))).map(str::to_string));
        match hit {
            Some(relay) => out.push(signal("original_via_our_relay", relay, 40)),
            None => out.push(signal("original_via_our_relay", "none", -40)),
        }
    }
    if report.format.as_deref() == Some("virus-notice") {
        out.push(signal("virus_notice", "true", -30));
    }
    // NDR spam: the report's own text is an advertisement (links, advertising words) and it has
    // none of a real MTA's fields. A real report that quotes a spam original is backscatter.
    let own = crate::formats::human::report_text(mail);
    let real_report =
        report.recipients.iter().any(|r| r.reply_code.is_some() || (r.status.is_some() && !r.pseudo_status));
    let structure = if report.format.as_deref() == Some("rfc3464") {
        "rfc3464"
    } else if real_report {
        "mta text with codes"
    } else {
        "no report fields"
    };
    out.push(signal("report_structure", structure, 0));
    let (own_links, own_ads) = (LINKS.count_in(own), MARKETING_SET.distinct_in(own));
    let mut payload = signal("payload", format!("report text: {own_links} links, {own_ads} advertising words"), 0);
    if !real_report && own_ads >= 2 {
        payload.spam = own_ads.min(4) as i32 + own_links.min(2) as i32;
    }
    out.push(payload);
    // Attachments in a "returned message" that never passed our relays: a payload, not our mail.
    let attachments = mail
        .leaves
        .iter()
        .filter_map(|l| l.message.as_deref())
        .flat_map(|m| m.leaves.iter())
        .filter(|l| {
            !l.content_type.starts_with("text/")
                && !l.content_type.starts_with("message/")
                && !l.content_type.starts_with("multipart/")
        })
        .count();
    let via_us = out.iter().any(|s| s.name == "original_via_our_relay" && s.weight > 0);
    if attachments > 0 && !via_us {
        let mut a = signal("original_attachments", attachments.to_string(), 0);
        a.spam = 1;
        out.push(a);
    }
    let quoted_ads = payload_ads(mail);
    if quoted_ads >= 2 {
        out.push(signal("original_is_advertising", format!("{quoted_ads} advertising words"), -20));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce_quoting(report_text: &str) -> String {
        format!(
            "From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; boundary=r\n\n\
             --r\nContent-Type: text/plain\n\n{report_text}\n\
             --r\nContent-Type: message/rfc822\n\n\
             Subject: hi\nContent-Type: multipart/alternative; boundary=a\n\n\
             --a\nContent-Type: text/plain\n\nClick here for a special offer\n\
             --a\nContent-Type: text/html\n\n<p>Cheap VIAGRA, click here</p>\n--a--\n--r--\n"
        )
    }

    #[test]
    fn advertising_words_are_counted_once_over_all_parts_within_the_limit() {
        let raw = bounce_quoting("Delivery failed.");
        let msg = crate::mime::parse(raw.as_bytes()).unwrap();
        let mail = crate::mime::view(&msg, &crate::Limits::default());
        // "click here" twice, "special offer" and "viagra" once, in two parts of the original.
        assert_eq!(payload_ads(&mail), 3);
        // Past the limit, later parts are not read.
        let raw = bounce_quoting(&"Delivery failed. ".repeat(PAYLOAD_LIMIT / 16));
        let msg = crate::mime::parse(raw.as_bytes()).unwrap();
        assert_eq!(payload_ads(&crate::mime::view(&msg, &crate::Limits::default())), 0);
    }

    #[test]
    fn relay_patterns() {
        assert!(relay_matches("smtp*.blackberry.com", "smtp3.blackberry.com"));
        assert!(relay_matches("*.tcsn.net", "mx.tcsn.net"));
        assert!(!relay_matches("*.tcsn.net", "tcsn.net.evil.example"));
        assert!(relay_matches("66.224.197.128/27", "66.224.197.156"));
        assert!(!relay_matches("66.224.197.128/27", "66.224.197.160"));
        assert!(relay_matches("2001:db8::/32", "2001:db8:1::5"));
        assert!(relay_matches("Soman.Fdntech.com", "soman.fdntech.com"));
    }
}
