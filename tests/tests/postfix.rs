//! The milter and the policy service in a live mail flow: a private Postfix instance from
//! Debian (`scripts/mta-deps.sh`) on loopback, with its own configuration, queue and Maildir
//! under `target/postfix-e2e/`, `smtpd_milters` pointing at `ndr milter` services run in this
//! process, outbound mail relayed to a sink SMTP server in this process, and Exim's `prvscheck`
//! (`scripts/interop-deps.sh`) as the judge of our signed envelope senders.
//!
//! Postfix listeners (each with its own `-o smtpd_milters=...`):
//! `inbound` (the normal milter), `submission` (`milter_macro_daemon_name=ORIGINATING`: outbound),
//! `trap_tempfail`, `trap_accept`, `stall_accept` (test faults with `on_failure` set),
//! `down_accept`, `down_tempfail` (no milter listening: `milter_default_action`),
//! `policy` (no milter; `check_policy_service` on `ndr policy`), `plain` (no milter, for the
//! load test's baseline).
//!
//! With `NDR_E2E_MILTER`, `NDR_E2E_POLICY`, `NDR_E2E_CONFIG` and `NDR_E2E_RELOAD` set
//! (`scripts/package-test.sh`), the normal milter and the policy service are the installed
//! ones instead (see `Installed`).
//!
//! The load test is `#[ignore]`d: `cargo test --release -p ndr-tests --test postfix -- --ignored
//! --nocapture` (sizes: `NDR_LOAD_SESSIONS`, `NDR_LOAD_MESSAGES`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod services;

use ndr_host::service::{Fault, Listen, Service};
use ndr_tests::root;
use services::free_port;

/// A key Exim can use too (a C string of 32 bytes).
const SECRET: &str = "e2e-secret-0123456789abcdefghijk";
const REPLY_RCPT: &str = "550 5.7.1 E2E refused: forged BATV tag";

// ---------------------------------------------------------------------------------------------
// SMTP client

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// End of data answered 2xx.
    Accepted(String),
    /// Refused (4xx/5xx) at `stage` (`mail`, `rcpt`, `data`).
    Refused { stage: &'static str, code: u16, text: String },
}

impl Outcome {
    fn code(&self) -> u16 {
        match self {
            Outcome::Accepted(_) => 250,
            Outcome::Refused { code, .. } => *code,
        }
    }
}

struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Smtp {
    fn connect(port: u16) -> std::io::Result<Smtp> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut c = Smtp { reader: BufReader::new(s.try_clone()?), writer: s };
        let (code, text) = c.reply()?;
        if code != 220 {
            return Err(std::io::Error::other(format!("greeting {code} {text}")));
        }
        c.cmd("EHLO client.test")?;
        Ok(c)
    }

    fn reply(&mut self) -> std::io::Result<(u16, String)> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            text.push_str(line.get(4..).unwrap_or("").trim_end());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
            text.push(' ');
        }
    }

    fn cmd(&mut self, line: &str) -> std::io::Result<(u16, String)> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// One message on this session; RSET afterwards so the session can go on.
    fn send(&mut self, from: &str, rcpts: &[&str], data: &[u8]) -> std::io::Result<Outcome> {
        let outcome = self.transaction(from, rcpts, data)?;
        if !matches!(outcome, Outcome::Accepted(_)) {
            self.cmd("RSET")?;
        }
        Ok(outcome)
    }

    fn transaction(&mut self, from: &str, rcpts: &[&str], data: &[u8]) -> std::io::Result<Outcome> {
        let (code, text) = self.cmd(&format!("MAIL FROM:<{from}>"))?;
        if code >= 400 {
            return Ok(Outcome::Refused { stage: "mail", code, text });
        }
        let mut refused = None;
        let mut accepted = 0;
        for r in rcpts {
            let (code, text) = self.cmd(&format!("RCPT TO:<{r}>"))?;
            if code >= 400 {
                refused = Some(Outcome::Refused { stage: "rcpt", code, text });
            } else {
                accepted += 1;
            }
        }
        if accepted == 0 {
            return Ok(refused.unwrap_or(Outcome::Refused { stage: "rcpt", code: 0, text: String::new() }));
        }
        let (code, text) = self.cmd("DATA")?;
        if code != 354 {
            return Ok(Outcome::Refused { stage: "data", code, text });
        }
        self.writer.write_all(&dot_stuff(data))?;
        let (code, text) = self.cmd(".")?;
        Ok(if code < 400 { Outcome::Accepted(text) } else { Outcome::Refused { stage: "data", code, text } })
    }

    fn quit(mut self) {
        let _ = self.cmd("QUIT");
    }
}

/// CRLF line ends, leading dots doubled, a final CRLF.
fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data).replace("\r\n", "\n");
    let mut out = String::new();
    for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn send_one(port: u16, from: &str, rcpts: &[&str], data: &[u8]) -> Outcome {
    let mut c = Smtp::connect(port).unwrap_or_else(|e| panic!("connect to Postfix on {port}: {e}"));
    let o = c.send(from, rcpts, data).expect("SMTP session");
    c.quit();
    o
}

// ---------------------------------------------------------------------------------------------
// The remote side: a sink SMTP server that records envelopes.

#[derive(Debug, Clone)]
struct Relayed {
    mail_from: String,
    rcpts: Vec<String>,
    data: String,
}

fn sink() -> (u16, Arc<Mutex<Vec<Relayed>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("sink binds");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let store = store.clone();
            std::thread::spawn(move || {
                let _ = sink_session(conn, &store);
            });
        }
    });
    (port, got)
}

fn sink_session(conn: TcpStream, store: &Mutex<Vec<Relayed>>) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"220 sink.remote.example ESMTP\r\n")?;
    let mut cur = Relayed { mail_from: String::new(), rcpts: Vec::new(), data: String::new() };
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let arg =
            |l: &str| l.split_once(':').map(|x| x.1).unwrap_or("").trim().split(' ').next().unwrap_or("").to_string();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink.remote.example\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            cur = Relayed {
                mail_from: arg(&line).trim_matches(['<', '>']).to_string(),
                rcpts: vec![],
                data: String::new(),
            };
            w.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            cur.rcpts.push(arg(&line).trim_matches(['<', '>']).to_string());
            w.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("DATA") {
            w.write_all(b"354 go\r\n")?;
            loop {
                let mut l = String::new();
                if r.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                cur.data.push_str(&l);
            }
            store.lock().unwrap().push(cur.clone());
            w.write_all(b"250 queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"250 ok\r\n")?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The milter services, in this process.

/// A port where no milter runs, held for as long as the socket lives. A port that is only known
/// to be free can be taken by a service that a test running beside this one starts (CI once
/// answered "milter down" with another test's milter); a socket bound without listening keeps it
/// taken, and a connection to it is refused at once.
fn refusing_port() -> (u16, socket2::Socket) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    socket.bind(&any.into()).expect("bind a port");
    let port = socket.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port()).expect("its port");
    (port, socket)
}

