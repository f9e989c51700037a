//! The `ndr` command as an operator runs it.

use std::path::PathBuf;
use std::process::Command;

fn ndr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ndr"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/mail")
}

#[test]
fn scan_json_has_the_stable_fields_for_every_sample() {
    let out = ndr().args(["scan", "--json", "--now", "1764000000"]).arg(samples()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    for l in &lines {
        for key in ["file", "index", "kind", "is_bounce", "format", "recipients", "original", "warnings", "error"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "bounce",
            "bounce",
            "delay",
            "feedback_report",
            "read_receipt",
            "auto_reply",
            "auto_reply",
            "normal",
            "bounce",
            "bounce",
        ]
    );
    assert_eq!(lines[0]["recipients"][0]["reason"], "userunknown");
    assert_eq!(lines[0]["original"]["message_id"], "c0ffee.42@example.com");
    assert_eq!(lines[0]["recipients"], lines[8]["recipients"], "CRLF copy answers like the LF original");
}

/// A fresh folder (named after the test) holding `mail.mbox` with two messages.
fn two_message_mbox(test: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("ndr-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mbox = dir.join("mail.mbox");
    std::fs::write(
        &mbox,
        "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nx\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\ny\n",
    )
    .unwrap();
    (dir, mbox)
}

#[test]
fn mbox_messages_are_numbered_and_unreadable_paths_fail_clearly() {
    let (dir, mbox) = two_message_mbox("scan");
    let out = ndr().args(["scan", "--json"]).arg(&mbox).arg(dir.join("missing.eml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["index"], 1);
    assert!(lines[2]["error"].as_str().unwrap().contains("missing.eml"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.eml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn split_writes_each_mbox_message_to_its_own_file() {
    let (dir, mbox) = two_message_mbox("split");
    let out_dir = dir.join("out");
    let out = ndr().args(["split", "--out"]).arg(&out_dir).arg(&mbox).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["index"], 1);
    let second = std::fs::read_to_string(lines[1]["written"].as_str().unwrap()).unwrap();
    assert!(second.starts_with("Subject: 2"), "{second:?}");
    assert!(!second.contains("From c@d"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_module_or_config_exits_2_with_a_message() {
    let out = ndr().args(["--module", "/nonexistent.wasm", "scan"]).arg(samples()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read module"));
    let dir = std::env::temp_dir().join(format!("ndr-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("site.toml"), "[limits]\nmax_nesting = 2\nmax_partz = 3\n").unwrap();
    let out = ndr().args(["scan", "--config"]).arg(dir.join("site.toml")).arg(samples()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_partz"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The key ring example of the README, as an operator would copy it.
fn readme_site_config() -> PathBuf {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let start = readme.find("```toml\n[batv]").expect("README has the [batv] example") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let path = std::env::temp_dir().join(format!("ndr-readme-site-{}.toml", std::process::id()));
    std::fs::write(&path, &readme[start..end]).unwrap();
    path
}

#[test]
fn batv_and_srs_commands_follow_the_readme_rotation_example() {
    let config = readme_site_config();
    let run = |args: &[&str]| {
        let out = ndr().args(args).arg("--config").arg(&config).output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap().trim().to_string())
    };
    let switch = 1795478400u64; // key 2's sign_from in the README
    let (code, old_tag) = run(&["batv", "sign", "Alice@Example.com", "--now", &(switch - 3600).to_string()]);
    assert_eq!(code, Some(0));
    assert!(old_tag.starts_with("prvs=1") && old_tag.ends_with("=Alice@Example.com"), "{old_tag}");
    let (_, new_tag) = run(&["batv", "sign", "alice@example.com", "--now", &switch.to_string()]);
    assert!(new_tag.starts_with("prvs=2"), "{new_tag}");
    // The old key's last tag: valid through its lifetime, refused once the overlap is over.
    let (code, out) = run(&["batv", "verify", &old_tag, "--now", &(switch + 5 * 86400).to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, v["result"].as_str(), v["key"].as_u64()), (Some(0), Some("valid"), Some(1)));
    let (code, out) = run(&["batv", "verify", &old_tag, "--now", &(switch + 8 * 86400).to_string()]);
    assert_eq!(code, Some(1));
    assert!(out.starts_with("unknown_key"), "{out}");
    let (_, unchanged) =
        run(&["batv", "sign", "alice@example.com", "--destination", "x@lists.example.org", "--now", "1795478400"]);
    assert!(unchanged.contains("exempt_destination"), "{unchanged}");
    let (code, fwd) = run(&["srs", "forward", "bob@origin.example", "--now", "1795478400"]);
    assert_eq!(code, Some(0));
    assert!(fwd.starts_with("SRS0=") && fwd.ends_with("@fwd.example.net"), "{fwd}");
    assert_eq!(run(&["srs", "reverse", &fwd, "--now", "1795478400"]), (Some(0), "bob@origin.example".to_string()));
    let (code, out) = run(&["srs", "reverse", &fwd, "--now", &(1795478400u64 + 22 * 86400).to_string()]);
    assert_eq!((code, out.as_str()), (Some(1), "not reversed: expired"));
    std::fs::remove_file(config).unwrap();
}

#[test]
fn a_bad_key_is_a_clear_error_without_the_secret() {
    let path = std::env::temp_dir().join(format!("ndr-bad-key-{}.toml", std::process::id()));
    let secret = "s".repeat(70);
    std::fs::write(&path, format!("[[batv.keys]]\ndigit = 3\nsecret = \"{secret}\"\n")).unwrap();
    let out = ndr().args(["batv", "sign", "a@b.example", "--config"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("key 3") && stderr.contains("at most 64") && !stderr.contains(&secret), "{stderr}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn the_sample_site_judges_its_own_bounce_legitimate_and_the_forged_one_backscatter() {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/site.toml");
    let out =
        ndr().args(["scan", "--json", "--now", "1795478400", "--config"]).arg(&config).arg(samples()).output().unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let verdict = |name: &str| {
        let l = lines.iter().find(|l| l["file"].as_str().unwrap().ends_with(name)).unwrap();
        (l["verdict"].as_str().map(str::to_string), l["action"].as_str().map(str::to_string))
    };
    assert_eq!(verdict("01-dsn-user-unknown.eml"), (Some("legitimate".into()), Some("accept".into())));
    assert_eq!(verdict("10-backscatter.eml"), (Some("backscatter".into()), Some("quarantine".into())));
}

#[test]
fn explain_shows_the_verdict_and_its_signals() {
    let dir = std::env::temp_dir().join(format!("ndr-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("site.toml"), "[site]\ndomains = [\"example.com\"]\nrelays = [\"out.example.com\"]\n")
        .unwrap();
    let sample = samples().join("01-dsn-user-unknown.eml");
    let out = ndr()
        .args(["explain", "--now", "1795478400", "--rcpt", "alice@example.com", "--config"])
        .arg(dir.join("site.toml"))
        .arg(&sample)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The sample's original came through out.example.com with our Message-ID: ours.
    assert!(text.contains("verdict:  legitimate"), "{text}");
    assert!(text.contains("original_via_our_relay"), "{text}");
    assert!(text.lines().any(|l| l.contains(" message_id ") && l.contains("ours: c0ffee.42@example.com")), "{text}");
    // Each recipient says which rule decided its reason.
    assert!(text.contains("  reason from phrase userunknown: user unknown"), "{text}");
    let json = ndr()
        .args(["scan", "--json", "--now", "1795478400", "--config"])
        .arg(dir.join("site.toml"))
        .arg(&sample)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((v["verdict"].as_str(), v["action"].as_str()), (Some("legitimate"), Some("accept")));
    assert!(v["signals"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["recipients"][0]["reason_source"]["rule"], "phrase");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_prints_figures_as_json() {
    let out = ndr().args(["bench", "--json", "--passes", "2"]).arg(samples()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["messages"], 10);
    assert_eq!(v["failures"], 0);
    let us = &v["us_per_message"];
    assert!(us["p50"].as_f64().unwrap() > 0.0 && us["p50"].as_f64() <= us["p99"].as_f64());
    assert!(v["messages_per_second"].as_f64().unwrap() > 0.0);
    // Each message's fastest pass, and the fuel it used (the same on every pass).
    let best = &v["us_per_message_best_pass"];
    assert!(best["p50"].as_f64().unwrap() > 0.0 && best["p50"].as_f64() <= best["p90"].as_f64());
    let fuel = &v["fuel_per_message"];
    assert!(fuel["p50"].as_u64().unwrap() > 0 && fuel["p50"].as_u64() <= fuel["p90"].as_u64());
}
