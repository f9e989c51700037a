//! Where the mail services call the state: small entry points for `milter.rs` and `policy.rs`,
//! so that they stay one line each there.
//!
//! - RCPT time, both services: a recipient the MTA refused counts against
//!   `unknown_rcpt_network` (the milter hears of refusals with SMFIP_RCPT_REJ; Postfix never
//!   tells a policy service, so there the limit is only enforced); every inbound recipient is
//!   refused while its network is over that limit.
//! - RCPT time, policy service: null-sender recipients are limited per recipient, client and
//!   network, except those with a valid BATV tag (the policy service never sees the data).
//! - End of data, milter: the message is classified with the facts (source reputation); when
//!   the verdict is not already `legitimate` and the report names Message-IDs, the registry is
//!   asked and, on a hit only, the message classified again with `sent_registry` (so a second
//!   parse happens only when the registry can change the verdict). Then the null-sender limits,
//!   after the verdict: a report with evidence it is ours (weight 40 or more) is never limited,
//!   nor one the verdict already refuses or quarantines. The verdict feeds the source's history.
//! - Outbound, milter: the message's Message-ID goes into the registry.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Answer, LimitKind, State, Verdict, canonical_ip, network_of};
use crate::pool::Lease;
use crate::request;
use crate::service::{Failure, Service};

/// The milter protocol flag the state wants: rejected recipients are sent too (SMFIP_RCPT_REJ),
/// when `unknown_rcpt_network` is configured.
pub fn want_rejected_rcpts(svc: &Service) -> bool {
    svc.state.is_some() && svc.config().state.as_ref().is_some_and(|s| s.limits.unknown_rcpt_network.is_some())
}

/// The Message-IDs of a message's own header, kept as the milter reads the headers: its
/// Message-ID (recorded when it leaves) and the IDs it answers (looked up when it is a report):
/// In-Reply-To, and the last of References (the parent; the older ones are its ancestors).
/// Bounded, so that one report costs a few registry lookups at most.
#[derive(Debug, Default, Clone)]
pub struct HeaderIds {
    pub message_id: Option<String>,
    in_reply_to: Vec<String>,
    parent: Option<String>,
}

const MAX_IN_REPLY_TO: usize = 4;
const MAX_ID_BYTES: usize = 250;

impl HeaderIds {
    pub fn keep(&mut self, name: &str, value: &str) {
        let mut ids = value
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(|t| t.trim_matches(['<', '>']))
            .filter(|id| id.contains('@') && id.len() <= MAX_ID_BYTES)
            .map(str::to_string);
        if name.eq_ignore_ascii_case("message-id") {
            self.message_id = ids.next();
        } else if name.eq_ignore_ascii_case("in-reply-to") {
            let room = MAX_IN_REPLY_TO.saturating_sub(self.in_reply_to.len());
            self.in_reply_to.extend(ids.take(room));
        } else if name.eq_ignore_ascii_case("references") {
            self.parent = ids.last().or(self.parent.take());
        }
    }

