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
    Signal { name: name.into(), value: value.into(), weight, spam: 0, observed: true }
}

/// A signal that had nothing to observe: it weighs nothing and says why.
fn unobserved(name: &str, why: impl Into<String>) -> Signal {
    Signal { name: name.into(), value: why.into(), weight: 0, spam: 0, observed: false }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d).trim_end_matches(['>', ' '])
}

fn is_ours(domain: &str, site: &SiteConfig) -> bool {
    site.domains.iter().any(|o| host_in(domain, o))
}

/// A Message-ID our side wrote: its right-hand side is one of our domains or one of our relays
/// (MTAs write their host name there when the client sent none).
fn id_is_ours(id: &str, site: &SiteConfig) -> bool {
    let host = domain_of(id);
    !host.is_empty() && (is_ours(host, site) || site.relays.iter().any(|p| !p.contains('/') && glob(p, host)))
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
    // An original pasted as a MIME part, its header block become the part's own headers.
    lines.extend(mail.part_received.iter().map(|raw| String::from_utf8_lossy(raw).into_owned()));
    // Text parts and returned messages (message/partial ones too, which are not parsed) only:
    // attachments hold no Received lines.
    for leaf in mail.leaves.iter().filter(|l| {
        l.text.is_some()
            || l.message.is_some()
            || l.content_type.starts_with("text/")
            || l.content_type.starts_with("message/")
    }) {
        received_fields_in(&leaf.bytes[..leaf.bytes.len().min(PAYLOAD_LIMIT)], &mut lines);
    }
    lines
}

/// The `Received:` fields in some bytes of text, each unfolded into one line: a line that starts
/// (after any `>` and spaces) with `Received:`, and the lines indented under it. Only those lines
/// are decoded (invalid UTF-8 replaced line by line, which replaces it as the whole text would:
/// no invalid sequence spans a line break); the rest of the text is skipped by a byte search.
fn received_fields_in(b: &[u8], lines: &mut Vec<String>) {
    // Where the lines that open a field start, in order: one look per line with an occurrence.
    let mut starts: Vec<usize> = Vec::new();
    let (mut from, mut last_line) = (0, None);
    for at in crate::text::find_ci_all(b, b"received:") {
        let line = memchr::memrchr(b'\n', &b[from..at]).map(|n| from + n + 1).or(last_line).unwrap_or(0);
        // A second occurrence on a line is not at its start.
        if last_line != Some(line) && b[line..at].iter().all(|c| matches!(c, b'>' | b' ')) {
            starts.push(line);
        }
        last_line = Some(line);
        from = at + 1;
    }
    // A line as `str::lines` gives it: without its `\n`, and without a `\r` before that.
    let line_at = |start: usize| -> (&[u8], usize) {
        match memchr::memchr(b'\n', &b[start..]) {
            Some(n) => {
                let line = &b[start..start + n];
                (line.strip_suffix(b"\r").unwrap_or(line), start + n + 1)
            }
            None => (&b[start..], b.len()),
        }
    };
    for (k, &start) in starts.iter().enumerate() {
        let next_field = starts.get(k + 1).copied().unwrap_or(usize::MAX);
        let (first, mut at) = line_at(start);
        let first = String::from_utf8_lossy(first);
        let mut field = first.trim_start_matches(['>', ' ']).to_string();
        while at < b.len() && at != next_field && matches!(b[at], b' ' | b'\t') {
            let (line, next) = line_at(at);
            field.push(' ');
            field.push_str(String::from_utf8_lossy(line).trim());
            at = next;
        }
        lines.push(field);
    }
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

/// What the evidence is read from.
pub struct Inputs<'a> {
    pub mail: &'a Mail<'a>,
    pub report: &'a Report,
    pub envelope: &'a Envelope,
    pub site: &'a SiteConfig,
    pub ring: Option<&'a crate::batv::KeyRing>,
    pub horizon_days: u32,
    pub now: u64,
}

/// Delivery status notifications go to the original's envelope sender (RFC 3464 §2, RFC 5321
/// §4.5.5). Replies (vacation notices, read receipts, challenges, feedback reports) are often
/// sent to the From: address instead, so what the envelope recipient lacks says less there.
fn is_dsn(kind: Kind) -> bool {
    matches!(kind, Kind::Bounce | Kind::Delay | Kind::Delivered)
}

pub fn collect(input: &Inputs<'_>) -> Vec<Signal> {
    let mut out = Vec::new();
    envelope_signals(input, &mut out);
    recipient_tag_signals(input, &mut out);
    // Only our relays and our key ring read the quoted Received lines: without either, the
    // report's text is not walked for them.
    let wanted = input.ring.is_some() || !input.site.relays.is_empty();
    let received = if wanted { quoted_received_lines(input.mail, input.report) } else { Vec::new() };
    if is_dsn(input.report.kind) {
        returned_original_signals(input, &mut out);
    }
    reference_signals(input, &mut out);
    report_tag_signals(input, &received, &mut out);
    relay_signals(input, &received, &mut out);
    payload_signals(input, &mut out);
    out
}

