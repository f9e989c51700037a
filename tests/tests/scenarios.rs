//! The two suites that decide whether the verdict is safe: what a real site receives every day
//! about mail it really sent (the legitimacy suite: nothing may be rejected, dropped or
//! quarantined), and the same reports about mail that forged its address (the backscatter suite:
//! caught wherever the report carries evidence, and every pass explained as carrying none).
//!
//! Built from the real bounces of the corpus and from replies written here. A bounce becomes a
//! report of our mail by giving its returned original our Message-ID, our user as sender and a
//! Received line from our relay; each such base is then varied the way real MTAs return
//! originals (intact, headers only, re-encoded in base64, absent) and judged with BATV on and
//! off. The corpus bounce as it stands is backscatter: its original is someone else's mail.

use std::collections::BTreeMap;

use ndr_filter::batv::{BatvConfig, KeyRing};
use ndr_filter::verdict::Action;
use ndr_filter::{Config, Envelope, Kind, Report};
use ndr_tests::{corpus, files_under};
use serde_json::{Value, json};

const NOW: u64 = 1_795_478_400; // long after the keys started signing: BATV enforces
const DAY: u64 = 86_400;
const USER: &str = "alice@ours.example";
const RELAY: &str = "relay1.ours.example";
const OUR_ID: &str = "20261120.4711.alice@ours.example";
const SPAM_ID: &str = "x9f3.20261120@bulk-4711.dsl.example.net";

/// The site: BATV on or off, relays listed or not, and the policy under test.
fn config(batv: bool, relays: &[&str], policy: &Value) -> Config {
    let mut c = json!({"site": {"domains": ["ours.example"], "relays": relays, "never_sending": ["no-reply@ours.example"]}, "policy": policy});
    if batv {
        c["batv"] = batv_config();
    }
    serde_json::from_value(c).unwrap()
}

fn batv_config() -> Value {
    json!({"keys": [{"digit": 3, "secret": "scenario-key", "sign_from": 1_700_000_000u64}]})
}

fn ring() -> KeyRing {
    KeyRing::new(&serde_json::from_value::<BatvConfig>(batv_config()).unwrap()).unwrap()
}

/// The two policies every case is judged under: the defaults, and an enforcing site that
/// rejects every backscatter verdict.
fn policies() -> [(&'static str, Value); 2] {
    [
        ("default", json!({})),
        ("enforce, reject all", json!({"mode": "enforce", "backscatter": "reject", "ndr_spam": "reject"})),
    ]
}

fn envelope(rcpt: &str) -> Envelope {
    Envelope { mail_from: Some(String::new()), rcpt_to: vec![rcpt.to_string()], ..Default::default() }
}

// ---------------------------------------------------------------------------------------------
// Turning real bounces into reports of our mail, and varying how the original comes back.

/// Make a real bounce into a bounce of our mail: the original's Message-ID at our domain, our
/// user as its sender, and a Received line from our relay at the top of its headers.
fn ours(raw: &str, report: &Report) -> Option<String> {
    let original = report.original.as_ref()?;
    let id = original.message_id.as_deref()?;
    let (_, domain) = id.rsplit_once('@')?;
    raw.find(id)?;
    let received = format!("Received: from {RELAY} ({RELAY} [198.51.100.7]) by mx.remote.example with ESMTPS;\n");
    // Every copy of the original's header block (some reports return it twice) gets our hop.
    let mut out = String::with_capacity(raw.len() + 2 * received.len());
    for line in raw.split_inclusive('\n') {
        let t = line.trim_start_matches(['>', ' ']);
        if t.get(..11).is_some_and(|h| h.eq_ignore_ascii_case("message-id:")) && line.contains(id) {
            out.push_str(&received);
        }
        out.push_str(line);
    }
    let mut out = out.replace(&format!("@{domain}>"), "@ours.example>");
    for sender in [&original.from, &original.return_path].into_iter().flatten() {
        if sender.contains('@') {
            out = out.replace(sender.as_str(), USER);
        }
    }
    Some(out)
}

/// The attached original's part: where its body starts and ends (the next boundary line).
fn attached_original(raw: &str) -> Option<(usize, usize, usize)> {
    let ct = raw.to_ascii_lowercase().find("content-type: message/rfc822")?;
    let body_start = ct + raw[ct..].find("\n\n")? + 2;
    let end = body_start + raw[body_start..].find("\n--")?;
    Some((ct, body_start, end))
}

/// The original re-encoded by the bouncing MTA: the `message/rfc822` part sent as base64.
fn reencoded(raw: &str) -> Option<String> {
    let (_, body_start, end) = attached_original(raw)?;
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&raw.as_bytes()[body_start..end]);
    let lines: Vec<String> = encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let header_end = body_start - 1;
    Some(format!("{}Content-Transfer-Encoding: base64\n\n{}\n{}", &raw[..header_end], lines.join("\n"), &raw[end..]))
}