fn site_config(dir: &Path, name: &str, service: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"[site]
domains = ["example.com"]
relays = ["mx.example.com", "127.0.0.0/8"]

[policy]
backscatter = "reject"     # untagged backscatter is refused at end of data in this test

[batv]
observe_days = 0

[[batv.keys]]
digit = 3
secret = "{SECRET}"
sign_from = 1000000000

[service]
outbound_daemons = ["ORIGINATING"]
rcpt_reply = "{REPLY_RCPT}"
{service}
"#
    );
    std::fs::write(&path, text).expect("write site config");
    path
}

/// Start a service on its own runtime thread; it runs until the test process ends.
fn start(kind: &'static str, port: u16, config: PathBuf, fault: Option<Fault>) -> Arc<Service> {
    let pool = ndr_host::pool::Pool::new(
        ndr_host::Filter::from_file(&ndr_tests::module_path(), ndr_host::Budget::default()).expect("module"),
        ndr_host::pool::MAX_IDLE,
    );
    let (started, service) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let svc = Service::new(kind, pool, Some(config), fault).expect("a valid configuration");
            let _ = started.send(svc.clone());
            let listen = Listen::Inet(format!("127.0.0.1:{port}"));
            let r = if kind == "milter" {
                ndr_host::milter::run(&listen, svc).await
            } else {
                ndr_host::policy::run(&listen, svc).await
            };
            panic!("{kind} on {port} ended: {r:?}");
        });
    });
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "{kind} on {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    service.recv().expect("the service")
}

// ---------------------------------------------------------------------------------------------
// Postfix