/// The envelope: a DSN comes from the null sender, to one recipient.
fn envelope_signals(input: &Inputs<'_>, out: &mut Vec<Signal>) {
    let (envelope, site) = (input.envelope, input.site);
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
    // A report goes back to one reverse-path: `<>` to several recipients is no report's envelope.
    if null_sender && envelope.rcpt_to.len() > 1 {
        out.push(signal("null_sender_to_several", envelope.rcpt_to.len().to_string(), -40));
    }
    for rcpt in &envelope.rcpt_to {
        if site.never_sending.iter().any(|n| n.eq_ignore_ascii_case(&tags::strip(rcpt))) {
            // A no-reply address is never an envelope sender, but it is the From: of our
            // notifications, which vacation responders answer.
            if is_dsn(input.report.kind) || input.report.kind == Kind::ChallengeResponse {
                out.push(signal("never_sending_recipient", rcpt.clone(), -100));
            } else {
                out.push(unobserved(
                    "never_sending_recipient",
                    format!("{rcpt}: replies answer From:, not the envelope"),
                ));
            }
        }
    }
    if let Some(mta) = &input.report.reporting_mta {
        if site.allow_reporting_mtas.iter().any(|p| glob(p, mta)) {
            out.push(signal("allowed_reporting_mta", mta.clone(), 100));
        }
    }
}

/// Where a BATV tag was found.
#[derive(Clone, Copy, PartialEq)]
enum TagPlace {
    /// The envelope recipient: the address the report is delivered to.
    Recipient,
    /// Quoted in the report (the original's Return-Path, a Received line): it could have been
    /// copied from a message of ours, so it weighs less either way.
    Quoted,
}

/// How a verified BATV tag weighs, wherever it was found.
fn tag_weight(v: &crate::batv::Verified, place: TagPlace, horizon_days: u32) -> (String, i32) {
    let recipient = place == TagPlace::Recipient;
    let days = v.days_past.unwrap_or(0);
    match v.result {
        Outcome::Valid => ("valid".into(), if recipient { 100 } else { 60 }),
        Outcome::BadSignature | Outcome::Malformed => (outcome_name(v.result), if recipient { -100 } else { -40 }),
        // We signed it; a bounce a few days late is plausible (senders retry for 4–5 days).
        Outcome::Expired if days <= horizon_days => (
            format!("expired {days} days ago, within the {horizon_days}-day bounce horizon"),
            if recipient { -20 } else { 0 },
        ),
        // No MTA retries that long: an old tag of ours replayed.
        Outcome::Expired => (format!("expired {days} days ago, past the {horizon_days}-day bounce horizon"), -100),
        _ => (outcome_name(v.result), 0),
    }
}

