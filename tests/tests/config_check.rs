//! A bad configuration never turns the filter off: a bad value of every field type in every
//! section makes `ndr check-config` fail with file, line and key, and makes each service refuse
//! to start (exit 2); a bad reload keeps the running configuration (a forged tag is refused
//! before and after); a wrongly typed secret appears in no output and no log.
//!
//! Runs the built program (`target/release/ndr`, or `$NDR_BIN`).

mod services;

use std::path::{Path, PathBuf};
use std::time::Duration;

use services::{Running, eventually, policy_rcpt, run};

/// A valid site: every section, one key each, so each case below replaces or adds one line.
const SECTIONS: &[(&str, &[&str])] = &[
    ("[limits]", &["max_message_bytes = 1048576"]),
    ("[site]", &["domains = [\"example.com\"]", "relays = [\"out*.example.com\", \"192.0.2.0/24\"]"]),
    ("[policy]", &["mode = \"enforce\""]),
    ("[batv]", &["observe_days = 0"]),
    ("[[batv.keys]]", &["digit = 1", "secret = \"k-valid-secret\""]),
    ("[srs]", &["domain = \"fwd.example.com\"", "secrets = [\"srs-valid-secret\"]"]),
    ("[service]", &["on_failure = \"accept\""]),
    ("[state]", &["on_failure = \"accept\""]),
];

/// The valid site with `line` first in `section` (replacing the line of the same key). The
/// text and the 1-based line number of `line`.
fn site_with(section: &str, line: &str) -> (String, usize) {
    let key = |l: &str| l.split('=').next().unwrap_or("").trim().to_string();
    let mut text = String::new();
    let mut at = 0;
    let mut placed = false;
    for (header, lines) in SECTIONS {
        text.push_str(header);
        text.push('\n');
        if *header == section {
            text.push_str(line);
            text.push('\n');
            at = text.lines().count();
            placed = true;
        }
        for l in *lines {
            let replaced = *header == section && (key(l) == key(line) || is_secret_swap(line, l));
            if !replaced {
                text.push_str(l);
                text.push('\n');
            }
        }
    }
    if !placed {
        text.push_str(section);
        text.push('\n');
        text.push_str(line);
        text.push('\n');
        at = text.lines().count();
    }
    (text, at)
}

/// A key given as `secret_hex` replaces its `secret` (a key takes exactly one).
fn is_secret_swap(new: &str, old: &str) -> bool {
    new.starts_with("secret_") && old.starts_with("secret =")
}

