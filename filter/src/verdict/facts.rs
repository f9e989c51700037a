//! Facts the host knows and the message cannot tell (ABI 1.4): whether we sent the original
//! (a sent-mail registry the host keeps) and how the source of the report behaved before (its
//! reputation over a recent window). The module stays pure: the host looks them up and passes
//! them in the request; the same facts give the same verdict in every host (CLI, Node, browser).
//!
//! An absent fact adds no signal at all, so reports judged without them are unchanged.

use serde::{Deserialize, Serialize};

use super::Signal;

/// The request's `facts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Facts {
    /// True when a Message-ID the report refers to is in the host's sent-mail registry (a keyed
    /// hash recorded when the mail left); false when it was looked up and is not there.
    pub sent_registry: Option<bool>,
    /// Reports from the same source (client network) over the host's window, by verdict.
    pub source_reputation: Option<Reputation>,
}

/// Counts of earlier decisions about reports from one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reputation {
    pub backscatter: u64,
    pub legitimate: u64,
}

/// Reports a source must have sent before its history says anything.
const MIN_HISTORY: u64 = 5;
/// How lopsided the history must be (this many of one kind for each of the other).
const LOPSIDED: u64 = 4;

/// The signals of the facts given (none for facts not given).
pub fn signals(facts: &Facts, out: &mut Vec<Signal>) {
    let signal =
        |name: &str, value: String, weight: i32| Signal { name: name.into(), value, weight, spam: 0, observed: true };
    match facts.sent_registry {
        // Proof by keyed hash that we sent a message with this Message-ID. Like a valid tag
        // quoted in the report (60), it could be copied from a message of ours, so it is not
        // the recipient tag's 100 that overrides everything else.
        Some(true) => out.push(signal("sent_registry", "a Message-ID it refers to was sent by us".into(), 60)),
        // Not there says little: mail sent before the registry was kept, by a path that does not
        // record, or past the registry's horizon.
        Some(false) => out.push(signal("sent_registry", "no Message-ID it refers to is in the registry".into(), 0)),
        None => {}
    }
    if let Some(r) = facts.source_reputation {
        let value = format!("{} backscatter, {} legitimate from this source", r.backscatter, r.legitimate);
        // Weak either way: a history never blocks alone (a block needs a signal of -30 or less),
        // and a large provider relays both kinds.
        let weight = if r.backscatter >= MIN_HISTORY && r.backscatter >= LOPSIDED * r.legitimate {
            -20
        } else if r.legitimate >= MIN_HISTORY && r.legitimate >= LOPSIDED * r.backscatter {
            10
        } else {
            0
        };
        out.push(signal("source_reputation", value, weight));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(f: Facts) -> Vec<(String, i32)> {
        let mut out = Vec::new();
        signals(&f, &mut out);
        out.into_iter().map(|s| (s.name, s.weight)).collect()
    }

    #[test]
    fn absent_facts_add_nothing_and_history_is_weak() {
        assert!(weights(Facts::default()).is_empty());
        assert_eq!(weights(Facts { sent_registry: Some(true), ..Facts::default() }), [("sent_registry".into(), 60)]);
        assert_eq!(weights(Facts { sent_registry: Some(false), ..Facts::default() }), [("sent_registry".into(), 0)]);
        let rep = |backscatter, legitimate| Facts {
            source_reputation: Some(Reputation { backscatter, legitimate }),
            ..Facts::default()
        };
        assert_eq!(weights(rep(4, 0))[0].1, 0, "too little history");
        assert_eq!(weights(rep(5, 0))[0].1, -20);
        assert_eq!(weights(rep(8, 2))[0].1, -20);
        assert_eq!(weights(rep(8, 3))[0].1, 0, "mixed");
        assert_eq!(weights(rep(0, 5))[0].1, 10);
    }

    #[test]
    fn a_registry_hit_makes_a_report_ours_and_history_alone_never_blocks() {
        use crate::verdict::Verdict;
        let raw = b"From: MAILER-DAEMON@mx.remote.example\nTo: alice@example.com\nSubject: failure\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns; mx.remote.example\n\nFinal-Recipient: rfc822; bob@remote.example\nAction: failed\nStatus: 5.1.1\n\n\
--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <x1@app.example.net>\nFrom: alice@example.com\n\n--b--\n";
        let config: crate::Config =
            serde_json::from_value(serde_json::json!({"site": {"domains": ["example.com"]}})).unwrap();
        let env = crate::Envelope {
            mail_from: Some(String::new()),
            rcpt_to: vec!["alice@example.com".into()],
            ..Default::default()
        };
        let judge = |facts: Facts| {
            let r = crate::classify_with_facts(raw, Some(&env), &config, &facts, 1_795_478_400);
            (r.verdict, r.action)
        };
        assert_eq!(judge(Facts::default()), (Some(Verdict::Unknown), Some(crate::verdict::Action::Accept)));
        let hit = Facts { sent_registry: Some(true), ..Facts::default() };
        assert_eq!(judge(hit).0, Some(Verdict::Legitimate));
        let bad_source =
            Facts { source_reputation: Some(Reputation { backscatter: 500, legitimate: 0 }), ..Facts::default() };
        assert_eq!(judge(bad_source), (Some(Verdict::Unknown), Some(crate::verdict::Action::Accept)));
    }
}
