//! Hostile clients never take a service down: for the milter and the policy service, on
//! loopback and bounded in time and count, connections past the cap, idle and slow clients,
//! partial packets and oversized bodies or requests in parallel; during and after it a
//! well-behaved client gets its answer within 100 ms (`ANSWER_WITHIN`), the service's memory stays under its
//! budget plus a documented constant, and the well-behaved answer is exactly the one it got
//! before (no message lost or altered).
//!
//! `probes` (ignored by default) measures the issue's probes with the default limits:
//! `cargo test --release -p ndr-tests --test hostile_services -- --ignored --nocapture`.

mod services;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use services::{Milter, Running, ordinary_message, policy_rcpt};

/// What a service may hold above `max_kept_bytes`: the program and its compiled module, the
/// module instances of classifications in progress, and 64 KiB buffers per connection
/// (README, "Service limits").
const RSS_CONSTANT_KIB: u64 = 96 << 10;
/// The well-behaved client's bound: every whole transaction after the attack, and the median
/// one during it. During it the test's own hostile threads (and whatever else runs) share two
/// cores with the service: measured at most 19-96 ms on a quiet machine and 137 ms with other
/// builds running (load average 10), medians 1-8 ms; after it, at most 5-9 ms.
const ANSWER_WITHIN: Duration = Duration::from_millis(100);
/// No answer during the attack may take longer than this.
const ANSWER_WORST: Duration = Duration::from_secs(1);
const FORGED: &str = "prvs=1123abcdef=alice@example.com";

/// One attack at a time: two at once on two cores would measure each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn site(test: &str, service: &str) -> PathBuf {
    let p = services::test_dir("hostile", test).join("site.toml");
    std::fs::write(
        &p,
        format!(
            "[limits]\nmax_message_bytes = 8388608\n[site]\ndomains = [\"example.com\"]\n\
             [batv]\nobserve_days = 0\n[[batv.keys]]\ndigit = 1\nsecret = \"k-hostile\"\n[service]\n{service}\n"
        ),
    )
    .unwrap();
    p
}

/// Whether the server has closed `s` (EOF or reset) within `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let _ = s.set_read_timeout(Some(limit));
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Peak RSS of a process, sampled every 20 ms while `running`.
fn sample_rss(pid_status: String, running: Arc<AtomicBool>, peak: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while running.load(Ordering::Relaxed) {
            let status = std::fs::read_to_string(&pid_status).unwrap_or_default();
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Latencies of a well-behaved client, checked against the reference answer.
struct Timings(Vec<Duration>);

impl Timings {
    fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
    fn median(&self) -> Duration {
        self.percentile(50)
    }
    fn percentile(&self, p: usize) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v.get((v.len() * p / 100).min(v.len().saturating_sub(1))).copied().unwrap_or_default()
    }
    /// Whether the service answered in time (`ANSWER_WITHIN`, `ANSWER_WORST`).
    fn in_time(during: &Timings, after: &Timings) -> bool {
        during.median() <= ANSWER_WITHIN && during.max() <= ANSWER_WORST && after.max() <= ANSWER_WITHIN
    }
}

/// The figures of one attack, for the test's output.
fn summary(during: &Timings, after: &Timings, peak_kib: u64, rest_kib: u64) -> String {
    format!(
        "well-behaved during: {} runs, median {:?}, p95 {:?}, max {:?}; after: median {:?}, max {:?}; RSS peak {} MiB, after {} MiB",
        during.0.len(),
        during.median(),
        during.percentile(95),
        during.max(),
        after.median(),
        after.max(),
        peak_kib >> 10,
        rest_kib >> 10
    )
}

/// Hostile milter clients: each kind in its own thread, all at once.
fn milter_hostiles(port: u16, chunk: usize) -> Vec<std::thread::JoinHandle<String>> {
    let mut threads = Vec::new();
    // Oversized bodies without end: 8 MiB each in 64 KiB packets, then silence.
    for _ in 0..16 {
        threads.push(std::thread::spawn(move || {
            let Ok(mut m) = Milter::open(port) else { return "hog: refused".into() };
            if m.envelope("<spam@remote.example>", "<alice@example.com>").is_err() {
                return "hog: envelope failed".into();
            }
            let body = vec![b'x'; chunk];
            for _ in 0..(8 << 20) / chunk {
                if m.step(b'B', &body).is_err() {
                    return "hog: closed while sending".into();
                }
            }
            if closed_within(&mut m.0, Duration::from_secs(6)) {
                "hog: closed".into()
            } else {
                "hog: still open".into()
            }
        }));
    }
    // Oversized bodies that do end: the message is passed on (scanned or not), never held.
    for _ in 0..2 {
        threads.push(std::thread::spawn(move || {
            let result = (|| -> std::io::Result<(Vec<u8>, u8)> {
                let mut m = Milter::open(port)?;
                m.envelope("<carol@remote.example>", "<alice@example.com>")?;
                let body = vec![b'y'; chunk];
                for _ in 0..(12 << 20) / chunk {
                    m.step(b'B', &body)?;
                }
                m.end_of_body()
            })();
            match result {
                Ok((mods, b'c')) if !mods.contains(&b'q') => "big: passed on".into(),
                other => format!("big: {other:?}"),
            }
        }));
    }
    // A client sending one byte every 300 ms, and packets that never complete.
    for slow in [true, true, false, false] {
        threads.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return "slow: refused".into() };
            let t = Instant::now();
            let packet = [0u8, 0, 0, 13, b'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0, 0, 0];
            if slow {
                for b in packet {
                    if s.write_all(&[b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            } else {
                let _ = s.write_all(&[0, 0, 3, 232, b'B', 1, 2, 3, 4, 5]);
            }
            if closed_within(&mut s, Duration::from_secs(6)) {
                format!("partial: closed after {} ms", t.elapsed().as_millis())
            } else {
                "partial: still open".into()
            }
        }));
    }
    // Idle connections.
    for _ in 0..6 {
        threads.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return "idle: refused".into() };
            if closed_within(&mut s, Duration::from_secs(6)) {
                "idle: closed".into()
            } else {
                "idle: still open".into()
            }
        }));
    }
    threads
}

