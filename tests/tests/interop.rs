//! BATV against Exim 4.96 and SRS against pysrs (Debian's python3-srs), both directions, on
//! pseudo-random addresses and on days around the 1000-day (BATV) and 1024-day (SRS) wraps.
//! `scripts/interop-deps.sh` provides the oracles. Every disagreement must be one of the
//! documented, deliberate differences, and the test counts those separately.

use std::io::Write;
use std::process::{Command, Stdio};

use ndr_filter::batv::{BatvConfig, KeyConfig, KeyRing, Mode, Outcome};
use ndr_filter::srs::{Alphabet, Srs, SrsConfig};
use ndr_tests::root;
use serde_json::{Value, json};

const DAY: u64 = 86_400;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Odd but valid addresses: mixed case, specials, quoted local parts, long ones. No `$ { } \`,
/// which Exim's expansion language would interpret.
fn address(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+=!#%&'*/?^`|~";
    let local = match rng.below(10) {
        0 => format!("\"{} {}\"", word(rng, 6), word(rng, 5)),
        1 => (0..40 + rng.below(9)).map(|_| CHARS[rng.below(CHARS.len())] as char).collect(),
        2..=4 => word(rng, 12).to_lowercase(),
        _ => (0..1 + rng.below(24)).map(|_| CHARS[rng.below(CHARS.len())] as char).collect(),
    };
    let local = local.trim_matches('.').replace("..", ".");
    let local = if local.is_empty() { "x".to_string() } else { local };
    let domain = format!("{}.{}", word(rng, 10), ["com", "ORG", "example", "co.jp"][rng.below(4)]);
    format!("{local}@{domain}")
}

fn word(rng: &mut Rng, max: usize) -> String {
    (0..1 + rng.below(max)).map(|_| (b"abcdefghijKLMNOPqrstuvwxyz"[rng.below(26)]) as char).collect()
}

fn exim_binary() -> (String, String) {
    let exim = root().join("target/interop/exim/usr/sbin/exim4");
    let conf = root().join("target/interop/exim.conf");
    assert!(exim.is_file() && conf.is_file(), "Exim is not unpacked: run scripts/interop-deps.sh");
    (exim.display().to_string(), conf.display().to_string())
}

