//! What `ndr scan` and `ndr explain` print for people (the table, its summary and the
//! explanation); `--json` prints the module's documents unchanged.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The table's columns: title and display width (ACTION, the last, is not padded).
const COLUMNS: [(&str, usize); 7] =
    [("FILE", 40), ("KIND", 18), ("FORMAT", 12), ("RECIPIENT", 34), ("STATUS", 8), ("REASON", 14), ("VERDICT", 12)];

/// The line printed when the request names no site: without one, nothing marks our own mail.
pub const NO_SITE_HINT: &str =
    "no site configured: verdicts cannot tell our mail from forged mail; see samples/site.toml (--config)";

/// Whether the request document configures a site: `site`, `batv` or `srs`.
pub fn site_configured(req: &[u8]) -> bool {
    serde_json::from_slice::<Value>(req)
        .map(|r| ["site", "batv", "srs"].iter().any(|k| !r["config"][*k].is_null()))
        .unwrap_or(false)
}

/// `text` cut to `width` display columns (an ellipsis marks the cut) and padded to it.
/// `keep_end` keeps the end instead (file paths: the name matters more than the folder).
fn fit(text: &str, width: usize, keep_end: bool) -> String {
    let mut shown = text.to_string();
    if text.width() > width {
        let mut kept = Vec::new();
        let mut used = 1; // the ellipsis
        let chars: Box<dyn Iterator<Item = char>> =
            if keep_end { Box::new(text.chars().rev()) } else { Box::new(text.chars()) };
        for c in chars {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            kept.push(c);
        }
        shown = if keep_end {
            format!("…{}", kept.iter().rev().collect::<String>())
        } else {
            format!("{}…", kept.iter().collect::<String>())
        };
    }
    let pad = width.saturating_sub(shown.width());
    format!("{shown}{}", " ".repeat(pad))
}

/// The table's column titles.
pub fn table_header() -> String {
    let mut line: String = COLUMNS.iter().map(|(t, w)| format!("{} ", fit(t, *w, false))).collect();
    line.push_str("ACTION");
    line
}

/// A record for a message that produced no report.
pub fn failed(error: &str) -> Value {
    json!({ "kind": null, "is_bounce": null, "format": null, "recipients": [], "original": null, "warnings": [], "error": error })
}

/// `file` and `index` first, then the report's fields.
pub fn with_file(record: Value, file: &str, index: Option<usize>) -> Value {
    let mut m = Map::new();
    m.insert("file".into(), json!(file));
    m.insert("index".into(), json!(index));
    if let Value::Object(fields) = record {
        m.extend(fields);
    }
    Value::Object(m)
}

/// A string field, or `-` when absent or null.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A status as shown: an inferred one (no status in the report) keeps only its class digit.
fn status(r: &Value) -> String {
    let s = text(&r["status"]);
    if r["pseudo_status"] == true { format!("{}.x*", s.split('.').next().unwrap_or("-")) } else { s }
}

/// One table row, and a second line with the error when the message could not be read or classified.
pub fn table_row(v: &Value) -> String {
    let mut file = text(&v["file"]);
    if let Some(i) = v["index"].as_u64() {
        file = format!("{file}#{i}");
    }
    let recipients = v["recipients"].as_array().cloned().unwrap_or_default();
    let first = recipients.first().cloned().unwrap_or(Value::Null);
    let mut rcpt = text(&first["address"]);
    if recipients.len() > 1 {
        // The count stays visible when the address is cut.
        let more = format!(" (+{})", recipients.len() - 1);
        rcpt = format!("{}{more}", fit(&rcpt, COLUMNS[3].1 - more.width(), false).trim_end());
    }
    let error = v["error"].as_str();
    let kind = if error.is_some() && v["kind"].is_null() { "error".to_string() } else { text(&v["kind"]) };
    let cells = [
        (file, true),
        (kind, false),
        (text(&v["format"]), false),
        (rcpt, false),
        (if first.is_null() { "-".into() } else { status(&first) }, false),
        (text(&first["reason"]), false),
        (text(&v["verdict"]), false),
    ];
    let mut line: String =
        cells.iter().zip(COLUMNS).map(|((c, keep_end), (_, w))| format!("{} ", fit(c, w, *keep_end))).collect();
    line.push_str(&text(&v["action"]));
    let mut line = line.trim_end().to_string();
    if let Some(e) = error {
        line.push_str(&format!("\n    error: {e}"));
    }
    line
}

/// Counts over the rows of a scan, for the summary after the table.
#[derive(Default)]
pub struct Summary {
    messages: usize,
    errors: usize,
    kinds: BTreeMap<String, usize>,
    verdicts: BTreeMap<String, usize>,
    actions: BTreeMap<String, usize>,
    inferred_status: bool,
    mbox_index: bool,
}

impl Summary {
    pub fn add(&mut self, v: &Value) {
        self.messages += 1;
        if v["error"].is_string() {
            self.errors += 1;
            return;
        }
        *self.kinds.entry(text(&v["kind"])).or_default() += 1;
        // Ordinary mail gets no verdict: only reports are judged.
        if !v["verdict"].is_null() {
            *self.verdicts.entry(text(&v["verdict"])).or_default() += 1;
            *self.actions.entry(text(&v["action"])).or_default() += 1;
        }
        self.inferred_status |= v["recipients"][0]["pseudo_status"] == true;
        self.mbox_index |= v["index"].is_u64();
    }

