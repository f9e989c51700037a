//! The `ndr milter` program as a process, driven by a milter client (`miltr-client`) instead of
//! an MTA: RCPT-time refusal of a forged tag, untagged recipients let through, ordinary mail
//! untouched, SIGHUP reloads (a bad file keeps the old configuration) without dropping an open
//! connection, the `--test-fault trap` hook answering `on_failure`, and the counters read back
//! from `metrics_listen` and `ndr stats`. The Postfix end-to-end
//! test (`tests/tests/postfix.rs`) covers the rest with a real MTA.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use miltr_client::{Client, Connection};
use miltr_common::actions::Action;
use miltr_common::commands::{Connect, Family, Header};
use miltr_common::optneg::OptNeg;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

const FORGED: &str = "<prvs=1123abcdef=alice@example.com>";

struct Milter {
    child: Child,
    port: u16,
}

impl Drop for Milter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Milter {
    fn start(config: &Path, fault: Option<&str>) -> Milter {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ndr"));
        cmd.args(["milter", "--threads", "2", "--listen", &format!("inet:127.0.0.1:{port}"), "--config"])
            .arg(config)
            .stdout(Stdio::null());
        if let Some(f) = fault {
            cmd.args(["--test-fault", f]);
        }
        // Its log in a file, to show when it ends or does not answer (CI once had a session
        // reset at once after start-up, with nothing to tell why).
        let log = config.with_extension(format!("{port}.log"));
        cmd.stderr(std::fs::File::create(&log).expect("log file"));
        let mut child = cmd.spawn().expect("ndr milter starts");
        let t = Instant::now();
        while !answers_option_negotiation(port) {
            let ended = child.try_wait().ok().flatten();
            let log = || std::fs::read_to_string(&log).unwrap_or_default();
            assert!(ended.is_none(), "ndr milter ended ({ended:?}): {}", log());
            assert!(t.elapsed() < Duration::from_secs(30), "ndr milter did not answer: {}", log());
            std::thread::sleep(Duration::from_millis(20));
        }
        Milter { child, port }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_none())
    }
}

type Conn = Connection<Compat<TcpStream>>;

async fn session(port: u16, from: &str) -> Conn {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect").compat();
    let mut c = Client::new(OptNeg::default()).connect_via(stream).await.expect("option negotiation");
    c.connect(Connect::new(b"client.remote.example", Family::Inet, Some(25), b"203.0.113.7")).await.expect("connect");
    c.helo(b"client.remote.example".as_slice()).await.expect("helo");
    c.mail(from.as_bytes()).await.expect("mail");
    c
}

/// An ordinary message to the end of data; the milter's final action and modification count.
async fn message(c: &mut Conn) -> (Action, usize) {
    c.data().await.expect("data");
    for (n, v) in [("From", "carol@remote.example"), ("To", "alice@example.com"), ("Subject", "hello")] {
        c.header(Header::new(n.as_bytes(), v.as_bytes())).await.expect("header");
    }
    c.end_of_header().await.expect("eoh");
    c.body(b"Hello Alice.\r\n".as_slice()).await.expect("body");
    let r = c.end_of_body().await.expect("eob");
    (r.final_action().clone(), r.modifications().len())
}