/// Expand `lines` with Exim at the given day (12:00 UTC), one result per line.
fn exim_at(day: u64, lines: &[String]) -> Vec<String> {
    let (exim, conf) = exim_binary();
    let when = day * DAY + DAY / 2;
    let child = Command::new("faketime")
        .arg(format!("@{when}"))
        .args([exim.as_str(), "-C", conf.as_str(), "-be"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faketime and Exim run (scripts/interop-deps.sh)");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = feed_and_wait(child, input);
    let text = String::from_utf8_lossy(&out.stdout);
    // Every answer follows a "> " prompt; one more prompt stands alone at the end of input.
    let mut results: Vec<String> = text.split("> ").skip(1).map(|r| r.trim_end_matches('\n').to_string()).collect();
    assert_eq!(results.pop().as_deref(), Some(""), "Exim's closing prompt: {text}");
    assert_eq!(results.len(), lines.len(), "Exim answered {} of {} lines: {text}", results.len(), lines.len());
    results
}

/// Write the input from another thread while the output is read: a child that answers line by
/// line would otherwise fill its output pipe and stop reading.
fn feed_and_wait(mut child: std::process::Child, input: String) -> std::process::Output {
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// Exim's `prvscheck` expiry rule, bugs included (domain notes §3, quirk 2).
fn exim_date_ok(ddd: u64, day: u64) -> bool {
    let mut today = day % 1000;
    if ddd < 7 && today >= 993 {
        today = 0;
    }
    ddd >= today
}

fn ring(secret: &str, digit: u8, mode: Mode) -> KeyRing {
    let key = KeyConfig { digit, secret: Some(secret.into()), verify_until: Some(u64::MAX), ..Default::default() };
    KeyRing::new(&BatvConfig { keys: vec![key], mode, ..Default::default() }).unwrap()
}

#[test]
fn batv_agrees_with_exim_both_ways() {
    let mut rng = Rng(0x5eed_ba7f);
    // Days around the 1000-day wrap (day mod 1000 = 990 … 9) and two ordinary ones.
    let days: Vec<u64> =
        [19_990, 19_993, 19_996, 19_998, 19_999, 20_000, 20_001, 20_003, 20_006, 20_009, 18_262, 20_500].to_vec();
    let (mut compared, mut documented) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for &day in &days {
        let secret: String = (0..16 + rng.below(48))
            .map(|_| (b'!' + rng.below(90) as u8) as char)
            .filter(|c| !"${}\\".contains(*c))
            .collect();
        let digit = rng.below(10) as u8;
        let exact = ring(&secret, digit, Mode::Exact);
        let canonical = ring(&secret, digit, Mode::Canonical);
        let addresses: Vec<String> =
            (0..100).map(|_| address(&mut rng)).filter(|a| a.split('@').next().unwrap().len() <= 48).collect();
        let now = day * DAY + DAY / 2;
        let ours_exact: Vec<String> = addresses.iter().map(|a| exact.sign(a, None, now).address).collect();
        let ours_canon: Vec<String> = addresses.iter().map(|a| canonical.sign(a, None, now).address).collect();
        let mut lines = Vec::new();
        for (i, a) in addresses.iter().enumerate() {
            lines.push(format!("${{prvs {{{a}}}{{{secret}}}{{{digit}}}}}"));
            lines.push(format!("${{prvscheck {{{}}}{{{secret}}}{{R[$prvscheck_result]}}}}", ours_exact[i]));
            // What Exim's default ACL sees after folding case: the canonical tag verifies.
            lines.push(format!(
                "${{prvscheck {{{}}}{{{secret}}}{{R[$prvscheck_result]}}}}",
                ours_canon[i].to_lowercase()
            ));
        }
        let answers = exim_at(day, &lines);
        for (i, a) in addresses.iter().enumerate() {
            let (exim_tag, exim_checks_exact, exim_checks_canon) =
                (&answers[3 * i], &answers[3 * i + 1], &answers[3 * i + 2]);
            compared += 4;
            // They sign, we verify.
            let v = canonical.verify(exim_tag, now);
            if v.result != Outcome::Valid || v.key != Some(digit) {
                disagreements.push(format!("day {day}: we reject Exim's {exim_tag}: {v:?}"));
            }
            // Same bytes: exact mode always; canonical mode for lower-case addresses.
            if *exim_tag != ours_exact[i] {
                disagreements.push(format!("day {day}: Exim {exim_tag} vs exact {}", ours_exact[i]));
            }
            if *a == a.to_lowercase() && *exim_tag != ours_canon[i] {
                disagreements.push(format!("day {day}: Exim {exim_tag} vs canonical {}", ours_canon[i]));
            } else if *a != a.to_lowercase() {
                documented += 1; // canonical signing of a mixed-case address differs from ${prvs}
            }
            // We sign, they verify.
            if exim_checks_exact != "R[1]" || exim_checks_canon != "R[1]" {
                disagreements
                    .push(format!("day {day}: Exim rejects ours for {a}: {exim_checks_exact} {exim_checks_canon}"));
            }
        }
        // Expiry at the edges: on the last valid day, the first invalid one, and 838 days on.
        let sample: Vec<usize> = (0..addresses.len()).step_by(10).collect();
        for later in [day + 7, day + 8, day + 838] {
            let lines: Vec<String> = sample
                .iter()
                .map(|&i| format!("${{prvscheck {{{}}}{{{secret}}}{{R[$prvscheck_result]}}}}", ours_exact[i]))
                .collect();
            let answers = exim_at(later, &lines);
            for (k, &i) in sample.iter().enumerate() {
                compared += 1;
                let ddd: u64 = ours_exact[i][6..9].parse().unwrap();
                let exim_valid = answers[k] == "R[1]";
                assert_eq!(
                    exim_valid,
                    exim_date_ok(ddd, later),
                    "Exim's rule as documented, day {later} tag {}",
                    ours_exact[i]
                );
                let ours_valid = exact.verify(&ours_exact[i], later * DAY + DAY / 2).result == Outcome::Valid;
                assert_eq!(ours_valid, later <= day + 7, "our modular expiry, day {later}");
                if ours_valid != exim_valid {
                    documented += 1; // Exim's non-modular expiry (quirk 2)
                }
            }
        }
        // Upper-case hex: valid for us, refused by Exim (quirk 1).
        let upper = format!("prvs={}", ours_exact[0][5..15].to_uppercase()) + &ours_exact[0][15..];
        let answer = exim_at(day, &[format!("${{prvscheck {{{upper}}}{{{secret}}}{{R[$prvscheck_result]}}}}")]);
        let hex_has_letters = ours_exact[0][9..15].bytes().any(|b| b.is_ascii_alphabetic());
        assert_eq!(answer[0] == "R[1]", !hex_has_letters, "{upper}");
        assert_eq!(exact.verify(&upper, now).result, Outcome::Valid);
        documented += hex_has_letters as usize;
    }
    println!(
        "BATV vs Exim 4.96: {compared} comparisons, {} disagreements, {documented} documented differences",
        disagreements.len()
    );
    assert!(compared >= 4000, "too few comparisons: {compared}");
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// One request per line to pysrs.
fn pysrs(requests: &[Value]) -> Vec<Value> {
    let script = root().join("tests/interop/pysrs_oracle.py");
    let child = Command::new("/usr/bin/python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("Debian's python3 runs (scripts/interop-deps.sh)");
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let out = feed_and_wait(child, input);
    let answers: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(answers.len(), requests.len(), "pysrs answered {} of {}", answers.len(), requests.len());
    answers
}

#[test]
fn srs_agrees_with_pysrs_both_ways() {
    let mut rng = Rng(0x5125_0001);
    let fwd = "fwd.example.net";
    // Days around the 1024-day wrap of the time stamp (day mod 1024 near 0) and ordinary ones.
    let days = [19_455u64, 19_456, 19_457, 19_470, 18_262, 20_000];
    let mut requests = Vec::new();
    let mut cases = Vec::new();
    for &day in &days {
        let secret: String = (0..8 + rng.below(24)).map(|_| (b'a' + rng.below(26) as u8) as char).collect();
        let ours = Srs::new(&SrsConfig {
            domain: fwd.into(),
            secrets: vec![secret.clone()],
            alphabet: Alphabet::Standard,
            ..Default::default()
        })
        .unwrap();
        let now = day * DAY + 3600;
        for _ in 0..170 {
            let mut sender = address(&mut rng);
            if sender.starts_with('"') {
                sender = sender.replace(['"', ' '], "");
            }
            if rng.below(6) == 0 {
                sender = ours.forward(&sender, now).replace(fwd, "first-hop.example"); // a foreign SRS0
            }
            let mine = ours.forward(&sender, now);
            requests.push(json!({"op": "forward", "secret": secret, "address": sender, "domain": fwd, "now": now}));
            requests.push(
                json!({"op": "reverse", "secret": secret, "address": mine, "domain": fwd, "now": now + 20 * DAY}),
            );
            cases.push((sender, mine, now, secret.clone()));
        }
    }
    let answers = pysrs(&requests);
    let mut disagreements = Vec::new();
    for (k, (sender, mine, now, secret)) in cases.iter().enumerate() {
        let ours =
            Srs::new(&SrsConfig { domain: fwd.into(), secrets: vec![secret.clone()], ..Default::default() }).unwrap();
        let theirs = answers[2 * k]["ok"].as_str().unwrap_or("<error>").to_string();
        // They forward; we reverse what they made. We forward; they reverse what we made.
        if theirs != *mine {
            disagreements.push(format!("forward {sender}: pysrs {theirs}, ours {mine}"));
        }
        // An SRS1 reverses to the first hop's SRS0 address, which was the sender.
        let back = ours.reverse(&theirs, now + 20 * DAY);
        if back.address.as_deref() != Some(sender.as_str()) {
            disagreements.push(format!("we reverse pysrs' {theirs}: {back:?}"));
        }
        if answers[2 * k + 1]["ok"].as_str() != Some(sender.as_str()) {
            disagreements.push(format!("pysrs reverses our {mine}: {}", answers[2 * k + 1]));
        }
        // Both refuse it 22 days on.
        if ours.reverse(mine, now + 22 * DAY).address.is_some() && !mine.starts_with("SRS1") {
            disagreements.push(format!("{mine} still reverses after 22 days"));
        }
    }
    println!("SRS vs pysrs 1.0.4: {} addresses, {} disagreements", cases.len(), disagreements.len());
    assert!(cases.len() >= 1000);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn the_wasm_module_signs_like_the_core() {
    let mut instance = ndr_tests::filter().instance().unwrap();
    let mut rng = Rng(7);
    let config = json!({"batv": {"keys": [{"digit": 5, "secret": "interop"}]}, "srs": {"domain": "fwd.example.net", "secrets": ["s"]}});
    let ring = KeyRing::new(&serde_json::from_value::<BatvConfig>(config["batv"].clone()).unwrap()).unwrap();
    let srs = Srs::new(&serde_json::from_value::<SrsConfig>(config["srs"].clone()).unwrap()).unwrap();
    for i in 0..200u64 {
        let a = address(&mut rng);
        let now = 1_700_000_000 + i * 7919;
        let req = json!({"config": config, "address": a, "now": now}).to_string();
        let signed: Value = serde_json::from_str(&instance.request("ndr_batv_sign", req.as_bytes()).unwrap()).unwrap();
        assert_eq!(signed["address"], ring.sign(&a, None, now).address);
        let fwd: Value = serde_json::from_str(&instance.request("ndr_srs_forward", req.as_bytes()).unwrap()).unwrap();
        assert_eq!(fwd["address"], srs.forward(&a, now));
    }
}