/// Headers only (`RET=HDRS`, or an MTA that never returns bodies): `text/rfc822-headers`.
fn headers_only(raw: &str) -> Option<String> {
    let (ct, body_start, end) = attached_original(raw)?;
    let body = &raw[body_start..end];
    let head_end = body.find("\n\n").map_or(body.len(), |p| p + 1);
    Some(format!("{}Content-Type: text/rfc822-headers\n\n{}{}", &raw[..ct], &body[..head_end], &raw[end..]))
}

/// No original at all (RFC 3464 makes it optional): the part is left out.
fn without_original(raw: &str) -> Option<String> {
    let (ct, _, end) = attached_original(raw)?;
    let part_start = raw[..ct].rfind("\n--")? + 1;
    Some(format!("{}{}", &raw[..part_start], &raw[end + 1..]))
}

/// An advertisement in place of the returned original, sent through a botnet host.
fn advertisement_original(raw: &str) -> Option<String> {
    let (_, body_start, end) = attached_original(raw)?;
    let ad = format!(
        "Received: from bulk-4711.dsl.example.net ([203.0.113.47]) by mx.remote.example with SMTP;\n\
         Message-ID: <{SPAM_ID}>\nFrom: Best Deals <{USER}>\nSubject: Special offer for you\n\
         Content-Type: text/plain\n\nSPECIAL OFFER! Buy now at the lowest price: http://deals.example.net/\n\
         Limited time only, click here, 100% free shipping. Unsubscribe: http://deals.example.net/u\n"
    );
    Some(format!("{}{ad}{}", &raw[..body_start], &raw[end..]))
}

// ---------------------------------------------------------------------------------------------
// Replies written here, in the layouts real responders use.

/// Headers and a body quoting the message being answered, when it is quoted at all.
fn quoted(received_from: &str, id: &str) -> String {
    format!(
        "\n-----Original Message-----\nReceived: from {received_from} ({received_from} [198.51.100.7])\n\
         \tby mx.remote.example with ESMTPS id 4711; Fri, 20 Nov 2026 10:00:00 +0000\n\
         Message-ID: <{id}>\nFrom: Alice <{USER}>\nTo: Bob <bob@remote.example>\nSubject: Quarterly figures\n\n\
         > Here are the figures you asked for.\n"
    )
}

