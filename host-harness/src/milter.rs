//! `ndr milter`: the filter as a milter (Postfix, Sendmail); the protocol's conversation is
//! `milter_wire`'s.
//!
//! Inbound mail: a null-sender recipient whose BATV tag is forged may be refused at RCPT time
//! (`[service] rcpt_reject`); ordinary mail (`ndr_prescreen`) is accepted at the end of its
//! headers; everything else is decided at end of data, where the message is
//! classified with the real envelope and client address and the verdict's action is applied:
//! `accept`, `tag` (verdict headers), `quarantine` (Postfix's hold queue, with headers),
//! `reject` (the verdict's SMTP reply), `drop` (discard), `tempfail`.
//!
//! Outbound mail (authenticated, from `outbound_networks`, or through an `outbound_daemons`
//! daemon) leaves with a BATV-signed envelope sender (SMFIR_CHGFROM).
//!
//! A failed call answers as `on_failure` says and changes nothing in the message.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use miltr_common::actions::{Action, Continue, Discard, Replycode, Tempfail};
use miltr_common::commands::{Body, Connect, Header, Helo, Macro, Mail, Recipient};
use miltr_common::modifications::ModificationResponse;
use miltr_common::modifications::headers::{AddHeader, ChangeHeader};
use miltr_common::modifications::quarantine::Quarantine;
use miltr_common::optneg::Protocol;
use serde_json::{Value, json};

use crate::kept_budget::Reservation;
use crate::milter_wire::{self, EndOfMessage, Session};
use crate::packet_deadlines::PacketDeadlines;
use crate::pool::Lease;
use crate::request;
use crate::service::{self, Failure, OnFailure, RcptCheck, Service, Stream};
use crate::state::hooks as state;

/// Bytes of a message kept for classification when `[limits] max_message_bytes` is not set (the
/// module's own default: it reads no more).
const MAX_KEPT: usize = 32 << 20;
/// Bytes read from the MTA at a time.
const READ_BUFFER: usize = 16 << 10;
/// Recipient addresses longer than this are not kept (RFC 5321 allows 256 octets in a path).
const MAX_RCPT_BYTES: usize = 320;

/// Serve milter connections until the process ends.
pub async fn run(listen: &service::Listen, svc: Arc<Service>) -> anyhow::Result<()> {
    service::serve(listen, svc, handle).await
}

async fn handle(stream: Box<dyn Stream>, svc: Arc<Service>) {
    let mut milter = NdrMilter::new(svc.clone());
    let limits = svc.config().service.clone();
    // Read through a buffer: with the no-reply options the MTA sends the macros, MAIL and every
    // header without waiting, so one read takes many packets where a bare stream would cost two
    // reads (length, then data) per packet.
    let mut io = tokio::io::BufReader::with_capacity(
        READ_BUFFER,
        PacketDeadlines::new(
            stream,
            Duration::from_secs(limits.idle_timeout_secs),
            Duration::from_secs(limits.read_timeout_secs),
        ),
    );
    if let Err(e) = milter_wire::serve(&mut io, &mut milter).await {
        service::log(json!({"service": svc.name, "event": "connection_error", "error": e.to_string()}));
    }
}

/// The state of one milter connection.
struct NdrMilter {
    svc: Arc<Service>,
    lease: Lease,
    /// SMFIR_CHGFROM, which the crate cannot encode: sent before the end-of-message reply.
    chgfrom: Vec<u8>,
    client_ip: Option<String>,
    helo: Option<String>,
    /// Macros of the connection (`{daemon_name}`, `j`) and of the message (`i`, `{auth_authen}`).
    conn_macros: HashMap<String, String>,
    msg_macros: HashMap<String, String>,
    mail_from: Option<String>,
    rcpts: Vec<String>,
    /// The message as it arrived: headers, blank line, body.
    raw: Vec<u8>,
    /// What `raw` holds of the budget shared by all connections (`max_kept_bytes`).
    kept: Reservation,
    /// The budget had no room: the message goes on unscanned as `on_failure` says.
    over_budget: bool,
    /// Bytes of macros kept (connection, message), for `max_macro_bytes`.
    conn_macro_bytes: usize,
    msg_macro_bytes: usize,
    /// How often each of our own header names arrived (to remove forged ones).
    own_headers: Vec<(String, u32)>,
    outbound: bool,
    started: Option<Instant>,
    /// Message-IDs of the header, for the sent-mail registry (`[state]`).
    ids: state::HeaderIds,
}

