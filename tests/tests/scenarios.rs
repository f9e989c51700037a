//! Backscatter scenarios built from the real bounces of `../shared/corpus/bounces`. Each bounce
//! becomes variants: a legitimate bounce of our mail (our relay in the returned original's
//! Received chain, our Message-ID, a valid BATV tag on the envelope recipient), partial-evidence
//! variants of it (BATV off, a relay missing from the configuration, a truncated original, an
//! original re-encoded in base64 by the bouncing MTA; many corpus bounces return headers only), and
//! backscatter variants (untagged under enforcement, a forged tag, no BATV at all). Fake NDRs
//! carrying an advertisement stand for NDR spam. Under the default enforce policy, no legitimate
//! bounce may be rejected and at least 99% of backscatter must be rejected or quarantined.

use std::collections::BTreeMap;

use ndr_filter::batv::{BatvConfig, KeyRing};
use ndr_filter::verdict::{Action, Verdict};
use ndr_filter::{Config, Envelope, Report};
use ndr_tests::{corpus, files_under};
use serde_json::json;

const NOW: u64 = 1_795_478_400; // long after the keys started signing: BATV enforces
const USER: &str = "alice@ours.example";
const RELAY: &str = "relay1.ours.example";

fn config(batv: bool, relays: &[&str]) -> Config {
    let mut c = json!({"site": {"domains": ["ours.example"], "relays": relays}});
    if batv {
        c["batv"] = json!({"keys": [{"digit": 3, "secret": "scenario-key", "sign_from": 1_700_000_000u64}]});
    }
    serde_json::from_value(c).unwrap()
}

fn ring() -> KeyRing {
    let cfg: BatvConfig = serde_json::from_value(
        json!({"keys": [{"digit": 3, "secret": "scenario-key", "sign_from": 1_700_000_000u64}]}),
    )
    .unwrap();
    KeyRing::new(&cfg).unwrap()
}

fn envelope(rcpt: &str) -> Envelope {
    Envelope { mail_from: Some(String::new()), rcpt_to: vec![rcpt.to_string()], ..Default::default() }
}

/// Make a real bounce into a bounce of our mail: the original's Message-ID at our domain, and a
/// Received line from our relay at the top of the original's headers.
fn ours(raw: &str, report: &Report, relay: &str) -> Option<String> {
    let original = report.original.as_ref()?;
    let id = original.message_id.as_deref()?;
    let (_, domain) = id.rsplit_once('@')?;
    let at = raw.find(id)?;
    let line_start = raw[..at].rfind('\n').map_or(0, |p| p + 1);
    let received = format!("Received: from {relay} ({relay} [198.51.100.7]) by mx.remote.example with ESMTPS;\n");
    let mut out = String::with_capacity(raw.len() + received.len());
    out.push_str(&raw[..line_start]);
    out.push_str(&received);
    out.push_str(&raw[line_start..]);
    let mut out = out.replace(&format!("@{domain}>"), "@ours.example>");
    // Our mail came from our user.
    for sender in [&original.from, &original.return_path].into_iter().flatten() {
        if sender.contains('@') {
            out = out.replace(sender.as_str(), USER);
        }
    }
    Some(out)
}

/// The original re-encoded by the bouncing MTA: the `message/rfc822` part sent as base64.
fn reencoded(raw: &str) -> Option<String> {
    let ct = raw.to_ascii_lowercase().find("content-type: message/rfc822")?;
    let body_start = ct + raw[ct..].find("\n\n")? + 2;
    let end = body_start + raw[body_start..].find("\n--")?;
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&raw.as_bytes()[body_start..end]);
    let lines: Vec<String> = encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let header_end = body_start - 1;
    Some(format!("{}Content-Transfer-Encoding: base64\n\n{}\n{}", &raw[..header_end], lines.join("\n"), &raw[end..]))
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

#[derive(Default)]
struct Counts {
    total: usize,
    by_verdict: BTreeMap<String, usize>,
    by_action: BTreeMap<String, usize>,
}

impl Counts {
    fn add(&mut self, r: &Report) {
        self.total += 1;
        *self.by_verdict.entry(format!("{:?}", r.verdict).to_lowercase()).or_default() += 1;
        *self.by_action.entry(format!("{:?}", r.action).to_lowercase()).or_default() += 1;
    }
    fn action(&self, a: Action) -> usize {
        self.by_action.get(&format!("{:?}", Some(a)).to_lowercase()).copied().unwrap_or(0)
    }
    fn verdict(&self, v: Verdict) -> usize {
        self.by_verdict.get(&format!("{:?}", Some(v)).to_lowercase()).copied().unwrap_or(0)
    }
}