/// Automatic replies in the layouts of eight responders. `refs`: the Message-ID answered, put
/// where the responder puts it (one of them never sets it); `quote`: the answered message's
/// quoted headers, for responders that quote.
fn auto_replies(refs: Option<&str>, quote: &str) -> Vec<(&'static str, String)> {
    let irt = |id: Option<&str>| id.map(|i| format!("In-Reply-To: <{i}>\nReferences: <{i}>\n")).unwrap_or_default();
    let r = irt(refs);
    vec![
        (
            "Exchange/Outlook",
            format!(
                "From: Bob Remote <bob@remote.example>\nTo: Alice <{USER}>\nSubject: Automatic reply: Quarterly figures\n\
                 Auto-Submitted: auto-replied\nX-MS-Exchange-Inbox-Rules-Loop: bob@remote.example\n{r}\
                 Thread-Topic: Quarterly figures\nContent-Type: text/plain; charset=\"us-ascii\"\n\n\
                 I am out of the office until 7 December with limited access to email.\n{quote}"
            ),
        ),
        (
            "Gmail vacation",
            format!(
                "From: Bob Remote <bob@remote.example>\nTo: {USER}\nSubject: Re: Quarterly figures\nAuto-Submitted: auto-replied\n{r}\
                 Content-Type: text/plain; charset=\"UTF-8\"\n\nThanks for your email. I'm on vacation until Monday.\n{quote}"
            ),
        ),
        (
            "Sieve vacation (RFC 5230)",
            format!(
                "From: bob@remote.example\nTo: {USER}\nSubject: Auto: Quarterly figures\nAuto-Submitted: auto-replied (vacation)\n{r}\
                 Precedence: bulk\nContent-Type: text/plain; charset=utf-8\n\nI'm away until the 7th.\n{quote}"
            ),
        ),
        (
            "Lotus Notes",
            format!(
                "From: Bob Remote/Remote@RemoteCorp <bob@remote.example>\nTo: {USER}\n\
                 Subject: Bob Remote is out of the office.\nX-Mailer: Lotus Notes Release 9.0.1\n{r}\
                 Content-Type: text/plain; charset=US-ASCII\n\nI will be out of the office starting 20.11.2026 and will not return until 07.12.2026.\n{quote}"
            ),
        ),
        (
            "Zimbra",
            format!(
                "From: Bob Remote <bob@remote.example>\nTo: Alice <{USER}>\nSubject: Out of Office: Quarterly figures\n\
                 Auto-Submitted: auto-replied (zimbra; vacation)\n{r}Content-Type: text/plain; charset=utf-8\n\n\
                 I am currently out of the office.\n{quote}"
            ),
        ),
        (
            "Yahoo",
            format!(
                "From: Bob Remote <bob@remote.example>\nTo: {USER}\nSubject: Auto Response\nX-Autoreply: yes\n{r}\
                 Content-Type: text/plain; charset=UTF-8\n\nI am away from my mail.\n{quote}"
            ),
        ),
        (
            "Japanese carrier (不在)",
            format!(
                "From: hanako@remote.example\nTo: {USER}\nSubject: =?ISO-2022-JP?B?GyRCSVQ6X0RMQ04bKEI6IBskQjtNSD40fCROP3Q7ehsoQg==?=\n\
                 Auto-Submitted: auto-replied\n{r}MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\n\
                 Content-Transfer-Encoding: 7bit\n\n\x1b$B$?$@$$$^IT:_$K$7$F$*$j$^$9!#\x1b(B\n{quote}"
            ),
        ),
        (
            "responder without In-Reply-To",
            format!(
                "From: info@remote.example\nTo: {USER}\nSubject: Autoreply: Quarterly figures\nX-Autorespond: Quarterly figures\n\
                 Precedence: auto_reply\nContent-Type: text/plain\n\nThank you for your message. We will answer within two days.\n{quote}"
            ),
        ),
    ]
}

/// A read receipt (RFC 8098) for `id`.
fn read_receipt(id: &str) -> String {
    format!(
        "From: Bob Remote <bob@remote.example>\nTo: {USER}\nSubject: Read: Quarterly figures\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=disposition-notification; boundary=\"mdn\"\n\n\
         --mdn\nContent-Type: text/plain\n\nYour message was displayed.\n\n--mdn\n\
         Content-Type: message/disposition-notification\n\nReporting-UA: mua.remote.example; Thunderbird\n\
         Final-Recipient: rfc822;bob@remote.example\nOriginal-Message-ID: <{id}>\n\
         Disposition: manual-action/MDN-sent-manually; displayed\n\n--mdn--\n"
    )
}

/// A TMDA-style challenge quoting the headers of the message it holds.
fn challenge(quote: &str) -> String {
    format!(
        "From: bob-confirm-1764.abc123@remote.example\nTo: {USER}\nSubject: Please confirm your message\n\
         X-TMDA-Confirm: yes\nContent-Type: text/plain\n\n\
         Your message has been held until you confirm that you sent it: reply to this message.\n\n\
         The headers of your message were:\n{quote}"
    )
}

// ---------------------------------------------------------------------------------------------
// Running and counting.

/// What a case must come to.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Mail about our own mail: never rejected, dropped or quarantined.
    Pass,
    /// The report carries evidence of forgery: rejected or quarantined.
    Caught,
    /// Only weak evidence (a foreign Message-ID in a reply): may pass, and must then say so.
    Weak,
}

struct Case {
    group: String,
    /// The corpus file it was made from, if any.
    source: String,
    expect: Expect,
    msg: String,
    batv: bool,
    relays: bool,
    rcpt: String,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_verdict: BTreeMap<String, usize>,
    by_action: BTreeMap<String, usize>,
}

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "none".into())
}

fn blocked(r: &Report) -> bool {
    matches!(r.action, Some(Action::Reject | Action::Drop | Action::Quarantine))
}

