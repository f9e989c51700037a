//! The `ndr` program's services as processes, for the configuration and hostile-client tests:
//! start one on a loopback port with its log in a file, read its memory, and speak to it as
//! Postfix does (a hand-written milter client, so that tests can also send broken packets).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built `ndr` program: `$NDR_BIN`, else `target/release/ndr`.
pub fn ndr_bin() -> PathBuf {
    let p =
        std::env::var_os("NDR_BIN").map(PathBuf::from).unwrap_or_else(|| ndr_tests::root().join("target/release/ndr"));
    assert!(p.is_file(), "{} is missing: cargo build --release -p ndr-host", p.display());
    p
}

/// `ndr ARGS…` to its end, within `limit` (killed past it: a service that started instead of
/// refusing fails the test rather than hanging it).
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut child =
        Command::new(ndr_bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("ndr runs");
    let t = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// CPU time of process `pid` in milliseconds, user and system, read from /proc/PID/stat; with
/// `reaped`, plus that of its children that ended and were waited for. 0 when it is gone.
pub fn process_cpu_ms(pid: u32, reaped: bool) -> u64 {
    // utime, stime, cutime, cstime are fields 11 to 14 after the command name.
    let span = if reaped { 11..15 } else { 11..13 };
    let ticks: u64 = stat_fields(pid).get(span).map_or(0, |t| t.iter().filter_map(|f| f.parse::<u64>().ok()).sum());
    ticks * 1000 / clock_ticks()
}

/// The fields of /proc/PID/stat after the command name (which may hold spaces, in parentheses):
/// state, ppid, pgrp, session, tty, tpgid, flags, four fault counts, utime, stime, cutime,
/// cstime, ... Empty when the process is gone.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().map(str::to_string).collect())
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// The parent of process `pid`, from /proc/PID/stat.
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat_fields(pid).get(1)?.parse().ok()
}

/// A folder of this test run's own under the temporary directory: `ndr-{kind}-{test}-{pid}`.
pub fn test_dir(kind: &str, test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ndr-{kind}-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A port that was free when asked and that this process has not handed out before. The kernel
/// may give the same free port to two binds in a row once the first socket is closed; a test that
/// asks for several ports before starting anything on them would then put two listeners on one
/// port (CI once got Postfix's "duplicate master.cf entry" that way).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no free port that this test has not used already")
}

