//! One validation of a whole site configuration file, run wherever a file is loaded (the CLI,
//! the services at start and on reload, `ndr check-config`). Every problem is reported, each as
//! `FILE:LINE: key: what is wrong` in the file's own terms; secrets never appear in a message.
//!
//! Types are checked by the filter's own configuration types (`ndr_filter::Config`) and the
//! services' (`ServiceConfig`), one field at a time so that one bad field does not hide the
//! next; new fields are checked as soon as the types have them. Values the types cannot judge
//! (addresses, networks, host patterns, key material) are checked with the filter's own readers.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::settings::ServiceConfig;

/// The section that belongs to the host's mail services, not to the module.
pub const SERVICE_SECTION: &str = "service";
/// The section of the services' shared state (`crate::state`), not the module's either.
pub const STATE_SECTION: &str = "state";

/// Field names whose values are key material: their errors never quote a value.
/// (`url`: a Redis URL may carry a password.)
const SECRET_FIELDS: [&str; 6] = ["secret", "secrets", "secret_hex", "secret_base64", "keys", "url"];

/// A valid configuration file, split into the module's part and the services' part.
#[derive(Debug, Clone, Default)]
pub struct SiteFile {
    /// What the module reads: `[limits]`, `[site]`, `[policy]`, `[batv]`, `[srs]`.
    pub module: Value,
    pub service: ServiceConfig,
    /// The `[state]` section, when the file has one.
    pub state: Option<crate::state::StateConfig>,
}

/// One problem: where, which key, what is wrong (never a secret's value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// The key in TOML terms: `batv.keys[0].secret`; empty for the whole file.
    pub key: String,
    pub message: String,
}

/// Why a file is not a usable configuration: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.line, p.key.is_empty()) {
                (0, _) => write!(f, "{}: {}", self.file, p.message)?,
                (l, true) => write!(f, "{}:{l}: {}", self.file, p.message)?,
                (l, false) => write!(f, "{}:{l}: {}: {}", self.file, p.key, p.message)?,
            }
        }
        Ok(())
    }
}

impl Invalid {
    /// `{"file":…, "valid":false, "errors":[{"line":…, "key":…, "message":…}]}`.
    pub fn to_json(&self) -> Value {
        json!({"file": self.file, "valid": false, "errors": self.problems})
    }

    /// One problem of the whole file (`line` 0: no line).
    pub fn whole(file: &str, line: usize, message: String) -> Invalid {
        Invalid { file: file.to_string(), problems: vec![Problem { line, key: String::new(), message }] }
    }
}

/// Read and validate a configuration file: TOML, or JSON for `*.json`.
pub fn check_file(path: &Path) -> Result<SiteFile, Invalid> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Invalid::whole(&file, 0, format!("cannot read: {e}")))?;
    check_text(&file, &text, path.extension().is_some_and(|e| e == "json"))
}

/// Validate a configuration's text; `file` names it in messages.
pub fn check_text(file: &str, text: &str, is_json: bool) -> Result<SiteFile, Invalid> {
    let (root, locate): (Value, Locator) = if is_json {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => (v, Locator::Json(text)),
            // serde_json's messages name a position, never the text.
            Err(e) => return Err(Invalid::whole(file, e.line(), format!("not JSON: {e}"))),
        }
    } else {
        let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            // Display would quote the offending line, which may hold a key: position and message only.
            let problems = errors
                .iter()
                .map(|e| Problem {
                    line: e.span().map_or(0, |s| line_of(text, s.start)),
                    key: String::new(),
                    message: format!("not TOML: {}", e.message().trim().replace('\n', "; ")),
                })
                .collect();
            return Err(Invalid { file: file.to_string(), problems });
        }
        match toml::from_str::<Value>(text) {
            Ok(v) => (v, Locator::Toml(text, Box::new(doc))),
            Err(e) => {
                return Err(Invalid::whole(file, e.span().map_or(0, |s| line_of(text, s.start)), e.message().into()));
            }
        }
    };
    let mut found: Vec<(Vec<Seg>, String)> = Vec::new();
    let Value::Object(mut sections) = root else {
        return Err(Invalid::whole(file, 1, "the configuration must be a table of sections".into()));
    };
    let service = sections.remove(SERVICE_SECTION);
    let state = sections.remove(STATE_SECTION);
    let module = Value::Object(sections);
    check_types::<ndr_filter::Config>(&module, &mut Vec::new(), &|v| v, &mut found);
    check_module_values(&module, &mut found);
    let service_config = host_section::<ServiceConfig>(SERVICE_SECTION, service.as_ref(), &mut found, |c| c.problems())
        .unwrap_or_default();
    let state_config =
        host_section::<crate::state::StateConfig>(STATE_SECTION, state.as_ref(), &mut found, |c| c.problems());
    if found.is_empty() {
        return Ok(SiteFile { module, service: service_config, state: state_config });
    }
    let secrets = secret_values(&module);
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|(path, message)| Problem {
            line: locate.line(&path),
            key: path_text(&path),
            message: redact(&message, &secrets),
        })
        .collect();
    problems.sort_by_key(|p| p.line);
    Err(Invalid { file: file.to_string(), problems })
}