fn explain(r: &Report) -> String {
    r.signals
        .iter()
        .filter(|s| s.weight != 0)
        .map(|s| format!("{} {} ({})", s.weight, s.name, s.value))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The evidence a pass leaves in its signals: none of real weight against, or something for.
fn carries_no_evidence(r: &Report) -> bool {
    !r.signals.iter().any(|s| s.weight <= -30) || r.signals.iter().any(|s| s.weight >= 40)
}

/// Judge every case under every policy; print a table per group; return the failures.
fn run(cases: &[Case]) -> (BTreeMap<String, Counts>, Vec<String>, usize, usize) {
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut caught_total, mut caught) = (0, 0);
    for (policy_name, policy) in policies() {
        let with = [config(true, &[RELAY], &policy), config(false, &[RELAY], &policy)];
        let without_relays = [config(true, &[], &policy), config(false, &[], &policy)];
        for case in cases {
            let cfg = if case.relays { &with } else { &without_relays }[usize::from(!case.batv)].clone();
            let r = ndr_filter::classify(case.msg.as_bytes(), Some(&envelope(&case.rcpt)), &cfg, NOW);
            let key = format!("{} [{policy_name}]", case.group);
            let at = &case.source;
            let c = counts.entry(key.clone()).or_default();
            c.total += 1;
            *c.by_verdict.entry(name(&r.verdict)).or_default() += 1;
            *c.by_action.entry(name(&r.action)).or_default() += 1;
            match case.expect {
                Expect::Pass if blocked(&r) => {
                    failures.push(format!("{key} {at}: {:?} {:?}: {}", r.verdict, r.action, explain(&r)))
                }
                Expect::Caught if policy_name == "default" => {
                    caught_total += 1;
                    if matches!(r.action, Some(Action::Reject | Action::Quarantine)) {
                        caught += 1;
                    } else if !carries_no_evidence(&r) {
                        failures.push(format!("{key} {at}: passed with evidence against: {}", explain(&r)));
                    } else {
                        println!(
                            "  passes, carrying none: {key} {at}: {:?} {:?}: {}",
                            r.verdict,
                            r.action,
                            explain(&r)
                        );
                    }
                }
                Expect::Weak if !blocked(&r) && !carries_no_evidence(&r) => {
                    failures.push(format!("{key}: passed with evidence against: {}", explain(&r)))
                }
                _ => {}
            }
        }
    }
    println!("{:<66} {:>5}  verdicts / actions", "variant", "n");
    for (group, c) in &counts {
        println!("{group:<66} {:>5}  {:?} / {:?}", c.total, c.by_verdict, c.by_action);
    }
    (counts, failures, caught_total, caught)
}

/// The LF bounces of the corpus that the filter reads as bounces or delay notices.
fn corpus_bounces() -> Vec<(String, String, Report)> {
    files_under(&corpus().join("bounces/eml"))
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("eml")))
        .filter_map(|path| {
            let raw = std::fs::read(&path).unwrap();
            let base = ndr_filter::classify(&raw, None, &Config::default(), NOW);
            let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            base.is_bounce.then(|| (file, String::from_utf8_lossy(&raw).into_owned(), base))
        })
        .collect()
}

fn case(group: impl Into<String>, expect: Expect, msg: String, batv: bool, relays: bool, rcpt: &str) -> Case {
    Case { group: group.into(), source: String::new(), expect, msg, batv, relays, rcpt: rcpt.to_string() }
}

