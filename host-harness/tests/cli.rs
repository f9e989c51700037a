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
    assert_eq!(lines.len(), 9);
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
            "bounce"
        ]
    );
    assert_eq!(lines[0]["recipients"][0]["reason"], "userunknown");
    assert_eq!(lines[0]["original"]["message_id"], "c0ffee.42@example.com");
    assert_eq!(lines[0]["recipients"], lines[8]["recipients"], "CRLF copy answers like the LF original");
}

#[test]
fn mbox_messages_are_numbered_and_unreadable_paths_fail_clearly() {
    let dir = std::env::temp_dir().join(format!("ndr-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mbox = dir.join("mail.mbox");
    std::fs::write(
        &mbox,
        "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nx\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\ny\n",
    )
    .unwrap();
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