/// A section of the host's (`[service]`, `[state]`): its types field by field, then what the
/// types cannot say (`problems`: `field` or `field[i]` or `a.b.c`, and a message). The section
/// when it is valid.
fn host_section<T: DeserializeOwned>(
    name: &str,
    section: Option<&Value>,
    found: &mut Vec<(Vec<Seg>, String)>,
    problems: impl Fn(&T) -> Vec<(String, String)>,
) -> Option<T> {
    let s = section?;
    let mut path = vec![Seg::Key(name.into())];
    let before = found.len();
    if s.is_object() {
        check_types::<T>(s, &mut path, &|v| v, found);
    } else {
        found.push((path.clone(), "must be a table".into()));
    }
    if found.len() != before {
        return None;
    }
    let c = serde_json::from_value::<T>(s.clone()).ok()?;
    let mut bad = false;
    for (field, message) in problems(&c) {
        // `outbound_networks[1]`, `limits.null_sender_rcpt.rate` → the key path.
        let mut path = vec![Seg::Key(name.into())];
        for part in field.split('.') {
            match part.split_once('[') {
                Some((f, i)) => {
                    path.extend([Seg::Key(f.into()), Seg::Index(i.trim_end_matches(']').parse().unwrap_or(0))])
                }
                None => path.push(Seg::Key(part.into())),
            }
        }
        found.push((path, message));
        bad = true;
    }
    (!bad).then_some(c)
}

/// Remove every secret value of the configuration from a message (the module's error, say):
/// the last guard, after messages about key material were already written without values.
pub fn redact_secrets(message: &str, module: &Value) -> String {
    redact(message, &secret_values(module))
}

/// One step of a key path.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn is_secret_path(path: &[Seg]) -> bool {
    path.iter().any(|s| matches!(s, Seg::Key(k) if SECRET_FIELDS.contains(&k.as_str())))
}

/// Check `value` (a table at `path`) against `T`, field by field: `wrap` puts a value back at
/// its place in a whole document of type `T`. A field whose empty form (`[]`, `{}`) already
/// fails is wrong in itself (unknown, or of the wrong kind); otherwise its elements are checked
/// one by one, so the message points at the element at fault.
fn check_types<T: DeserializeOwned>(
    value: &Value,
    path: &mut Vec<Seg>,
    wrap: &dyn Fn(Value) -> Value,
    found: &mut Vec<(Vec<Seg>, String)>,
) {
    let Value::Object(fields) = value else { return };
    for (key, v) in fields {
        let wrap_key = |x: Value| wrap(json!({ key: x }));
        path.push(Seg::Key(key.clone()));
        check_value::<T>(v, path, &wrap_key, found);
        path.pop();
    }
}

