//! The backscatter verdict: is a report (bounce, delay, auto-reply, challenge) about mail we
//! sent? Facts first (`signals`, each with a weight: positive says "ours", negative "not
//! ours"), then the verdict from their sum, then the action from the site's policy. Detection
//! and policy stay apart, as in Haraka's bounce plugin.

mod config;
mod evidence;

use serde::{Deserialize, Serialize};

pub use config::{Action, Mode, PolicyConfig, SiteConfig};

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
    matches!(kind, Kind::Bounce | Kind::Delay | Kind::AutoReply | Kind::ChallengeResponse | Kind::Delivered)
}

/// Judge a report. `envelope` is the SMTP envelope (or the one read from delivery headers).
pub fn judge(
    mail: &Mail<'_>,
    report: &Report,
    envelope: &Envelope,
    inferred: bool,
    config: &Config,
    ring: Option<&crate::batv::KeyRing>,
    now: u64,
) -> (Decision, Vec<Signal>) {
    let no_site = SiteConfig::default();
    let site = config.site.as_ref().unwrap_or(&no_site);
    let signals = evidence::collect(mail, report, envelope, site, ring, now);
    let score: i32 = signals.iter().map(|s| s.weight).sum();
    let spam_score: i32 = signals.iter().map(|s| s.spam).sum();
    let strong_against = signals.iter().any(|s| s.weight <= -100);
    let strong_for = signals.iter().any(|s| s.weight >= 100);
    // Positive evidence that we sent the original: our relay, our Message-ID, a valid tag (≥ 40).
    // Weak consistency signals (the sender matches the recipient) do not count.
    let any_for = signals.iter().any(|s| s.weight >= 40);
    let policy = &config.policy;
    let verdict = if strong_for {
        Verdict::Legitimate
    } else if strong_against {
        Verdict::Backscatter
    } else if spam_score >= 3 && !any_for {
        Verdict::NdrSpam
    } else if score >= policy.threshold {
        Verdict::Legitimate
    } else if score <= -policy.threshold {
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
    // At RCPT time only a bad or expired tag is known; everything else waits for the data.
    let rcpt_stage =
        signals.iter().any(|s| s.name == "batv" && matches!(s.value.as_str(), "bad_signature" | "malformed"));
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

/// The envelope from the headers a receiving MTA prepends: `Return-Path` for MAIL FROM,
/// `X-Original-To`, `Delivered-To` or `Envelope-To` (else `To`) for RCPT TO.
pub fn envelope_from_headers(mail: &Mail<'_>) -> Option<Envelope> {
    // The report's To: is the last resort: reports go to the envelope sender of the original.
    let rcpt: Vec<String> = ["x-original-to", "delivered-to", "envelope-to", "to"]
        .iter()
        .find_map(|h| mail.header(h))
        .and_then(crate::text::address_in_field)
        .into_iter()
        .collect();
    let mail_from = mail.header("return-path").map(|v| {
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
        assert!(r.signals.iter().any(|s| s.name == "original_return_path_tag" && s.weight == 60), "{:?}", r.signals);
        assert_ne!(r.action, Some(Action::Reject));
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
