//! The ABI request documents every host command sends (`docs/ABI.md`): the site configuration,
//! the time and the envelope. The CLI and the mail services build them here, alike.

use std::path::Path;

use serde_json::{Value, json};

/// The configuration section that belongs to the host's mail services, not to the module. It is
/// taken out before the configuration goes to the module (which refuses unknown sections).
pub const SERVICE_SECTION: &str = "service";

/// A site configuration file, split into the module's part and the services' part.
#[derive(Debug, Clone, Default)]
pub struct SiteFile {
    /// What the module reads: `[limits]`, `[site]`, `[policy]`, `[batv]`, `[srs]`.
    pub module: Value,
    /// The `[service]` section (`Value::Null` when absent).
    pub service: Value,
}

/// Read a configuration file: TOML, or JSON for `*.json`. Errors never quote the file's content
/// (it holds keys).
pub fn read_config(path: &Path) -> Result<SiteFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let mut value: Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?
    } else {
        // toml's Display quotes the offending line, which may hold a key: give its position only.
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            format!("config {}: line {}: {}", path.display(), line.unwrap_or(0), e.message())
        })?
    };
    let service = match value.as_object_mut() {
        Some(map) => map.remove(SERVICE_SECTION).unwrap_or(Value::Null),
        None => return Err(format!("config {}: not a table", path.display())),
    };
    Ok(SiteFile { module: value, service })
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
        assert_eq!(f.service["on_failure"], "tempfail");
        std::fs::write(&p, "[batv]\nkeys = [{digit = 1, secret = \"s3cr3t-value\"\n").unwrap();
        let e = read_config(&p).unwrap_err();
        assert!(e.contains("line 2") && !e.contains("s3cr3t"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn null_sender_forms() {
        assert_eq!(envelope(Some("<>"), &[], None, None)["mail_from"], "");
        assert_eq!(envelope(Some(" <a@b.example> "), &[], None, None)["mail_from"], "a@b.example");
        assert!(envelope(None, &[], None, None)["mail_from"].is_null());
    }
}
