//! `ndr policy`: the Postfix policy delegation protocol (`check_policy_service`) for RCPT-time
//! BATV decisions, for sites that run no milter. Postfix sends `name=value` lines ending with an
//! empty line; we answer `action=...` and an empty line. Only null-sender recipients whose tag
//! is refused by `[service] rcpt_reject` get a reject; everything else is `DUNNO` (untagged
//! recipients included: address-verification probes look exactly like bounces at RCPT time).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::pool::Lease;
use crate::service::{self, OnFailure, RcptCheck, Service, Stream};
use crate::state::{Answer, hooks};

/// Bounds on one request: its bytes and attributes (`[service] max_request_bytes`,
/// `max_attributes`).
#[derive(Debug, Clone, Copy)]
struct RequestLimits {
    bytes: usize,
    attributes: usize,
}

/// Serve policy connections until the process ends.
pub async fn run(listen: &service::Listen, svc: Arc<Service>) -> anyhow::Result<()> {
    service::serve(listen, svc, handle).await
}

async fn handle(stream: Box<dyn Stream>, svc: Arc<Service>) {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(4096, read);
    let mut lease = Lease::new(svc.pool.clone());
    loop {
        let c = svc.config().service.clone();
        let limits = RequestLimits { bytes: c.max_request_bytes, attributes: c.max_attributes };
        // Idle until a request begins; then the whole request within the read limit.
        let waited = tokio::time::timeout(Duration::from_secs(c.idle_timeout_secs), reader.fill_buf()).await;
        let error = match waited {
            Err(_) => Some("idle timeout".to_string()),
            Ok(Err(e)) => Some(e.to_string()),
            Ok(Ok([])) => return,
            Ok(Ok(_)) => None,
        };
        let attrs = match error {
            Some(e) => Err(e),
            None => tokio::time::timeout(Duration::from_secs(c.read_timeout_secs), read_request(&mut reader, limits))
                .await
                .unwrap_or_else(|_| Err("request not complete in time".into())),
        };
        let attrs = match attrs {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                service::log(json!({"service": "policy", "event": "connection_error", "error": e}));
                return;
            }
        };
        let action = decide(&svc, &mut lease, &attrs).await;
        let written = tokio::time::timeout(
            Duration::from_secs(c.read_timeout_secs),
            write.write_all(format!("action={action}\n\n").as_bytes()),
        )
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return;
        }
    }
}

/// One request, or `None` at the end of the connection.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    limits: RequestLimits,
) -> Result<Option<HashMap<String, String>>, String> {
    let mut attrs = HashMap::new();
    let mut line = Vec::new();
    let mut total = 0;
    loop {
        line.clear();
        let room = limits.bytes.saturating_sub(total) as u64 + 1;
        let n = (&mut *reader).take(room).read_until(b'\n', &mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return if attrs.is_empty() { Ok(None) } else { Err("request cut off".into()) };
        }
        total += n;
        if total > limits.bytes {
            return Err(format!("request longer than max_request_bytes ({})", limits.bytes));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            return Ok(Some(attrs));
        }
        if attrs.len() >= limits.attributes {
            return Err(format!("more than max_attributes ({})", limits.attributes));
        }
        if let Some((k, v)) = text.split_once('=') {
            attrs.insert(k.to_string(), v.to_string());
        }
    }
}

/// The action for one request.
pub async fn decide(svc: &Service, lease: &mut Lease, attrs: &HashMap<String, String>) -> String {
    let get = |k: &str| attrs.get(k).map(String::as_str).unwrap_or("");
    let rcpt = get("recipient");
    let client = Some(get("client_address")).filter(|c| !c.is_empty());
    // Authenticated clients send our own mail: never held to a network's harvest limit.
    if get("protocol_state").eq_ignore_ascii_case("RCPT")
        && get("sasl_username").is_empty()
        && let Answer::Refuse(text) = hooks::harvest_check(svc, client).await
    {
        return one_line(&text);
    }
    if !get("protocol_state").eq_ignore_ascii_case("RCPT") || !get("sender").is_empty() || rcpt.is_empty() {
        return "DUNNO".into();
    }
    let queue_id = Some(get("queue_id")).filter(|q| !q.is_empty());
    let (check, ours) = svc.check_rcpt_tag(lease, rcpt, queue_id).await;
    match check {
        RcptCheck::Continue | RcptCheck::Failed(OnFailure::Accept) => {
            match hooks::null_sender_at_rcpt(svc, rcpt, client, ours).await {
                Answer::Allow => "DUNNO".into(),
                Answer::Refuse(text) => one_line(&text),
            }
        }
        RcptCheck::Failed(OnFailure::Tempfail) => "451 4.7.1 Try again later".into(),
        RcptCheck::Refuse(text) => one_line(&text),
    }
}

/// A reply fit for one `action=` line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_read_until_the_empty_line() {
        let input: &[u8] =
            b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=\nrecipient=a@b.example\n\nx=1\n\n";
        let limits = RequestLimits { bytes: 1000, attributes: 10 };
        let mut r = BufReader::new(input);
        let first = read_request(&mut r, limits).await.unwrap().unwrap();
        assert_eq!(first["recipient"], "a@b.example");
        assert_eq!(first["sender"], "");
        assert_eq!(read_request(&mut r, limits).await.unwrap().unwrap()["x"], "1");
        assert_eq!(read_request(&mut r, limits).await.unwrap(), None);
        let mut cut = BufReader::new(&b"a=1\n"[..]);
        assert!(read_request(&mut cut, limits).await.is_err());
    }

    #[tokio::test]
    async fn requests_past_the_limits_are_refused() {
        let long = format!("a={}\n\n", "x".repeat(100));
        let mut r = BufReader::new(long.as_bytes());
        assert!(read_request(&mut r, RequestLimits { bytes: 50, attributes: 10 }).await.is_err());
        let many = "a=1\nb=2\nc=3\n\n";
        let mut r = BufReader::new(many.as_bytes());
        assert!(read_request(&mut r, RequestLimits { bytes: 1000, attributes: 2 }).await.is_err());
    }
}