fn outcome_name(o: Outcome) -> String {
    serde_json::to_value(o).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Our tags on the envelope recipients: the one verifiable answer.
fn recipient_tag_signals(input: &Inputs<'_>, out: &mut Vec<Signal>) {
    let report = input.report;
    for check in &report.rcpt_checks {
        if let Some(b) = &check.batv {
            if b.result == Outcome::Untagged {
                out.push(untagged_signal(input, &check.address, b.enforcing));
            } else {
                let (value, weight) = tag_weight(b, TagPlace::Recipient, input.horizon_days);
                out.push(if weight == 0 && b.result != Outcome::Expired {
                    unobserved("batv", value)
                } else {
                    signal("batv", value, weight)
                });
            }
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
}

/// A bounce to an untagged address counts against only where a tag was certain: the rollout
/// enforces, the address is ours, the report is a DSN (sent to the envelope sender), and the
/// failed recipient is not a destination we send to untagged.
fn untagged_signal(input: &Inputs<'_>, address: &str, enforcing: bool) -> Signal {
    let report = input.report;
    let exempt = input.ring.is_some_and(|ring| {
        report.recipients.iter().filter_map(|r| r.address.as_deref()).any(|a| ring.is_exempt(a))
            || report.original.iter().flat_map(|o| o.to.iter()).any(|a| ring.is_exempt(a))
    });
    let why = if !enforcing {
        "untagged, during the rollout's observe period"
    } else if !is_ours(domain_of(address), input.site) {
        "untagged, and not an address of our domains"
    } else if !is_dsn(report.kind) {
        "untagged, but replies answer From:, which carries no tag"
    } else if exempt {
        "untagged, and the failed recipient is an exempt destination"
    } else {
        return signal("batv", "untagged, where every bounce of our mail carries a tag", -60);
    };
    unobserved("batv", why)
}

/// The returned original of a DSN: its Message-ID and sender.
fn returned_original_signals(input: &Inputs<'_>, out: &mut Vec<Signal>) {
    let (report, site, envelope) = (input.report, input.site, input.envelope);
    let Some(o) = &report.original else {
        out.push(unobserved("original", "none returned (RFC 3464 makes it optional)"));
        return;
    };
    out.push(signal("original", o.source.clone(), 0));
    // Forwarders rewrite the envelope sender (SRS): the sender behind it is what counts.
    let return_path = o.return_path.as_deref().map(tags::sender_behind).filter(|s| s.contains('@'));
    let from = o.from.as_deref().map(tags::strip).filter(|s| s.contains('@'));
    if !site.domains.is_empty() {
        // The envelope sender says more than From: (lists and forwarders keep a foreign From:).
        match (&return_path, &from) {
            (Some(rp), _) if is_ours(domain_of(rp), site) => out.push(signal("original_sender", "ours", 10)),
            (Some(rp), _) => out.push(signal("original_sender", format!("foreign Return-Path {rp}"), -40)),
            (None, Some(f)) if is_ours(domain_of(f), site) => out.push(signal("original_sender", "ours", 10)),
            (None, Some(f)) => out.push(signal("original_sender", format!("foreign From: {f}"), -10)),
            (None, None) => out.push(unobserved("original_sender", "the original names no sender")),
        }
    } else if let Some(rcpt) = envelope.rcpt_to.first() {
        // Without our domains, the bounce's recipient should at least be the original's sender.
        let rcpt = tags::strip(rcpt);
        let same = |s: &str| s.eq_ignore_ascii_case(&rcpt) || domain_of(s).eq_ignore_ascii_case(domain_of(&rcpt));
        match (&return_path, &from) {
            (Some(rp), _) => {
                let ok = same(rp);
                out.push(signal("original_sender_is_recipient", ok.to_string(), if ok { 10 } else { -20 }));
            }
            (None, Some(f)) => {
                let ok = same(f);
                out.push(signal("original_sender_is_recipient", ok.to_string(), if ok { 10 } else { -10 }));
            }
            (None, None) => {}
        }
    }
}

/// The Message-IDs a report refers to: the returned original's, `In-Reply-To` and `References`
/// (RFC 3834 §3.1.5 asks responders to set them), an MDN's `Original-Message-ID` (RFC 8098),
/// and a reply's quoted `Message-ID:` lines.
fn referenced_ids(mail: &Mail<'_>, report: &Report) -> Vec<String> {
    let mut ids: Vec<String> = report.original.iter().filter_map(|o| o.message_id.clone()).collect();
    let mut add = |value: &str| {
        for id in value.split(|c: char| c.is_whitespace() || c == ',').map(|t| t.trim_matches(['<', '>', ' '])) {
            if id.contains('@') && !ids.iter().any(|x| x.eq_ignore_ascii_case(id)) {
                ids.push(id.to_string());
            }
        }
    };
    for name in ["in-reply-to", "references"] {
        for v in mail.header_values(name) {
            add(v);
        }
    }
    for leaf in mail.leaves.iter().filter(|l| l.content_type.ends_with("disposition-notification")) {
        let text = String::from_utf8_lossy(leaf.bytes);
        for (k, v) in crate::text::field_blocks(&text).into_iter().flatten() {
            if k == "original-message-id" {
                add(&v);
            }
        }
    }
    // A reply that quotes the message it answers (challenges, some responders) names it there;
    // a DSN's pasted original is the original finder's.
    if !is_dsn(report.kind) {
        for text in mail.text_parts().filter_map(|l| l.text.as_deref()) {
            for line in text.lines().map(|l| l.trim_start_matches(['>', ' '])) {
                if line.get(..11).is_some_and(|h| h.eq_ignore_ascii_case("message-id:")) {
                    add(&line[11..]);
                }
            }
        }
    }
    ids
}

/// Our Message-ID in what the report refers to says the message was ours; only foreign ones
/// say, weakly, that it was not (responders answer forwards and list mail too).
fn reference_signals(input: &Inputs<'_>, out: &mut Vec<Signal>) {
    let site = input.site;
    if site.domains.is_empty() && site.relays.is_empty() {
        return;
    }
    let ids = referenced_ids(input.mail, input.report);
    let name = "message_id";
    if ids.is_empty() {
        out.push(unobserved(name, "the report refers to no Message-ID"));
    } else if let Some(id) = ids.iter().find(|id| id_is_ours(id, site)) {
        out.push(signal(name, format!("ours: {id}"), 40));
    } else {
        // A returned original that is not ours weighs more than a reply's reference.
        let weight = if is_dsn(input.report.kind) && input.report.original.is_some() { -20 } else { -10 };
        out.push(signal(name, format!("foreign: {}", ids[0]), weight));
    }
}

/// BATV tags quoted in the report: the original's Return-Path and the `envelope-from` or `for`
/// of its Received lines. Each is verified before it counts; a copy of the envelope recipient's
/// tag is no second piece of evidence.
fn report_tag_signals(input: &Inputs<'_>, received: &[String], out: &mut Vec<Signal>) {
    let Some(ring) = input.ring else { return };
    let site = input.site;
    let sender = input.report.original.as_ref().and_then(|o| o.return_path.as_deref());
    // A recipient's tag in another domain is that domain's, not ours to verify.
    let quoted = received
        .iter()
        .flat_map(|line| tokens_with_prvs(line))
        .filter(|token| site.domains.is_empty() || is_ours(domain_of(token), site));
    // Each tag once, however often the report quotes it.
    let mut seen: Vec<&str> = Vec::new();
    for address in sender.into_iter().chain(quoted) {
        let tagged = matches!(tags::classify(address), tags::Tag::Prvs { .. } | tags::Tag::MalformedPrvs);
        if !tagged || seen.iter().any(|s| s.eq_ignore_ascii_case(address)) {
            continue;
        }
        seen.push(address);
        let name = "quoted_tag";
        if input.envelope.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)) {
            out.push(unobserved(
                name,
                format!("{address}: the envelope recipient's own tag, not independent evidence"),
            ));
        } else {
            let v = ring.verify_at_site(address, Some(site), input.now);
            let (value, weight) = tag_weight(&v, TagPlace::Quoted, input.horizon_days);
            out.push(signal(name, format!("{address}: {value}"), weight));
        }
    }
}

/// `prvs=` addresses in a Received line.
fn tokens_with_prvs(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ';' | '(' | ')' | ','))
        .filter(|t| t.len() > 5 && t.as_bytes()[..5].eq_ignore_ascii_case(b"prvs=") && t.contains('@'))
}