#[test]
fn the_milter_survives_hostile_clients() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let budget = 32u64 << 20;
    let cfg = site(
        "milter",
        &format!("max_connections = 40\nidle_timeout_secs = 2\nread_timeout_secs = 1\nmax_kept_bytes = {budget}\n"),
    );
    let s = Running::start("milter", &cfg);
    let reference = ordinary_message(s.port).expect("an ordinary message");
    assert_eq!(reference.2, b'c', "ordinary mail goes on: {reference:?}");
    // The reference's connection counts against the cap until the service has seen it close,
    // which can come after the client has its answer: a flood sent before then finds 39 places,
    // and the connection past the cap later finds one free (CI failed so, twice in a row).
    std::thread::sleep(Duration::from_millis(500));

    // Past the cap: connections are closed at once, not queued.
    let mut flood: Vec<TcpStream> = (0..60).filter_map(|_| TcpStream::connect(("127.0.0.1", s.port)).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let refused =
        flood.iter_mut().map(|c| closed_within(c, Duration::from_millis(10))).filter(|&closed| closed).count();
    assert!(refused >= 20, "{refused} of 60 closed at once past max_connections = 40");
    let mut extra = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let t_extra = Instant::now();
    assert!(closed_within(&mut extra, ANSWER_WITHIN), "a connection past the cap is closed at once");
    let refused_in = t_extra.elapsed();
    // The accepted ones are closed by the idle timeout (2 s).
    assert!(flood.iter_mut().all(|c| closed_within(c, Duration::from_secs(5))), "idle connections closed");
    eprintln!(
        "milter: {refused} of 60 refused at once; a refused client learns it in {refused_in:?}; idle closed after {:?}",
        t.elapsed()
    );
    drop(flood);

    // The attack, with a well-behaved client and memory samples all along.
    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = sample_rss(format!("/proc/{}/status", s.pid()), running.clone(), peak.clone());
    let hostiles = milter_hostiles(s.port, 65_000);
    let mut during = Timings(Vec::new());
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        let t1 = Instant::now();
        let answer = ordinary_message(s.port).expect("a well-behaved client is served during the attack");
        during.0.push(t1.elapsed());
        assert_eq!(answer, reference, "the same answer during the attack");
        std::thread::sleep(Duration::from_millis(50));
    }
    let outcomes: Vec<String> = hostiles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut after = Timings(Vec::new());
    for _ in 0..20 {
        let t1 = Instant::now();
        assert_eq!(ordinary_message(s.port).expect("served after the attack"), reference);
        after.0.push(t1.elapsed());
    }
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak_kib = peak.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    let rest_kib = s.rss_kib();
    eprintln!("milter: {} (budget {} MiB)", summary(&during, &after, peak_kib, rest_kib), budget >> 20);
    eprintln!("milter: hostile outcomes: {outcomes:?}");
    eprintln!("milter: during, ms: {:?}", during.0.iter().map(|d| d.as_millis()).collect::<Vec<_>>());
    for o in &outcomes {
        assert!(!o.contains("still open") && !o.contains("big: O") && !o.contains("big: E"), "{o}");
    }
    assert!(outcomes.iter().filter(|o| o.starts_with("big: passed on")).count() == 2, "{outcomes:?}");
    for o in outcomes.iter().filter(|o| o.starts_with("partial: closed after")) {
        let ms: u64 = o.trim_start_matches("partial: closed after ").trim_end_matches(" ms").parse().unwrap();
        assert!(ms < 4_000, "a slow or partial packet is cut by read_timeout_secs = 1: {o}");
    }
    assert!(Timings::in_time(&during, &after), "answers within 100 ms");
    assert!(peak_kib <= (budget >> 10) + RSS_CONSTANT_KIB, "RSS {peak_kib} KiB over budget + constant");
    assert!(s.log().contains("\"over_budget\""), "the budget was reached and logged");
}