    /// The summary lines, the legend of the marks used, and the hint when no site is configured.
    pub fn render(&self, site_configured: bool) -> String {
        let counts = |m: &BTreeMap<String, usize>| {
            let mut v: Vec<_> = m.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = v.iter().map(|(k, n)| format!("{n} {k}")).collect();
            if list.is_empty() { "-".to_string() } else { list.join(", ") }
        };
        let mut out = format!(
            "\n{} messages, {} unreadable or failed\n  kind:    {}\n  verdict: {}\n  action:  {}\n",
            self.messages,
            self.errors,
            counts(&self.kinds),
            counts(&self.verdicts),
            counts(&self.actions)
        );
        if self.mbox_index {
            out.push_str("#N: the Nth message of an mbox file, from 0\n");
        }
        if self.inferred_status {
            out.push_str("5.x*: the report gave no status code; the class comes from its text\n");
        }
        if !site_configured {
            out.push_str(&format!("note: {NO_SITE_HINT}\n"));
        }
        out
    }
}

/// The delivery headers an envelope is read from when none is given, as the message has them:
/// `Return-Path` for MAIL FROM, the first of the others for RCPT TO (the module's order, in
/// `verdict::envelope_from_headers`).
fn delivery_headers(raw: &[u8]) -> Vec<String> {
    let Some(mail) = mail_parser::MessageParser::default().parse_headers(raw) else { return Vec::new() };
    let field = |h: &str| mail.header_raw(h).map(|v| format!("{h}: {}", v.trim()));
    let mail_from = field("Return-Path").map(|f| format!("MAIL FROM from {f}"));
    let rcpt = ["X-Original-To", "Delivered-To", "Envelope-To", "To"]
        .iter()
        .find_map(|h| field(h))
        .map(|f| format!("RCPT TO from {f}"));
    mail_from.into_iter().chain(rcpt).collect()
}

/// The envelope lines of `explain`: the one given on the command line, or where it was read from.
fn envelope_lines(req: &[u8], raw: &[u8], inferred: bool) -> Vec<String> {
    let env = serde_json::from_slice::<Value>(req).map(|r| r["envelope"].clone()).unwrap_or_default();
    if !inferred && env.is_object() {
        let rcpts: Vec<String> =
            env["rcpt_to"].as_array().into_iter().flatten().map(|r| format!("<{}>", text(r))).collect();
        let mut line = format!(
            "envelope: MAIL FROM <{}> RCPT TO {} (given)",
            env["mail_from"].as_str().unwrap_or(""),
            if rcpts.is_empty() { "-".into() } else { rcpts.join(" ") }
        );
        if let Some(ip) = env["client_ip"].as_str() {
            line.push_str(&format!(", client {ip}"));
        }
        return vec![line];
    }
    if !inferred {
        return vec!["envelope: none given and none in the delivery headers".into()];
    }
    let mut lines = vec!["envelope: inferred from the delivery headers (override with --mail-from / --rcpt):".into()];
    lines.extend(delivery_headers(raw).into_iter().map(|h| format!("  {h}")));
    lines
}

/// The explanation of one report: no `null`, the envelope used, and the hint without a site.
pub fn explain_text(file: &std::path::Path, report: &Value, req: &[u8], raw: &[u8]) -> String {
    let site = site_configured(req);
    let mut out = vec![format!("file:     {}", file.display())];
    out.push(format!("kind:     {} ({})", text(&report["kind"]), text(&report["format"])));
    if report["verdict"].is_null() {
        out.push("verdict:  - (only reports are judged)".into());
    } else {
        let unsited = if site { "" } else { " (no site configured)" };
        out.push(format!("verdict:  {}{unsited}   score {}", text(&report["verdict"]), text(&report["score"])));
        let mut action = format!("{} at {}", text(&report["action"]), text(&report["stage"]));
        if let Some(reply) = report["smtp_reply"].as_object() {
            let field = |k: &str| reply.get(k).map(text).unwrap_or_default();
            action.push_str(&format!(" with \"{} {} {}\"", field("code"), field("status"), field("text")));
        }
        out.push(format!("action:   {action}"));
    }
    out.extend(envelope_lines(req, raw, report["envelope_inferred"] == true));
    if let Some(e) = report["error"].as_str() {
        out.push(format!("error:    {e}"));
    }
    let signals = report["signals"].as_array().cloned().unwrap_or_default();
    if !signals.is_empty() {
        out.push("signals:".into());
        for sig in &signals {
            // A signal with nothing to look at weighs 0 and its value says why (docs/signals.md).
            let unobserved = if sig["observed"] == false { " (nothing to observe)" } else { "" };
            out.push(format!(
                "  {:>5}  {:<30} {}{unobserved}",
                text(&sig["weight"]),
                text(&sig["name"]),
                text(&sig["value"])
            ));
        }
    }
    let mut inferred = false;
    for r in report["recipients"].as_array().into_iter().flatten() {
        let hard = match r["hard"].as_bool() {
            Some(true) => ", hard",
            Some(false) => ", soft",
            None => "",
        };
        inferred |= r["pseudo_status"] == true;
        out.push(format!("recipient {}: {} {}{hard}", text(&r["address"]), status(r), text(&r["reason"])));
        if !r["diagnostic"].is_null() {
            out.push(format!("  diagnostic: {}", text(&r["diagnostic"])));
        }
        // Why this reason (ABI 1.3): the rule, and the table entry it used.
        if let Some(why) = r["reason_source"].as_object() {
            let field = |k: &str| why.get(k).map(text).unwrap_or_default();
            out.push(format!("  reason from {} {}: {}", field("rule"), field("table"), field("entry")));
        }
    }
    if inferred {
        out.push("5.x*: the report gave no status code; the class comes from its text".into());
    }
    if !site {
        out.push(format!("note: {NO_SITE_HINT}"));
    }
    out.join("\n")
}