/// (section, bad line, key the error must name).
const BAD: &[(&str, &str, &str)] = &[
    ("[limits]", "max_message_bytes = \"big\"", "limits.max_message_bytes"),
    ("[limits]", "max_nesting = -1", "limits.max_nesting"),
    ("[limits]", "max_parts = 1.5", "limits.max_parts"),
    ("[limits]", "max_size = 5", "limits.max_size"),
    ("[site]", "domains = \"example.com\"", "site.domains"),
    ("[site]", "domains = [\"exa mple.com\"]", "site.domains[0]"),
    ("[site]", "domain = [\"example.com\"]", "site.domain"),
    ("[site]", "relays = [\"192.0.2.0/33\"]", "site.relays[0]"),
    ("[site]", "relays = [\"out.example.com\", \"300.1.1.1\"]", "site.relays[1]"),
    ("[site]", "relays = [\"notanip/24\"]", "site.relays[0]"),
    ("[site]", "relays = [5]", "site.relays[0]"),
    ("[site]", "allow_reporting_mtas = [\"bad host!\"]", "site.allow_reporting_mtas[0]"),
    ("[site]", "never_sending = [\"noreply\"]", "site.never_sending[0]"),
    ("[site]", "relay_domains = [\"customer example\"]", "site.relay_domains[0]"),
    ("[policy]", "mode = \"enforcing\"", "policy.mode"),
    ("[policy]", "backscatter = \"acept\"", "policy.backscatter"),
    ("[policy]", "threshold = \"high\"", "policy.threshold"),
    ("[policy]", "unknown = true", "policy.unknown"),
    ("[batv]", "lifetime_days = 0", "batv.lifetime_days"),
    ("[batv]", "mode = \"strict\"", "batv.mode"),
    ("[batv]", "enabled_at = -5", "batv.enabled_at"),
    ("[batv]", "exempt = [5]", "batv.exempt[0]"),
    ("[batv]", "never_sign = [\"a@b.example\"]", "batv.never_sign[0]"),
    ("[[batv.keys]]", "digit = 12", "batv.keys[0].digit"),
    ("[[batv.keys]]", "secret = 12345678901234", "batv.keys[0].secret"),
    (
        "[[batv.keys]]",
        "secret = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        "batv.keys[0].secret",
    ),
    ("[[batv.keys]]", "secret_hex = \"zz\"", "batv.keys[0].secret_hex"),
    ("[[batv.keys]]", "sign_from = \"yesterday\"", "batv.keys[0].sign_from"),
    ("[srs]", "domain = \"\"", "srs.domain"),
    ("[srs]", "secrets = \"S3CR3T-srs\"", "srs.secrets"),
    ("[srs]", "separator = \"==\"", "srs.separator"),
    ("[srs]", "alphabet = \"b64\"", "srs.alphabet"),
    ("[srs]", "max_age_days = \"x\"", "srs.max_age_days"),
    ("[srs]", "local_domains = [\"bad domain\"]", "srs.local_domains[0]"),
    ("[service]", "on_failure = \"acept\"", "service.on_failure"),
    ("[service]", "timeout_ms = 0", "service.timeout_ms"),
    ("[service]", "outbound_authenticated = \"yes\"", "service.outbound_authenticated"),
    ("[service]", "outbound_networks = [\"10.0.0.0/99\"]", "service.outbound_networks[0]"),
    ("[service]", "rcpt_reject = [\"bad\"]", "service.rcpt_reject[0]"),
    ("[service]", "rcpt_reject = \"bad_signature\"", "service.rcpt_reject"),
    ("[service]", "rcpt_reply = \"250 ok\"", "service.rcpt_reply"),
    ("[service]", "header_prefix = \"X NDR\"", "service.header_prefix"),
    ("[service]", "max_connections = 0", "service.max_connections"),
    ("[service]", "idle_timeout_secs = -1", "service.idle_timeout_secs"),
    ("[service]", "max_kept_bytes = \"lots\"", "service.max_kept_bytes"),
    ("[service]", "max_conns = 5", "service.max_conns"),
    ("[state]", "on_failure = \"acept\"", "state.on_failure"),
    ("[state]", "backend = \"valkey\"", "state.backend"),
    ("[state]", "command_timeout_ms = 0", "state.command_timeout_ms"),
    ("[state]", "url = \"http://user:S3CR3T-url@x\"", "state.url"),
    ("[state]", "secret = \"short\"", "state.secret"),
    ("[state]", "registry_days = 400", "state.registry_days"),
    ("[state]", "key_prefix = \"a b\"", "state.key_prefix"),
    ("[state]", "limit = 5", "state.limit"),
    ("[state.limits.null_sender_rcpt]", "rate = 0", "state.limits.null_sender_rcpt.rate"),
    ("[sitee]", "domains = [\"example.com\"]", "sitee"),
];