fn check_value<T: DeserializeOwned>(
    v: &Value,
    path: &mut Vec<Seg>,
    wrap: &dyn Fn(Value) -> Value,
    found: &mut Vec<(Vec<Seg>, String)>,
) {
    let Err(whole) = fits::<T>(wrap(v.clone())) else { return };
    let empty = match v {
        Value::Object(_) => Some(json!({})),
        Value::Array(_) => Some(json!([])),
        _ => None,
    };
    let before = found.len();
    if let Some(empty) = empty
        && fits::<T>(wrap(empty)).is_ok()
    {
        match v {
            Value::Object(_) => check_types::<T>(v, path, wrap, found),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let wrap_item = |x: Value| wrap(json!([x]));
                    path.push(Seg::Index(i));
                    check_value::<T>(item, path, &wrap_item, found);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    if found.len() == before {
        found.push((path.clone(), message(&whole, is_secret_path(path))));
    }
}

fn fits<T: DeserializeOwned>(doc: Value) -> Result<(), String> {
    serde_json::from_value::<T>(doc).map(|_| ()).map_err(|e| e.to_string())
}

/// serde's message in TOML terms; for key material, what was expected only (serde quotes
/// the value it got: `invalid type: string "…", expected a sequence`).
fn message(serde: &str, secret: bool) -> String {
    // `unknown field` names a key, not a value.
    let m = if secret && !serde.starts_with("unknown field") {
        match serde.rfind(", expected ") {
            Some(at) => format!("wrong type or value; expected {}", &serde[at + ", expected ".len()..]),
            None => "wrong type or value".to_string(),
        }
    } else {
        serde.to_string()
    };
    m.replace("a sequence", "an array")
        .replace("a map", "a table")
        .replace("invalid type: map", "invalid type: table")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("expected u8", "expected an integer 0-255")
        .replace("expected u32", "expected an integer 0-4294967295")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected usize", "expected a non-negative integer")
        .replace("expected i32", "expected an integer")
        .replace("expected a character", "expected a one-character string")
}

/// The checks of values the module's types accept but cannot judge.
fn check_module_values(module: &Value, found: &mut Vec<(Vec<Seg>, String)>) {
    let mut each = |section: &str, field: &str, check: &dyn Fn(&str) -> Option<String>| {
        if let Some(items) = module[section][field].as_array() {
            for (i, item) in items.iter().enumerate() {
                if let Some(problem) = item.as_str().and_then(check) {
                    found.push((vec![Seg::Key(section.into()), Seg::Key(field.into()), Seg::Index(i)], problem));
                }
            }
        }
    };
    each("site", "domains", &|s| domain_problem(s));
    each("site", "relay_domains", &|s| domain_problem(s));
    each("site", "relays", &relay_problem);
    each("site", "allow_reporting_mtas", &host_pattern_problem);
    each("site", "never_sending", &address_problem);
    each("batv", "exempt", &|s| if s.contains('@') { address_problem(s) } else { domain_problem(s) });
    each("batv", "never_sign", &|s| {
        (s.is_empty() || s.contains(['@', ' ', '\t'])).then(|| format!("{s:?} is not a local part"))
    });
    each("srs", "local_domains", &|s| domain_problem(s));
    // Key material, by the filter's own readers; their messages name key digits, never secrets.
    if module.get("batv").is_some()
        && let Ok(c) = serde_json::from_value::<ndr_filter::Config>(json!({"batv": module["batv"]}))
        && let Some(batv) = &c.batv
        && let Err(e) = ndr_filter::batv::KeyRing::new(batv)
    {
        let at = batv
            .keys
            .iter()
            .position(|k| e.contains(&format!("key {}", k.digit)) || e.contains(&format!("digit {}", k.digit)));
        let mut path = vec![Seg::Key("batv".into())];
        match at {
            Some(i) => {
                path.extend([Seg::Key("keys".into()), Seg::Index(i)]);
                // Point at the field the message is about, or at the secret the key has.
                let fields = ["secret_hex", "secret_base64", "secret", "digit"];
                let named = fields.into_iter().find(|f| e.contains(&format!("{f} ")));
                let given = fields.into_iter().find(|f| module["batv"]["keys"][i].get(f).is_some());
                if let Some(f) = named.or(given.filter(|_| e.contains("bytes") || e.contains("empty"))) {
                    path.push(Seg::Key(f.into()));
                }
            }
            None => path.extend(field_named(&module["batv"], &e)),
        }
        found.push((path, e.trim_start_matches("batv: ").to_string()));
    }
    if module.get("srs").is_some()
        && let Ok(c) = serde_json::from_value::<ndr_filter::Config>(json!({"srs": module["srs"]}))
        && let Some(srs) = &c.srs
        && let Err(e) = ndr_filter::srs::Srs::new(srs)
    {
        let mut path = vec![Seg::Key("srs".into())];
        match field_named(&module["srs"], &e) {
            Some(f) => path.push(f),
            None if e.contains("secret") => path.push(Seg::Key("secrets".into())),
            None => {}
        }
        found.push((path, e.trim_start_matches("srs: ").to_string()));
    }
}

/// The field of a section that a message names (`lifetime_days 0 is outside 1..=365`).
fn field_named(section: &Value, message: &str) -> Option<Seg> {
    let fields = section.as_object()?;
    fields.keys().filter(|k| message.contains(k.as_str())).max_by_key(|k| k.len()).map(|k| Seg::Key(k.clone()))
}

/// A host name: letters, digits, `-`, `_`, dot-separated labels.
fn domain_problem(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    (!ok).then(|| format!("{s:?} is not a domain name"))
}

/// A host name pattern: a domain name in which `*` stands for any characters.
fn host_pattern_problem(s: &str) -> Option<String> {
    let probe = s.replace('*', "x");
    domain_problem(&probe).map(|_| format!("{s:?} is not a host name pattern (letters, digits, '-', '.', '*')"))
}

/// A relay: an IP address, a CIDR range, or a host name pattern. Anything that looks numeric
/// or has a `/` or `:` must be an address or range: `300.1.1.1` is not a host name.
fn relay_problem(s: &str) -> Option<String> {
    let looks_numeric = s.contains(['/', ':']) || s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if looks_numeric {
        return ndr_filter::network::Network::parse(s)
            .is_none()
            .then(|| format!("{s:?} is not an IP address or CIDR range"));
    }
    host_pattern_problem(s)
}

/// `local@domain`.
fn address_problem(s: &str) -> Option<String> {
    match s.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && !local.contains([' ', '\t']) && domain_problem(domain).is_none() =>
        {
            None
        }
        _ => Some(format!("{s:?} is not an address (local@domain)")),
    }
}

/// Every scalar under a secret field, as text: what must never appear in a message.
fn secret_values(v: &Value) -> Vec<String> {
    fn walk(v: &Value, secret: bool, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, secret || SECRET_FIELDS.contains(&k.as_str()), out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, secret, out)),
            Value::String(s) if secret => out.push(s.clone()),
            Value::Number(n) if secret => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, false, &mut out);
    // Short values (a key digit) would blank out ordinary words; a secret that short is refused.
    out.retain(|s| s.len() >= 4);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

