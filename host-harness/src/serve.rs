//! `ndr serve`: the filter as an HTTP service (axum on hyper), on the same module pool, loaded
//! configuration, SIGHUP reload, logging and failure policy as the milter and policy services.
//!
//! - `POST /classify`: the raw message as the body; the envelope as query parameters
//!   (`mail_from`, `rcpt` repeated, `client_ip`, `helo`, `now`) or `X-NDR-*` headers; the
//!   report back, the same document `ndr scan --json` prints (without `file`/`index`).
//! - `POST /batv/verify`: `{"address": ..., "now": ...}`; the module's verification.
//! - `GET /health`.
//! - `POST /stalwart`: Stalwart's MTA Hooks (below).
//!
//! Bounds: `[service] max_body_bytes` (413), `max_requests` in flight (503), the request body
//! within `read_timeout_secs` (408), bodies held by all requests within `max_kept_bytes` (503),
//! connections within `max_connections`. A malformed request gets a 4xx with a JSON
//! `{"error": ...}` and never affects other requests. A failed module call answers 503 on
//! `/classify` (the client keeps the mail as if unscanned) and as `on_failure` says on
//! `/stalwart`. Responses carry reports and answers only, never configuration or keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::Service as _;

use crate::kept_budget::Reservation;
use crate::pool::Lease;
use crate::request;
use crate::service::{self, Failure, OnFailure, RcptCheck, Service, Stream};

/// What every request shares: the service and the count of requests in flight.
struct Shared {
    svc: Arc<Service>,
    in_flight: AtomicUsize,
    refused: AtomicUsize,
}

/// Serve HTTP until the process ends.
pub async fn run(listen: &service::Listen, svc: Arc<Service>) -> anyhow::Result<()> {
    let shared = Arc::new(Shared { svc: svc.clone(), in_flight: AtomicUsize::new(0), refused: AtomicUsize::new(0) });
    let router = Router::new()
        .route("/classify", post(classify))
        .route("/batv/verify", post(batv_verify))
        .route("/health", get(health))
        .route("/stalwart", post(stalwart))
        .fallback(
            |uri: Uri| async move { refusal(StatusCode::NOT_FOUND, &format!("no such endpoint: {}", uri.path())) },
        )
        .with_state(shared);
    service::serve(listen, svc, move |stream, svc| connection(stream, svc, router.clone())).await
}

/// One HTTP/1.1 connection (keep-alive); headers must arrive within `read_timeout_secs`.
async fn connection(stream: Box<dyn Stream>, svc: Arc<Service>, router: Router) {
    let read_timeout = Duration::from_secs(svc.config().service.read_timeout_secs);
    let handler = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut router = router.clone();
        async move { router.call(req.map(Body::new)).await }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .max_buf_size(64 << 10)
        .serve_connection(TokioIo::new(stream), handler)
        .await;
    if let Err(e) = served
        && !e.is_incomplete_message()
    {
        service::log(json!({"service": svc.name, "event": "connection_error", "error": e.to_string()}));
    }
}

/// A JSON error answer.
fn refusal(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({"error": error}))).into_response()
}

fn answer(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// The answer to a failed module call: 503, and what `on_failure` says the client should do.
fn failed(error: &str, on_failure: OnFailure) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": error, "on_failure": on_failure}))).into_response()
}