#[test]
fn legitimacy_suite_never_blocks_reports_of_our_mail() {
    let tagged = ring().sign(USER, None, NOW - 2 * DAY).address;
    let mut cases = Vec::new();
    let (mut bases, mut delays, mut skipped) = (0, 0, 0);
    for (file, raw, base) in corpus_bounces() {
        let first = cases.len();
        // A report that quotes two different messages (a bounce of a bounce, a text part that
        // pastes another message) cannot be made into a report of one message of ours.
        if message_ids_quoted(&raw) > 1 {
            skipped += 1;
            continue;
        }
        let Some(legit) = ours(&raw, &base) else { continue };
        bases += 1;
        delays += usize::from(base.kind == Kind::Delay);
        let mut variants = vec![("intact", Some(legit.clone()))];
        variants.push(("headers only", headers_only(&legit)));
        variants.push(("base64", reencoded(&legit)));
        variants.push(("absent", without_original(&legit)));
        for (how, msg) in variants {
            let Some(msg) = msg else { continue };
            cases.push(case(
                format!("bounce of our mail, original {how}, BATV on"),
                Expect::Pass,
                msg.clone(),
                true,
                true,
                &tagged,
            ));
            cases.push(case(
                format!("bounce of our mail, original {how}, BATV off"),
                Expect::Pass,
                msg.clone(),
                false,
                true,
                USER,
            ));
            cases.push(case(
                format!("bounce of our mail, original {how}, no relays listed"),
                Expect::Pass,
                msg,
                false,
                false,
                USER,
            ));
        }
        // Delivered through a forwarder that rewrote our sender (SRS), then bounced there.
        let srs = format!("Return-Path: <SRS0=Ab3d=TT=ours.example=alice@fwd.remote.example>\nMessage-ID: <{}", "");
        let forwarded = legit.replacen("Message-ID: <", &srs, 1);
        cases.push(case(
            "bounce of our mail via an SRS forwarder, BATV off",
            Expect::Pass,
            forwarded.clone(),
            false,
            true,
            USER,
        ));
        cases.push(case(
            "bounce of our mail via an SRS forwarder, no relays listed",
            Expect::Pass,
            forwarded,
            false,
            false,
            USER,
        ));
        let cut = legit.len() * 3 / 4;
        let cut = (0..=cut).rev().find(|i| legit.is_char_boundary(*i)).unwrap_or(0);
        cases.push(case(
            "bounce of our mail, truncated, BATV on",
            Expect::Pass,
            legit[..cut].to_string(),
            true,
            true,
            &tagged,
        ));
        cases[first..].iter_mut().for_each(|c| c.source = file.clone());
    }
    // Replies to our mail: they answer From:, so the recipient is untagged even under BATV.
    let our_quote = quoted(RELAY, OUR_ID);
    for (how, refs, quote) in [
        ("refers to our Message-ID", Some(OUR_ID), ""),
        ("quotes our message", None, our_quote.as_str()),
        ("refers to nothing", None, ""),
    ] {
        for (layout, msg) in auto_replies(refs, quote) {
            for (batv, relays) in [(true, true), (false, true), (false, false)] {
                let group = format!("auto-reply ({layout}), {how}, BATV {}", if batv { "on" } else { "off" });
                cases.push(case(group, Expect::Pass, msg.clone(), batv, relays, USER));
            }
            // To the From: of our notifications, which never sends as envelope sender.
            cases.push(case(
                format!("auto-reply ({layout}) to no-reply, {how}"),
                Expect::Pass,
                msg.replace(USER, "no-reply@ours.example"),
                true,
                true,
                "no-reply@ours.example",
            ));
        }
    }
    for batv in [true, false] {
        cases.push(case("read receipt of our message", Expect::Pass, read_receipt(OUR_ID), batv, true, USER));
        cases.push(case("challenge for our message", Expect::Pass, challenge(&our_quote), batv, true, USER));
        cases.push(case("challenge for our message, tagged", Expect::Pass, challenge(&our_quote), batv, true, &tagged));
    }
    for path in files_under(&corpus().join("arf/eml")) {
        let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let base = ndr_filter::classify(raw.as_bytes(), None, &Config::default(), NOW);
        if let Some(msg) = ours(&raw, &base) {
            for batv in [true, false] {
                cases.push(case("feedback report about our message", Expect::Pass, msg.clone(), batv, true, USER));
            }
        }
    }
    let (counts, failures, _, _) = run(&cases);
    println!(
        "legitimacy suite: {} bases ({delays} delay notices; {skipped} quoting several messages left out), {} cases under 2 policies, {} blocked",
        bases,
        cases.len(),
        failures.len()
    );
    assert!(bases >= 300 && delays >= 5, "too few bases: {bases}, {delays} delay notices");
    assert!(counts.keys().filter(|k| k.starts_with("auto-reply (")).count() >= 8 * 3 * 2);
    assert!(failures.is_empty(), "legitimate reports blocked: {:#?}", &failures[..failures.len().min(30)]);
}