/// `scan_all_mail`: these sessions go to the end of data, since `miltr-client` cannot read the
/// end-of-headers accept (SMFIR_ACCEPT); that accept is tested with Postfix
/// (tests/tests/postfix.rs) and in `milter_wire`'s own tests.
fn config(dir: &Path, name: &str, service: &str) -> PathBuf {
    let p = dir.join(name);
    let text = format!(
        "[site]\ndomains = [\"example.com\"]\n[batv]\nobserve_days = 0\n[[batv.keys]]\ndigit = 1\nsecret = \"k\"\n\
[service]\nrcpt_reply = \"550 5.7.1 first reply\"\nscan_all_mail = true\n{service}\n"
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_milter_process() {
    let dir = std::env::temp_dir().join(format!("ndr-milter-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = config(&dir, "site.toml", "");
    let mut m = Milter::start(&cfg, None);

    // A forged tag is refused at RCPT; an untagged recipient (a verification probe) is not.
    let mut c = session(m.port, "<>").await;
    let refused = c.recipient(FORGED.as_bytes()).await;
    assert!(refused.is_err(), "forged tag refused at RCPT");
    assert!(format!("{refused:?}").contains("first reply"), "with the configured reply: {refused:?}");
    let mut c = session(m.port, "<>").await;
    c.recipient(b"<alice@example.com>".as_slice()).await.expect("untagged recipient continues");

    // Ordinary mail: continue, nothing changed. Keep the connection open across the reload.
    let mut open = session(m.port, "<carol@remote.example>").await;
    open.recipient(b"<alice@example.com>".as_slice()).await.expect("rcpt");
    let (action, mods) = message(&mut open).await;
    assert!(matches!(action, Action::Continue(_)) && mods == 0, "ordinary mail untouched: {action:?}, {mods}");

    // SIGHUP with a new reply: the next refusal uses it; the open connection goes on.
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("first reply", "second reply")).unwrap();
    m.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(m.alive(), "SIGHUP does not end the milter");
    let mut c = session(m.port, "<>").await;
    let refused = c.recipient(FORGED.as_bytes()).await;
    assert!(format!("{refused:?}").contains("second reply"), "reloaded reply: {refused:?}");
    let (action, _) = message(&mut open).await;
    assert!(matches!(action, Action::Continue(_)), "a connection open across the reload goes on: {action:?}");

    // A file that no longer parses: the previous configuration stays.
    std::fs::write(&cfg, "[site\n").unwrap();
    m.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = session(m.port, "<>").await;
    let refused = c.recipient(FORGED.as_bytes()).await;
    assert!(format!("{refused:?}").contains("second reply"), "previous configuration kept: {refused:?}");

    // A file that parses but is not valid (a key that is not hex, a misspelt action): the
    // running configuration stays in force too; forged tags are still refused.
    let valid = config(&dir, "valid.toml", "").to_path_buf();
    let text = std::fs::read_to_string(&valid).unwrap().replace("first reply", "second reply");
    std::fs::write(&cfg, text.replace("secret = \"k\"", "secret_hex = \"zz\"")).unwrap();
    m.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = session(m.port, "<>").await;
    let refused = c.recipient(FORGED.as_bytes()).await;
    assert!(format!("{refused:?}").contains("second reply"), "running configuration kept: {refused:?}");
    drop(m);

    // The test hook: a trapping module answers on_failure (tempfail here, accept by default).
    let tempfail = config(&dir, "tempfail.toml", "on_failure = \"tempfail\"");
    let m = Milter::start(&tempfail, Some("trap"));
    let mut c = session(m.port, "<carol@remote.example>").await;
    c.recipient(b"<alice@example.com>".as_slice()).await.expect("rcpt");
    let (action, mods) = message(&mut c).await;
    assert!(matches!(action, Action::Tempfail(_)) && mods == 0, "trap + tempfail: {action:?}");
    drop(m);
    let accept = config(&dir, "accept.toml", "");
    let m = Milter::start(&accept, Some("trap"));
    let mut c = session(m.port, "<>").await;
    c.recipient(FORGED.as_bytes()).await.expect("trap + accept: even a forged tag goes on");
    let (action, mods) = message(&mut c).await;
    assert!(matches!(action, Action::Continue(_)) && mods == 0, "trap + accept: unchanged: {action:?}");
    drop(m);

    // A configuration with a key that is not hex is never served: it would fail open. The
    // milter refuses to start, exits 2 and names the file, line and key.
    let bad = config(&dir, "bad.toml", "on_failure = \"tempfail\"").to_path_buf();
    std::fs::write(&bad, std::fs::read_to_string(&bad).unwrap().replace("secret = \"k\"", "secret_hex = \"zz\""))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ndr"))
        .args(["milter", "--listen", "inet:127.0.0.1:0", "--config"])
        .arg(&bad)
        .output()
        .expect("ndr milter runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:7: batv.keys[0].secret_hex: "), "{stderr}");

    // A Unix socket works the same.
    let sock = dir.join("milter.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ndr"))
        .args(["milter", "--listen", &format!("unix:{}", sock.display()), "--config"])
        .arg(&accept)
        .stderr(Stdio::null())
        .spawn()
        .expect("ndr milter starts");
    let t = Instant::now();
    let stream = loop {
        if let Ok(s) = tokio::net::UnixStream::connect(&sock).await {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no Unix socket");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut c = Client::new(OptNeg::default()).connect_via(stream.compat()).await.expect("option negotiation");
    c.connect(Connect::new(b"localhost", Family::Unix, None, b"")).await.expect("connect");
    c.mail(b"<>".as_slice()).await.expect("mail");
    assert!(c.recipient(FORGED.as_bytes()).await.is_err(), "forged tag refused over the Unix socket");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

// The counters (`[service] metrics_listen`) read back after known mail went through the milter:
// a bounce to an untagged address (backscatter, quarantined), an ordinary message, a forged tag
// refused at RCPT, and module failures under `--test-fault trap`; checked in the Prometheus
// text at /metrics and in `ndr stats --json`.

/// A free port this process has not handed out before: the kernel can give one free port to two
/// binds in a row, and the milter's port and its metrics port are both chosen before either binds.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Whether a milter on `port` answers an option negotiation (SMFIC_OPTNEG, protocol version 6)
/// with one of its own: listening is not enough to be ready.
fn answers_option_negotiation(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut packet = 13u32.to_be_bytes().to_vec();
    packet.push(b'O');
    for word in [6u32, 0x1ff, 0x1f_ffff] {
        packet.extend_from_slice(&word.to_be_bytes());
    }
    let mut reply = [0u8; 5];
    s.write_all(&packet).is_ok() && s.read_exact(&mut reply).is_ok() && reply[4] == b'O'
}

fn wait_for(port: u16) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn metrics_listen(port: u16) -> String {
    format!("metrics_listen = \"127.0.0.1:{port}\"")
}

/// A DSN from a remote MTA to a local address that never sent with a tag: backscatter.
const BOUNCE: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.remote.example>\r\n\
To: alice@example.com\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\
\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\n\
This is the mail system at host mx.remote.example.\r\n\r\n\
I am sorry to have to inform you that your message could not be delivered.\r\n\r\n\
<bob@remote.example>: host mx.remote.example said: 550 5.1.1 User unknown\r\n\
--b1\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.remote.example\r\n\r\n\
Final-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\
--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n\
From: alice@example.com\r\nTo: bob@remote.example\r\nSubject: hi\r\nMessage-ID: <x1@example.com>\r\n\
--b1--\r\n";

const ORDINARY: &str = "From: carol@remote.example\r\nTo: alice@example.com\r\nSubject: hello\r\n\r\nHello Alice.\r\n";

/// One message from `from` to alice through the milter: its final action and modifications.
async fn send(port: u16, from: &str, message: &str) -> (Action, usize) {
    let mut c = session(port, from).await;
    c.recipient(b"<alice@example.com>".as_slice()).await.expect("rcpt");
    c.data().await.expect("data");
    let (head, body) = message.split_once("\r\n\r\n").unwrap();
    for line in head.split("\r\n") {
        let (name, value) = line.split_once(": ").unwrap();
        c.header(Header::new(name.as_bytes(), value.as_bytes())).await.expect("header");
    }
    c.end_of_header().await.expect("eoh");
    c.body(body.as_bytes()).await.expect("body");
    let r = c.end_of_body().await.expect("eob");
    (r.final_action().clone(), r.modifications().len())
}

fn get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn stats_json(port: u16) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ndr"))
        .args(["stats", "--json", "--url", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .expect("ndr stats runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ndr stats --json prints JSON")
}

/// The sample lines of one metric family, without comments.
fn family(text: &str, name: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_of_known_mail() {
    let dir = std::env::temp_dir().join(format!("ndr-milter-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let metrics_port = free_port();
    let m = Milter::start(&config(&dir, "site.toml", &metrics_listen(metrics_port)), None);
    let port = m.port;
    wait_for(metrics_port);

    // Nothing yet: every family is declared, none has a row.
    let empty = get(metrics_port, "/metrics");
    assert!(
        empty.lines().next().is_some_and(|l| l.ends_with(" 200 OK")) && empty.contains("text/plain; version=0.0.4"),
        "{empty}"
    );
    assert!(empty.contains("# TYPE ndr_decisions_total counter") && family(&empty, "ndr_decisions_total").is_empty());

    let (action, mods) = send(port, "<>", BOUNCE).await;
    assert!(matches!(action, Action::Continue(_)) && mods >= 1, "the bounce is quarantined: {action:?} {mods}");
    let (action, mods) = send(port, "<carol@remote.example>", ORDINARY).await;
    assert!(matches!(action, Action::Continue(_)) && mods == 0, "ordinary mail untouched: {action:?} {mods}");
    let mut c = session(port, "<>").await;
    assert!(c.recipient(FORGED.as_bytes()).await.is_err(), "forged tag refused at RCPT");

    let text = get(metrics_port, "/metrics");
    assert_eq!(
        family(&text, "ndr_decisions_total"),
        [
            "ndr_decisions_total{service=\"milter\",kind=\"bounce\",verdict=\"backscatter\",action=\"quarantine\"} 1",
            "ndr_decisions_total{service=\"milter\",kind=\"normal\",verdict=\"none\",action=\"accept\"} 1",
        ],
        "{text}"
    );
    assert_eq!(
        family(&text, "ndr_batv_results_total"),
        [
            "ndr_batv_results_total{service=\"milter\",result=\"bad_signature\"} 1",
            "ndr_batv_results_total{service=\"milter\",result=\"untagged\"} 1",
        ]
    );
    assert!(family(&text, "ndr_failures_total").is_empty(), "{text}");
    assert!(text.contains("ndr_call_duration_seconds_count{service=\"milter\",call=\"classify\"} 2"), "{text}");
    assert!(text.contains("ndr_call_duration_seconds_count{service=\"milter\",call=\"batv_verify\"} 2"), "{text}");
    assert!(text.contains("ndr_call_duration_seconds_bucket{service=\"milter\",call=\"classify\",le=\"+Inf\"} 2"));

    let stats = stats_json(metrics_port);
    assert_eq!(
        stats["decisions"],
        json!([
            {"service": "milter", "kind": "bounce", "verdict": "backscatter", "action": "quarantine", "count": 1},
            {"service": "milter", "kind": "normal", "verdict": "none", "action": "accept", "count": 1},
        ]),
        "{stats:#}"
    );
    assert_eq!(stats["failures"], json!([]));
    let calls: Vec<(String, u64)> = stats["latency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["call"].as_str().unwrap().to_string(), r["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(calls, [("classify".to_string(), 2), ("batv_verify".to_string(), 2)]);
    assert!(stats["latency"][0]["mean_seconds"].as_f64().unwrap() > 0.0);
    drop(m);

    // Failures are counted by cause: a trapping module, both at RCPT and at end of data.
    let metrics_port = free_port();
    let m = Milter::start(&config(&dir, "trap.toml", &metrics_listen(metrics_port)), Some("trap"));
    let port = m.port;
    wait_for(metrics_port);
    let (action, _) = send(port, "<>", BOUNCE).await;
    assert!(matches!(action, Action::Continue(_)), "fail open: {action:?}");
    let stats = stats_json(metrics_port);
    assert_eq!(stats["failures"], json!([{"service": "milter", "cause": "trap", "count": 2}]), "{stats:#}");
    assert_eq!(stats["decisions"], json!([]));
    drop(m);

    // Readable output names the rows; an address nothing listens on is an error, not zeros.
    let out = Command::new(env!("CARGO_BIN_EXE_ndr"))
        .args(["stats", "--url", &format!("http://127.0.0.1:{}/metrics", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