struct Postfix {
    dir: PathBuf,
    ports: HashMap<&'static str, u16>,
    maildir: PathBuf,
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix").arg("-c").arg(self.dir.join("etc")).arg("stop").output();
        // Kept after a failure, for its maillog and queue.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Postfix {
    /// `listeners`: name → (milter port or None, extra `-o` options).
    /// `policy`: the policy service's address (`inet:HOST:PORT`, `unix:PATH`).
    fn start(sink_port: u16, policy: &str, listeners: &[(&'static str, Option<String>, &str)]) -> Postfix {
        assert!(
            Path::new("/usr/lib/postfix/sbin/master").is_file(),
            "Postfix is not installed: run scripts/mta-deps.sh (as root)"
        );
        let dir = unique_dir("postfix");
        let _ = std::fs::remove_dir_all(&dir);
        let etc = dir.join("etc");
        let maildir = dir.join("mail/box");
        for d in [&etc, &dir.join("queue"), &dir.join("data"), &dir.join("mail")] {
            std::fs::create_dir_all(d).expect("create Postfix directories");
        }
        // Local delivery runs as nobody into a Maildir.
        let status = Command::new("chown").args(["-R", "65534:65534"]).arg(dir.join("mail")).status();
        assert!(status.is_ok_and(|s| s.success()), "chown the mail directory (the test runs as root)");
        let status = Command::new("chown").args(["postfix:"]).arg(dir.join("data")).status();
        assert!(status.is_ok_and(|s| s.success()), "chown the data directory to postfix");
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {q}
data_directory = {d}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
virtual_mailbox_domains = example.com
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
relayhost = [127.0.0.1]:{sink_port}
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_dns_support_level = disabled
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
anvil_rate_time_unit = 60s
default_process_limit = 300
milter_protocol = 6
milter_default_action = tempfail
smtpd_milters =
non_smtpd_milters =
maillog_file = {log}
maillog_file_prefixes = {dir}
biff = no
alias_maps =
alias_database =
local_recipient_maps =
default_destination_concurrency_limit = 50
smtp_destination_concurrency_limit = 50
in_flow_delay = 0
smtpd_policy_service_request_limit = 0
notify_classes =
",
            q = dir.join("queue").display(),
            d = dir.join("data").display(),
            mail = dir.join("mail").display(),
            log = dir.join("maillog").display(),
            dir = dir.display(),
        );
        std::fs::write(etc.join("main.cf"), main_cf).expect("main.cf");
        let mut master = String::from(
            "pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
virtual   unix  -       n       n       -       -       virtual
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
",
        );
        let mut ports = HashMap::new();
        for (name, milter, extra) in listeners {
            let port = free_port();
            ports.insert(*name, port);
            let milters = milter.clone().unwrap_or_default();
            master.push_str(&format!(
                "127.0.0.1:{port} inet n - n - - smtpd\n  -o syslog_name=postfix/{name}\n  -o smtpd_milters={milters}\n"
            ));
            for o in extra.split_whitespace() {
                master.push_str(&format!("  -o {}\n", o.replace("POLICY", policy)));
            }
        }
        std::fs::write(etc.join("master.cf"), master).expect("master.cf");
        let pf = Postfix { dir: dir.clone(), ports, maildir };
        let out = Command::new("postfix").arg("-c").arg(&etc).arg("start").output().expect("run postfix");
        assert!(
            out.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("maillog")).unwrap_or_default()
        );
        for (name, port) in &pf.ports {
            let t = Instant::now();
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(t.elapsed() < Duration::from_secs(30), "Postfix listener {name} did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        pf
    }

    fn port(&self, name: &str) -> u16 {
        self.ports[name]
    }

    /// Delivered messages (Maildir `new/`).
    fn delivered(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&new).into_iter().flatten().flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                out.push(t);
            }
        }
        out
    }

    fn delivered_count(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map(|d| d.count()).unwrap_or(0)
    }

    /// CPU time in milliseconds of this Postfix: its master, every process it started that is
    /// running now, and those that ended (reaped by the master).
    fn cpu_ms(&self) -> u64 {
        let pid_file = self.dir.join("queue/pid/master.pid");
        let Some(master) = std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<u32>().ok()) else {
            return 0;
        };
        let children: u64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| services::parent_pid(*pid) == Some(master))
            .map(|pid| services::process_cpu_ms(pid, true))
            .sum();
        services::process_cpu_ms(master, true) + children
    }

    /// Remove the delivered messages (the load test, between runs).
    fn clear_delivered(&self) {
        for entry in std::fs::read_dir(self.maildir.join("new")).into_iter().flatten().flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }

    /// The delivered message holding `token`, waiting up to 30 s for it.
    fn wait_for(&self, token: &str) -> Option<String> {
        let t = Instant::now();
        loop {
            if let Some(m) = self.delivered().into_iter().find(|m| m.contains(token)) {
                return Some(m);
            }
            if t.elapsed() > Duration::from_secs(30) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Messages Postfix still has to deliver (active, deferred, incoming, maildrop).
    fn queued(&self) -> usize {
        ["active", "deferred", "incoming", "maildrop"]
            .iter()
            .map(|q| queue_files(&self.dir.join("queue").join(q)))
            .sum()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

/// A fresh folder under `target/postfix-e2e/`, unique per process and per call.
fn unique_dir(kind: &str) -> PathBuf {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    root().join("target/postfix-e2e").join(format!("{kind}-{}-{run}", std::process::id()))
}

fn queue_files(dir: &Path) -> usize {
    if !dir.is_dir() {
        return 0;
    }
    ndr_tests::files_under(dir).len()
}

// ---------------------------------------------------------------------------------------------
// Messages

fn ordinary(token: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\nSubject: hello {token}\r\n\
Message-ID: <{token}@remote.example>\r\n\r\nHello Alice,\r\n.leading dot\r\n..two dots\r\ntrailing blanks   \r\n\
\ttab line\r\nUTF-8: caf\u{e9} \u{2603}\r\n{token}\r\n{long}\r\n-- \r\nCarol\r\n",
        long = "x".repeat(990)
    )
    .into_bytes()
}

/// A DSN about mail to bob@remote.example; the returned headers say who sent the original.
fn bounce(token: &str, rcpt: &str, original_from: &str, original_msgid: &str, received: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.remote.example\r\nTo: {rcpt}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <dsn-{token}@mx.remote.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered. {token}\r\n\r\n\
--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.example\r\n\r\n\
Final-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: user unknown\r\n\r\n\
--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{received}\
Message-ID: <{original_msgid}>\r\nFrom: {original_from}\r\nTo: bob@remote.example\r\nSubject: hi\r\n\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// The body of a delivered message (after the first blank line), with LF line ends.
fn body_of(message: &str) -> String {
    message.split_once("\n\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

fn expected_body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    text.split_once("\n\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

/// Exim's answer on a signed address: `R[1]` when `prvscheck` accepts it.
fn exim_prvscheck(address: &str) -> String {
    let exim = root().join("target/interop/exim/usr/sbin/exim4");
    let conf = root().join("target/interop/exim.conf");
    assert!(exim.is_file() && conf.is_file(), "Exim is not unpacked: run scripts/interop-deps.sh");
    // Exim's documented ACL sees the recipient lower-cased.
    let expr = format!("${{prvscheck {{{}}}{{{SECRET}}}{{R[$prvscheck_result]}}}}", address.to_lowercase());
    let out = Command::new(&exim).arg("-C").arg(&conf).arg("-be").arg(&expr).output().expect("run Exim");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Services started outside this test (the Debian package's units): the Postfix addresses of
/// the milter and the policy service, the configuration file they read (this test writes its
/// own there) and the shell command that makes them re-read it (their `ExecReload`).
struct Installed {
    milter: String,
    policy: String,
    config: PathBuf,
    reload: String,
}

fn installed() -> Option<Installed> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(Installed {
        milter: var("NDR_E2E_MILTER")?,
        policy: var("NDR_E2E_POLICY")?,
        config: var("NDR_E2E_CONFIG")?.into(),
        reload: var("NDR_E2E_RELOAD")?,
    })
}

/// SIGHUP to the services: the installed ones through their reload command, else this process.
fn reload_services() -> bool {
    let status = match installed() {
        Some(i) => Command::new("sh").arg("-c").arg(&i.reload).status(),
        None => Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status(),
    };
    status.is_ok_and(|s| s.success())
}

fn inet(port: u16) -> String {
    format!("inet:127.0.0.1:{port}")
}

struct Setup {
    postfix: Postfix,
    relayed: Arc<Mutex<Vec<Relayed>>>,
    /// The configuration of the normal milter and the policy service.
    config: PathBuf,
    /// Keeps the port of the `down_*` listeners' milter taken and refusing.
    _no_milter: socket2::Socket,
}

fn setup() -> Setup {
    let (sink_port, relayed) = sink();
    let work = unique_dir("config");
    std::fs::create_dir_all(&work).expect("config folder");
    let mut normal = site_config(&work, "normal", "");
    let tempfail = site_config(&work, "tempfail", "on_failure = \"tempfail\"");
    let accept = site_config(&work, "accept", "on_failure = \"accept\"\ntimeout_ms = 1000");
    let quarantine = site_config(&work, "quarantine", "");
    let text = std::fs::read_to_string(&quarantine).expect("config").replace("\"reject\"", "\"quarantine\"");
    std::fs::write(&quarantine, text).expect("write config");
    let (m_down, no_milter) = refusing_port();
    let (m_normal, m_trap_t, m_trap_a, m_stall_a, policy, m_quarantine) =
        (free_port(), free_port(), free_port(), free_port(), free_port(), free_port());
    start("milter", m_normal, normal.clone(), None);
    start("milter", m_quarantine, quarantine, None);
    start("milter", m_trap_t, tempfail, Some(Fault::Trap));
    start("milter", m_trap_a, accept.clone(), Some(Fault::Trap));
    start("milter", m_stall_a, accept, Some(Fault::Stall));
    start("policy", policy, normal.clone(), None);
    let (mut normal_milter, mut policy) = (inet(m_normal), inet(policy));
    if let Some(i) = installed() {
        // The installed services get this test's configuration, then re-read it.
        std::fs::copy(&normal, &i.config).expect("write the installed services' configuration");
        assert!(reload_services(), "reload the installed services");
        std::thread::sleep(Duration::from_millis(1500));
        (normal, normal_milter, policy) = (i.config, i.milter, i.policy);
    }
    let postfix = Postfix::start(
        sink_port,
        &policy,
        &[
            ("inbound", Some(normal_milter.clone()), ""),
            ("quarantine", Some(inet(m_quarantine)), ""),
            ("submission", Some(normal_milter), "milter_macro_daemon_name=ORIGINATING"),
            ("trap_tempfail", Some(inet(m_trap_t)), ""),
            ("trap_accept", Some(inet(m_trap_a)), ""),
            ("stall_accept", Some(inet(m_stall_a)), ""),
            ("down_accept", Some(inet(m_down)), "milter_default_action=accept"),
            ("down_tempfail", Some(inet(m_down)), "milter_default_action=tempfail"),
            (
                "policy",
                None,
                "smtpd_recipient_restrictions=check_policy_service,POLICY,permit_mynetworks,reject_unauth_destination",
            ),
            ("plain", None, ""),
        ],
    );
    Setup { postfix, relayed, config: normal, _no_milter: no_milter }
}

#[test]
fn postfix_end_to_end() {
    // `_no_milter` is bound (not `..`) so that the held port lives as long as the test.
    let Setup { postfix: pf, relayed, config, _no_milter } = setup();
    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        eprintln!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(what);
        }
    };

    // 1. Outbound: the submission listener relays to the sink with a signed envelope sender.
    let o = send_one(pf.port("submission"), "alice@example.com", &["bob@remote.example"], &ordinary("out-1"));
    check(matches!(o, Outcome::Accepted(_)), format!("outbound mail accepted: {o:?}"));
    let t = Instant::now();
    let signed = loop {
        if let Some(r) = relayed.lock().unwrap().iter().find(|r| r.data.contains("out-1")) {
            break Some(r.mail_from.clone());
        }
        if t.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let signed = signed.unwrap_or_default();
    check(
        signed.starts_with("prvs=3") && signed.ends_with("=alice@example.com"),
        format!("outbound envelope sender is BATV-signed with key 3: {signed:?}"),
    );
    let exim = exim_prvscheck(&signed);
    check(exim == "R[1]", format!("Exim's prvscheck accepts {signed}: {exim:?}"));

    // 2. A legitimate bounce to the signed address is delivered, with the verdict in a header.
    let legit = bounce(
        "legit-2",
        &signed,
        "alice@example.com",
        "out-1@example.com",
        "Received: from mx.example.com (mx.example.com [127.0.0.1]) by mx.remote.example\r\n",
    );
    let o = send_one(pf.port("inbound"), "", &[&signed], &legit);
    check(matches!(o, Outcome::Accepted(_)), format!("legitimate bounce accepted: {o:?}"));
    let m = pf.wait_for("legit-2").unwrap_or_default();
    check(
        m.contains("X-NDR-Verdict: legitimate"),
        format!("legitimate bounce delivered with its verdict header: {}", !m.is_empty()),
    );

    // 3. Backscatter with a forged tag: refused at RCPT with the configured reply.
    let forged = "prvs=3123abcdef=alice@example.com";
    let o = send_one(
        pf.port("inbound"),
        "",
        &[forged],
        &bounce("forged-3", forged, "alice@example.com", "x@spam.example", ""),
    );
    check(
        matches!(&o, Outcome::Refused { stage: "rcpt", code: 550, text } if text.contains("E2E refused")),
        format!("forged tag refused at RCPT with the configured reply: {o:?}"),
    );

    // 4. Untagged backscatter (signing enforced): refused at end of data with the verdict's reply.
    let o = send_one(
        pf.port("inbound"),
        "",
        &["alice@example.com"],
        &bounce("untagged-4", "alice@example.com", "alice@example.com", "x@spam.example", ""),
    );
    check(
        matches!(&o, Outcome::Refused { stage: "data", code: 550, text } if text.contains("5.7.1 Backscatter refused")),
        format!("untagged backscatter refused at end of data with the verdict's reply: {o:?}"),
    );

    // 4b. With backscatter = "quarantine": accepted into Postfix's hold queue, with headers.
    let o = send_one(
        pf.port("quarantine"),
        "",
        &["alice@example.com"],
        &bounce("quarantine-4b", "alice@example.com", "alice@example.com", "x@spam.example", ""),
    );
    check(matches!(o, Outcome::Accepted(_)), format!("quarantined backscatter accepted: {o:?}"));
    let hold = pf.dir.join("queue/hold");
    let t = Instant::now();
    let held = loop {
        let held: Vec<String> = ndr_tests::files_under(&hold)
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).to_string())
            .collect();
        if !held.is_empty() || t.elapsed() > Duration::from_secs(20) {
            break held;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    check(
        held.len() == 1 && held[0].contains("quarantine-4b") && held[0].contains("X-NDR-Verdict: backscatter"),
        format!("quarantined backscatter is in the hold queue with its verdict header: {} held", held.len()),
    );

    // 5. An address-verification probe: MAIL FROM:<>, RCPT TO, QUIT is not refused.
    let mut c = Smtp::connect(pf.port("inbound")).expect("connect");
    let mail = c.cmd("MAIL FROM:<>").expect("MAIL");
    let rcpt = c.cmd("RCPT TO:<alice@example.com>").expect("RCPT");
    c.quit();
    check(mail.0 == 250 && rcpt.0 == 250, format!("verification probe accepted: {mail:?} {rcpt:?}"));

    // 6. Ordinary mail passes untouched: byte-identical body, no header of ours.
    let raw = ordinary("plain-6");
    let o = send_one(pf.port("inbound"), "carol@remote.example", &["alice@example.com"], &raw);
    check(matches!(o, Outcome::Accepted(_)), format!("ordinary mail accepted: {o:?}"));
    let m = pf.wait_for("plain-6").unwrap_or_default();
    check(body_of(&m) == expected_body(&raw), "ordinary mail's body is byte-identical".into());
    check(!m.contains("X-NDR-"), "ordinary mail gets no X-NDR header".into());

    // 6b. A forged verdict header from outside is removed.
    let spoof = [b"X-NDR-Verdict: legitimate\r\n".as_slice(), &ordinary("spoof-6b")].concat();
    send_one(pf.port("inbound"), "carol@remote.example", &["alice@example.com"], &spoof);
    let m = pf.wait_for("spoof-6b").unwrap_or_default();
    check(!m.is_empty() && !m.contains("X-NDR-Verdict"), "a forged X-NDR-Verdict header is removed".into());

    // 7. Failures: a trapping module with on_failure = tempfail: 4xx, nothing delivered.
    let o = send_one(pf.port("trap_tempfail"), "carol@remote.example", &["alice@example.com"], &ordinary("trap-7"));
    check(o.code() / 100 == 4, format!("module trap + tempfail: the client is told to retry: {o:?}"));
    // ... with on_failure = accept: delivered untouched.
    let raw = ordinary("trapacc-7b");
    let o = send_one(pf.port("trap_accept"), "carol@remote.example", &["alice@example.com"], &raw);
    check(matches!(o, Outcome::Accepted(_)), format!("module trap + accept: accepted: {o:?}"));
    let m = pf.wait_for("trapacc-7b").unwrap_or_default();
    check(
        body_of(&m) == expected_body(&raw) && !m.contains("X-NDR-"),
        "module trap + accept: delivered untouched".into(),
    );
    // A trapping module with a bounce: fail-open never rejects it either.
    let o = send_one(
        pf.port("trap_accept"),
        "",
        &["prvs=3123abcdef=alice@example.com"],
        &bounce("trapbounce-7c", "alice@example.com", "alice@example.com", "x@spam.example", ""),
    );
    check(matches!(o, Outcome::Accepted(_)), format!("module trap + accept: even a forged bounce is accepted: {o:?}"));
    // A stalled module, on_failure = accept, 1 s timeout: delivered untouched.
    let raw = ordinary("stall-8");
    let t = Instant::now();
    let o = send_one(pf.port("stall_accept"), "carol@remote.example", &["alice@example.com"], &raw);
    check(
        matches!(o, Outcome::Accepted(_)),
        format!("stalled module + accept: accepted after {:?}: {o:?}", t.elapsed()),
    );
    let m = pf.wait_for("stall-8").unwrap_or_default();
    check(body_of(&m) == expected_body(&raw), "stalled module + accept: delivered untouched".into());
    // The milter process is gone: Postfix's milter_default_action decides.
    let raw = ordinary("down-9");
    let o = send_one(pf.port("down_accept"), "carol@remote.example", &["alice@example.com"], &raw);
    check(matches!(o, Outcome::Accepted(_)), format!("milter down + milter_default_action=accept: {o:?}"));
    check(pf.wait_for("down-9").is_some(), "milter down + accept: delivered".into());
    let o = send_one(pf.port("down_tempfail"), "carol@remote.example", &["alice@example.com"], &ordinary("down-9b"));
    check(o.code() / 100 == 4, format!("milter down + milter_default_action=tempfail: {o:?}"));

    // 10. The policy service refuses the forged tag at RCPT and lets the probe through.
    let o = send_one(
        pf.port("policy"),
        "",
        &[forged],
        &bounce("policy-10", forged, "alice@example.com", "x@spam.example", ""),
    );
    check(
        matches!(&o, Outcome::Refused { stage: "rcpt", code: 550, text } if text.contains("E2E refused")),
        format!("policy service refuses a forged tag at RCPT: {o:?}"),
    );
    let mut c = Smtp::connect(pf.port("policy")).expect("connect");
    let mail = c.cmd("MAIL FROM:<>").expect("MAIL");
    let rcpt = c.cmd("RCPT TO:<alice@example.com>").expect("RCPT");
    c.quit();
    check(rcpt.0 == 250, format!("policy service: verification probe accepted: {mail:?} {rcpt:?}"));

    // 11. A small load: 20 sessions x 5 messages, none lost.
    let before = pf.delivered_count();
    let (ok, _) = load(pf.port("inbound"), 20, 100, "smoke", None);
    check(ok == 100, format!("smoke load: {ok} of 100 accepted"));
    let t = Instant::now();
    while pf.delivered_count() < before + ok && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    check(
        pf.delivered_count() == before + ok,
        format!("smoke load: {} of {ok} delivered", pf.delivered_count() - before),
    );
    // Relayed messages may still be on their way to the sink: wait for the queues to drain.
    let t = Instant::now();
    while pf.queued() > 0 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    check(pf.queued() == 0, format!("nothing left in Postfix's queues: {}", pf.queued()));

    // 12. SIGHUP reloads the configuration: a session open across the reload goes on, and the
    // new reply is used. (In-process services get the signal here; installed ones their reload.)
    let mut open = Smtp::connect(pf.port("inbound")).expect("connect");
    let before = open.send("carol@remote.example", &["alice@example.com"], &ordinary("hup-12a")).expect("send");
    let text = std::fs::read_to_string(&config).expect("config").replace("E2E refused", "E2E reloaded");
    std::fs::write(&config, text).expect("rewrite config");
    check(reload_services(), "SIGHUP sent".into());
    std::thread::sleep(Duration::from_millis(1500));
    let after = open.send("carol@remote.example", &["alice@example.com"], &ordinary("hup-12b")).expect("send");
    open.quit();
    check(
        matches!(before, Outcome::Accepted(_)) && matches!(after, Outcome::Accepted(_)),
        format!("a session open across the reload goes on: {before:?} {after:?}"),
    );
    check(pf.wait_for("hup-12b").is_some(), "the message sent after the reload is delivered".into());
    let o = send_one(
        pf.port("inbound"),
        "",
        &[forged],
        &bounce("hup-12c", forged, "alice@example.com", "x@spam.example", ""),
    );
    check(
        matches!(&o, Outcome::Refused { stage: "rcpt", code: 550, text } if text.contains("E2E reloaded")),
        format!("after SIGHUP the reloaded reply is used: {o:?}"),
    );

    if !failures.is_empty() {
        panic!("{} failed checks:\n{}\n--- maillog ---\n{}", failures.len(), failures.join("\n"), pf.log());
    }
    // (Not the installed services' folder, /etc/ndr.)
    if let Some(work) = config.parent().filter(|_| installed().is_none()) {
        let _ = std::fs::remove_dir_all(work);
    }
}

/// `sessions` concurrent SMTP sessions sending `messages` ordinary messages in all; returns
/// (accepted, per-message transaction latencies in µs: MAIL FROM to the end-of-data reply).
fn load(port: u16, sessions: usize, messages: usize, tag: &str, pace: Option<f64>) -> (usize, Vec<u64>) {
    let tag = tag.to_string();
    let sent = load_with(&[port], sessions, messages, pace, move |s, i| {
        ("carol@remote.example".into(), "alice@example.com".into(), ordinary(&format!("{tag}-{s}-{i}")))
    });
    let lat: Vec<u64> = sent.iter().filter(|m| m.accepted).map(|m| m.micros).collect();
    (lat.len(), lat)
}

/// One message of a load run.
struct Sent {
    /// The message's number in the run.
    index: usize,
    accepted: bool,
    /// The SMTP reply code of the end of the transaction (250, or the refusal's).
    code: u16,
    micros: u64,
}

/// `sessions` concurrent SMTP sessions, spread over `ports`, sending `messages` in all; message
/// `n` (session `s`, its `i`th) is `make(s, i)`: (MAIL FROM, RCPT TO, data). Without `pace`
/// each session sends its next message as soon as the last is answered (the most the server
/// takes); with `pace` (messages per second in all) each sends on a fixed schedule, at once
/// when it is behind, so the server is offered that rate and no more.
fn load_with<F>(ports: &[u16], sessions: usize, messages: usize, pace: Option<f64>, make: F) -> Vec<Sent>
where
    F: Fn(usize, usize) -> (String, String, Vec<u8>) + Send + Sync + 'static,
{
    let per = messages.div_ceil(sessions);
    let make = Arc::new(make);
    let handles: Vec<_> = (0..sessions)
        .map(|s| {
            let (make, port) = (make.clone(), ports[s % ports.len()]);
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                let Ok(mut c) = Smtp::connect(port) else { return sent };
                // Sessions start spread over one interval, so that paced sends do not come in bursts.
                let interval = pace.map(|rate| Duration::from_secs_f64(sessions as f64 / rate));
                let start =
                    Instant::now() + interval.map_or(Duration::ZERO, |iv| iv.mul_f64(s as f64 / sessions as f64));
                for i in 0..per {
                    let index = s * per + i;
                    if index >= messages {
                        break;
                    }
                    if let Some(due) = interval.map(|iv| start + iv * i as u32) {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let (from, rcpt, raw) = make(s, i);
                    let t = Instant::now();
                    let Ok(o) = c.send(&from, &[&rcpt], &raw) else { break };
                    let micros = t.elapsed().as_micros() as u64;
                    sent.push(Sent { index, accepted: matches!(o, Outcome::Accepted(_)), code: o.code(), micros });
                }
                c.quit();
                sent
            })
        })
        .collect();
    handles.into_iter().filter_map(|h| h.join().ok()).flatten().collect()
}

/// A benchmark's setting from the environment variable `name`, else `default`.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A milter that does nothing: it speaks the protocol as `ndr milter` does (the same wire loop,
/// options, buffering and quick ACKs) and accepts every message at the end of its headers
/// without looking at it. Postfix behind it shows what any milter costs Postfix, the floor
/// under what ours can cost. Returns its address for `smtpd_milters`.
fn null_milter(at: Socket) -> String {
    use miltr_common::actions::{Action, Continue};
    use miltr_common::commands::{Body, Connect, Header, Helo, Macro, Mail, Recipient};
    use ndr_host::milter_wire::{EndOfMessage, Session};
    struct Nothing;
    impl Session for Nothing {
        fn macros(&mut self, _: Macro) {}
        fn connect(&mut self, _: Connect) {}
        fn helo(&mut self, _: Helo) {}
        fn mail(&mut self, _: Mail) {}
        async fn rcpt(&mut self, _: Recipient) -> Action {
            Continue.into()
        }
        fn header(&mut self, _: Header) {}
        async fn end_of_header(&mut self) -> bool {
            true
        }
        fn body(&mut self, _: Body) {}
        async fn end_of_body(&mut self) -> EndOfMessage {
            let response = miltr_common::modifications::ModificationResponse::builder().contin();
            EndOfMessage { response, raw_before: Vec::new() }
        }
        fn abort(&mut self) {}
    }
    let runtime =
        || tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    match at {
        Socket::Tcp => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("address").port();
            listener.set_nonblocking(true).expect("non-blocking");
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    while let Ok((stream, _)) = listener.accept().await {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(async move {
                            let mut io = tokio::io::BufReader::new(ndr_host::quick_ack::QuickAck::new(stream));
                            let _ = ndr_host::milter_wire::serve(&mut io, &mut Nothing).await;
                        });
                    }
                });
            });
            inet(port)
        }
        Socket::Unix(path) => {
            let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
            // Postfix's smtpd runs as its own user: anyone may connect, as to the service's socket.
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o666)).expect("chmod");
            listener.set_nonblocking(true).expect("non-blocking");
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    let listener = tokio::net::UnixListener::from_std(listener).expect("listener");
                    while let Ok((stream, _)) = listener.accept().await {
                        tokio::spawn(async move {
                            let mut io = tokio::io::BufReader::new(stream);
                            let _ = ndr_host::milter_wire::serve(&mut io, &mut Nothing).await;
                        });
                    }
                });
            });
            format!("unix:{}", path.display())
        }
    }
}