fn redact(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |m, s| m.replace(s.as_str(), "<redacted>"))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Finds the line of a key path in the file's text.
enum Locator<'t> {
    Toml(&'t str, Box<toml::Spanned<toml::de::DeTable<'t>>>),
    Json(&'t str),
}

impl Locator<'_> {
    fn line(&self, path: &[Seg]) -> usize {
        match self {
            Locator::Toml(text, doc) => line_of(text, toml_offset(doc.get_ref(), path, doc.span().start)),
            Locator::Json(text) => {
                // The first `"key"` after the previous step's place: exact for ordinary files.
                let mut at = 0;
                for seg in path {
                    if let Seg::Key(k) = seg
                        && let Some(i) = text[at..].find(&format!("\"{k}\""))
                    {
                        at += i;
                    }
                }
                line_of(text, at)
            }
        }
    }
}

/// The offset of the deepest step of `path` found in the parsed document.
fn toml_offset(table: &toml::de::DeTable<'_>, path: &[Seg], fallback: usize) -> usize {
    use toml::de::DeValue;
    let Some((Seg::Key(name), mut rest)) = path.split_first() else { return fallback };
    let Some((key, mut value)) = table.iter().find(|(k, _)| *k.get_ref() == *name) else { return fallback };
    let mut here = key.span().start;
    while let Some((Seg::Index(i), after)) = rest.split_first() {
        let DeValue::Array(items) = value.get_ref() else { return here };
        let Some(item) = items.get(*i) else { return here };
        (here, value, rest) = (item.span().start, item, after);
    }
    match value.get_ref() {
        DeValue::Table(t) if !rest.is_empty() => toml_offset(t, rest, here),
        _ => here,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match check_text("site.toml", text, false) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    }

    #[test]
    fn a_valid_file_splits_off_the_service_section() {
        let f =
            check_text("s.toml", "[site]\ndomains = [\"example.com\"]\n[service]\non_failure = \"tempfail\"\n", false)
                .unwrap();
        assert_eq!(f.module, json!({"site": {"domains": ["example.com"]}}));
        assert_eq!(f.service.on_failure, crate::settings::OnFailure::Tempfail);
    }

    #[test]
    fn every_problem_with_line_and_key() {
        let p = problems(
            "[site]\ndomain = [\"example.com\"]\nrelays = [\"192.0.2.0/33\", \"out*.example.com\", \"300.1.1.1\", \"notanip/24\"]\n\
             [policy]\nbackscatter = \"acept\"\n[service]\non_failure = \"acept\"\nmax_connections = -1\n",
        );
        assert_eq!(
            p.iter().map(|l| l.split(": ").take(2).collect::<Vec<_>>().join(": ")).collect::<Vec<_>>(),
            [
                "site.toml:2: site.domain",
                "site.toml:3: site.relays[0]",
                "site.toml:3: site.relays[2]",
                "site.toml:3: site.relays[3]",
                "site.toml:5: policy.backscatter",
                "site.toml:7: service.on_failure",
                "site.toml:8: service.max_connections",
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn secrets_of_any_type_are_never_quoted() {
        for text in [
            "[srs]\ndomain = \"fwd.example\"\nsecrets = \"S3CR3T-srs-value\"\n",
            "[batv]\nkeys = [{digit = 1, secret = 12345678901234}]\n",
            "[batv]\nkeys = [{digit = 1, secret_hex = \"S3CR3T-not-hex\"}]\n",
            "[batv]\nkeys = \"S3CR3T-keys\"\n",
            "[batv]\nkeys = [{digit = 1, secret = [\"S3CR3T-in-array\"]}]\n",
        ] {
            let p = problems(text).join("\n");
            assert!(!p.is_empty(), "{text}");
            assert!(!p.contains("S3CR3T") && !p.contains("12345678901234"), "{p}");
            assert!(p.contains("site.toml:2: ") || p.contains("site.toml:3: "), "{p}");
        }
    }

    #[test]
    fn key_material_is_checked_by_the_filter() {
        let long = "a".repeat(65);
        let p = problems(&format!(
            "[batv]\nkeys = [\n  {{digit = 1, secret = \"k1\"}},\n  {{digit = 2, secret = \"{long}\"}},\n]\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("site.toml:4: batv.keys[1].secret: "), "{p:?}");
        assert!(!p[0].contains(&long));
        let p = problems("[srs]\nsecrets = [\"x\"]\n");
        assert!(p[0].starts_with("site.toml:1: srs: domain must be"), "{p:?}");
    }

    #[test]
    fn syntax_errors_name_the_line_not_the_text() {
        let p = problems("[batv]\nkeys = [{digit = 1, secret = \"s3cr3t-value\"\n");
        assert!(p[0].starts_with("site.toml:2: not TOML"), "{p:?}");
        assert!(!p.join("\n").contains("s3cr3t"));
    }

    #[test]
    fn json_files_too() {
        let e = check_text("s.json", "{\"site\": {\n \"relays\": [\"10.0.0.0/40\"]}}", true).unwrap_err();
        assert_eq!(e.to_string().split(": ").next(), Some("s.json:2"), "{e}");
    }

    #[test]
    fn unknown_sections_and_fields() {
        let p = problems("[sitee]\ndomains = []\n[batv]\nkeys = [{digit = 1, secrte = \"abcdefgh\"}]\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("site.toml:1: sitee: unknown field"), "{p:?}");
        assert!(p[1].starts_with("site.toml:4: batv.keys[0].secrte: unknown field"), "{p:?}");
        assert!(!p[1].contains("abcdefgh"));
    }
}