/// A request being served; counted against `max_requests` until dropped.
struct Admitted(Arc<Shared>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// Admit a request, or refuse it with 503 past `max_requests`.
    fn admit(self: &Arc<Self>) -> Result<Admitted, Refused> {
        let max = self.svc.config().service.max_requests;
        match self.in_flight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)) {
            Ok(_) => Ok(Admitted(self.clone())),
            Err(open) => {
                self.note_refusal(json!({"event": "request_refused", "in_flight": open, "max_requests": max}));
                Err(refusal(StatusCode::SERVICE_UNAVAILABLE, "busy: too many requests in flight, retry later").into())
            }
        }
    }

    /// One log line for the first refusal and every thousandth: a flood must not flood the log.
    fn note_refusal(&self, mut record: Value) {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n.is_multiple_of(1000) {
            record["service"] = json!(self.svc.name);
            record["refused_total"] = json!(n);
            service::log(record);
        }
    }

    /// The request body within `max_body_bytes`, `read_timeout_secs` and the budget all
    /// requests share (`max_kept_bytes`); the reservation is held while the bytes are.
    async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<(Vec<u8>, Reservation), Refused> {
        let c = self.svc.config().service.clone();
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let too_long =
            || refusal(StatusCode::PAYLOAD_TOO_LARGE, &format!("body over max_body_bytes ({})", c.max_body_bytes));
        if declared.is_some_and(|n| n > c.max_body_bytes as u64) {
            return Err(too_long().into());
        }
        let mut kept = Reservation::new(self.svc.kept.clone());
        let needed = declared.map_or(c.max_body_bytes, |n| n as usize);
        if !kept.grow(needed, c.max_kept_bytes) {
            self.note_refusal(json!({"event": "over_budget", "max_kept_bytes": c.max_kept_bytes}));
            return Err(refusal(StatusCode::SERVICE_UNAVAILABLE, "busy: max_kept_bytes reached, retry later").into());
        }
        let limited = http_body_util::Limited::new(body, c.max_body_bytes);
        let read = match tokio::time::timeout(Duration::from_secs(c.read_timeout_secs), limited.collect()).await {
            Err(_) => Err(refusal(
                StatusCode::REQUEST_TIMEOUT,
                &format!("body not complete within read_timeout_secs ({})", c.read_timeout_secs),
            )),
            Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_long()),
            Ok(Err(_)) => Err(refusal(StatusCode::BAD_REQUEST, "the body could not be read")),
            Ok(Ok(collected)) => Ok((Vec::from(collected.to_bytes()), kept)),
        };
        read.map_err(Box::new)
    }

    /// Admit a request and read its body.
    async fn receive(self: &Arc<Self>, headers: &HeaderMap, body: Body) -> Result<Received, Refused> {
        let admitted = self.admit()?;
        let (body, kept) = self.read_body(headers, body).await?;
        Ok(Received { body, _admitted: admitted, _kept: kept })
    }

    /// Admit a request and parse its JSON body (400 with what is wrong).
    async fn receive_json<T: serde::de::DeserializeOwned>(
        self: &Arc<Self>,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(T, Received), Refused> {
        let received = self.receive(headers, body).await?;
        if received.body.is_empty() {
            return Err(refusal(StatusCode::BAD_REQUEST, "no body: POST a JSON document").into());
        }
        match serde_json::from_slice(&received.body) {
            Ok(v) => Ok((v, received)),
            Err(e) => Err(refusal(StatusCode::BAD_REQUEST, &format!("malformed JSON: {e}")).into()),
        }
    }
}

/// An answer that refuses the request (boxed: it is large and only the rare path).
type Refused = Box<Response>;

/// A request admitted with its body; counted against `max_requests` and `max_kept_bytes`
/// until dropped.
struct Received {
    body: Vec<u8>,
    _admitted: Admitted,
    _kept: Reservation,
}

/// `/classify`'s parameters: the query first, then `X-NDR-*` headers for what it lacks.
#[derive(Debug, Default, PartialEq)]
struct ClassifyParams {
    mail_from: Option<String>,
    rcpt: Vec<String>,
    client_ip: Option<String>,
    helo: Option<String>,
    now: Option<u64>,
}

impl ClassifyParams {
    fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<ClassifyParams, String> {
        let mut p = ClassifyParams::default();
        let mut now = None;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "mail_from" => p.mail_from = Some(v.into_owned()),
                "rcpt" => p.rcpt.push(v.into_owned()),
                "client_ip" => p.client_ip = Some(v.into_owned()),
                "helo" => p.helo = Some(v.into_owned()),
                "now" => now = Some(v.into_owned()),
                other => {
                    return Err(format!("unknown parameter {other:?} (mail_from, rcpt, client_ip, helo, now)"));
                }
            }
        }
        let text = |name: &str| -> Result<Vec<String>, String> {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().map(str::to_string).map_err(|_| format!("{name} is not ASCII text")))
                .collect()
        };
        let first = |name: &str| text(name).map(|v| v.into_iter().next());
        if p.mail_from.is_none() {
            p.mail_from = first("x-ndr-mail-from")?;
        }
        if p.rcpt.is_empty() {
            p.rcpt = text("x-ndr-rcpt")?;
        }
        if p.client_ip.is_none() {
            p.client_ip = first("x-ndr-client-ip")?;
        }
        if p.helo.is_none() {
            p.helo = first("x-ndr-helo")?;
        }
        if now.is_none() {
            now = first("x-ndr-now")?;
        }
        p.now = now
            .map(|n| n.trim().parse::<u64>().map_err(|_| format!("now must be Unix seconds, not {n:?}")))
            .transpose()?;
        Ok(p)
    }

    /// The envelope, or none when nothing of it was given (as `ndr scan` without options).
    fn envelope(&self) -> Option<Value> {
        if self.mail_from.is_none() && self.rcpt.is_empty() && self.client_ip.is_none() && self.helo.is_none() {
            return None;
        }
        Some(request::envelope(self.mail_from.as_deref(), &self.rcpt, self.client_ip.as_deref(), self.helo.as_deref()))
    }
}