fn dir(test: &str) -> PathBuf {
    services::test_dir("config", test)
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_valid_site_is_ok() {
    let d = dir("valid");
    let (site, _) = site_with("[service]", "max_connections = 50");
    let p = d.join("site.toml");
    std::fs::write(&p, site).unwrap();
    let o = run(&["check-config", p.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("{}: OK", p.display()));
    let o = run(&["check-config", "--json", p.to_str().unwrap()], Duration::from_secs(30));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["valid"].as_bool(), v["errors"].as_array().map(Vec::len)), (Some(true), Some(0)));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn every_bad_value_is_named_with_file_line_and_key_and_no_service_starts() {
    let d = dir("bad");
    let mut failures = Vec::new();
    for (i, (section, line, key)) in BAD.iter().enumerate() {
        let (site, at) = site_with(section, line);
        // A whole unknown section is named at its header.
        let at = if key.contains('.') { at } else { at - 1 };
        let p = d.join(format!("case{i}.toml"));
        std::fs::write(&p, &site).unwrap();
        let path = p.to_str().unwrap();
        let expected = format!("{path}:{at}: {key}: ");
        let check = run(&["check-config", path], Duration::from_secs(30));
        if check.status.code() != Some(2) || !String::from_utf8_lossy(&check.stderr).contains(&expected) {
            failures.push(format!(
                "check-config, {line:?}: want {expected:?}, got {:?}: {}",
                check.status,
                text(&check)
            ));
        }
        let json = run(&["check-config", "--json", path], Duration::from_secs(30));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap_or_default();
        let listed = v["errors"].as_array().into_iter().flatten().any(|e| e["key"] == *key && e["line"] == at);
        if json.status.code() != Some(2) || !listed {
            failures.push(format!("check-config --json, {line:?}: {}", text(&json)));
        }
        for kind in ["milter", "policy"] {
            let port = services::free_port();
            let o =
                run(&[kind, "--listen", &format!("inet:127.0.0.1:{port}"), "--config", path], Duration::from_secs(20));
            if o.status.code() != Some(2) || !String::from_utf8_lossy(&o.stderr).contains(&expected) {
                failures.push(format!(
                    "{kind}, {line:?}: want exit 2 and {expected:?}, got {:?}: {}",
                    o.status,
                    text(&o)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), BAD.len(), failures.join("\n"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn every_problem_of_a_file_is_reported_not_only_the_first() {
    let d = dir("all");
    let p = d.join("site.toml");
    std::fs::write(
        &p,
        "[site]\ndomain = [\"example.com\"]\nrelays = [\"192.0.2.0/33\", \"300.1.1.1\", \"notanip/24\"]\n\
         [policy]\nbackscatter = \"acept\"\n[service]\non_failure = \"acept\"\n",
    )
    .unwrap();
    let o = run(&["check-config", p.to_str().unwrap()], Duration::from_secs(30));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 6, "{err}");
    for (n, key) in [
        (2, "site.domain"),
        (3, "site.relays[0]"),
        (3, "site.relays[1]"),
        (3, "site.relays[2]"),
        (5, "policy.backscatter"),
        (7, "service.on_failure"),
    ] {
        assert!(err.contains(&format!("{}:{n}: {key}: ", p.display())), "{key}: {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Other commands read the same file the same way: exit 2 before any work.
#[test]
fn every_command_refuses_an_invalid_file() {
    let d = dir("commands");
    let (site, _) = site_with("[[batv.keys]]", "secret_hex = \"zz\"");
    let p = d.join("site.toml");
    std::fs::write(&p, site).unwrap();
    let msg = d.join("m.eml");
    std::fs::write(&msg, "From: a@b.example\r\nSubject: x\r\n\r\nhello\r\n").unwrap();
    let path = p.to_str().unwrap();
    for args in [
        vec!["scan", "--config", path, msg.to_str().unwrap()],
        vec!["scan", "--json", "--config", path, msg.to_str().unwrap()],
        vec!["explain", "--config", path, msg.to_str().unwrap()],
        vec!["batv", "sign", "--config", path, "alice@example.com"],
        vec!["batv", "verify", "--config", path, "prvs=1123abcdef=alice@example.com"],
        vec!["srs", "forward", "--config", path, "alice@example.com"],
        vec!["srs", "reverse", "--config", path, "SRS0=abcd=TT=example.com=alice@fwd.example.com"],
    ] {
        let o = run(&args, Duration::from_secs(30));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("batv.keys[0].secret_hex"), "{args:?}: {}", text(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("\"kind\""), "no message scanned: {args:?}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

const SECRETS: [&str; 4] = ["S3CR3T-srs-as-string", "12345678901234", "S3CR3T-keys-as-string", "S3CR3T-in-an-array"];

fn wrongly_typed_secrets(d: &Path) -> Vec<PathBuf> {
    let cases = [
        ("[srs]", "secrets = \"S3CR3T-srs-as-string\""),
        ("[[batv.keys]]", "secret = 12345678901234"),
        ("[[batv.keys]]", "secret = [\"S3CR3T-in-an-array\"]"),
    ];
    let mut out: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, (section, line))| {
            let p = d.join(format!("secret{i}.toml"));
            std::fs::write(&p, site_with(section, line).0).unwrap();
            p
        })
        .collect();
    let p = d.join("keys.toml");
    std::fs::write(&p, "[batv]\nkeys = \"S3CR3T-keys-as-string\"\n").unwrap();
    out.push(p);
    out
}

#[test]
fn a_wrongly_typed_secret_appears_in_no_output_and_no_log() {
    let d = dir("secrets");
    let msg = d.join("m.eml");
    std::fs::write(&msg, "From: a@b.example\r\nSubject: x\r\n\r\nhello\r\n").unwrap();
    let mut seen = String::new();
    for p in wrongly_typed_secrets(&d) {
        let path = p.to_str().unwrap();
        let port = services::free_port().to_string();
        for args in [
            vec!["check-config", path],
            vec!["check-config", "--json", path],
            vec!["batv", "sign", "--config", path, "alice@example.com"],
            vec!["srs", "forward", "--config", path, "alice@example.com"],
            vec!["scan", "--json", "--config", path, msg.to_str().unwrap()],
            vec!["milter", "--listen", &format!("inet:127.0.0.1:{port}"), "--config", path],
            vec!["policy", "--listen", &format!("inet:127.0.0.1:{port}"), "--config", path],
        ] {
            let o = run(&args, Duration::from_secs(20));
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
            seen.push_str(&text(&o));
        }
    }
    // A reload with such a file: the log says why, without the value.
    let good = d.join("good.toml");
    std::fs::write(&good, site_with("[service]", "on_failure = \"accept\"").0).unwrap();
    for kind in ["milter", "policy"] {
        let live = d.join(format!("live-{kind}.toml"));
        std::fs::copy(&good, &live).unwrap();
        let s = Running::start(kind, &live);
        for p in wrongly_typed_secrets(&d) {
            std::fs::copy(&p, &live).unwrap();
            let before = s.log().matches("reload_failed").count();
            s.hup();
            assert!(
                eventually(Duration::from_secs(10), || s.log().matches("reload_failed").count() > before),
                "{}",
                s.log()
            );
        }
        seen.push_str(&s.log());
    }
    assert!(seen.contains("reload_failed") && seen.contains("srs.secrets"), "{seen}");
    for secret in SECRETS {
        assert!(!seen.contains(secret), "{secret} appears in:\n{seen}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_bad_reload_keeps_refusing_a_forged_tag() {
    let d = dir("reload");
    let live = d.join("site.toml");
    let (good, _) = site_with("[service]", "rcpt_reply = \"550 5.7.1 forged tag refused\"");
    std::fs::write(&live, &good).unwrap();
    let mut s = Running::start("policy", &live);
    let forged = "prvs=1123abcdef=alice@example.com";
    assert_eq!(policy_rcpt(s.port, forged).unwrap(), "550 5.7.1 forged tag refused");
    assert_eq!(policy_rcpt(s.port, "alice@example.com").unwrap(), "DUNNO", "untagged: never refused at RCPT");
    // Each file the issue found fail-open: a 65-byte key, a misspelt action, `domain` for
    // `domains`, a relay that is no network, a TOML syntax error.
    let long = format!("secret = \"{}\"", "a".repeat(65));
    for (section, line) in [
        ("[[batv.keys]]", long.as_str()),
        ("[service]", "on_failure = \"acept\""),
        ("[site]", "domain = [\"example.com\"]"),
        ("[site]", "relays = [\"192.0.2.0/33\"]"),
        ("[policy]", "mode = ["),
    ] {
        let (bad, _) = site_with(section, line);
        std::fs::write(&live, bad).unwrap();
        let before = s.log().matches("reload_failed").count();
        s.hup();
        assert!(
            eventually(Duration::from_secs(10), || s.log().matches("reload_failed").count() > before),
            "{line}: {}",
            s.log()
        );
        assert!(s.alive());
        assert_eq!(policy_rcpt(s.port, forged).unwrap(), "550 5.7.1 forged tag refused", "after a bad reload ({line})");
    }
    // A valid reload still takes effect.
    std::fs::write(&live, good.replace("forged tag refused", "second reply")).unwrap();
    s.hup();
    assert!(
        eventually(Duration::from_secs(10), || policy_rcpt(s.port, forged).is_ok_and(|a| a.contains("second reply")))
    );
    let log = s.log();
    let failed: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["event"] == "reload_failed")
        .collect();
    assert_eq!(failed.len(), 5, "{log}");
    assert!(failed.iter().all(|v| v["errors"].as_array().is_some_and(|e| !e.is_empty())), "{log}");
    assert!(!log.contains(&"a".repeat(65)) && !log.contains("k-valid-secret"), "{log}");
    let _ = std::fs::remove_dir_all(&d);
}