#[test]
fn scenarios_from_real_bounces() {
    let ring = ring();
    let tagged = ring.sign(USER, None, NOW - 2 * 86_400).address;
    let forged = format!("prvs=3{}000000={USER}", &tagged[6..9]);
    let full = config(true, &[RELAY]);
    let no_batv = config(false, &[RELAY]);
    let wrong_relay = config(true, &["relay9.ours.example"]);
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut rejected_legit = Vec::new();
    let mut missed = Vec::new();
    let files: Vec<_> = files_under(&corpus().join("bounces/eml"))
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("eml")))
        .collect();
    for path in &files {
        let raw_bytes = std::fs::read(path).unwrap();
        let base = ndr_filter::classify(&raw_bytes, None, &Config::default(), NOW);
        if !base.is_bounce {
            continue;
        }
        let raw = String::from_utf8_lossy(&raw_bytes).into_owned();
        let mut run = |name: &'static str, msg: &str, cfg: &Config, rcpt: &str| {
            let r = ndr_filter::classify(msg.as_bytes(), Some(&envelope(rcpt)), cfg, NOW);
            counts.entry(name).or_default().add(&r);
            let legit = name.starts_with("legitimate");
            if legit && matches!(r.action, Some(Action::Reject | Action::Drop)) {
                rejected_legit.push(format!("{name}: {}", path.display()));
            }
            if !legit && !matches!(r.action, Some(Action::Reject | Action::Quarantine)) {
                missed.push(format!(
                    "{name}: {} → {:?} {:?} {}",
                    path.display(),
                    r.verdict,
                    r.action,
                    r.score.unwrap_or(0)
                ));
            }
        };
        if let Some(legit) = ours(&raw, &base, RELAY) {
            run("legitimate: tag + relay + Message-ID", &legit, &full, &tagged);
            run("legitimate: BATV off", &legit, &no_batv, USER);
            run("legitimate: relay missing from config", &legit, &wrong_relay, &tagged);
            let cut = legit.len() * 3 / 4;
            let cut = (0..=cut).rev().find(|i| legit.is_char_boundary(*i)).unwrap_or(0);
            run("legitimate: truncated", &legit[..cut], &full, &tagged);
            if let Some(encoded) = reencoded(&legit) {
                run("legitimate: original re-encoded (base64)", &encoded, &no_batv, USER);
            }
        } else {
            run("legitimate: tag only (no Message-ID to mark)", &raw, &full, &tagged);
        }
        run("backscatter: untagged, BATV enforced", &raw, &full, USER);
        run("backscatter: forged tag", &raw, &full, &forged);
        run("backscatter: BATV off, relays only", &raw, &no_batv, USER);
    }
    for i in 0..50 {
        let spam = ndr_spam(i);
        let r = ndr_filter::classify(spam.as_bytes(), Some(&envelope(USER)), &no_batv, NOW);
        counts.entry("ndr spam").or_default().add(&r);
        if !matches!(r.action, Some(Action::Reject | Action::Quarantine)) {
            missed.push(format!("ndr spam {i}: {:?} {:?}", r.verdict, r.action));
        }
    }
    println!("{:<46} {:>5}  verdicts / actions", "scenario", "n");
    let (mut bs_total, mut bs_caught, mut legit_total) = (0, 0, 0);
    for (name, c) in &counts {
        println!("{name:<46} {:>5}  {:?} / {:?}", c.total, c.by_verdict, c.by_action);
        if name.starts_with("legitimate") {
            legit_total += c.total;
        } else {
            bs_total += c.total;
            bs_caught += c.action(Action::Reject) + c.action(Action::Quarantine);
        }
    }
    let legit_recognised: usize =
        counts.iter().filter(|(n, _)| n.starts_with("legitimate")).map(|(_, c)| c.verdict(Verdict::Legitimate)).sum();
    println!(
        "legitimate: {legit_total} variants, {} rejected, {legit_recognised} recognised as ours; backscatter and NDR spam: {bs_total}, {:.2}% rejected or quarantined",
        rejected_legit.len(),
        100.0 * bs_caught as f64 / bs_total as f64
    );
    assert!(legit_total >= 1000 && bs_total >= 1000, "too few scenarios");
    assert!(rejected_legit.is_empty(), "legitimate bounces rejected: {rejected_legit:#?}");
    assert!(
        bs_caught * 100 >= bs_total * 99,
        "backscatter caught {bs_caught}/{bs_total}: {:#?}",
        &missed[..missed.len().min(20)]
    );
}
