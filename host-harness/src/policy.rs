//! `ndr policy`: the Postfix policy delegation protocol (`check_policy_service`) for RCPT-time
//! BATV decisions, for sites that run no milter. Postfix sends `name=value` lines ending with an
//! empty line; we answer `action=...` and an empty line. Only null-sender recipients whose tag
//! is refused by `[service] rcpt_reject` get a reject; everything else is `DUNNO` (untagged
//! recipients included: address-verification probes look exactly like bounces at RCPT time).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::pool::Lease;
use crate::service::{self, OnFailure, RcptCheck, Service, Stream};

/// Longest request line and most attributes taken from Postfix before the connection is closed.
const MAX_LINE: usize = 8192;
const MAX_ATTRIBUTES: usize = 200;

/// Serve policy connections until the process ends.
pub async fn run(listen: &service::Listen, svc: Arc<Service>) -> anyhow::Result<()> {
    service::serve(listen, svc, handle).await
}

async fn handle(stream: Box<dyn Stream>, svc: Arc<Service>) {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let mut lease = Lease::new(svc.pool.clone());
    loop {
        let attrs = match read_request(&mut reader).await {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                service::log(json!({"service": "policy", "event": "connection_error", "error": e}));
                return;
            }
        };
        let action = decide(&svc, &mut lease, &attrs).await;
        if write.write_all(format!("action={action}\n\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

/// One request, or `None` at the end of the connection.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<HashMap<String, String>>, String> {
    let mut attrs = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n =
            (&mut *reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return if attrs.is_empty() { Ok(None) } else { Err("request cut off".into()) };
        }
        if line.len() > MAX_LINE {
            return Err("request line too long".into());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            return Ok(Some(attrs));
        }
        if attrs.len() >= MAX_ATTRIBUTES {
            return Err("too many attributes".into());
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
    if !get("protocol_state").eq_ignore_ascii_case("RCPT") || !get("sender").is_empty() || rcpt.is_empty() {
        return "DUNNO".into();
    }
    let queue_id = Some(get("queue_id")).filter(|q| !q.is_empty());
    match svc.check_rcpt(lease, rcpt, queue_id).await {
        RcptCheck::Continue | RcptCheck::Failed(OnFailure::Accept) => "DUNNO".into(),
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
        let mut r = BufReader::new(input);
        let first = read_request(&mut r).await.unwrap().unwrap();
        assert_eq!(first["recipient"], "a@b.example");
        assert_eq!(first["sender"], "");
        assert_eq!(read_request(&mut r).await.unwrap().unwrap()["x"], "1");
        assert_eq!(read_request(&mut r).await.unwrap(), None);
        let mut cut = BufReader::new(&b"a=1\n"[..]);
        assert!(read_request(&mut cut).await.is_err());
    }
}