#[test]
fn backscatter_suite_catches_reports_that_carry_evidence() {
    let r = ring();
    let tagged = r.sign(USER, None, NOW - 2 * DAY).address;
    let forged = format!("prvs=3{}000000={USER}", &tagged[6..9]);
    let replayed = r.sign(USER, None, NOW - 37 * DAY).address; // expired 30 days ago
    let late = r.sign(USER, None, NOW - 9 * DAY).address; // expired 2 days ago: a late bounce
    let mut cases = Vec::new();
    for (file, raw, _) in corpus_bounces() {
        let first = cases.len();
        // The corpus bounce as it is: someone else's mail, with our address as its sender.
        cases.push(case("forged: untagged, BATV enforced", Expect::Caught, raw.clone(), true, true, USER));
        cases.push(case("forged: untagged, BATV enforced, no relays", Expect::Caught, raw.clone(), true, false, USER));
        cases.push(case("forged tag", Expect::Caught, raw.clone(), true, false, &forged));
        cases.push(case("replayed tag, expired 30 days ago", Expect::Caught, raw.clone(), true, false, &replayed));
        let with_tag = raw.replacen("Message-ID:", &format!("Return-Path: <{replayed}>\nMessage-ID:"), 1);
        cases.push(case(
            "replayed tag, also in the returned original",
            Expect::Caught,
            with_tag,
            true,
            false,
            &replayed,
        ));
        // Relays are evidence only where the report quotes the original's Received lines.
        let relays_expect = if quotes_received(&raw) { Expect::Caught } else { Expect::Weak };
        cases.push(case("BATV off, relays listed", relays_expect, raw.clone(), false, true, USER));
        if let Some(ad) = advertisement_original(&raw) {
            cases.push(case(
                "advertisement in place of the original, relays listed",
                Expect::Caught,
                ad.clone(),
                false,
                true,
                USER,
            ));
            cases.push(case(
                "advertisement in place of the original, BATV enforced",
                Expect::Caught,
                ad,
                true,
                false,
                USER,
            ));
        }
        // A tag expired two days ago is most likely a late bounce of our mail: weak only.
        cases.push(case("tag expired 2 days ago, within the horizon", Expect::Weak, raw.clone(), true, false, &late));
        cases.push(case("BATV off, no relays listed", Expect::Weak, raw, false, false, USER));
        cases[first..].iter_mut().for_each(|c| c.source = file.clone());
    }
    let spam_quote = quoted("bulk-4711.dsl.example.net", SPAM_ID);
    for (layout, msg) in auto_replies(Some(SPAM_ID), &spam_quote) {
        cases.push(case(
            format!("auto-reply to spam ({layout}), quoting it, relays listed"),
            Expect::Caught,
            msg,
            false,
            true,
            USER,
        ));
    }
    for (layout, msg) in auto_replies(Some(SPAM_ID), "") {
        cases.push(case(
            format!("auto-reply to spam ({layout}), foreign In-Reply-To only"),
            Expect::Weak,
            msg,
            true,
            true,
            USER,
        ));
    }
    cases.push(case("challenge for spam, quoting it", Expect::Caught, challenge(&spam_quote), false, true, USER));
    cases.push(case("read receipt of a foreign message", Expect::Weak, read_receipt(SPAM_ID), true, true, USER));
    for i in 0..50 {
        cases.push(case("ndr spam", Expect::Caught, ndr_spam(i), false, true, USER));
    }
    let (_, failures, total, caught) = run(&cases);
    println!(
        "backscatter suite: {total} cases carrying evidence, {caught} rejected or quarantined ({:.2}%)",
        100.0 * caught as f64 / total.max(1) as f64
    );
    assert!(total >= 2000, "too few cases: {total}");
    assert!(failures.is_empty(), "{:#?}", &failures[..failures.len().min(30)]);
    assert!(caught * 100 >= total * 99, "caught {caught}/{total}");
}

/// A naive reading, independent of the filter's: does any line below the report's own header
/// block start a Received field (quoted with `>` or not)?
fn quotes_received(raw: &str) -> bool {
    let body = raw.split_once("\n\n").map_or("", |(_, b)| b);
    body.lines().any(|l| l.trim_start_matches(['>', ' ']).get(..9).is_some_and(|h| h.eq_ignore_ascii_case("received:")))
}

/// How many different Message-IDs the body quotes in header lines.
fn message_ids_quoted(raw: &str) -> usize {
    let body = raw.split_once("\n\n").map_or("", |(_, b)| b);
    let mut ids: Vec<&str> = body
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ']))
        .filter(|l| l.get(..11).is_some_and(|h| h.eq_ignore_ascii_case("message-id:")))
        .map(|l| l[11..].trim())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// A fake bounce whose point is its payload.
fn ndr_spam(i: usize) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mail{i}.cheap-offers.example>\nTo: {USER}\n\
Subject: Undeliverable: your order #{i}\nContent-Type: text/plain\n\n\
Your message could not be delivered.\n\nSPECIAL OFFER: buy now at the lowest price! Click here:\n\
http://cheap-offers.example/buy?{i}\nhttp://cheap-offers.example/unsubscribe\nLimited time only, 100% free shipping, act now.\n"
    )
}
