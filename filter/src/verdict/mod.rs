//! The backscatter verdict: is a report (bounce, delay, auto-reply, challenge, read receipt,
//! feedback report) about mail we sent? Facts first (`signals`, each with a weight: positive says
//! "ours", negative "not ours"), then the verdict from their sum, then the action from the site's
//! policy. Detection and policy stay apart, as in Haraka's bounce plugin.
//!
//! # Absence of evidence is not evidence
//!
//! The rule every signal and weight follows, because one lost reply from a customer costs more
//! than a hundred backscatter messages:
//!
//! - A signal that had nothing to observe (no original returned, no Received line quoted, no
//!   Message-ID referred to, no tag where none was certain) weighs 0 and says why, with
//!   `observed: false`.
//! - Only positive evidence of forgery blocks: a backscatter verdict needs a signal of weight
//!   -30 or less (a forged or replayed tag, a quoted Received chain without our relays, a
//!   foreign envelope sender in the returned original, a report no real MTA would send). Weak
//!   signals (a foreign Message-ID, a foreign From:, advertising words) only add to it.
//! - `unknown` is the answer when nothing points either way, and `unknown` is accepted by default.
//! - Anything that says the original was ours (weight 40 or more) keeps a report from being
//!   rejected or dropped, whatever else is found.
//! - Every BATV tag counts only once verified with the key ring at the given time; expiry is
//!   graded by the bounce horizon (`policy.bounce_horizon_days`).
//! - Reports about domains we only relay for (`site.relay_domains`) are not judged: they pass.

mod config;
mod evidence;
pub mod facts;

use serde::{Deserialize, Serialize};

pub use config::{Action, Mode, PolicyConfig, SiteConfig};
pub use facts::{Facts, Reputation};

use crate::mime::Mail;
use crate::report::{Kind, Report};
use crate::{Config, Envelope};

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub value: String,
    /// Positive: evidence that the original was ours; negative: that it was not. NDR-spam
    /// features carry their weight in `spam` instead.
    pub weight: i32,
    /// Weight towards "a fake report whose point is its payload".
    pub spam: i32,
    /// False when the signal had nothing to observe (it then weighs 0 and `value` says why).
    pub observed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A report about mail we sent.
    Legitimate,
    /// A report about mail we did not send: our address was forged.
    Backscatter,
    /// A fake report whose point is its payload.
    NdrSpam,
    /// No evidence either way.
    Unknown,
}

/// An SMTP reply for `reject` and `tempfail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpReply {
    pub code: u16,
    pub status: String,
    pub text: String,
}

/// The decision and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub action: Action,
    /// `rcpt` when the decision can be made at RCPT time, else `data` (end of data).
    pub stage: String,
    pub smtp_reply: Option<SmtpReply>,
    /// Sum of the signals' weights.
    pub score: i32,
    pub spam_score: i32,
    /// True when the envelope came from the delivery headers, not from the SMTP session.
    pub envelope_inferred: bool,
}

/// Kinds that have a verdict: reports that a forged sender would receive.
pub fn applies_to(kind: Kind) -> bool {
    kind != Kind::Normal
}

/// Positive evidence: a signal at least this heavy decides alone which way a report leans.
const EVIDENCE: i32 = 30;