impl NdrMilter {
    fn new(svc: Arc<Service>) -> NdrMilter {
        NdrMilter {
            lease: Lease::new(svc.pool.clone()),
            svc: svc.clone(),
            chgfrom: Vec::new(),
            client_ip: None,
            helo: None,
            conn_macros: HashMap::new(),
            msg_macros: HashMap::new(),
            mail_from: None,
            rcpts: Vec::new(),
            raw: Vec::new(),
            kept: Reservation::new(svc.kept.clone()),
            over_budget: false,
            conn_macro_bytes: 0,
            msg_macro_bytes: 0,
            own_headers: Vec::new(),
            outbound: false,
            started: None,
            ids: state::HeaderIds::default(),
        }
    }

    /// Forget the message; buffers are dropped, not cleared, so their memory goes back.
    fn reset_message(&mut self) {
        self.msg_macros = HashMap::new();
        self.msg_macro_bytes = 0;
        self.mail_from = None;
        self.started = None;
        self.outbound = false;
        self.ids = state::HeaderIds::default();
        self.reset_content();
    }

    /// Forget recipients and content (a new MAIL, or the end of a message).
    fn reset_content(&mut self) {
        self.rcpts = Vec::new();
        self.raw = Vec::new();
        self.kept.release();
        self.over_budget = false;
        self.own_headers = Vec::new();
    }

    /// Keep message bytes for classification, within the message limit and the budget shared
    /// by all connections. Past the budget the message is dropped from memory and marked.
    fn keep(&mut self, bytes: &[u8]) {
        if self.outbound || self.over_budget {
            return;
        }
        let c = self.svc.config();
        // One byte past the limit, so that the report says the message was cut.
        let limit = c.module["limits"]["max_message_bytes"].as_u64().map_or(MAX_KEPT, |n| n as usize);
        let per_message = limit.saturating_add(1);
        let bytes = &bytes[..bytes.len().min(per_message.saturating_sub(self.raw.len()))];
        let needed = self.raw.len() + bytes.len();
        if needed > self.raw.capacity() {
            // Grow by doubling up to the message limit, reserving the growth first.
            let target = needed.max(self.raw.capacity().saturating_mul(2)).min(per_message).max(needed);
            if !self.kept.grow(target - self.raw.capacity(), c.service.max_kept_bytes) {
                self.over_budget = true;
                self.raw = Vec::new();
                self.kept.release();
                service::log(json!({
                    "service": "milter", "event": "over_budget", "queue_id": self.queue_id(),
                    "max_kept_bytes": c.service.max_kept_bytes, "on_failure": c.service.on_failure,
                }));
                return;
            }
            self.raw.reserve_exact(target - self.raw.len());
        }
        self.raw.extend_from_slice(bytes);
    }