/// Our relays in the Received lines quoted in the report.
fn relay_signals(input: &Inputs<'_>, received: &[String], out: &mut Vec<Signal>) {
    let site = input.site;
    if site.relays.is_empty() {
        return;
    }
    let name = "original_via_our_relay";
    if received.is_empty() {
        out.push(unobserved(name, "no Received line quoted"));
        return;
    }
    let hit = received
        .iter()
        .find_map(|l| tokens(l).find(|t| site.relays.iter().any(|p| relay_matches(p, t))).map(str::to_string));
    match hit {
        Some(relay) => out.push(signal(name, relay, 40)),
        None => out.push(signal(name, format!("none of {} quoted Received lines", received.len()), -40)),
    }
}

/// What the report carries besides its report: advertising, links, attachments.
fn payload_signals(input: &Inputs<'_>, out: &mut Vec<Signal>) {
    let (mail, report) = (input.mail, input.report);
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
        // Weak: our own newsletters bounce too.
        out.push(signal("original_is_advertising", format!("{quoted_ads} advertising words"), -20));
    }
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

    /// The reading [`received_fields_in`] replaces: the whole text decoded, then every line.
    fn received_fields_line_by_line(b: &[u8]) -> Vec<String> {
        let (text, mut lines, mut current) = (String::from_utf8_lossy(b), Vec::new(), None::<String>);
        for line in text.lines() {
            let t = line.trim_start_matches(['>', ' ']);
            if t.len() >= 9 && t.as_bytes()[..9].eq_ignore_ascii_case(b"received:") {
                lines.extend(current.take());
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
        lines
    }

    #[test]
    fn received_fields_are_read_as_a_line_by_line_reading_reads_them() {
        let check = |b: &[u8]| {
            let mut fast = Vec::new();
            received_fields_in(b, &mut fast);
            assert_eq!(fast, received_fields_line_by_line(b), "{:?}", String::from_utf8_lossy(b));
        };
        // Small texts from an alphabet of the bytes that matter, folded lines and bad UTF-8.
        let pieces: [&[u8]; 12] = [
            b"Received:",
            b"rEcEiVeD: ",
            b"\n",
            b"\r\n",
            b" ",
            b"\t",
            b">",
            b"x",
            b"\xe2\x82",
            b"\xff",
            b"\r",
            b"\xc3\xa9",
        ];
        let mut seed = 11u32;
        for len in 0..3000 {
            let text: Vec<u8> = (0..len % 23)
                .flat_map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    pieces[(seed >> 16) as usize % pieces.len()].iter().copied()
                })
                .collect();
            check(&text);
        }
        // Every file of the corpus, read whole.
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
        let mut folders = vec![corpus];
        while let Some(dir) = folders.pop() {
            for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
                if path.is_dir() {
                    folders.push(path);
                } else {
                    check(&std::fs::read(&path).unwrap());
                }
            }
        }
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
