//! `ndr serve`, the HTTP service, as a process on a loopback port: the same report as
//! `ndr scan --json` for every corpus message, BATV verification, health, Stalwart's MTA Hooks
//! for a legitimate bounce, forged-tag backscatter and ordinary mail, and malformed or hostile
//! requests (no body, a body over the limit, broken JSON, a slow client, past `max_requests`)
//! answered with a 4xx/503 while the service keeps answering.
//!
//! `load` (ignored by default) measures 200 concurrent clients sending 10,000 requests:
//! `cargo test --release -p ndr-tests --test serve -- --ignored --nocapture load`.

mod services;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use services::{Running, ndr_bin, run};

const NOW: u64 = 1_795_478_400;
const FORGED: &str = "prvs=1123abcdef=alice@example.com";

/// A site with BATV and an enforcing policy, plus `[service]` lines.
fn site(test: &str, service: &str) -> PathBuf {
    let p = services::test_dir("serve", test).join("site.toml");
    std::fs::write(
        &p,
        format!(
            "[site]\ndomains = [\"example.com\"]\n[policy]\nmode = \"enforce\"\nbackscatter = \"reject\"\n\
             [batv]\nobserve_days = 0\n[[batv.keys]]\ndigit = 1\nsecret = \"k-serve\"\n[service]\n{service}\n"
        ),
    )
    .unwrap();
    p
}

/// One HTTP/1.1 connection, kept alive between requests.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn open(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(s) })
    }

    fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    /// Send a request with a Content-Length body.
    fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<()> {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.stream();
        s.write_all(head.as_bytes())?;
        s.write_all(body)
    }

    /// Read one response: status and body (the service always sends Content-Length).
    fn response(&mut self) -> std::io::Result<(u16, Value)> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or(std::io::ErrorKind::InvalidData)?;
        let mut length = 0;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().map_err(|_| std::io::ErrorKind::InvalidData)?;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    fn call(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        self.send(method, target, headers, body).expect("request sent");
        self.response().expect("response read")
    }
}

/// One request on a fresh connection.
fn call(port: u16, method: &str, target: &str, body: &[u8]) -> (u16, Value) {
    Client::open(port).expect("connects").call(method, target, &[], body)
}

/// `ndr batv sign` for an address of the site, at `NOW` (the time the requests name).
fn signed(config: &Path, address: &str) -> String {
    signed_at(config, address, NOW)
}