    /// The IDs this message answers, each once.
    pub fn answered(&self) -> Vec<String> {
        let mut out = self.in_reply_to.clone();
        if let Some(p) = self.parent.as_ref().filter(|p| !out.contains(p)) {
            out.push(p.clone());
        }
        out
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// The stricter of two answers (a 5xx over a 4xx over allowing).
fn stricter(a: Answer, b: Answer) -> Answer {
    match (&a, &b) {
        (Answer::Allow, _) => b,
        (Answer::Refuse(x), Answer::Refuse(y)) if x.starts_with('4') && y.starts_with('5') => b,
        _ => a,
    }
}

fn state_of(svc: &Service) -> Option<(Arc<State>, super::StateConfig)> {
    Some((svc.state.clone()?, svc.config().state.clone()?))
}

/// The MTA refused a recipient (unknown): count it against the client's network.
pub async fn refused_recipient(svc: &Service, client_ip: Option<&str>) {
    let (Some((state, c)), Some(net)) = (state_of(svc), client_ip.and_then(network_of)) else { return };
    if let Some(limit) = &c.limits.unknown_rcpt_network {
        let answer = state.limit(LimitKind::UnknownRcptNetwork, limit, &net, now_us(), false).await;
        if answer != Answer::Allow {
            crate::service::log(
                json!({"service": svc.name, "event": "limit", "limit": "unknown_rcpt_network", "network": net}),
            );
        }
    }
}

/// An inbound recipient: refused while the client's network is over `unknown_rcpt_network`.
pub async fn harvest_check(svc: &Service, client_ip: Option<&str>) -> Answer {
    let (Some((state, c)), Some(net)) = (state_of(svc), client_ip.and_then(network_of)) else { return Answer::Allow };
    let Some(limit) = &c.limits.unknown_rcpt_network else { return Answer::Allow };
    state.limit(LimitKind::UnknownRcptNetwork, limit, &net, now_us(), true).await
}

/// The null-sender limits for one message: per recipient (its tag stripped, hashed), client,
/// network and reporting MTA, each charged; the strictest answer.
async fn null_sender_limits(
    svc: &Service,
    rcpts: &[String],
    client_ip: Option<&str>,
    reporting_mta: Option<&str>,
) -> Answer {
    let Some((state, c)) = state_of(svc) else { return Answer::Allow };
    let now = now_us();
    let mut parts: Vec<(LimitKind, String)> = Vec::new();
    for r in rcpts {
        parts.push((LimitKind::NullSenderRcpt, state.hash(&ndr_filter::tags::strip(r))));
    }
    if let Some(ip) = client_ip.and_then(canonical_ip) {
        parts.push((LimitKind::NullSenderClient, ip));
    }
    if let Some(net) = client_ip.and_then(network_of) {
        parts.push((LimitKind::NullSenderNetwork, net));
    }
    if let Some(mta) = reporting_mta.filter(|m| !m.is_empty() && m.len() <= 255) {
        parts.push((LimitKind::NullSenderReportingMta, mta.to_ascii_lowercase()));
    }
    let mut answer = Answer::Allow;
    for (kind, part) in parts {
        let Some(limit) = c.limits.get(kind) else { continue };
        let a = state.limit(kind, limit, &part, now, false).await;
        if a != Answer::Allow {
            crate::service::log(json!({"service": svc.name, "event": "limit", "limit": kind.name()}));
        }
        answer = stricter(answer, a);
    }
    answer
}

/// Policy service, RCPT time, null sender: the limits, unless the recipient's tag is ours.
pub async fn null_sender_at_rcpt(svc: &Service, rcpt: &str, client_ip: Option<&str>, tag_valid: bool) -> Answer {
    if tag_valid || !svc.config().state.as_ref().is_some_and(|s| s.limits.any_null_sender()) {
        return Answer::Allow;
    }
    null_sender_limits(svc, &[rcpt.to_string()], client_ip, None).await
}

/// What the milter knows of an inbound message besides its bytes.
pub struct Inbound<'a> {
    pub client_ip: Option<&'a str>,
    pub null_sender: bool,
    pub rcpts: &'a [String],
    pub ids: &'a HeaderIds,
}

/// End of data, inbound: the report (classified with the facts) and the limits' answer.
pub async fn classify_inbound(
    svc: &Service,
    lease: &mut Lease,
    raw: Vec<u8>,
    envelope: Value,
    m: &Inbound<'_>,
) -> Result<(Value, Answer), Failure> {
    let now = request::unix_now();
    let Some((state, c)) = state_of(svc).filter(|(s, _)| s.facts_supported) else {
        return svc.classify(lease, raw, envelope).await.map(|r| (r, Answer::Allow));
    };
    let window = c.reputation_hours.saturating_mul(3600);
    let net = m.client_ip.and_then(network_of);
    let mut facts = json!({});
    // Reports come from the null sender (RFC 3464; RFC 3834 asks auto-responders for it too):
    // other mail is not looked up.
    if m.null_sender
        && let Some(n) = &net
        && let Some(counts) = state.reputation(&format!("net:{n}"), now, window).await
        && counts.backscatter + counts.legitimate > 0
    {
        facts["source_reputation"] = json!(counts);
    }
    let raw = Arc::new(raw);
    let mut report = svc.classify_with_facts(lease, raw.clone(), Some(envelope.clone()), facts.clone(), now).await?;
    let judged = report["verdict"].as_str().is_some_and(|v| v != "legitimate");
    if judged {
        let mut ids: Vec<String> = report["original"]["message_id"].as_str().map(str::to_string).into_iter().collect();
        ids.extend(m.ids.answered());
        if !ids.is_empty() && state.sent(&ids, now).await == Some(true) {
            facts["sent_registry"] = json!(true);
            report = svc.classify_with_facts(lease, raw, Some(envelope), facts, now).await?;
        }
    }
    let verdict = report["verdict"].as_str().unwrap_or("");
    let sources: Vec<String> = net
        .iter()
        .map(|n| format!("net:{n}"))
        .chain(report["reporting_mta"].as_str().map(|r| format!("mta:{}", r.to_ascii_lowercase())))
        .collect();
    match verdict {
        "backscatter" | "ndr_spam" => state.add_reputation(&sources, Verdict::Backscatter, now, window).await,
        "legitimate" => state.add_reputation(&sources, Verdict::Legitimate, now, window).await,
        _ => {}
    }
    let ours = verdict == "legitimate"
        || report["signals"].as_array().is_some_and(|s| s.iter().any(|s| s["weight"].as_i64().unwrap_or(0) >= 40));
    let delivered = matches!(report["action"].as_str(), None | Some("accept" | "tag"));
    let answer = if m.null_sender && !ours && delivered && c.limits.any_null_sender() {
        null_sender_limits(svc, m.rcpts, m.client_ip, report["reporting_mta"].as_str()).await
    } else {
        Answer::Allow
    };
    Ok((report, answer))
}

/// Outbound: record the message's Message-ID in the registry.
pub async fn record_outbound(svc: &Service, ids: &HeaderIds) {
    let (Some((state, c)), Some(id)) = (state_of(svc), &ids.message_id) else { return };
    let ttl = c.registry_days.saturating_mul(86_400);
    state.record_sent(std::slice::from_ref(id), request::unix_now(), ttl).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_a_message_answers_are_few() {
        let mut ids = HeaderIds::default();
        ids.keep("Message-ID", "<own@example.com>");
        ids.keep("References", "<a@x.example> <b@x.example>\r\n <c@x.example>");
        ids.keep("In-Reply-To", "<c@x.example>");
        assert_eq!(ids.message_id.as_deref(), Some("own@example.com"));
        assert_eq!(ids.answered(), ["c@x.example"]);
        let mut many = HeaderIds::default();
        many.keep("in-reply-to", &(0..10).map(|i| format!("<{i}@x.example>")).collect::<Vec<_>>().join(" "));
        assert_eq!(many.answered().len(), MAX_IN_REPLY_TO);
        assert_eq!(
            stricter(Answer::Refuse("451 a".into()), Answer::Refuse("550 b".into())),
            Answer::Refuse("550 b".into())
        );
        assert_eq!(stricter(Answer::Refuse("550 b".into()), Answer::Allow), Answer::Refuse("550 b".into()));
    }
}
