//! The state the services share (`[state]`, issue 18) against a real `redis-server` from Debian
//! (`scripts/mta-deps.sh` installs it), started by each test on a free loopback port with its own
//! folder, no persistence, and killed at the end. When `valkey-server` is installed the same
//! tests run on Valkey too; Debian bookworm has no Valkey package, so they say so and skip it.
//!
//! What holds: the limits at their exact boundaries (a clock passed in, no sleeping), the Lua
//! script and the Rust arithmetic answering alike, two `ndr milter` processes sharing one limit,
//! the sent-mail registry across hosts, refused recipients counted by one host and enforced by
//! another, fail-open and fail-closed with the server stopped mid-test (and recovery when it
//! comes back), `ndr state`, and every message answered (accepted or 4xx: nothing lost).

mod services;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ndr_host::state::{Answer, BackendKind, Limit, LimitKind, State, StateConfig};
use services::{Milter, Running, StateServer as Server, free_port, test_dir};

/// The servers to test on: redis-server always (it must be installed), valkey-server when it is.
fn servers(test: &str) -> Vec<Server> {
    let redis = Server::start("redis-server", test).expect("redis-server is not installed: run scripts/mta-deps.sh");
    let mut out = vec![redis];
    match Server::start("valkey-server", test) {
        Some(v) => out.push(v),
        None => eprintln!("notice: valkey-server is not installed (Debian bookworm has no package): Valkey not tested"),
    }
    out
}

fn limit(rate: u64, period_secs: u64) -> Limit {
    Limit { rate, period_secs, burst: None, answer: Default::default(), reply: None }
}