#[test]
fn the_policy_service_survives_hostile_clients() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = site("policy", "max_connections = 40\nidle_timeout_secs = 2\nread_timeout_secs = 1\n");
    let s = Running::start("policy", &cfg);
    let reference = policy_rcpt(s.port, FORGED).expect("an answer");
    assert!(reference.starts_with("550 "), "{reference}");
    assert_eq!(policy_rcpt(s.port, "alice@example.com").unwrap(), "DUNNO");

    let mut flood: Vec<TcpStream> = (0..60).filter_map(|_| TcpStream::connect(("127.0.0.1", s.port)).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let refused =
        flood.iter_mut().map(|c| closed_within(c, Duration::from_millis(10))).filter(|&closed| closed).count();
    assert!(refused >= 20, "{refused} of 60 closed at once past max_connections = 40");
    assert!(flood.iter_mut().all(|c| closed_within(c, Duration::from_secs(5))), "idle connections closed");
    drop(flood);

    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = sample_rss(format!("/proc/{}/status", s.pid()), running.clone(), peak.clone());
    let port = s.port;
    let mut hostiles = Vec::new();
    // Requests of 199 attributes of 8 KB each, over and over: cut at max_request_bytes.
    for _ in 0..8 {
        let running = running.clone();
        hostiles.push(std::thread::spawn(move || {
            let value = "a".repeat(8000);
            let mut cut = 0;
            while running.load(Ordering::Relaxed) {
                let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else { continue };
                for i in 0..199 {
                    if c.write_all(format!("attr{i}={value}\n").as_bytes()).is_err() {
                        break;
                    }
                }
                cut += closed_within(&mut c, Duration::from_secs(3)) as u32;
            }
            format!("hog: {cut} cut")
        }));
    }
    for slow in [true, true, false, false] {
        hostiles.push(std::thread::spawn(move || {
            let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else { return "slow: refused".into() };
            let t = Instant::now();
            if slow {
                for b in b"request=smtpd_access_policy\n".iter().take(12) {
                    if c.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            } else {
                let _ = c.write_all(b"request=smtpd_access_policy\nprotocol_state=RCPT\n");
            }
            if closed_within(&mut c, Duration::from_secs(6)) {
                format!("partial: closed after {} ms", t.elapsed().as_millis())
            } else {
                "partial: still open".into()
            }
        }));
    }
    let mut during = Timings(Vec::new());
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        let t1 = Instant::now();
        assert_eq!(policy_rcpt(port, FORGED).expect("served during the attack"), reference);
        during.0.push(t1.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    running.store(false, Ordering::Relaxed);
    let outcomes: Vec<String> = hostiles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut after = Timings(Vec::new());
    for _ in 0..20 {
        let t1 = Instant::now();
        assert_eq!(policy_rcpt(port, FORGED).expect("served after the attack"), reference);
        after.0.push(t1.elapsed());
    }
    sampler.join().unwrap();
    let peak_kib = peak.load(Ordering::Relaxed);
    eprintln!("policy: {}; {outcomes:?}", summary(&during, &after, peak_kib, s.rss_kib()));
    for o in &outcomes {
        assert!(!o.contains("still open"), "{o}");
    }
    assert!(outcomes.iter().any(|o| o.starts_with("hog:") && !o.starts_with("hog: 0 ")), "{outcomes:?}");
    assert!(Timings::in_time(&during, &after), "answers within 100 ms");
    // No bodies here: requests are bounded (40 × 64 KiB), so the constant alone bounds it.
    assert!(peak_kib <= RSS_CONSTANT_KIB, "RSS {peak_kib} KiB over the constant");
}

/// The issue's probes with the default limits; prints the figures (README, "Service limits").
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn probes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = site("probes", "");
    // Default per-message limit (32 MiB) as in the issue.
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("max_message_bytes = 8388608", "")).unwrap();

    // 1. 30 milter connections each sending 33 MB of body without end of body.
    let m = Running::start("milter", &cfg);
    let base = m.rss_kib();
    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = sample_rss(format!("/proc/{}/status", m.pid()), running.clone(), peak.clone());
    let port = m.port;
    let hogs: Vec<_> = (0..30)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Milter::open(port).ok()?;
                c.envelope("<spam@remote.example>", "<alice@example.com>").ok()?;
                let body = vec![b'x'; 65_000];
                for _ in 0..(33_000_000 / 65_000) {
                    c.step(b'B', &body).ok()?;
                }
                Some(c)
            })
        })
        .collect();
    let held: Vec<_> = hogs.into_iter().filter_map(|h| h.join().unwrap()).collect();
    let t = Instant::now();
    let answer = ordinary_message(port).map(|a| a.2 as char);
    eprintln!(
        "probe 1 (milter, 30 x 33 MB bodies, no end of body): {} held, RSS {} MiB at rest, peak {} MiB; \
         a well-behaved message meanwhile: {answer:?} in {:?}",
        held.len(),
        base >> 10,
        peak.load(Ordering::Relaxed) >> 10,
        t.elapsed()
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(500));
    eprintln!("probe 1: after the connections closed, RSS {} MiB", m.rss_kib() >> 10);

    // 3. 5,000 recipients of 60 KB in one transaction.
    let before = m.rss_kib();
    let mut c = Milter::open(port).unwrap();
    c.step(b'C', b"client.remote.example\x004\x00\x19203.0.113.7\x00").unwrap();
    c.step(b'M', b"<carol@remote.example>\0").unwrap();
    let rcpt = format!("<{}@example.com>\0", "r".repeat(60_000));
    for _ in 0..5000 {
        c.step(b'R', rcpt.as_bytes()).unwrap();
    }
    eprintln!("probe 3 (5,000 RCPTs x 60 KB): RSS {} MiB before, {} MiB after", before >> 10, m.rss_kib() >> 10);
    // Macros are not answered: 2,000 of 60 KB, each under its own name, then one step to sync.
    let before = m.rss_kib();
    let value = "v".repeat(60_000);
    for i in 0..2000 {
        c.send(b'D', format!("R{{m{i}}}\0{value}\0").as_bytes()).unwrap();
    }
    c.step(b'R', b"<bob@example.com>\0").unwrap();
    eprintln!("probe 3b (2,000 macros x 60 KB): RSS {} MiB before, {} MiB after", before >> 10, m.rss_kib() >> 10);
    drop(c);
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();

    // 4. Idle connections far past the cap (1,000 by default), then a real client.
    let mut idle = Vec::new();
    for _ in 0..19_000 {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => idle.push(s),
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let real = ordinary_message(port);
    eprintln!(
        "probe 4 ({} idle connections): a real client gets {:?} in {:?}",
        idle.len(),
        real.as_ref().map(|a| a.2 as char).map_err(|e| e.kind()),
        t.elapsed()
    );
    drop(idle);
    drop(m);

    // 2. 500 policy connections each sending 199 attributes of 8 KB.
    let p = Running::start("policy", &cfg);
    let base = p.rss_kib();
    // Distinct names of 8 KB lines: what the old reader took (8,192-byte lines, 200 attributes).
    let value = "a".repeat(8000);
    let mut conns = Vec::new();
    for _ in 0..500 {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", p.port)) {
            for i in 0..199 {
                if c.write_all(format!("attr{i}={value}\n").as_bytes()).is_err() {
                    break;
                }
            }
            conns.push(c);
        }
    }
    let during = p.rss_kib();
    drop(conns);
    std::thread::sleep(Duration::from_millis(500));
    eprintln!(
        "probe 2 (policy, 500 x 199 x 8 KB attributes): RSS {} MiB at rest, {} MiB with them, {} MiB after they closed",
        base >> 10,
        during >> 10,
        p.rss_kib() >> 10
    );
}