    fn macro_value(&self, name: &str) -> Option<&str> {
        self.msg_macros.get(name).or_else(|| self.conn_macros.get(name)).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn queue_id(&self) -> Option<&str> {
        self.macro_value("i")
    }

    fn is_outbound(&self) -> bool {
        let c = self.svc.config();
        let s = &c.service;
        (s.outbound_authenticated && self.macro_value("auth_authen").is_some())
            || self.macro_value("daemon_name").is_some_and(|d| s.outbound_daemons.iter().any(|o| o == d))
            || self.client_ip.as_deref().is_some_and(|ip| c.is_outbound_client(ip))
    }

    fn envelope(&self) -> Value {
        request::envelope(self.mail_from.as_deref(), &self.rcpts, self.client_ip.as_deref(), self.helo.as_deref())
    }

    /// The answer to a failed call, logged.
    fn failed(&self, stage: &str, f: &Failure) -> OnFailure {
        let on_failure = self.svc.config().service.on_failure;
        service::log(json!({
            "service": "milter", "event": "failure", "stage": stage, "queue_id": self.queue_id(),
            "error": f.0, "on_failure": on_failure, "transaction_us": self.started.map(service::micros),
        }));
        on_failure
    }

    /// RCPT time: refuse a null-sender recipient whose tag is forged (per `rcpt_reject`).
    async fn check_rcpt(&mut self, rcpt: &str) -> Action {
        if !self.outbound
            && let crate::state::Answer::Refuse(text) = state::harvest_check(&self.svc, self.client_ip.as_deref()).await
        {
            return reply(&text).into();
        }
        if self.outbound || self.mail_from.as_deref() != Some("") {
            return Continue.into();
        }
        let queue_id = self.queue_id().map(str::to_string);
        match self.svc.check_rcpt(&mut self.lease, rcpt, queue_id.as_deref()).await {
            RcptCheck::Continue | RcptCheck::Failed(OnFailure::Accept) => Continue.into(),
            RcptCheck::Failed(OnFailure::Tempfail) => Tempfail.into(),
            RcptCheck::Refuse(text) => reply(&text).into(),
        }
    }

    /// End of data, outbound: sign the envelope sender.
    async fn sign_sender(&mut self) -> ModificationResponse {
        let Some(sender) = self.mail_from.clone().filter(|s| !s.is_empty()) else {
            return ModificationResponse::empty_continue();
        };
        if self.svc.config().module.get("batv").is_none() {
            return ModificationResponse::empty_continue();
        }
        let destination = self.rcpts.first().cloned();
        let t = Instant::now();
        let answer = match self.svc.address(&mut self.lease, "ndr_batv_sign", &sender, destination.as_deref()).await {
            Ok(a) => a,
            Err(f) => return failure_response(self.failed("data", &f)),
        };
        let signed = answer["signed"] == true;
        let address = answer["address"].as_str().unwrap_or(&sender).to_string();
        service::log(json!({
            "service": "milter", "stage": "data", "direction": "outbound", "queue_id": self.queue_id(),
            "signed": signed, "skipped": answer["skipped"], "key": answer["key"], "us": service::micros(t),
        }));
        if signed && address != sender {
            self.chgfrom = chgfrom_packet(&address);
        }
        ModificationResponse::empty_continue()
    }

    /// End of headers: whether the message is ordinary mail that needs no body (the module's
    /// `ndr_prescreen`), so that it is accepted here and its body never sent. Not for outbound
    /// mail (signed at the end), a null sender (a report), forged verdict headers (removed at
    /// the end), `scan_all_mail`, or when the prescreen fails (the whole message is read).
    async fn ordinary_at_headers(&mut self) -> bool {
        if self.outbound
            || self.over_budget
            || !self.own_headers.is_empty()
            || self.mail_from.as_deref().is_none_or(str::is_empty)
            || self.svc.config().service.scan_all_mail
        {
            return false;
        }
        let t = Instant::now();
        let envelope = self.envelope();
        let answer = match self.svc.prescreen(&mut self.lease, &self.raw, envelope).await {
            Ok(a) => a,
            Err(f) => {
                service::log(json!({
                    "service": "milter", "event": "failure", "stage": "headers", "queue_id": self.queue_id(),
                    "error": f.0, "then": "the whole message is read",
                }));
                return false;
            }
        };
        if answer["needs_body"] != false {
            return false;
        }
        self.svc.metrics.decision(&json!({"kind": "normal"}));
        service::log(json!({
            "service": "milter", "stage": "headers", "direction": "inbound", "queue_id": self.queue_id(),
            "kind": "normal", "action": "accept", "why": answer["why"], "rcpts": self.rcpts.len(),
            "us": service::micros(t), "transaction_us": self.started.map(service::micros),
        }));
        true
    }

    /// End of data, inbound: classify and apply the verdict's action.
    async fn decide(&mut self) -> ModificationResponse {
        if self.over_budget {
            self.svc.metrics.failure("over_budget");
            let f = Failure("message not scanned: max_kept_bytes reached by all connections together".into());
            return failure_response(self.failed("data", &f));
        }
        let raw = std::mem::take(&mut self.raw);
        let envelope = self.envelope();
        let t = Instant::now();
        let inbound = state::Inbound {
            client_ip: self.client_ip.as_deref(),
            null_sender: self.mail_from.as_deref() == Some(""),
            rcpts: &self.rcpts,
            ids: &self.ids,
        };
        let (report, limited) = match state::classify_inbound(&self.svc, &mut self.lease, raw, envelope, &inbound).await
        {
            Ok(r) => r,
            Err(f) => return failure_response(self.failed("data", &f)),
        };
        let c = self.svc.config();
        let prefix = c.service.header_prefix.clone();
        let verdict = report["verdict"].as_str().map(str::to_string);
        let action = report["action"].as_str().unwrap_or("accept").to_string();
        let signals = service::signal_list(&report);
        service::log(json!({
            "service": "milter", "stage": "data", "direction": "inbound", "queue_id": self.queue_id(),
            "kind": report["kind"], "verdict": verdict, "action": action, "score": report["score"],
            "signals": signals, "rcpts": self.rcpts.len(), "us": service::micros(t),
            "transaction_us": self.started.map(service::micros),
        }));
        if let crate::state::Answer::Refuse(text) = limited {
            return ModificationResponse::builder().build(reply(&text));
        }
        let mut b = ModificationResponse::builder();
        // Forged verdict headers from outside are removed whatever the verdict.
        for (name, count) in &self.own_headers {
            for index in (1..=*count).rev() {
                b.push(ChangeHeader::new(index, name.as_bytes(), b""));
            }
        }
        for (name, value) in service::verdict_headers(&report, &prefix) {
            b.push(AddHeader::new(name.as_bytes(), value.as_bytes()));
        }
        match action.as_str() {
            "quarantine" => {
                b.push(Quarantine::new(b"ndr: backscatter verdict"));
                b.contin()
            }
            "reject" | "tempfail" => {
                let (code, status, text) = service::verdict_reply(&report);
                b.build(reply(&format!("{code} {status} {text}")))
            }
            "drop" => b.build(Discard),
            _ => b.contin(),
        }
    }
}

fn failure_response(on_failure: OnFailure) -> ModificationResponse {
    match on_failure {
        OnFailure::Accept => ModificationResponse::empty_continue(),
        OnFailure::Tempfail => ModificationResponse::builder().build(Tempfail),
    }
}

/// A milter reply from `"550 5.7.1 text"`; anything malformed becomes a 550 5.7.1.
fn reply(line: &str) -> Replycode {
    let mut parts = line.splitn(3, ' ');
    let code = parts.next().unwrap_or("");
    let digits: Vec<u8> = code.bytes().filter(u8::is_ascii_digit).map(|d| d - b'0').collect();
    let rcode = match digits.as_slice() {
        [a @ (4 | 5), b, c] if code.len() == 3 => [*a, *b, *c],
        _ => [5, 5, 0],
    };
    let (xcode, text) = match parts.next().map(|x| x.split('.').map(str::parse::<u16>).collect::<Vec<_>>()) {
        Some(v) if v.len() == 3 && v.iter().all(Result::is_ok) => {
            let n: Vec<u16> = v.into_iter().map(|r| r.unwrap_or(0)).collect();
            ([n[0], n[1], n[2]], parts.next().unwrap_or("").to_string())
        }
        Some(_) => ([u16::from(rcode[0]), 7, 1], line.split_once(' ').map(|x| x.1).unwrap_or("").to_string()),
        None => ([u16::from(rcode[0]), 7, 1], String::new()),
    };
    // The reply is one line; '%' is special to Sendmail.
    let text: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().replace('%', "%%");
    Replycode::new(rcode, xcode, if text.is_empty() { "Refused" } else { &text })
}

/// SMFIR_CHGFROM (`e`): the new envelope sender, NUL-terminated, no ESMTP arguments.
fn chgfrom_packet(address: &str) -> Vec<u8> {
    let data = format!("<{address}>\0");
    let len = (data.len() + 1) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(b'e');
    p.extend_from_slice(data.as_bytes());
    p
}

impl Session for NdrMilter {
    fn macros(&mut self, m: Macro) {
        let connection_level = matches!(m.code, b'C' | b'H');
        let max = self.svc.config().service.max_macro_bytes;
        for (k, v) in m.macros() {
            let bytes = k.len() + v.len();
            if self.conn_macro_bytes + self.msg_macro_bytes + bytes > max {
                continue;
            }
            let name = String::from_utf8_lossy(k).trim_matches(['{', '}']).to_string();
            let value = String::from_utf8_lossy(v).to_string();
            if connection_level {
                self.conn_macro_bytes += bytes;
                self.conn_macros.insert(name, value);
            } else {
                self.msg_macro_bytes += bytes;
                self.msg_macros.insert(name, value);
            }
        }
    }