/// A service process; killed when dropped.
pub struct Running {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Running {
    /// `ndr KIND --listen inet:127.0.0.1:PORT --config CONFIG`, its stderr (the JSON log) in
    /// `CONFIG.KIND.log`; returns once it listens.
    pub fn start(kind: &str, config: &Path) -> Running {
        let port = free_port();
        Running::listening(kind, config, kind, &format!("inet:127.0.0.1:{port}"), port, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
    }

    /// The same on the unix socket `path` (`port` is 0), with its log in `CONFIG.KIND-unix.log`.
    pub fn start_unix(kind: &str, config: &Path, path: &Path) -> Running {
        let listen = format!("unix:{}", path.display());
        Running::listening(kind, config, &format!("{kind}-unix"), &listen, 0, || {
            std::os::unix::net::UnixStream::connect(path).is_ok()
        })
    }

    /// Its stderr in `CONFIG.LABEL.log`; returns once `connects`.
    fn listening(
        kind: &str,
        config: &Path,
        label: &str,
        listen: &str,
        port: u16,
        connects: impl Fn() -> bool,
    ) -> Running {
        let log = config.with_extension(format!("{label}.log"));
        let child = Command::new(ndr_bin())
            .args([kind, "--threads", "2", "--listen", listen, "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("ndr starts");
        let mut r = Running { child, port, log };
        let t = Instant::now();
        while !connects() {
            assert!(r.child.try_wait().expect("wait").is_none(), "{label} ended: {}", r.log());
            assert!(t.elapsed() < Duration::from_secs(30), "{label} did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn hup(&self) {
        let ok = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill -HUP");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_none())
    }

    /// CPU time the process has used so far (user and system), in milliseconds.
    pub fn cpu_ms(&self) -> u64 {
        process_cpu_ms(self.child.id(), false)
    }

    /// Resident memory in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `f` holds, at most `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// One Postfix policy request for a null-sender RCPT; the `action=` value.
pub fn policy_rcpt(port: u16, recipient: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let req = format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=203.0.113.7\n\
         sender=\nrecipient={recipient}\nqueue_id=\n\n"
    );
    s.write_all(req.as_bytes())?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.ends_with(b"\n\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    Ok(text.trim().trim_start_matches("action=").to_string())
}

/// A milter connection spoken by hand: `len(4) code data` packets.
pub struct Milter(pub TcpStream);

impl Milter {
    /// Connect and negotiate (milter protocol 6, every action allowed, every step answered).
    pub fn open(port: u16) -> std::io::Result<Milter> {
        Milter::open_offering(port, 0)
    }

    /// Connect and negotiate, offering the protocol options `protocol` (SMFIP_* bits).
    pub fn open_offering(port: u16, protocol: u32) -> std::io::Result<Milter> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        let mut m = Milter(s);
        let mut neg = 6u32.to_be_bytes().to_vec();
        neg.extend_from_slice(&0x1ffu32.to_be_bytes());
        neg.extend_from_slice(&protocol.to_be_bytes());
        m.send(b'O', &neg)?;
        let (code, _) = m.reply()?;
        if code != b'O' {
            return Err(std::io::Error::other(format!("option negotiation answered {:?}", code as char)));
        }
        Ok(m)
    }

    pub fn send(&mut self, code: u8, data: &[u8]) -> std::io::Result<()> {
        let mut p = ((data.len() + 1) as u32).to_be_bytes().to_vec();
        p.push(code);
        p.extend_from_slice(data);
        self.0.write_all(&p)
    }

    pub fn reply(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.0.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut body)?;
        if body.is_empty() {
            return Err(std::io::Error::other("empty packet"));
        }
        let code = body.remove(0);
        Ok((code, body))
    }

    /// Send a command and read its answer (one packet).
    pub fn step(&mut self, code: u8, data: &[u8]) -> std::io::Result<u8> {
        self.send(code, data)?;
        Ok(self.reply()?.0)
    }

    /// Connect, HELO, MAIL, RCPT, DATA and the headers: the answer codes.
    pub fn envelope(&mut self, from: &str, rcpt: &str) -> std::io::Result<Vec<u8>> {
        Ok(vec![
            self.step(b'C', b"client.remote.example\x004\x00\x19203.0.113.7\x00")?,
            self.step(b'H', b"client.remote.example\x00")?,
            self.step(b'M', format!("{from}\0").as_bytes())?,
            self.step(b'R', format!("{rcpt}\0").as_bytes())?,
            self.step(b'T', b"")?,
            self.step(b'L', b"From\0carol@remote.example\0")?,
            self.step(b'L', b"Subject\0hello\0")?,
            self.step(b'N', b"")?,
        ])
    }

    /// End of body: the modification packets, then the final answer's code.
    pub fn end_of_body(&mut self) -> std::io::Result<(Vec<u8>, u8)> {
        self.send(b'E', b"")?;
        let mut mods = Vec::new();
        loop {
            let (code, _) = self.reply()?;
            match code {
                b'c' | b'a' | b'r' | b't' | b'y' | b'd' => return Ok((mods, code)),
                other => mods.push(other),
            }
        }
    }
}

/// A whole ordinary message through the milter: every answer code, the modifications and the
/// final answer.
pub fn ordinary_message(port: u16) -> std::io::Result<(Vec<u8>, Vec<u8>, u8)> {
    let mut m = Milter::open(port)?;
    let codes = m.envelope("<carol@remote.example>", "<alice@example.com>")?;
    let body = m.step(b'B', b"Hello Alice.\r\n")?;
    let (mods, last) = m.end_of_body()?;
    let _ = m.send(b'Q', b"");
    Ok(([codes, vec![body]].concat(), mods, last))
}

/// A Redis-protocol server of a test (redis-server, valkey-server) on a free loopback port with
/// its own folder and no persistence: killed when dropped.
pub struct StateServer {
    pub child: Option<Child>,
    pub program: &'static str,
    pub port: u16,
    pub dir: PathBuf,
}

impl StateServer {
    /// `program` (redis-server, valkey-server) on a free loopback port; `None` when not installed.
    pub fn start(program: &'static str, test: &str) -> Option<StateServer> {
        let installed = Command::new("sh").args(["-c", &format!("command -v {program}")]).output();
        if !installed.is_ok_and(|o| o.status.success()) {
            return None;
        }
        let dir = test_dir(program, test);
        let mut s = StateServer { child: None, program, port: free_port(), dir };
        s.run();
        Some(s)
    }

    pub fn run(&mut self) {
        let child = Command::new(self.program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        let t = Instant::now();
        while !self.ping() {
            assert!(t.elapsed() < Duration::from_secs(20), "{} did not answer", self.program);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// Stop it (SIGKILL: as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for StateServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
