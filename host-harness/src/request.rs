//! The ABI request documents every host command sends (`docs/ABI.md`): the site configuration,
//! the time and the envelope. The CLI and the mail services build them here, alike.

use std::path::Path;

use serde_json::{Value, json};

pub use crate::config_check::SiteFile;

/// Read and validate a configuration file (`config_check`): every problem, one per line, as
/// `FILE:LINE: key: what is wrong`, never quoting a secret.
pub fn read_config(path: &Path) -> Result<SiteFile, String> {
    crate::config_check::check_file(path).map_err(|e| e.to_string())
}

/// The time in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The envelope as the ABI takes it. `mail_from` may come with angle brackets; `<>` and "" are
/// the null sender.
pub fn envelope(mail_from: Option<&str>, rcpt_to: &[String], client_ip: Option<&str>, helo: Option<&str>) -> Value {
    let mail_from = mail_from.map(bare_address);
    json!({"mail_from": mail_from, "rcpt_to": rcpt_to, "client_ip": client_ip, "helo": helo})
}

/// An address without its angle brackets and surrounding blanks.
pub fn bare_address(a: &str) -> String {
    a.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

/// `ndr_classify`'s request: configuration, time and (optionally) the envelope.
pub fn classify(config: Option<&Value>, now: u64, envelope: Option<Value>) -> Value {
    let mut req = json!({ "now": now });
    if let Some(c) = config {
        req["config"] = c.clone();
    }
    if let Some(env) = envelope {
        req["envelope"] = env;
    }
    req
}

/// The request of the address exports (`ndr_batv_sign`, `ndr_batv_verify`, `ndr_srs_*`).
pub fn address(config: Option<&Value>, now: u64, address: &str, destination: Option<&str>) -> Value {
    let mut req = classify(config, now, None);
    req["address"] = json!(address);
    if let Some(d) = destination {
        req["destination"] = json!(d);
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_section_is_split_off() {
        let dir = std::env::temp_dir().join(format!("ndr-req-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("site.toml");
        std::fs::write(&p, "[site]\ndomains = [\"example.com\"]\n[service]\non_failure = \"tempfail\"\n").unwrap();
        let f = read_config(&p).unwrap();
        assert_eq!(f.module, json!({"site": {"domains": ["example.com"]}}));
        assert_eq!(f.service.on_failure, crate::settings::OnFailure::Tempfail);
        std::fs::write(&p, "[batv]\nkeys = [{digit = 1, secret = \"s3cr3t-value\"\n").unwrap();
        let e = read_config(&p).unwrap_err();
        assert!(e.contains("site.toml:2: ") && !e.contains("s3cr3t"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn null_sender_forms() {
        assert_eq!(envelope(Some("<>"), &[], None, None)["mail_from"], "");
        assert_eq!(envelope(Some(" <a@b.example> "), &[], None, None)["mail_from"], "a@b.example");
        assert!(envelope(None, &[], None, None)["mail_from"].is_null());
    }
}