async fn classify(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let params = match ClassifyParams::parse(uri.query(), &headers) {
        Ok(p) => p,
        Err(e) => return refusal(StatusCode::BAD_REQUEST, &e),
    };
    let mut received = match shared.receive(&headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let raw = std::mem::take(&mut received.body);
    if raw.is_empty() {
        return refusal(StatusCode::BAD_REQUEST, "no message: POST the raw message as the body");
    }
    let svc = &shared.svc;
    let t = Instant::now();
    let mut lease = Lease::new(svc.pool.clone());
    let now = params.now.unwrap_or_else(request::unix_now);
    match svc.classify_at(&mut lease, raw, params.envelope(), now).await {
        Ok(report) => {
            log_decision(svc, "/classify", &report, t);
            answer(report)
        }
        Err(f) => failed("the message could not be classified", log_failure(svc, "/classify", &f, t)),
    }
}

fn log_decision(svc: &Service, path: &str, report: &Value, t: Instant) {
    service::log(json!({
        "service": svc.name, "path": path, "kind": report["kind"], "verdict": report["verdict"],
        "action": report["action"], "score": report["score"], "signals": service::signal_list(report),
        "us": service::micros(t),
    }));
}

fn log_failure(svc: &Service, path: &str, f: &Failure, t: Instant) -> OnFailure {
    let on_failure = svc.config().service.on_failure;
    service::log(json!({
        "service": svc.name, "event": "failure", "path": path, "error": f.0, "on_failure": on_failure,
        "us": service::micros(t),
    }));
    on_failure
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    address: String,
    now: Option<u64>,
}

async fn batv_verify(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (req, _received): (VerifyRequest, _) = match shared.receive_json(&headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let svc = &shared.svc;
    if svc.config().module.get("batv").is_none() {
        return refusal(StatusCode::CONFLICT, "BATV is not configured: no [batv] section in --config");
    }
    let t = Instant::now();
    let mut lease = Lease::new(svc.pool.clone());
    let now = req.now.unwrap_or_else(request::unix_now);
    match svc.address_at(&mut lease, "ndr_batv_verify", &req.address, None, now).await {
        Ok(a) => {
            service::log(
                json!({"service": svc.name, "path": "/batv/verify", "batv": a["result"], "us": service::micros(t)}),
            );
            answer(a)
        }
        Err(f) => failed("verification failed", log_failure(svc, "/batv/verify", &f, t)),
    }
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let c = shared.svc.config();
    answer(json!({
        "status": "ok",
        "in_flight": shared.in_flight.load(Ordering::Relaxed),
        "max_requests": c.service.max_requests,
        "idle_instances": shared.svc.pool.idle(),
        "batv": c.module.get("batv").is_some(),
    }))
}

// Stalwart's MTA Hooks, as documented at https://stalw.art/docs/api/mta-hooks/request and
// https://stalw.art/docs/api/mta-hooks/response (and Stalwart's crates/smtp/src/inbound/hooks):
// a JSON request with `context` (stage, client ip and helo), `envelope` (from, to) and, at the
// data stage, `message` (headers as [name, value] pairs, `contents` the body); the answer has
// `action` (accept, discard, reject, quarantine), an optional SMTP `response` and
// `modifications` (addHeader, deleteHeader, ...). Unknown fields are ignored: Stalwart sends more.

#[derive(Deserialize)]
struct HookRequest {
    context: HookContext,
    #[serde(default)]
    envelope: Option<HookEnvelope>,
    #[serde(default)]
    message: Option<HookMessage>,
}

#[derive(Deserialize)]
struct HookContext {
    stage: String,
    #[serde(default)]
    client: HookClient,
}

#[derive(Deserialize, Default)]
struct HookClient {
    #[serde(default)]
    ip: Option<String>,
    /// Stalwart's code sends `helo`; its documentation says `ehlo`.
    #[serde(default, alias = "ehlo")]
    helo: Option<String>,
}

#[derive(Deserialize)]
struct HookEnvelope {
    from: HookAddress,
    #[serde(default)]
    to: Vec<HookAddress>,
}

#[derive(Deserialize)]
struct HookAddress {
    address: String,
}

#[derive(Deserialize)]
struct HookMessage {
    headers: Vec<(String, String)>,
    contents: String,
}

impl HookMessage {
    /// The message again: each header as `name: value` (the value as sent, folded lines
    /// kept), a blank line, the body.
    fn raw(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.contents.len() + 4096);
        for (name, value) in &self.headers {
            raw.extend_from_slice(name.as_bytes());
            raw.push(b':');
            if !value.starts_with([' ', '\t']) {
                raw.push(b' ');
            }
            raw.extend_from_slice(value.as_bytes());
            if !value.ends_with('\n') {
                raw.extend_from_slice(b"\r\n");
            }
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(self.contents.as_bytes());
        raw
    }
}

/// The hook answer: an action, an optional SMTP reply and modifications.
fn hook_answer(action: &str, reply: Option<(u64, String, String)>, modifications: Vec<Value>) -> Value {
    let mut a = json!({"action": action, "modifications": modifications});
    if let Some((status, enhanced, message)) = reply {
        // The documentation names it `enhancedStatus`, Stalwart's code reads `enhanced_status`:
        // both, so that either reads it (unknown fields are ignored).
        a["response"] =
            json!({"status": status, "enhancedStatus": enhanced, "enhanced_status": enhanced, "message": message});
    }
    a
}

/// The answer to a failed call: accept, or a temporary failure.
fn hook_failure(on_failure: OnFailure) -> Value {
    match on_failure {
        OnFailure::Accept => hook_answer("accept", None, Vec::new()),
        OnFailure::Tempfail => hook_answer("reject", Some((451, "4.7.1".into(), "Try again later".into())), Vec::new()),
    }
}

/// `"550 5.7.1 text"` as (code, enhanced status, text); the defaults for missing parts.
fn split_reply(line: &str) -> (u64, String, String) {
    let mut parts = line.splitn(3, ' ');
    let code = parts.next().and_then(|c| c.parse::<u64>().ok()).filter(|c| (400..600).contains(c)).unwrap_or(550);
    let rest: Vec<&str> = parts.collect();
    match rest.as_slice() {
        [status, text] if status.split('.').count() == 3 => (code, status.to_string(), text.to_string()),
        _ => (code, format!("{}.7.1", code / 100), rest.join(" ")),
    }
}

async fn stalwart(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (req, mut received): (HookRequest, _) = match shared.receive_json(&headers, body).await {
        Ok(r) => r,
        Err(r) => return *r,
    };
    // The JSON is parsed: its bytes go back (the reservation stays until the answer).
    received.body = Vec::new();
    let svc = &shared.svc;
    let mut lease = Lease::new(svc.pool.clone());
    let stage = req.context.stage.to_ascii_lowercase();
    let from = req.envelope.as_ref().map(|e| request::bare_address(&e.from.address));
    match (stage.as_str(), &req.message) {
        ("data", Some(message)) => answer(stalwart_data(svc, &mut lease, &req, message).await),
        ("data", None) => refusal(StatusCode::BAD_REQUEST, "data stage without a message"),
        // RCPT: refuse a null-sender recipient whose tag is forged, as the milter does.
        ("rcpt", _) if from.as_deref() == Some("") => {
            let Some(rcpt) = req.envelope.as_ref().and_then(|e| e.to.last()) else {
                return answer(hook_answer("accept", None, Vec::new()));
            };
            let rcpt = request::bare_address(&rcpt.address);
            answer(match svc.check_rcpt(&mut lease, &rcpt, None).await {
                RcptCheck::Continue => hook_answer("accept", None, Vec::new()),
                RcptCheck::Refuse(text) => hook_answer("reject", Some(split_reply(&text)), Vec::new()),
                RcptCheck::Failed(on_failure) => hook_failure(on_failure),
            })
        }
        _ => answer(hook_answer("accept", None, Vec::new())),
    }
}

/// The data stage: classify with the envelope and answer with the verdict's action.
async fn stalwart_data(svc: &Service, lease: &mut Lease, req: &HookRequest, message: &HookMessage) -> Value {
    let t = Instant::now();
    let rcpts: Vec<String> =
        req.envelope.iter().flat_map(|e| e.to.iter()).map(|a| request::bare_address(&a.address)).collect();
    let client = &req.context.client;
    let envelope = request::envelope(
        req.envelope.as_ref().map(|e| e.from.address.as_str()),
        &rcpts,
        client.ip.as_deref(),
        client.helo.as_deref(),
    );
    let report = match svc.classify_at(lease, message.raw(), Some(envelope), request::unix_now()).await {
        Ok(r) => r,
        Err(f) => return hook_failure(log_failure(svc, "/stalwart", &f, t)),
    };
    log_decision(svc, "/stalwart", &report, t);
    let prefix = svc.config().service.header_prefix.clone();
    // Our own headers from outside are forged: removed whatever the verdict (last first, so
    // that the indexes of the others hold).
    let own = format!("{prefix}-").to_ascii_lowercase();
    let mut modifications = Vec::new();
    let mut seen: Vec<(String, u32)> = Vec::new();
    for (name, _) in &message.headers {
        if name.to_ascii_lowercase().starts_with(&own) {
            match seen.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, count)) => *count += 1,
                None => seen.push((name.clone(), 1)),
            }
        }
    }
    for (name, count) in &seen {
        for index in (1..=*count).rev() {
            modifications.push(json!({"type": "deleteHeader", "index": index, "name": name}));
        }
    }
    for (name, value) in service::verdict_headers(&report, &prefix) {
        modifications.push(json!({"type": "addHeader", "name": name, "value": value}));
    }
    match report["action"].as_str().unwrap_or("accept") {
        "quarantine" => hook_answer("quarantine", None, modifications),
        "reject" | "tempfail" => hook_answer("reject", Some(service::verdict_reply(&report)), Vec::new()),
        "drop" => hook_answer("discard", None, Vec::new()),
        _ => hook_answer("accept", None, modifications),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_from_query_and_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-ndr-helo", "mx.example.net".parse().unwrap());
        h.append("x-ndr-rcpt", "ignored@example.com".parse().unwrap());
        let p = ClassifyParams::parse(Some("mail_from=&rcpt=a%40example.com&rcpt=b@example.com&now=1700000000"), &h)
            .unwrap();
        assert_eq!(p.mail_from.as_deref(), Some(""));
        assert_eq!(p.rcpt, ["a@example.com", "b@example.com"]);
        assert_eq!(p.helo.as_deref(), Some("mx.example.net"));
        assert_eq!(p.now, Some(1_700_000_000));
        assert_eq!(p.envelope().unwrap()["mail_from"], "");
        assert_eq!(ClassifyParams::parse(None, &HeaderMap::new()).unwrap().envelope(), None);
        assert!(ClassifyParams::parse(Some("now=yesterday"), &HeaderMap::new()).is_err());
        assert!(ClassifyParams::parse(Some("mailfrom=a@b"), &HeaderMap::new()).is_err());
    }

    #[test]
    fn hook_messages_are_put_together_again() {
        let m = HookMessage {
            headers: vec![("From".into(), " a@b.example\r\n".into()), ("Subject".into(), "hi\r\n\tthere".into())],
            contents: "body\r\n".into(),
        };
        assert_eq!(String::from_utf8(m.raw()).unwrap(), "From: a@b.example\r\nSubject: hi\r\n\tthere\r\n\r\nbody\r\n");
    }

    #[test]
    fn replies_split() {
        assert_eq!(split_reply("550 5.7.1 Backscatter refused"), (550, "5.7.1".into(), "Backscatter refused".into()));
        assert_eq!(split_reply("451 try later"), (451, "4.7.1".into(), "try later".into()));
    }
}
