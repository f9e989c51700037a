//! Golden output of `ndr scan` (the table and its summary) and `ndr explain`: what an operator
//! reads, compared byte for byte with tests/golden/*.txt. `NDR_BLESS=1 cargo test --test golden`
//! writes the files anew from the current output (review the diff before committing).

use std::path::PathBuf;
use std::process::Command;

/// The time every case runs at, so that BATV tags and dates give the same answer each run.
const NOW: &str = "1795478400";

/// Runs `ndr ARGS` from the crate folder (paths in the output stay short and relative) and
/// compares exit code, stdout and stderr with tests/golden/NAME.txt.
fn golden(name: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ndr"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("NDR_MODULE")
        .output()
        .unwrap();
    let got = format!(
        "$ ndr {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.txt"));
    if std::env::var_os("NDR_BLESS").is_some() {
        std::fs::write(&file, &got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e} (NDR_BLESS=1 writes it)", file.display()));
    assert!(got == want, "{name}: output differs from {}\n--- got\n{got}\n--- want\n{want}", file.display());
}

#[test]
fn scan_table_with_summary_marks_and_an_unreadable_file() {
    golden(
        "scan-table",
        &[
            "scan",
            "--now",
            NOW,
            "--config",
            "../samples/site.toml",
            "../samples/mail",
            "tests/golden/mail/mixed.mbox",
            "tests/golden/mail/missing.eml",
        ],
    );
}

#[test]
fn scan_table_without_configuration_says_no_site_is_configured() {
    golden("scan-no-config", &["scan", "--now", NOW, "../samples/mail"]);
}

#[test]
fn explain_a_bounce() {
    golden(
        "explain-bounce",
        &["explain", "--now", NOW, "--config", "../samples/site.toml", "../samples/mail/10-backscatter.eml"],
    );
}

#[test]
fn explain_a_bounce_with_a_given_envelope() {
    golden(
        "explain-envelope",
        &[
            "explain",
            "--now",
            NOW,
            "--config",
            "../samples/site.toml",
            "--mail-from",
            "<>",
            "--rcpt",
            "alice@example.com",
            "--client-ip",
            "192.0.2.1",
            "../samples/mail/01-dsn-user-unknown.eml",
        ],
    );
}

#[test]
fn explain_an_auto_reply() {
    golden(
        "explain-auto-reply",
        &["explain", "--now", NOW, "--config", "../samples/site.toml", "../samples/mail/06-out-of-office.eml"],
    );
}

#[test]
fn explain_an_unreadable_file() {
    golden("explain-error", &["explain", "--now", NOW, "tests/golden/mail/missing.eml"]);
}

#[test]
fn explain_without_configuration() {
    golden("explain-no-config", &["explain", "--now", NOW, "../samples/mail/10-backscatter.eml"]);
}

#[test]
fn explain_prints_no_null() {
    for sample in ["01-dsn-user-unknown.eml", "04-feedback-report.eml", "06-out-of-office.eml", "08-ordinary.eml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_ndr"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["explain", "--now", NOW])
            .arg(format!("../samples/mail/{sample}"))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        // `null_sender` is a signal's name; a bare `null` would be a JSON null shown as is.
        let bare_null = text.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "null");
        assert!(out.status.success() && !bare_null, "{sample}:\n{text}");
    }
}