fn state_on(url: Option<String>, prefix: &str) -> State {
    let c = StateConfig {
        backend: if url.is_some() { BackendKind::Redis } else { BackendKind::Memory },
        url,
        key_prefix: prefix.into(),
        secret: Some("state-test-secret-0123456789".into()),
        command_timeout_ms: 1000,
        ..StateConfig::default()
    };
    State::open(&c, "test").expect("state")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[test]
fn limits_hold_at_their_exact_boundaries_and_lua_answers_as_rust() {
    let rt = runtime();
    for server in servers("boundaries") {
        let (kind, l) = (LimitKind::NullSenderRcpt, limit(5, 60)); // one every 12 s, 5 at once
        let t0: u64 = 1_800_000_000_000_000;
        rt.block_on(async {
            // (The Redis client needs the runtime it runs on.)
            let (redis, memory) = (state_on(Some(server.url()), "b:"), state_on(None, "b:"));
            for s in [&redis, &memory] {
                for i in 0..5 {
                    assert_eq!(s.limit(kind, &l, "k", t0, false).await, Answer::Allow, "{} event {i}", server.program);
                }
                assert!(
                    matches!(s.limit(kind, &l, "k", t0, false).await, Answer::Refuse(r) if r.starts_with("451 4.7.1 "))
                );
                // A peek never charges; one microsecond before the refill still refused.
                assert_ne!(s.limit(kind, &l, "k", t0 + 12_000_000 - 1, true).await, Answer::Allow);
                assert_eq!(s.limit(kind, &l, "k", t0 + 12_000_000, true).await, Answer::Allow);
                assert_eq!(s.limit(kind, &l, "k", t0 + 12_000_000, false).await, Answer::Allow, "refilled by one");
                assert_ne!(s.limit(kind, &l, "k", t0 + 12_000_000, false).await, Answer::Allow);
                // Other keys have their own bucket.
                assert_eq!(s.limit(kind, &l, "other", t0, false).await, Answer::Allow);
            }
            // The same irregular sequence of events gets the same answers from both.
            let mut now = t0 + 100_000_000;
            let l = Limit { rate: 7, period_secs: 10, burst: Some(3), answer: Default::default(), reply: None };
            for step in 0..400u64 {
                now += (step * 7919) % 2_300_000;
                let key = format!("seq{}", step % 3);
                let (a, b) =
                    (redis.limit(kind, &l, &key, now, false).await, memory.limit(kind, &l, &key, now, false).await);
                assert_eq!(a, b, "{} step {step}", server.program);
            }
        });
    }
}

/// A site configuration with a `[state]` on `url`, extra lines appended.
fn site(dir: &Path, name: &str, url: &str, on_failure: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"[site]
domains = ["example.com"]

[service]
outbound_daemons = ["ORIGINATING"]

[state]
backend = "redis"
url = "{url}"
key_prefix = "{name_prefix}:"
secret = "state-test-secret-0123456789"
on_failure = "{on_failure}"
command_timeout_ms = 300
retry_after_ms = 300

[state.limits.null_sender_rcpt]
rate = 3
period_secs = 3600
{extra}
"#,
        name_prefix = dir.file_name().and_then(|n| n.to_str()).unwrap_or("t")
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// A milter session as Postfix speaks it (protocol 6), with SMFIP_RCPT_REJ offered.
fn open(port: u16) -> Milter {
    Milter::open_offering(port, 0x800).expect("option negotiation")
}

/// What a message got: the answer to each RCPT, the final answer and its reply text, and the
/// headers added.
#[derive(Debug)]
struct Outcome {
    rcpts: Vec<u8>,
    last: u8,
    reply: String,
    headers: Vec<(String, String)>,
}

impl Outcome {
    fn accepted(&self) -> bool {
        matches!(self.last, b'c' | b'a')
    }
    fn tempfailed(&self) -> bool {
        self.last == b't' || (self.last == b'y' && self.reply.starts_with('4'))
    }
    fn verdict(&self) -> String {
        self.headers.iter().find(|(n, _)| n == "X-NDR-Verdict").map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// One message through a milter: `refused` recipients are announced as refused by the MTA
/// (`{rcpt_mailer}` error) before the accepted `rcpts`.
#[allow(clippy::too_many_arguments)]
fn message(
    port: u16,
    client: &str,
    outbound: bool,
    from: &str,
    refused: &[&str],
    rcpts: &[&str],
    headers: &[(&str, &str)],
    body: &str,
) -> Outcome {
    let mut m = open(port);
    if outbound {
        m.send(b'D', b"C{daemon_name}\0ORIGINATING\0").unwrap();
    }
    let mut connect = b"client.remote.example\x004\x00\x19".to_vec();
    connect.extend_from_slice(client.as_bytes());
    connect.push(0);
    assert_eq!(m.step(b'C', &connect).unwrap(), b'c');
    assert_eq!(m.step(b'H', b"client.remote.example\0").unwrap(), b'c');
    assert_eq!(m.step(b'M', format!("{from}\0").as_bytes()).unwrap(), b'c');
    let mut codes = Vec::new();
    for r in refused {
        m.send(b'D', b"R{rcpt_mailer}\0error\0{rcpt_host}\x005.1.1\0").unwrap();
        codes.push(m.step(b'R', format!("<{r}>\0").as_bytes()).unwrap());
    }
    for r in rcpts {
        m.send(b'D', b"R{rcpt_mailer}\0local\0").unwrap();
        codes.push(m.step(b'R', format!("<{r}>\0").as_bytes()).unwrap());
    }
    if !codes[refused.len()..].contains(&b'c') {
        // No recipient accepted: the MTA ends the transaction.
        let _ = m.send(b'A', b"");
        let _ = m.send(b'Q', b"");
        return Outcome { rcpts: codes, last: 0, reply: String::new(), headers: Vec::new() };
    }
    assert_eq!(m.step(b'T', b"").unwrap(), b'c');
    for (n, v) in headers {
        assert_eq!(m.step(b'L', format!("{n}\0{v}\0").as_bytes()).unwrap(), b'c');
    }
    // Ordinary inbound mail is accepted at the end of its headers (SMFIR_ACCEPT); its body is
    // never sent.
    let eoh = m.step(b'N', b"").unwrap();
    if eoh == b'a' {
        let _ = m.send(b'Q', b"");
        return Outcome { rcpts: codes, last: eoh, reply: String::new(), headers: Vec::new() };
    }
    assert_eq!(eoh, b'c');
    assert_eq!(m.step(b'B', body.as_bytes()).unwrap(), b'c');
    m.send(b'E', b"").unwrap();
    let mut added = Vec::new();
    loop {
        let (code, data) = m.reply().unwrap();
        let text = String::from_utf8_lossy(&data).to_string();
        match code {
            b'h' => {
                let mut parts = text.split('\0');
                added.push((parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string()));
            }
            b'c' | b'a' | b'r' | b't' | b'y' | b'd' => {
                let _ = m.send(b'Q', b"");
                return Outcome {
                    rcpts: codes,
                    last: code,
                    reply: text.trim_end_matches('\0').to_string(),
                    headers: added,
                };
            }
            _ => {}
        }
    }
}

/// A DSN to `rcpt` returning an original whose Message-ID is `id` (a foreign-looking ID: without
/// the registry the verdict is `unknown`).
fn bounce(rcpt: &str, id: &str) -> (Vec<(String, String)>, String) {
    let headers = vec![
        ("From".to_string(), "MAILER-DAEMON@mx.remote.example".to_string()),
        ("To".to_string(), rcpt.to_string()),
        ("Subject".to_string(), "Undelivered Mail Returned to Sender".to_string()),
        ("MIME-Version".to_string(), "1.0".to_string()),
        ("Content-Type".to_string(), "multipart/report; report-type=delivery-status; boundary=\"b\"".to_string()),
    ];
    let body = format!(
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.remote.example\r\n\r\nFinal-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\n\
Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n\
Message-ID: <{id}>\r\nFrom: {rcpt}\r\nTo: bob@remote.example\r\nSubject: hello\r\n\r\n--b--\r\n"
    );
    (headers, body)
}

fn send_bounce(port: u16, client: &str, rcpt: &str, id: &str) -> Outcome {
    let (h, body) = bounce(rcpt, id);
    let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    message(port, client, false, "<>", &[], &[rcpt], &h, &body)
}

fn send_ordinary(port: u16, client: &str, outbound: bool, rcpt: &str, id: &str) -> Outcome {
    let h = [("From", "alice@example.com"), ("To", rcpt), ("Subject", "hello"), ("Message-ID", id)];
    message(port, client, outbound, "<alice@example.com>", &[], &[rcpt], &h, "Hello.\r\n")
}

#[test]
fn two_milters_share_one_limit_and_one_registry() {
    for server in servers("shared") {
        let dir = test_dir("state-shared", server.program);
        let config = site(&dir, "site", &server.url(), "accept", "");
        let (a, b) = (Running::start("milter", &config), Running::start("milter", &config));
        // Bounces to one forged address, alternately through both hosts: 3 in all pass.
        let answers: Vec<Outcome> = (0..6)
            .map(|i| {
                send_bounce(
                    if i % 2 == 0 { a.port } else { b.port },
                    "198.51.100.7",
                    "carol@example.com",
                    &format!("f{i}@app.example.net"),
                )
            })
            .collect();
        let passed = answers.iter().filter(|o| o.accepted()).count();
        assert_eq!(passed, 3, "{}: {answers:#?}", server.program);
        assert!(answers[3..].iter().all(|o| o.tempfailed() && o.reply.starts_with("451 4.7.1 ")), "{answers:#?}");
        assert!(answers.iter().all(|o| o.accepted() || o.tempfailed()), "every message answered: none lost");
        // Another recipient has a bucket of its own; ordinary mail is never limited.
        assert!(send_bounce(b.port, "198.51.100.7", "dave@example.com", "g@app.example.net").accepted());
        assert!((0..5).all(|i| {
            send_ordinary(a.port, "198.51.100.7", false, "carol@example.com", &format!("<o{i}@remote.example>"))
                .accepted()
        }));

        // The registry: mail leaves through A, its bounce comes back through B.
        let id = "20261202.abc123@app.example.net";
        let out = send_ordinary(a.port, "192.0.2.25", true, "bob@remote.example", &format!("<{id}>"));
        assert!(out.accepted(), "{out:?}");
        let ours = send_bounce(b.port, "203.0.113.9", "erin@example.com", id);
        assert!(ours.verdict().starts_with("legitimate"), "recognised as ours: {ours:?}");
        let unknown = send_bounce(b.port, "203.0.113.9", "erin@example.com", "never-sent@app.example.net");
        assert!(unknown.verdict().starts_with("unknown"), "{unknown:?}");
        // An auto-reply names it in In-Reply-To (read from the header as the milter passes it).
        let reply = |irt: &str| {
            let h = [
                ("From", "bob@remote.example"),
                ("To", "erin@example.com"),
                ("Subject", "Automatic reply: hello"),
                ("Auto-Submitted", "auto-replied"),
                ("In-Reply-To", irt),
            ];
            message(
                b.port,
                "203.0.113.9",
                false,
                "<bob@remote.example>",
                &[],
                &["erin@example.com"],
                &h,
                "I am away.\r\n",
            )
        };
        let ours = reply(&format!("<{id}>"));
        assert!(ours.verdict().starts_with("legitimate"), "{ours:?}");
        let theirs = reply("<other@app.example.net>");
        assert!(theirs.verdict().starts_with("unknown"), "{theirs:?}");
        // Bounces of our own mail are never limited: erin's bucket (3) is not charged by them.
        for _ in 0..5 {
            assert!(send_bounce(a.port, "203.0.113.9", "erin@example.com", id).accepted());
        }
        // Nothing in clear: no address or Message-ID in any key or value.
        let keys = redis_cli(&server, &["--scan"]);
        assert!(!keys.is_empty());
        for needle in ["carol", "erin", "abc123", "example.com"] {
            assert!(!keys.contains(needle), "{needle} in {keys}");
        }
        // The registry entry lives for the bounce horizon (7 days), the buckets while they fill.
        let reg = keys.lines().find(|k| k.contains("{reg:")).expect("a registry key");
        let ttl: u64 = redis_cli(&server, &["TTL", reg]).trim().parse().expect("TTL");
        assert!((7 * 86_400 - 60..=7 * 86_400).contains(&ttl), "{ttl}");
        let ttls: Vec<u64> = keys
            .lines()
            .filter(|k| k.contains("{null_sender_rcpt:"))
            .map(|k| redis_cli(&server, &["TTL", k]).trim().parse().expect("TTL"))
            .collect();
        // Carol's bucket is full (3 of 3 an hour): empty again within the hour; one event, 20 minutes.
        assert!(ttls.iter().any(|t| (3000..=3600).contains(t)), "{ttls:?}");
        assert!(ttls.iter().all(|t| *t <= 3600), "{ttls:?}");
        // `ndr state` reads it back.
        let out = services::run(&["state", "--config", config.to_str().unwrap(), "--json"], Duration::from_secs(20));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["registry"], 1, "{v}");
        assert!(
            v["buckets"].as_array().unwrap().iter().any(|b| b["limit"] == "null_sender_rcpt" && b["full"] == true),
            "{v}"
        );
        assert!(
            v["sources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["source"] == "net:203.0.113.0/24" && s["legitimate"] == 7),
            "{v}"
        );
        let text = services::run(&["state", "--config", config.to_str().unwrap()], Duration::from_secs(20));
        let text = String::from_utf8_lossy(&text.stdout).to_string();
        eprintln!("ndr state:\n{text}");
        assert!(text.contains("sent-mail registry: 1 Message-IDs"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn redis_cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(["-p", &server.port.to_string()]).args(args).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn refused_recipients_counted_by_one_host_are_enforced_by_all() {
    let server = Server::start("redis-server", "harvest").expect("redis-server");
    let dir = test_dir("state-harvest", "redis");
    let extra = "[state.limits.unknown_rcpt_network]\nrate = 5\nperiod_secs = 600\n";
    let config = site(&dir, "site", &server.url(), "accept", extra);
    let (a, b) = (Running::start("milter", &config), Running::start("milter", &config));
    let policy = Running::start("policy", &config);
    let harvester = "198.51.100.66";
    // Four unknown recipients refused by the MTA at A: under the limit, the valid one passes.
    let unknown: Vec<String> = (0..4).map(|i| format!("nobody{i}@example.com")).collect();
    let refs: Vec<&str> = unknown.iter().map(String::as_str).collect();
    let o = message(
        a.port,
        harvester,
        false,
        "<x@spam.example>",
        &refs,
        &["alice@example.com"],
        &[("Subject", "hi")],
        "x\r\n",
    );
    assert_eq!(o.rcpts, [b'c', b'c', b'c', b'c', b'c'], "{o:?}");
    // The fifth fills the network's bucket: B and the policy service now refuse its recipients.
    let o = message(a.port, harvester, false, "<x@spam.example>", &["nobody4@example.com"], &[], &[], "");
    assert_eq!(o.rcpts, [b'c']);
    let o = message(
        b.port,
        harvester,
        false,
        "<x@spam.example>",
        &[],
        &["alice@example.com"],
        &[("Subject", "hi")],
        "x\r\n",
    );
    assert_eq!(o.rcpts, [b'y'], "{o:?}");
    let action = policy_request(policy.port, "198.51.100.77", "x@spam.example", "alice@example.com");
    assert!(action.starts_with("451 4.7.1 Too many unknown recipients"), "{action}");
    // Another network is not affected.
    let o = message(
        b.port,
        "192.0.2.44",
        false,
        "<x@remote.example>",
        &[],
        &["alice@example.com"],
        &[("Subject", "hi")],
        "x\r\n",
    );
    assert!(o.accepted(), "{o:?}");
    assert_eq!(policy_request(policy.port, "192.0.2.44", "x@remote.example", "alice@example.com"), "DUNNO");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One policy request at RCPT time; the `action=` value.
fn policy_request(port: u16, client: &str, sender: &str, rcpt: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address={client}\n\
         sender={sender}\nrecipient={rcpt}\nqueue_id=\n\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.ends_with(b"\n\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "policy service closed");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).trim().trim_start_matches("action=").to_string()
}

#[test]
fn two_policy_services_share_the_null_sender_limit_and_spare_our_tags() {
    let server = Server::start("redis-server", "policy").expect("redis-server");
    let dir = test_dir("state-policy", "redis");
    let secret = "policy-batv-secret-0123456789";
    let extra =
        format!("[batv]\nobserve_days = 0\n[[batv.keys]]\ndigit = 1\nsecret = \"{secret}\"\nsign_from = 1000000000\n");
    let config = site(&dir, "site", &server.url(), "accept", "");
    // [batv] must come before [state] sections' sub-tables: rewrite the file with it first.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{extra}\n{text}")).unwrap();
    let (p1, p2) = (Running::start("policy", &config), Running::start("policy", &config));
    let answers: Vec<String> = (0..5)
        .map(|i| policy_request(if i % 2 == 0 { p1.port } else { p2.port }, "198.51.100.9", "", "frank@example.com"))
        .collect();
    assert_eq!(answers[..3], ["DUNNO", "DUNNO", "DUNNO"], "{answers:?}");
    assert!(answers[3..].iter().all(|a| a.starts_with("451 4.7.1 Too many delivery reports")), "{answers:?}");
    // Bounces to a valid tag of ours are never limited, whichever host gets them.
    let ring: ndr_filter::batv::BatvConfig =
        serde_json::from_value(serde_json::json!({"keys": [{"digit": 1, "secret": secret, "sign_from": 1000000000}]}))
            .unwrap();
    let ring = ndr_filter::batv::KeyRing::new(&ring).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let tagged = ring.sign("frank@example.com", None, now).address;
    for i in 0..6 {
        assert_eq!(policy_request(if i % 2 == 0 { p1.port } else { p2.port }, "198.51.100.9", "", &tagged), "DUNNO");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_server_fails_open_or_closed_as_configured_within_the_bound() {
    let mut server = Server::start("redis-server", "failure").expect("redis-server");
    let dir = test_dir("state-failure", "redis");
    let open_cfg = site(&dir, "open", &server.url(), "accept", "");
    let closed_cfg = site(&dir, "closed", &server.url(), "tempfail", "");
    let (open_m, closed_m) = (Running::start("milter", &open_cfg), Running::start("milter", &closed_cfg));
    let mut answered = 0;
    let mut sent = 0;
    let mut count = |o: &Outcome| {
        sent += 1;
        if o.accepted() || o.tempfailed() {
            answered += 1;
        }
    };
    for m in [&open_m, &closed_m] {
        let o = send_bounce(m.port, "198.51.100.20", "gina@example.com", "x@app.example.net");
        assert!(o.accepted(), "{o:?}");
        count(&o);
    }
    server.stop();
    for _ in 0..3 {
        let t = Instant::now();
        let o = send_bounce(open_m.port, "198.51.100.20", "gina@example.com", "x@app.example.net");
        assert!(o.accepted(), "fail-open: {o:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "bounded: {:?}", t.elapsed());
        count(&o);
        let t = Instant::now();
        let o = send_bounce(closed_m.port, "198.51.100.20", "gina@example.com", "x@app.example.net");
        assert!(o.tempfailed() && o.reply.starts_with("451 4.7.1"), "fail-closed: {o:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "bounded: {:?}", t.elapsed());
        count(&o);
        // Ordinary mail does not touch the state: accepted by both.
        for m in [&open_m, &closed_m] {
            let o = send_ordinary(m.port, "198.51.100.20", false, "gina@example.com", "<y@remote.example>");
            assert!(o.accepted(), "{o:?}");
            count(&o);
        }
    }
    assert!(open_m.log().contains("\"event\":\"state_failure\""), "the failure is logged");
    assert!(!open_m.log().contains("state-test-secret"), "no secret in the log");
    // The server comes back (empty): the limits work again once the pause is over.
    server.run();
    let back = services::eventually(Duration::from_secs(10), || {
        send_bounce(closed_m.port, "198.51.100.20", "gina@example.com", "x@app.example.net").accepted()
    });
    assert!(back, "the closed milter recovers when the server is back");
    assert_eq!(answered, sent, "every message answered (accepted or 4xx): none lost");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_state_section_refuses_to_start_and_names_the_key() {
    let dir = test_dir("state-config", "bad");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[site]\ndomains = [\"example.com\"]\n[state]\nbackend = \"redis\"\nurl = \"http://user:pw-S3CR3T@x\"\n\
         [state.limits.null_sender_rcpt]\nrate = 0\nanswer = \"reject\"\n",
    )
    .unwrap();
    let out = services::run(&["check-config", path.to_str().unwrap()], Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:5: state.url"), "{err}");
    assert!(err.contains("bad.toml:7: state.limits.null_sender_rcpt.rate: must be at least 1"), "{err}");
    assert!(!err.contains("S3CR3T"), "{err}");
    let out = services::run(
        &["milter", "--listen", &format!("inet:127.0.0.1:{}", free_port()), "--config", path.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "the milter refuses to start");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ndr_scan_takes_the_same_facts_as_the_services() {
    let dir = test_dir("state-scan", "facts");
    let config = dir.join("site.toml");
    std::fs::write(&config, "[site]\ndomains = [\"example.com\"]\n").unwrap();
    let (headers, body) = bounce("alice@example.com", "x1@app.example.net");
    let mut raw = String::new();
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(&body);
    let eml = dir.join("bounce.eml");
    std::fs::write(&eml, raw).unwrap();
    let scan = |facts: Option<&str>| {
        let mut args = vec![
            "scan",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--mail-from",
            "",
            "--rcpt",
            "alice@example.com",
        ];
        let path;
        if let Some(f) = facts {
            std::fs::write(&facts_path(&dir), f).unwrap();
            path = facts_path(&dir).display().to_string();
            args.extend(["--facts", path.as_str()]);
        }
        args.push(eml.to_str().unwrap());
        let out = services::run(&args, Duration::from_secs(30));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        (v["verdict"].as_str().unwrap_or("").to_string(), v["signals"].to_string())
    };
    let (plain, signals) = scan(None);
    assert_eq!(plain, "unknown");
    assert!(!signals.contains("sent_registry") && !signals.contains("source_reputation"), "absent facts add nothing");
    assert_eq!(scan(Some(r#"{"sent_registry": true}"#)).0, "legitimate");
    let (v, signals) = scan(Some(r#"{"source_reputation": {"backscatter": 40, "legitimate": 1}}"#));
    assert_eq!(v, "unknown", "a history never blocks alone");
    assert!(signals.contains("\"source_reputation\""), "{signals}");
    std::fs::write(facts_path(&dir), r#"{"sent_registri": true}"#).unwrap();
    let bad = services::run(
        &["scan", "--json", "--facts", facts_path(&dir).to_str().unwrap(), eml.to_str().unwrap()],
        Duration::from_secs(30),
    );
    let said = format!("{}{}", String::from_utf8_lossy(&bad.stdout), String::from_utf8_lossy(&bad.stderr));
    assert!(said.contains("unknown field"), "unknown facts are refused like any request field: {said}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn facts_path(dir: &Path) -> PathBuf {
    dir.join("facts.json")
}

#[test]
fn the_memory_backend_limits_one_host_without_a_server() {
    let dir = test_dir("state-memory", "one");
    let config = dir.join("site.toml");
    std::fs::write(
        &config,
        "[site]\ndomains = [\"example.com\"]\n[state]\n[state.limits.null_sender_rcpt]\nrate = 2\nperiod_secs = 3600\n",
    )
    .unwrap();
    let (a, b) = (Running::start("milter", &config), Running::start("milter", &config));
    let through_a: Vec<bool> = (0..4)
        .map(|i| send_bounce(a.port, "198.51.100.3", "hank@example.com", &format!("m{i}@app.example.net")).accepted())
        .collect();
    assert_eq!(through_a, [true, true, false, false]);
    // Each host keeps its own: B has not seen the flood.
    assert!(send_bounce(b.port, "198.51.100.3", "hank@example.com", "m9@app.example.net").accepted());
    let out = services::run(&["state", "--config", config.to_str().unwrap()], Duration::from_secs(20));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lives inside each service process"));
    let _ = std::fs::remove_dir_all(&dir);
}