/// The clock, for requests that name no time (Stalwart's hook, rspamd's): the service uses its own.
fn clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn signed_at(config: &Path, address: &str, now: u64) -> String {
    let out = run(
        &["batv", "sign", "--config", config.to_str().unwrap(), "--now", &now.to_string(), address],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn corpus_bounce() -> Vec<u8> {
    std::fs::read(ndr_tests::corpus().join("bounces/eml/lhost-postfix-01.eml")).expect("corpus bounce")
}

/// A fake bounce whose point is its payload (to an untagged address: no evidence for it).
const NDR_SPAM: &[u8] =
    b"From: Mail Delivery System <MAILER-DAEMON@mail7.cheap-offers.example>\nTo: alice@example.com\n\
Subject: Undeliverable: your order #7\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n\
SPECIAL OFFER: buy now at the lowest price! Click here:\nhttp://cheap-offers.example/buy?7\n\
http://cheap-offers.example/unsubscribe\nLimited time only, 100% free shipping, act now.\n";

const ORDINARY: &[u8] =
    b"From: carol@remote.example\r\nTo: alice@example.com\r\nSubject: lunch\r\n\r\nHello Alice.\r\n";

#[test]
fn every_corpus_message_gets_the_report_ndr_scan_prints() {
    let config = site("same", "");
    let messages = ndr_tests::all_corpus_messages();
    let mut args = vec!["scan".to_string(), "--json".into(), "--now".into(), NOW.to_string(), "--config".into()];
    args.push(config.display().to_string());
    args.extend(messages.iter().map(|p| p.display().to_string()));
    // Many reports: read to the end (`services::run` only reads after the exit).
    let out = std::process::Command::new(ndr_bin()).args(&args).output().expect("ndr scan runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut by_file: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap().to_string();
        let m = v.as_object_mut().unwrap();
        m.remove("file");
        m.remove("index");
        by_file.entry(file).or_default().push(v);
    }
    let server = Running::start("serve", &config);
    let mut client = Client::open(server.port).unwrap();
    let (mut compared, mut several) = (0, 0);
    let mut differ = Vec::new();
    for path in &messages {
        let expected = &by_file[&path.display().to_string()];
        // A file holding several messages (mbox) is several requests: not one POST.
        if expected.len() != 1 {
            several += 1;
            continue;
        }
        let (status, report) = client.call("POST", &format!("/classify?now={NOW}"), &[], &std::fs::read(path).unwrap());
        assert_eq!(status, 200, "{}: {report}", path.display());
        compared += 1;
        if report != expected[0] {
            differ.push(path.display().to_string());
        }
    }
    eprintln!("{compared} messages compared, {} differ, {several} multi-message files skipped", differ.len());
    assert!(differ.is_empty(), "answers differ from ndr scan --json: {differ:?}");
    assert!(compared >= messages.len() * 99 / 100, "only {compared} of {} compared", messages.len());
}

#[test]
fn the_envelope_comes_as_query_parameters_or_headers() {
    let config = site("envelope", "");
    let server = Running::start("serve", &config);
    let good = signed(&config, "alice@example.com");
    let mut c = Client::open(server.port).unwrap();
    let q =
        |rcpt: &str| format!("/classify?now={NOW}&mail_from=&rcpt={rcpt}&client_ip=203.0.113.9&helo=mx.remote.example");
    let (s, legit) = c.call("POST", &q(&good), &[], &corpus_bounce());
    assert_eq!((s, legit["verdict"].as_str(), legit["action"].as_str()), (200, Some("legitimate"), Some("accept")));
    let (_, forged) = c.call("POST", &q(FORGED), &[], &corpus_bounce());
    assert_eq!((forged["verdict"].as_str(), forged["action"].as_str()), (Some("backscatter"), Some("reject")));
    let headers = [("X-NDR-Mail-From", "<>"), ("X-NDR-Rcpt", FORGED), ("X-NDR-Now", "1795478400")];
    let (_, by_headers) = c.call("POST", "/classify", &headers, &corpus_bounce());
    assert_eq!(by_headers, forged);
    let (s, e) = c.call("POST", "/classify?mailfrom=x", &[], ORDINARY);
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("mailfrom"), "{e}");
}

#[test]
fn batv_verify_and_health() {
    let config = site("batv", "");
    let server = Running::start("serve", &config);
    let good = signed(&config, "alice@example.com");
    let verify = |address: &str| {
        let (s, a) =
            call(server.port, "POST", "/batv/verify", json!({"address": address, "now": NOW}).to_string().as_bytes());
        assert_eq!(s, 200, "{a}");
        a["result"].as_str().unwrap().to_string()
    };
    assert_eq!(verify(&good), "valid");
    assert_eq!(verify(FORGED), "bad_signature");
    assert_eq!(verify("bob@example.com"), "untagged");
    let (s, h) = call(server.port, "GET", "/health", b"");
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")), "{h}");
    let (_, a) =
        call(server.port, "POST", "/batv/verify", json!({"address": FORGED, "now": NOW}).to_string().as_bytes());
    assert!(!a.to_string().contains("k-serve"), "a secret in an answer: {a}");
}

/// Stalwart's request for the data stage: headers as [name, value] pairs (the value as after
/// the colon, with its line end), the body as `contents`.
fn hook_request(raw: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut(), line.split_once(':')) {
            (true, Some((_, v)), _) => v.push_str(&format!("{line}\r\n")),
            (false, _, Some((n, v))) => headers.push((n.to_string(), format!("{v}\r\n"))),
            _ => {}
        }
    }
    json!({
        "context": {"stage": "data", "client": {"ip": "203.0.113.9", "port": 40000, "ptr": null, "helo": "mx.remote.example", "activeConnections": 1},
                    "server": {"name": "Stalwart", "port": 25, "ip": "127.0.0.1"}, "protocol": {"version": 1}},
        "envelope": {"from": {"address": from}, "to": [{"address": to}]},
        "message": {"headers": headers, "contents": body.replace('\n', "\r\n"), "size": raw.len()},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn stalwart_hooks_answer_with_the_verdicts_action() {
    let config = site("stalwart", "");
    let server = Running::start("serve", &config);
    let good = signed_at(&config, "alice@example.com", clock());
    let mut c = Client::open(server.port).unwrap();

    let (s, legit) = c.call("POST", "/stalwart", &[], &hook_request(&corpus_bounce(), "", &good));
    assert_eq!((s, legit["action"].as_str()), (200, Some("accept")), "{legit}");
    let added: Vec<&str> =
        legit["modifications"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(added, ["X-NDR-Verdict", "X-NDR-Signals"], "{legit}");
    assert!(legit["modifications"][0]["value"].as_str().unwrap().starts_with("legitimate;"), "{legit}");

    let (_, forged) = c.call("POST", "/stalwart", &[], &hook_request(&corpus_bounce(), "", FORGED));
    assert_eq!(forged["action"], "reject", "{forged}");
    assert_eq!(forged["response"]["status"], 550, "{forged}");
    assert_eq!(forged["response"]["enhancedStatus"], "5.7.1", "{forged}");
    assert!(forged["response"]["message"].as_str().unwrap().contains("Backscatter"), "{forged}");

    let (_, spam) = c.call("POST", "/stalwart", &[], &hook_request(NDR_SPAM, "", "alice@example.com"));
    assert_eq!(spam["action"], "quarantine", "{spam}");
    assert!(spam["modifications"][0]["value"].as_str().unwrap().starts_with("ndr_spam;"), "{spam}");

    let (_, ordinary) =
        c.call("POST", "/stalwart", &[], &hook_request(ORDINARY, "carol@remote.example", "alice@example.com"));
    assert_eq!(ordinary, json!({"action": "accept", "modifications": []}));

    // A forged verdict header from outside is deleted.
    let spoofed = [b"X-NDR-Verdict: legitimate\r\n".as_slice(), ORDINARY].concat();
    let (_, cleaned) =
        c.call("POST", "/stalwart", &[], &hook_request(&spoofed, "carol@remote.example", "alice@example.com"));
    assert_eq!(cleaned["modifications"], json!([{"type": "deleteHeader", "index": 1, "name": "X-NDR-Verdict"}]));

    // RCPT stage: a null-sender recipient with a forged tag is refused there; a valid one not.
    let rcpt = |to: &str| {
        json!({"context": {"stage": "rcpt", "client": {"ip": "203.0.113.9"}}, "envelope": {"from": {"address": ""}, "to": [{"address": to}]}})
            .to_string()
    };
    let (_, refused) = c.call("POST", "/stalwart", &[], rcpt(FORGED).as_bytes());
    assert_eq!(
        (refused["action"].as_str(), &refused["response"]["status"]),
        (Some("reject"), &json!(550)),
        "{refused}"
    );
    let (_, accepted) = c.call("POST", "/stalwart", &[], rcpt(&good).as_bytes());
    assert_eq!(accepted["action"], "accept");
}

#[test]
fn malformed_requests_get_a_4xx_and_the_service_keeps_answering() {
    let config = site("malformed", "read_timeout_secs = 2\nmax_body_bytes = 1048576");
    let mut server = Running::start("serve", &config);
    let port = server.port;
    let expect = |what: &str, (status, body): (u16, Value), want: u16| {
        assert_eq!(status, want, "{what}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: no error text: {body}");
    };
    expect("no body", call(port, "POST", "/classify", b""), 400);
    expect("no JSON", call(port, "POST", "/stalwart", b""), 400);
    expect("broken JSON", call(port, "POST", "/stalwart", b"{\"context\": {\"stage\": "), 400);
    expect("not a hook request", call(port, "POST", "/stalwart", b"[1, 2]"), 400);
    expect("data without message", call(port, "POST", "/stalwart", br#"{"context": {"stage": "data"}}"#), 400);
    expect("broken JSON", call(port, "POST", "/batv/verify", b"{\"address\": 7}"), 400);
    expect("unknown path", call(port, "GET", "/admin", b""), 404);

    // Over the limit, declared: refused before the body is read (the client may still be
    // writing when the answer comes).
    let mut c = Client::open(port).unwrap();
    let head = "POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n";
    c.stream().write_all(head.as_bytes()).unwrap();
    let _ = c.stream().write_all(&vec![b'x'; 64 << 10]);
    expect("100 MB declared", c.response().unwrap(), 413);
    // Over the limit, chunked (no length given): refused when the limit is passed.
    let mut c = Client::open(port).unwrap();
    c.stream().write_all(b"POST /classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    let chunk = vec![b'x'; 256 << 10];
    for _ in 0..8 {
        if c.stream().write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || c.stream().write_all(&chunk).is_err()
            || c.stream().write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    expect("2 MB chunked", c.response().unwrap(), 413);

    // A slow client: the body never completes within read_timeout_secs.
    let t = Instant::now();
    let mut slow = Client::open(port).unwrap();
    slow.stream().write_all(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nFrom: a").unwrap();
    expect("slow body", slow.response().unwrap(), 408);
    assert!(t.elapsed() < Duration::from_secs(5), "408 after {:?}", t.elapsed());

    // Headers that never end: the connection is closed after read_timeout_secs.
    let mut partial = TcpStream::connect(("127.0.0.1", port)).unwrap();
    partial.write_all(b"POST /classify HTTP/1.1\r\nHo").unwrap();
    partial.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let closed = matches!(partial.read(&mut [0u8; 64]), Ok(0) | Err(_));
    assert!(closed && t.elapsed() < Duration::from_secs(5), "partial headers: open after {:?}", t.elapsed());

    // Not HTTP at all: the connection is closed, nothing else.
    let mut junk = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = junk.write_all(b"\x00\x01\x02 garbage\r\n\r\n");

    assert!(server.alive(), "the service ended: {}", server.log());
    let (s, r) = call(port, "POST", &format!("/classify?now={NOW}&mail_from=&rcpt={FORGED}"), &corpus_bounce());
    assert_eq!((s, r["verdict"].as_str()), (200, Some("backscatter")), "{r}");
    assert!(!server.log().contains("k-serve"), "a secret in the log");
}

#[test]
fn requests_past_max_requests_get_503() {
    let config = site("busy", "read_timeout_secs = 3\nmax_requests = 2");
    let server = Running::start("serve", &config);
    // Two requests in flight (their bodies still coming), then a third.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = Client::open(server.port).unwrap();
        c.stream().write_all(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nFrom").unwrap();
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (s, e) = call(server.port, "POST", "/classify", ORDINARY);
    assert_eq!(s, 503, "{e}");
    for mut c in held {
        assert_eq!(c.response().unwrap().0, 408);
    }
    let (s, _) = call(server.port, "POST", "/classify", ORDINARY);
    assert_eq!(s, 200);
}

/// The load figure: 200 clients on keep-alive connections, 10,000 classifications of corpus
/// messages in all; every answer must be a 200.
#[test]
#[ignore]
fn load() {
    const CLIENTS: usize = 200;
    const REQUESTS: usize = 10_000;
    let config = site("load", "");
    let server = Running::start("serve", &config);
    let messages: Vec<Vec<u8>> =
        ndr_tests::all_corpus_messages().iter().step_by(7).map(|p| std::fs::read(p).unwrap()).collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let messages = std::sync::Arc::new(messages);
    let port = server.port;
    let t = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|w| {
            let messages = messages.clone();
            std::thread::spawn(move || {
                let mut c = Client::open(port).expect("connects");
                let mut times = Vec::new();
                for i in (w..REQUESTS).step_by(CLIENTS) {
                    let m = &messages[i % messages.len()];
                    let t = Instant::now();
                    let (status, _) = c.call("POST", &format!("/classify?now={NOW}"), &[], m);
                    assert_eq!(status, 200);
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().expect("client")).collect();
    let wall = t.elapsed();
    times.sort();
    let pct = |p: usize| times[(times.len() - 1) * p / 100];
    println!(
        "ndr serve: {} requests from {CLIENTS} clients in {:.2} s: {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} distinct messages, mean {} bytes",
        times.len(),
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64(),
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        pct(100).as_secs_f64() * 1e3,
        messages.len(),
        bytes / messages.len()
    );
    assert_eq!(times.len(), REQUESTS);
}

/// rspamd from Debian (`apt-get install rspamd`) on loopback with `contrib/rspamd/ndr.lua`
/// as its only rule (no other modules, so no Redis): `rspamc` on a legitimate bounce, a
/// forged-tag bounce and ordinary mail shows the symbols.
#[test]
fn rspamd_inserts_the_symbols() {
    let rspamd = Path::new("/usr/bin/rspamd");
    assert!(rspamd.is_file(), "rspamd is not installed: apt-get install rspamd (scripts/mta-deps.sh)");
    let config = site("rspamd", "");
    let server = Running::start("serve", &config);
    let good = signed_at(&config, "alice@example.com", clock());
    let dir = config.parent().unwrap().to_path_buf();
    let port = services::free_port();
    let rule = ndr_tests::root().join("contrib/rspamd/ndr.lua");
    let conf = dir.join("rspamd.conf");
    std::fs::write(
        &conf,
        format!(
            "options {{ pidfile = \"{d}/rspamd.pid\"; filters = \"\"; dns {{ nameserver = [\"127.0.0.1:53\"]; timeout = 1s; retransmits = 1; }} }}\n\
             logging {{ type = \"file\"; filename = \"{d}/rspamd.log\"; level = \"info\"; }}\n\
             worker \"normal\" {{ bind_socket = \"127.0.0.1:{port}\"; count = 1; }}\n\
             lua = \"{rule}\";\n\
             ndr {{ url = \"http://127.0.0.1:{serve}/classify\"; timeout = 5.0; }}\n",
            d = dir.display(),
            rule = rule.display(),
            serve = server.port,
        ),
    )
    .unwrap();
    // --insecure: tests run as root; -f: in the foreground, so that it is this child.
    let child = std::process::Command::new(rspamd)
        .args(["-i", "-f", "-c"])
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("rspamd.err")).unwrap())
        .spawn()
        .expect("rspamd starts");
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            // SIGTERM: the main process stops its workers too.
            let _ = std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
            let _ = self.0.wait();
        }
    }
    let mut child = Stop(child);
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "rspamd ended: {}",
            std::fs::read_to_string(dir.join("rspamd.log")).unwrap_or_default()
        );
        assert!(t.elapsed() < Duration::from_secs(120), "rspamd did not listen");
        std::thread::sleep(Duration::from_millis(200));
    }
    let symbols = |from: &str, rcpt: &str, message: &[u8]| -> String {
        let mut c = std::process::Command::new("rspamc")
            .args([
                "-h",
                &format!("127.0.0.1:{port}"),
                "-F",
                from,
                "-r",
                rcpt,
                "-i",
                "203.0.113.9",
                "--helo",
                "mx.remote.example",
                "symbols",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rspamc runs");
        c.stdin.take().unwrap().write_all(message).unwrap();
        let out = c.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("Symbol: NDR_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let names = |out: &str| out.lines().map(|l| l[8..].split(' ').next().unwrap().to_string()).collect::<Vec<_>>();
    let legit = symbols("<>", &good, &corpus_bounce());
    assert_eq!(names(&legit), ["NDR_BOUNCE", "NDR_LEGIT_BOUNCE"], "{legit}");
    assert!(legit.contains("batv=valid(100)"), "{legit}");
    let forged = symbols("<>", FORGED, &corpus_bounce());
    assert_eq!(names(&forged), ["NDR_BACKSCATTER", "NDR_BOUNCE"], "{forged}");
    assert!(forged.contains("batv=bad_signature(-100)") && forged.contains("NDR_BACKSCATTER (8.00)"), "{forged}");
    let spam = symbols("<>", "alice@example.com", NDR_SPAM);
    assert_eq!(names(&spam), ["NDR_BOUNCE", "NDR_SPAM"], "{spam}");
    let ordinary = symbols("carol@remote.example", "alice@example.com", ORDINARY);
    assert_eq!(ordinary, "", "ordinary mail got symbols");
}

/// A module that traps: `/classify` answers 503 with `on_failure`, Stalwart's hook accepts
/// (fail-open), and the service goes on.
#[test]
fn a_failing_module_fails_open() {
    let config = site("fault", "");
    let port = services::free_port();
    let mut child = std::process::Command::new(ndr_bin())
        .args(["serve", "--listen", &format!("inet:127.0.0.1:{port}"), "--test-fault", "trap", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ndr serve starts");
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "ndr serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (s, e) = call(port, "POST", "/classify", ORDINARY);
    assert_eq!((s, e["on_failure"].as_str()), (503, Some("accept")), "{e}");
    let (s, hook) = call(port, "POST", "/stalwart", &hook_request(&corpus_bounce(), "", FORGED));
    assert_eq!((s, hook), (200, json!({"action": "accept", "modifications": []})));
    assert_eq!(call(port, "GET", "/health", b"").0, 200);
    let _ = child.kill();
    let _ = child.wait();
}