/// Judge a report. `envelope` is the SMTP envelope (or the one read from delivery headers);
/// `facts` what the host knows besides the message (ABI 1.4).
#[allow(clippy::too_many_arguments)]
pub fn judge(
    mail: &Mail<'_>,
    report: &Report,
    envelope: &Envelope,
    inferred: bool,
    config: &Config,
    ring: Option<&crate::batv::KeyRing>,
    facts: &Facts,
    now: u64,
) -> (Decision, Vec<Signal>) {
    let no_site = SiteConfig::default();
    let site = config.site.as_ref().unwrap_or(&no_site);
    let policy = &config.policy;
    // Reports to the domains we only relay for are theirs to judge.
    if !envelope.rcpt_to.is_empty() && envelope.rcpt_to.iter().all(|r| site.relays_for(r)) {
        let signals = vec![Signal {
            name: "relay_domain".into(),
            value: envelope.rcpt_to.join(", "),
            weight: 0,
            spam: 0,
            observed: true,
        }];
        let decision = Decision {
            verdict: Verdict::Unknown,
            action: Action::Accept,
            stage: "data".into(),
            smtp_reply: None,
            score: 0,
            spam_score: 0,
            envelope_inferred: inferred,
        };
        return (decision, signals);
    }
    let mut signals = evidence::collect(&evidence::Inputs {
        mail,
        report,
        envelope,
        site,
        ring,
        horizon_days: policy.bounce_horizon_days,
        now,
    });
    facts::signals(facts, &mut signals);
    let score: i32 = signals.iter().map(|s| s.weight).sum();
    let spam_score: i32 = signals.iter().map(|s| s.spam).sum();
    let strong_against = signals.iter().any(|s| s.weight <= -100);
    let strong_for = signals.iter().any(|s| s.weight >= 100);
    // Positive evidence that we sent the original: our relay, our Message-ID, a valid tag (≥ 40).
    // Weak consistency signals (the sender matches the recipient) do not count.
    let any_for = signals.iter().any(|s| s.weight >= 40);
    // Positive evidence that we did not: weak signals never add up to a block on their own.
    let any_against = signals.iter().any(|s| s.weight <= -EVIDENCE);
    let verdict = if strong_for {
        Verdict::Legitimate
    } else if strong_against {
        Verdict::Backscatter
    } else if spam_score >= 3 && !any_for {
        Verdict::NdrSpam
    } else if score >= policy.threshold {
        Verdict::Legitimate
    } else if score <= -policy.threshold && any_against {
        Verdict::Backscatter
    } else {
        Verdict::Unknown
    };
    let mut action = match verdict {
        Verdict::Legitimate => policy.legitimate,
        Verdict::Backscatter if strong_against => policy.backscatter_strong,
        Verdict::Backscatter => policy.backscatter,
        Verdict::NdrSpam => policy.ndr_spam,
        Verdict::Unknown => policy.unknown,
    };
    // Never reject or drop a report when anything says we sent the original.
    if any_for && matches!(action, Action::Reject | Action::Drop) {
        action = Action::Quarantine;
    }
    if policy.mode == Mode::Observe && action != Action::Accept {
        action = Action::Tag;
    }
    // At RCPT time only the recipient's tag is known: a forged or replayed one decides there;
    // everything else waits for the data.
    let rcpt_stage = signals.iter().any(|s| s.name == "batv" && s.weight <= -100);
    let stage = if rcpt_stage && verdict == Verdict::Backscatter { "rcpt" } else { "data" };
    let smtp_reply = match action {
        Action::Reject => Some(SmtpReply {
            code: 550,
            status: "5.7.1".into(),
            text: match verdict {
                Verdict::NdrSpam => "Fake delivery report refused".into(),
                _ => "Backscatter refused: this is a report about mail this site did not send".into(),
            },
        }),
        Action::Tempfail => Some(SmtpReply { code: 451, status: "4.7.1".into(), text: "Try again later".into() }),
        _ => None,
    };
    let decision =
        Decision { verdict, action, stage: stage.into(), smtp_reply, score, spam_score, envelope_inferred: inferred };
    (decision, signals)
}

/// The fields [`envelope_from_headers`] reads: MAIL FROM's, then RCPT TO's in order of preference.
pub const ENVELOPE_HEADERS: &[&str] = &["return-path", "x-original-to", "delivered-to", "envelope-to", "to"];