/// How Postfix reaches a milter: over TCP on loopback, or a unix socket (the usual set-up on
/// one machine: no TCP stack, no delayed ACKs).
enum Socket {
    Tcp,
    Unix(PathBuf),
}

/// The load test: the same traffic through Postfix alone, with a milter that does nothing
/// ([`null_milter`]), with the milter (each of the two over TCP and over a unix socket), and
/// with the policy service. Each is run `NDR_LOAD_ROUNDS` times (default 3), in turns whose order alternates, and
/// the delivered files are removed after each run, so that a machine whose load drifts, or a
/// mail directory that grows, favours none of them. Figures pool the rounds.
///
/// The milter and the policy service run as their own `ndr` processes, as in production, so
/// that their CPU time is read apart from the load generator's (this process). Besides
/// throughput, each run reports the CPU time per message of Postfix and of the service: on a
/// machine that other work shares, these are steadier than messages per second. Then a paced
/// run offers each listener `NDR_LOAD_PACED_RATE` messages/s (default 100, well below what it
/// takes), where the time a transaction takes is what the filter adds to it and not a queue.
#[test]
#[ignore = "a benchmark: run by hand (README, Mail server integration)"]
fn load_test() {
    let (sessions, messages, rounds) =
        (env_or("NDR_LOAD_SESSIONS", 200), env_or("NDR_LOAD_MESSAGES", 10_000), env_or("NDR_LOAD_ROUNDS", 3));
    let (paced_rate, paced_messages): (f64, usize) =
        (env_or("NDR_LOAD_PACED_RATE", 100.0), env_or("NDR_LOAD_PACED_MESSAGES", 2_000));
    let work = unique_dir("load-config");
    std::fs::create_dir_all(&work).expect("config folder");
    let config = site_config(&work, "load", "");
    // Postfix's smtpd runs as its own user: the unix socket is open to it (and to everyone, on
    // this test machine).
    let unix_config = site_config(&work, "load-unix", "socket_mode = \"0666\"");
    let sockets = std::env::temp_dir().join(format!("ndr-load-{}", std::process::id()));
    std::fs::create_dir_all(&sockets).expect("socket folder");
    let milter = services::Running::start("milter", &config);
    let milter_unix = services::Running::start_unix("milter", &unix_config, &sockets.join("milter.sock"));
    let policy = services::Running::start("policy", &config);
    let (sink_port, _relayed) = sink();
    let pf = Postfix::start(
        sink_port,
        &inet(policy.port),
        &[
            ("plain", None, ""),
            ("inbound", Some(inet(milter.port)), ""),
            ("null_milter", Some(null_milter(Socket::Tcp)), ""),
            ("inbound_unix", Some(format!("unix:{}", sockets.join("milter.sock").display())), ""),
            ("null_unix", Some(null_milter(Socket::Unix(sockets.join("null.sock")))), ""),
            (
                "policy",
                None,
                "smtpd_recipient_restrictions=check_policy_service,POLICY,permit_mynetworks,reject_unauth_destination",
            ),
        ],
    );
    // Each milter beside the milter that does nothing on the same kind of socket (its floor).
    let listeners = [
        ("plain", "Postfix alone", None),
        ("null_milter", "with a milter that does nothing (TCP)", None),
        ("inbound", "with the milter (TCP)", Some(&milter)),
        ("null_unix", "with a milter that does nothing (unix socket)", None),
        ("inbound_unix", "with the milter (unix socket)", Some(&milter_unix)),
        ("policy", "with the policy service", Some(&policy)),
    ];
    let floors = [(2, 1), (4, 3)];
    // The service's CPU per message as the figures show it: the milter that does nothing runs in
    // this process, so its own CPU is not measured (Postfix's is).
    let service_cpu = |i: usize, us: f64| match (listeners[i].0, listeners[i].2) {
        (_, Some(_)) => format!(", service {us:.0} µs"),
        ("null_milter" | "null_unix", None) => ", the milter's own not measured".to_string(),
        _ => String::new(),
    };
    /// One listener's figures, pooled over its runs.
    #[derive(Default, Clone)]
    struct Pooled {
        accepted: usize,
        secs: f64,
        latencies: Vec<u64>,
        postfix_cpu_ms: u64,
        service_cpu_ms: u64,
    }
    let mut pooled = vec![Pooled::default(); listeners.len()];
    // One run: (accepted, seconds, latencies, Postfix CPU ms, service CPU ms); every message
    // delivered before the CPU is read, so delivery is counted too.
    let run = |i: usize, n: usize, sessions: usize, pace: Option<f64>, tag: String| {
        let (listener, label, service) = listeners[i];
        let before = pf.delivered_count();
        let cpu_before = (pf.cpu_ms(), service.map_or(0, |s| s.cpu_ms()));
        let t = Instant::now();
        let (ok, lat) = load(pf.port(listener), sessions, n, &tag, pace);
        let secs = t.elapsed().as_secs_f64();
        let deadline = Instant::now();
        while pf.delivered_count() < before + ok && deadline.elapsed() < Duration::from_secs(600) {
            std::thread::sleep(Duration::from_millis(200));
        }
        let delivered = pf.delivered_count() - before;
        let cpu = (pf.cpu_ms() - cpu_before.0, service.map_or(0, |s| s.cpu_ms()) - cpu_before.1);
        assert_eq!(ok, n, "{label}: every message accepted");
        assert_eq!(delivered, ok, "{label}: no message lost");
        pf.clear_delivered();
        (secs, lat, cpu)
    };
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..listeners.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (secs, lat, cpu) = run(i, messages, sessions, None, format!("{}{round}", listeners[i].0));
            eprintln!(
                "round {round}, {}: {messages} accepted and delivered, {:.0} msgs/s; CPU per message: Postfix {} µs{}",
                listeners[i].1,
                messages as f64 / secs,
                cpu.0 * 1000 / messages as u64,
                service_cpu(i, cpu.1 as f64 * 1000.0 / messages as f64)
            );
            let p = &mut pooled[i];
            p.accepted += messages;
            p.secs += secs;
            p.latencies.extend(lat);
            p.postfix_cpu_ms += cpu.0;
            p.service_cpu_ms += cpu.1;
        }
    }
    let per_message = |ms: u64, n: usize| ms as f64 * 1000.0 / n as f64;
    for (i, p) in pooled.iter_mut().enumerate() {
        let service = service_cpu(i, per_message(p.service_cpu_ms, p.accepted));
        p.latencies.sort_unstable();
        eprintln!(
            "{}: {sessions} sessions, {rounds} × {messages} messages, {:.0} msgs/s accepted; per-message SMTP \
transaction (MAIL to end-of-data reply) p50 {} µs, p99 {} µs; CPU per message: Postfix {:.0} µs{service}",
            listeners[i].1,
            p.accepted as f64 / p.secs,
            pct(&p.latencies, 0.5),
            pct(&p.latencies, 0.99),
            per_message(p.postfix_cpu_ms, p.accepted),
        );
    }
    let alone = pooled[0].clone();
    let alone_cpu = per_message(alone.postfix_cpu_ms, alone.accepted);
    for (i, p) in pooled.iter().enumerate().skip(1) {
        // What the filter costs the machine per message: the service's own CPU and what talking
        // to it costs Postfix, against what Postfix alone spends (for the milter that does
        // nothing, Postfix's part only).
        let added = per_message(p.postfix_cpu_ms, p.accepted) - alone_cpu + per_message(p.service_cpu_ms, p.accepted);
        eprintln!(
            "{}: throughput {:.0}% of Postfix alone; CPU added per message {added:.0} µs ({:.1}% of Postfix alone's {alone_cpu:.0} µs)",
            listeners[i].1,
            100.0 * (p.accepted as f64 / p.secs) / (alone.accepted as f64 / alone.secs),
            100.0 * added / alone_cpu,
        );
    }
    let rate = |p: &Pooled| p.accepted as f64 / p.secs;
    for (milter, floor) in floors {
        eprintln!(
            "{}: throughput {:.0}% of Postfix {}",
            listeners[milter].1,
            100.0 * rate(&pooled[milter]) / rate(&pooled[floor]),
            listeners[floor].1
        );
    }
    // Paced: each listener offered the same rate, one after the other.
    let paced_sessions = sessions.min(paced_messages).max(1);
    let mut paced = Vec::new();
    for i in 0..listeners.len() {
        let (secs, mut lat, _) =
            run(i, paced_messages, paced_sessions, Some(paced_rate), format!("paced-{}", listeners[i].0));
        lat.sort_unstable();
        eprintln!(
            "paced, {}: {paced_messages} messages offered at {paced_rate:.0}/s over {paced_sessions} sessions ({:.0} msgs/s taken); \
transaction p50 {} µs, p99 {} µs",
            listeners[i].1,
            paced_messages as f64 / secs,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
        paced.push((pct(&lat, 0.5), pct(&lat, 0.99)));
    }
    for i in 1..listeners.len() {
        eprintln!(
            "paced, {}: added latency (with - without): p50 {} µs, p99 {} µs",
            listeners[i].1,
            paced[i].0 as i64 - paced[0].0 as i64,
            paced[i].1 as i64 - paced[0].1 as i64
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&sockets);
}

/// The shared-state load test (issue 18): two milter services (two hosts) sharing one
/// redis-server behind one Postfix; `NDR_LOAD_SESSIONS` sessions send `NDR_LOAD_MESSAGES`
/// messages, a third of them bounce floods at five forged addresses of ours, the rest ordinary
/// mail. The floods are limited as one (20 per address in all), every ordinary message is
/// delivered, and the state calls' latency is reported.
#[test]
#[ignore = "a benchmark: run by hand (README, A fleet)"]
fn state_load_test() {
    const FORGED: usize = 5;
    const PER_ADDRESS: usize = 20;
    let (sessions, messages): (usize, usize) = (env_or("NDR_LOAD_SESSIONS", 200), env_or("NDR_LOAD_MESSAGES", 10_000));
    // The bound on one state call: past it a call fails open (`on_failure = "accept"`) and the
    // server is left alone for a second. On a saturated two-core machine the default (100 ms) is
    // passed now and then, letting a few more bounces through; NDR_STATE_TIMEOUT_MS sets it.
    let timeout_ms: u64 = env_or("NDR_STATE_TIMEOUT_MS", 1000);
    let redis = services::StateServer::start("redis-server", "state-load")
        .expect("redis-server is not installed: run scripts/mta-deps.sh");
    let redis_port = redis.port;
    let work = unique_dir("state-config");
    std::fs::create_dir_all(&work).expect("config folder");
    let config = work.join("state.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\ndomains = [\"example.com\"]\n[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:{redis_port}/0\"\n\
             secret = \"load-test-state-secret-0123\"\ncommand_timeout_ms = {timeout_ms}\n[state.limits.null_sender_rcpt]\nrate = {PER_ADDRESS}\nperiod_secs = 3600\n"
        ),
    )
    .expect("write config");
    let (a, b) = (free_port(), free_port());
    let hosts = [start("milter", a, config.clone(), None), start("milter", b, config.clone(), None)];
    let (sink_port, _relayed) = sink();
    let pf = Postfix::start(sink_port, "inet:127.0.0.1:1", &[("mx_a", Some(inet(a)), ""), ("mx_b", Some(inet(b)), "")]);
    let is_bounce = |s: usize, i: usize| (s + i) % 3 == 0;
    let t = Instant::now();
    let sent = load_with(&[pf.port("mx_a"), pf.port("mx_b")], sessions, messages, None, move |s, i| {
        let token = format!("state-{s}-{i}");
        if is_bounce(s, i) {
            let rcpt = format!("forged{}@example.com", (s + i) % FORGED);
            let raw = bounce(&token, &rcpt, &rcpt, &format!("{token}@spam.example"), "");
            (String::new(), rcpt, raw)
        } else {
            ("carol@remote.example".into(), "alice@example.com".into(), ordinary(&token))
        }
    });
    let secs = t.elapsed().as_secs_f64();
    let per = messages.div_ceil(sessions);
    let bounce_of = |m: &Sent| is_bounce(m.index / per, m.index % per);
    let (bounces, ordinary_mail): (Vec<&Sent>, Vec<&Sent>) = sent.iter().partition(|m| bounce_of(m));
    let bounces_passed = bounces.iter().filter(|m| m.accepted).count();
    let bounces_451 = bounces.iter().filter(|m| m.code == 451).count();
    let ordinary_ok = ordinary_mail.iter().filter(|m| m.accepted).count();
    let deadline = Instant::now();
    let expected = ordinary_ok + bounces_passed;
    while pf.delivered_count() < expected && deadline.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let delivered = pf.delivered_count();
    let mut state_us: Vec<u64> =
        hosts.iter().flat_map(|h| h.state.as_ref().map(|s| s.latencies()).unwrap_or_default()).map(u64::from).collect();
    state_us.sort_unstable();
    let mut lat: Vec<u64> = ordinary_mail.iter().filter(|m| m.accepted).map(|m| m.micros).collect();
    lat.sort_unstable();
    eprintln!(
        "state load: {sessions} sessions over 2 milters sharing one redis-server, {} messages in {secs:.1} s ({:.0} msgs/s); \
bounce floods at {FORGED} forged addresses: {} sent, {bounces_passed} passed (limit {} in all), {bounces_451} answered 451; \
ordinary: {} sent, {ordinary_ok} accepted; {delivered} delivered; state calls: {} , p50 {} µs, p99 {} µs, max {} µs; \
ordinary transaction p50 {} µs, p99 {} µs",
        sent.len(),
        sent.len() as f64 / secs,
        bounces.len(),
        FORGED * PER_ADDRESS,
        ordinary_mail.len(),
        state_us.len(),
        pct(&state_us, 0.5),
        pct(&state_us, 0.99),
        state_us.last().copied().unwrap_or(0),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
    );
    assert_eq!(sent.len(), messages, "every message got an answer");
    let failures: u64 = hosts.iter().map(|h| h.state.as_ref().map_or(0, |s| s.failures())).sum();
    eprintln!("state calls failed (timeout {timeout_ms} ms): {failures}");
    if failures == 0 {
        assert_eq!(bounces_passed, FORGED * PER_ADDRESS, "the floods are limited as one, across both hosts");
    } else {
        assert!(bounces_passed >= FORGED * PER_ADDRESS, "failures only let more through (fail-open)");
    }
    assert_eq!(bounces_passed + bounces_451, bounces.len(), "every other bounce was answered 451 (retried, not lost)");
    assert_eq!(ordinary_ok, ordinary_mail.len(), "all ordinary mail accepted");
    assert_eq!(delivered, expected, "no message lost");
    let _ = std::fs::remove_dir_all(&work);
}