    fn connect(&mut self, c: Connect) {
        let ip = c.address();
        self.client_ip = (!ip.is_empty()).then(|| ip.to_string());
    }

    fn helo(&mut self, h: Helo) {
        self.helo = Some(h.helo().trim_end_matches('\0').to_string());
    }

    fn mail(&mut self, m: Mail) {
        self.reset_content();
        self.mail_from = Some(request::bare_address(&m.sender()));
        self.started = Some(Instant::now());
        self.outbound = self.is_outbound();
    }

    fn extra_protocol(&self) -> Protocol {
        if state::want_rejected_rcpts(&self.svc) {
            // Hear of the recipients the MTA refuses too (`{rcpt_mailer}` is `error`).
            Protocol::SMFIP_RCPT_REJ
        } else {
            Protocol::empty()
        }
    }

    async fn rcpt(&mut self, r: Recipient) -> Action {
        if self.macro_value("rcpt_mailer") == Some("error") {
            // Refused by the MTA (SMFIP_RCPT_REJ): counted, and the MTA ignores this answer.
            state::refused_recipient(&self.svc, self.client_ip.as_deref()).await;
            return Continue.into();
        }
        let rcpt = request::bare_address(&r.recipient());
        let action = self.check_rcpt(&rcpt).await;
        let max = self.svc.config().service.max_recipients;
        if matches!(action, Action::Continue(_)) && self.rcpts.len() < max && rcpt.len() <= MAX_RCPT_BYTES {
            self.rcpts.push(rcpt);
        }
        action
    }