/// The envelope from the headers a receiving MTA prepends: `Return-Path` for MAIL FROM,
/// `X-Original-To`, `Delivered-To` or `Envelope-To` (else `To`) for RCPT TO.
pub fn envelope_from_headers(mail: &Mail<'_>) -> Option<Envelope> {
    // The report's To: is the last resort: reports go to the envelope sender of the original.
    let rcpt: Vec<String> = ENVELOPE_HEADERS[1..]
        .iter()
        .find_map(|h| mail.header(h))
        .and_then(crate::text::address_in_field)
        .into_iter()
        .collect();
    let mail_from = mail.header(ENVELOPE_HEADERS[0]).map(|v| {
        let v = v.trim().trim_matches(['<', '>']).trim();
        crate::text::address_in_field(v).unwrap_or_default()
    });
    if rcpt.is_empty() && mail_from.is_none() {
        return None;
    }
    Some(Envelope { mail_from, rcpt_to: rcpt, ..Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNCE: &[u8] = b"From: MAILER-DAEMON@mx.remote.example\nTo: alice@example.com\nSubject: Undelivered Mail Returned to Sender\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns; mx.remote.example\n\nFinal-Recipient: rfc822; bob@remote.example\nAction: failed\nStatus: 5.1.1\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--b\nContent-Type: text/rfc822-headers\n\n\
Received: from out1.example.com (out1.example.com [192.0.2.10]) by mx.remote.example with ESMTP\n\
Message-ID: <abc@example.com>\nFrom: alice@example.com\nTo: bob@remote.example\nSubject: hello\n\n--b--\n";

    fn run(config: serde_json::Value, rcpt: &str, raw: &[u8]) -> Report {
        let config: Config = serde_json::from_value(config).unwrap();
        let env = Envelope { mail_from: Some(String::new()), rcpt_to: vec![rcpt.into()], ..Default::default() };
        crate::classify(raw, Some(&env), &config, 1_795_478_400)
    }

    #[test]
    fn our_relay_and_message_id_make_it_legitimate() {
        let r = run(
            json!({"site": {"domains": ["example.com"], "relays": ["out*.example.com"]}}),
            "alice@example.com",
            BOUNCE,
        );
        assert_eq!((r.verdict, r.action), (Some(Verdict::Legitimate), Some(Action::Accept)));
        assert!(r.signals.iter().any(|s| s.name == "original_via_our_relay" && s.weight > 0));
    }

    #[test]
    fn no_relay_evidence_is_backscatter_quarantined_not_rejected() {
        let r = run(
            json!({"site": {"domains": ["example.com"], "relays": ["smtp.example.com"]}}),
            "alice@example.com",
            &BOUNCE.iter().map(|&b| b).collect::<Vec<_>>().replace_bytes("abc@example.com", "abc@spam.example"),
        );
        assert_eq!(r.verdict, Some(Verdict::Backscatter));
        assert_eq!(r.action, Some(Action::Quarantine), "content evidence alone does not reject");
    }

    #[test]
    fn forged_tag_rejects_at_rcpt_and_a_valid_tag_is_never_rejected() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}, "site": {"relays": ["nowhere.example"]}});
        let forged = run(cfg.clone(), "prvs=1000abcdef=alice@example.com", BOUNCE);
        assert_eq!(
            (forged.verdict, forged.action, forged.stage.as_deref()),
            (Some(Verdict::Backscatter), Some(Action::Reject), Some("rcpt"))
        );
        assert_eq!(forged.smtp_reply.as_ref().map(|r| r.code), Some(550));
        let ring = crate::batv::KeyRing::new(&serde_json::from_value(cfg["batv"].clone()).unwrap()).unwrap();
        let tag = ring.sign("alice@example.com", None, 1_795_478_400).address;
        let valid = run(cfg, &tag, BOUNCE);
        assert_eq!((valid.verdict, valid.action), (Some(Verdict::Legitimate), Some(Action::Accept)));
    }

    #[test]
    fn untagged_bounces_wait_for_data_and_observe_mode_only_tags() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k", "sign_from": 0}]}, "site": {"domains": ["example.com"]}});
        let r = run(cfg.clone(), "alice@example.com", BOUNCE);
        assert_eq!(r.stage.as_deref(), Some("data"), "an untagged null-sender recipient is never decided at RCPT");
        let mut observe = cfg;
        observe["policy"] = json!({"mode": "observe"});
        let r = run(observe, "prvs=1000abcdef=alice@example.com", BOUNCE);
        assert_eq!((r.verdict, r.action), (Some(Verdict::Backscatter), Some(Action::Tag)));
    }

    #[test]
    fn positive_evidence_downgrades_a_reject() {
        // A forged tag (strong against) but our relay in the original (for): quarantine, not reject.
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}, "site": {"relays": ["out1.example.com"]}});
        let r = run(cfg, "prvs=1000abcdef=alice@example.com", BOUNCE);
        assert_eq!(r.action, Some(Action::Quarantine));
    }

    #[test]
    fn our_tag_on_the_returned_return_path_is_evidence() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}});
        let ring = crate::batv::KeyRing::new(&serde_json::from_value(cfg["batv"].clone()).unwrap()).unwrap();
        let tag = ring.sign("alice@example.com", None, 1_795_478_400 - 3 * 86_400).address;
        let raw = String::from_utf8_lossy(BOUNCE)
            .replace("Message-ID: <abc@example.com>", &format!("Return-Path: <{tag}>\nMessage-ID: <abc@example.com>"));
        let r = run(cfg, "alice@example.com", raw.as_bytes());
        assert!(r.signals.iter().any(|s| s.name == "quoted_tag" && s.weight == 60), "{:?}", r.signals);
        assert_ne!(r.action, Some(Action::Reject));
    }

    fn bounce_without_original() -> Vec<u8> {
        let s = String::from_utf8_lossy(BOUNCE);
        let cut = s.find("--b\nContent-Type: text/rfc822-headers").unwrap();
        format!("{}--b--\n", &s[..cut]).into_bytes()
    }

    fn signal<'r>(r: &'r Report, name: &str) -> &'r Signal {
        r.signals.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name} in {:?}", r.signals))
    }

    #[test]
    fn nothing_to_observe_weighs_nothing_and_passes() {
        let cfg = json!({"site": {"domains": ["example.com"], "relays": ["out*.example.com"]}});
        let r = run(cfg, "alice@example.com", &bounce_without_original());
        for name in ["original", "original_via_our_relay", "message_id"] {
            let s = signal(&r, name);
            assert_eq!((s.weight, s.observed), (0, false), "{s:?}");
        }
        assert_eq!((r.verdict, r.action), (Some(Verdict::Unknown), Some(Action::Accept)));
    }

    #[test]
    fn an_original_pasted_as_a_mime_part_has_its_received_lines_read() {
        // X1 and Bigfoot paste the original's header block as the part's own headers.
        let raw = "From: MAILER-DAEMON@mx.remote.example\nTo: alice@example.com\nSubject: Returned mail\n\
Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nUser unknown: bob@remote.example\n\n\
--b\nReceived: from out1.example.com (out1.example.com [192.0.2.10])\n    by mx.remote.example with ESMTP\n\
From: alice@example.com\nSubject: hello\n\nhello\n--b--\n";
        let ours = run(json!({"site": {"relays": ["out1.example.com"]}}), "alice@example.com", raw.as_bytes());
        assert_eq!(signal(&ours, "original_via_our_relay").weight, 40, "{:?}", ours.signals);
        let theirs = run(json!({"site": {"relays": ["out9.example.com"]}}), "alice@example.com", raw.as_bytes());
        assert_eq!(signal(&theirs, "original_via_our_relay").weight, -40, "{:?}", theirs.signals);
    }

    #[test]
    fn weak_signals_never_add_up_to_a_block() {
        // A foreign Message-ID (-20), a foreign From: (-10) and advertising words (-20): -50,
        // under the threshold, but none of them is evidence of forgery on its own.
        let raw = String::from_utf8_lossy(BOUNCE)
            .replace(
                "Received: from out1.example.com (out1.example.com [192.0.2.10]) by mx.remote.example with ESMTP\n",
                "",
            )
            .replace("abc@example.com", "abc@bulk.example.net")
            .replace("From: alice@example.com", "From: deals@bulk.example.net")
            .replace("Subject: hello", "Subject: special offer, click here, buy now");
        let r = run(json!({"site": {"domains": ["example.com"]}}), "alice@example.com", raw.as_bytes());
        assert!(r.score.unwrap() <= -30, "{:?}", r.signals);
        assert_eq!((r.verdict, r.action), (Some(Verdict::Unknown), Some(Action::Accept)), "{:?}", r.signals);
    }

    const REPLY: &str = "From: bob@remote.example\nTo: alice@example.com\nSubject: Automatic reply: hello\n\
Auto-Submitted: auto-replied\nIN_REPLY_TO\nContent-Type: text/plain\n\nI am away.\n";

    #[test]
    fn replies_are_judged_by_the_message_they_refer_to() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}, "site": {"domains": ["example.com"], "relays": ["out1.example.com"]}});
        let reply = |irt: &str| REPLY.replace("IN_REPLY_TO", irt);
        let ours = run(cfg.clone(), "alice@example.com", reply("In-Reply-To: <abc@example.com>").as_bytes());
        assert_eq!((ours.kind, ours.verdict), (Kind::AutoReply, Some(Verdict::Legitimate)));
        // An untagged recipient under enforced BATV says nothing: replies answer From:.
        assert_eq!(signal(&ours, "batv").weight, 0);
        let foreign = run(cfg.clone(), "alice@example.com", reply("In-Reply-To: <x@spam.example>").as_bytes());
        assert_eq!(signal(&foreign, "message_id").weight, -10);
        assert_eq!((foreign.verdict, foreign.action), (Some(Verdict::Unknown), Some(Action::Accept)));
        let quoting = REPLY
            .replace("IN_REPLY_TO", "X-Nothing: 1")
            .replace("I am away.\n", "I am away.\n\n> Message-ID: <abc@example.com>\n> Subject: hello\n");
        let quoted = run(json!({"site": {"domains": ["example.com"]}}), "alice@example.com", quoting.as_bytes());
        assert_eq!(quoted.verdict, Some(Verdict::Legitimate), "a reply quoting our message: {:?}", quoted.signals);
        let nothing = run(cfg, "alice@example.com", reply("X-Nothing: 1").as_bytes());
        assert!(!signal(&nothing, "message_id").observed);
        assert_eq!((nothing.verdict, nothing.action), (Some(Verdict::Unknown), Some(Action::Accept)));
    }

    #[test]
    fn a_read_receipt_points_back_by_original_message_id() {
        let mdn = "From: bob@remote.example\nTo: alice@example.com\nSubject: Read: hello\n\
Content-Type: multipart/report; report-type=disposition-notification; boundary=m\n\n--m\nContent-Type: text/plain\n\nshown\n\
--m\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822;bob@remote.example\n\
Original-Message-ID: <abc@example.com>\nDisposition: manual-action/MDN-sent-manually; displayed\n\n--m--\n";
        let r = run(json!({"site": {"domains": ["example.com"]}}), "alice@example.com", mdn.as_bytes());
        assert_eq!((r.kind, r.verdict), (Kind::ReadReceipt, Some(Verdict::Legitimate)), "{:?}", r.signals);
    }

    #[test]
    fn expiry_is_graded_by_the_bounce_horizon_and_copies_are_not_evidence() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}});
        let ring = crate::batv::KeyRing::new(&serde_json::from_value(cfg["batv"].clone()).unwrap()).unwrap();
        let now = 1_795_478_400;
        let late = ring.sign("alice@example.com", None, now - 9 * 86_400).address; // expired 2 days ago
        let r = run(cfg.clone(), &late, BOUNCE);
        assert_eq!(signal(&r, "batv").weight, -20);
        assert_eq!(r.action, Some(Action::Accept), "a late bounce of our mail passes: {:?}", r.signals);
        let replayed = ring.sign("alice@example.com", None, now - 37 * 86_400).address; // 30 days ago
        let raw = String::from_utf8_lossy(BOUNCE).replace(
            "Message-ID: <abc@example.com>",
            &format!("Return-Path: <{replayed}>\nMessage-ID: <abc@example.com>"),
        );
        let r = run(cfg.clone(), &replayed, raw.as_bytes());
        assert_eq!((r.verdict, r.action), (Some(Verdict::Backscatter), Some(Action::Reject)), "{:?}", r.signals);
        assert_eq!(r.stage.as_deref(), Some("rcpt"));
        let copy = signal(&r, "quoted_tag");
        assert_eq!((copy.weight, copy.observed), (0, false), "the recipient's own tag is no second piece of evidence");
        // The horizon is configuration.
        let mut wide = cfg;
        wide["policy"] = json!({"bounce_horizon_days": 40});
        let r = run(wide, &replayed, BOUNCE);
        assert_eq!(r.action, Some(Action::Accept), "{:?}", r.signals);
    }

    #[test]
    fn a_forged_tag_in_the_returned_original_counts_against_only_in_our_domains() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}, "site": {"domains": ["example.com"]}});
        let with = |rp: &str| {
            String::from_utf8_lossy(BOUNCE).replace(
                "Message-ID: <abc@example.com>",
                &format!("Return-Path: <{rp}>\nMessage-ID: <abc@example.com>"),
            )
        };
        let r = run(cfg.clone(), "alice@example.com", with("prvs=1000abcdef=alice@example.com").as_bytes());
        assert_eq!(signal(&r, "quoted_tag").weight, -40);
        // A tag in a Received line's `for` belongs to the recipient's domain, not to us.
        let raw = String::from_utf8_lossy(BOUNCE).replace(
            "by mx.remote.example with ESMTP\n",
            "by mx.remote.example with ESMTP\n\tfor <prvs=1000abcdef=bob@remote.example>;\n",
        );
        let r = run(cfg, "alice@example.com", raw.as_bytes());
        assert!(r.signals.iter().all(|s| s.name != "quoted_tag"), "{:?}", r.signals);
    }

    #[test]
    fn relay_domains_are_never_judged() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}]}, "site": {"domains": ["example.com"], "relays": ["nowhere.example"], "relay_domains": ["customer.example"]}});
        // Their own BATV tag would look forged to our keys.
        let r = run(cfg, "prvs=1000abcdef=carol@customer.example", BOUNCE);
        assert_eq!((r.verdict, r.action), (Some(Verdict::Unknown), Some(Action::Accept)), "{:?}", r.signals);
        assert_eq!(r.rcpt_checks[0].batv.as_ref().unwrap().result, crate::batv::Outcome::RelayDomain);
    }

    #[test]
    fn untagged_bounces_of_mail_to_exempt_destinations_are_no_evidence() {
        let cfg = json!({"batv": {"keys": [{"digit": 1, "secret": "k"}], "exempt": ["remote.example"]}, "site": {"domains": ["example.com"]}});
        let r = run(cfg.clone(), "alice@example.com", BOUNCE);
        assert_eq!(signal(&r, "batv").weight, 0, "{:?}", r.signals);
        let mut not_exempt = cfg;
        not_exempt["batv"]["exempt"] = json!([]);
        let r = run(not_exempt, "alice@example.com", BOUNCE);
        assert_eq!(signal(&r, "batv").weight, -60);
    }

    use serde_json::json;

    trait ReplaceBytes {
        fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8>;
    }

    impl ReplaceBytes for Vec<u8> {
        fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8> {
            String::from_utf8_lossy(self).replace(from, to).into_bytes()
        }
    }
}