/// Postfix tells the milter of the recipients it refuses (SMFIP_RCPT_REJ, `{rcpt_mailer}` =
/// `error`) once `[state] limits.unknown_rcpt_network` asks for them: past the limit, the
/// client's next recipient is refused too, by the milter.
#[test]
fn postfix_tells_the_milter_of_refused_recipients() {
    let work = unique_dir("harvest");
    std::fs::create_dir_all(&work).expect("config folder");
    let config = work.join("harvest.toml");
    std::fs::write(
        &config,
        "[site]\ndomains = [\"example.com\"]\n[state]\n[state.limits.unknown_rcpt_network]\nrate = 3\nperiod_secs = 600\n",
    )
    .expect("write config");
    let unknown = work.join("unknown.regexp");
    std::fs::write(&unknown, "/^nobody/ 550 5.1.1 No such user here\n").expect("write map");
    let port = free_port();
    start("milter", port, config, None);
    let (sink_port, _relayed) = sink();
    let restrictions = format!(
        "smtpd_recipient_restrictions=check_recipient_access,regexp:{},permit_mynetworks,reject_unauth_destination",
        unknown.display()
    );
    let pf = Postfix::start(sink_port, "inet:127.0.0.1:1", &[("harvest", Some(inet(port)), &restrictions)]);
    let mut c = Smtp::connect(pf.port("harvest")).expect("connect");
    assert!(c.cmd("MAIL FROM:<x@harvest.example>").expect("mail").0 < 400);
    assert!(c.cmd("RCPT TO:<alice@example.com>").expect("rcpt").0 < 400, "{}", pf.log());
    for i in 0..3 {
        let (code, text) = c.cmd(&format!("RCPT TO:<nobody{i}@example.com>")).expect("rcpt");
        assert_eq!(code, 550, "refused by Postfix: {text}");
    }
    let (code, text) = c.cmd("RCPT TO:<bob@example.com>").expect("rcpt");
    assert_eq!(code, 451, "over the limit, refused by the milter: {text}\n{}", pf.log());
    assert!(text.contains("Too many unknown recipients"), "{text}");
    c.quit();
    let _ = std::fs::remove_dir_all(&work);
}