    fn header(&mut self, h: Header) {
        let name = h.name();
        let own = {
            let prefix = self.svc.config().service.header_prefix.clone();
            let n = name.as_bytes();
            n.len() > prefix.len()
                && n[prefix.len()] == b'-'
                && n[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        };
        if own {
            match self.own_headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some((_, count)) => *count += 1,
                None => self.own_headers.push((name.to_string(), 1)),
            }
        }
        let value = h.value();
        self.ids.keep(&name, &value);
        let sep = if value.starts_with([' ', '\t']) { ":" } else { ": " };
        self.keep(format!("{name}{sep}{value}\r\n").as_bytes());
    }

    async fn end_of_header(&mut self) -> bool {
        self.keep(b"\r\n");
        self.ordinary_at_headers().await
    }

    fn body(&mut self, b: Body) {
        self.keep(b.as_bytes());
    }

    async fn end_of_body(&mut self) -> EndOfMessage {
        let response = if self.outbound {
            let signed = self.sign_sender().await;
            state::record_outbound(&self.svc, &self.ids).await;
            signed
        } else {
            self.decide().await
        };
        let raw_before = std::mem::take(&mut self.chgfrom);
        // The next message's macros come after this reply: start clean, memory given back.
        self.reset_message();
        EndOfMessage { response, raw_before }
    }

    fn abort(&mut self) {
        self.reset_message();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_from_text() {
        let r = reply("550 5.7.1 Backscatter refused");
        assert_eq!((r.rcode().code(), r.xcode().as_ref().map(|x| x.code())), ([5, 5, 0], Some([5, 7, 1])));
        assert_eq!(r.message(), "Backscatter refused");
        let r = reply("451 try later 100%");
        assert_eq!(r.rcode().code(), [4, 5, 1]);
        assert_eq!(r.message(), "try later 100%%");
        assert_eq!(reply("garbage").rcode().code(), [5, 5, 0]);
    }

    #[test]
    fn chgfrom_is_a_milter_packet() {
        let p = chgfrom_packet("prvs=1234abcdef=a@example.com");
        let len = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
        assert_eq!(len, p.len() - 4);
        assert_eq!(p[4], b'e');
        assert!(p.ends_with(b">\0"));
    }
}
