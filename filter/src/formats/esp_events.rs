//! Bounce, delay, delivery and complaint notifications that e-mail sending services send as a
//! document rather than as a DSN: Amazon SES (through SNS), SendGrid's Event Webhook, Mailgun's
//! webhooks and Postmark's bounce webhook and API. The document is the whole of a text part, an
//! `application/json` (or form-encoded) attachment, or pasted after some prose, and transport may
//! have folded its long lines.
//!
//! Each layout is read from the fields its service documents (the page is named at each reader),
//! and only when the service's distinctive keys appear together: ordinary mail that quotes some
//! JSON or mentions an "event" is never claimed.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::Finding;
use crate::mime::{Leaf, Mail, PlainBody};
use crate::report::{Feedback, Kind, Recipient};
use crate::text::{contains_ci, find_reply_code, find_status, is_reply_code, leading_reply_code};

/// Keys of which every JSON layout holds at least one. SNS's "email-json" envelope carries the
/// SES notification as an escaped string, which still holds `notificationType` or `eventType`.
const JSON_SIGNS: &[&str] = &[
    "notificationType",
    "eventType",
    "sg_event_id",
    "sg_message_id",
    "smtp-id",
    "event-data",
    "log-level",
    "RecordType",
    "BouncedAt",
];

/// The `event` values of Mailgun's legacy webhooks that report on a delivery.
const LEGACY_EVENTS: &[&str] = &["bounced", "dropped", "delivered", "complained"];

/// The words [`signs`] asks for: the gate finds them all in one reading of the body.
pub const GATE_WORDS: &[&[&str]] = &[&["{", "event=", "event:", "recipient"], JSON_SIGNS, LEGACY_EVENTS];

/// The gate: the words of one of the documents. Every document needs a `{` (JSON) or
/// `event=` or `event:` (the legacy form), which most mail lacks: the quick reading says so
/// before the body is searched for all the words.
pub fn may_claim(_: &Mail<'_>, body: &PlainBody<'_>) -> bool {
    if body.quick() & (super::HOLDS_BRACE | super::HOLDS_EVENT_KEY) == 0 {
        return false;
    }
    let (json, legacy) = signs(|w, _| body.mentions(w));
    json || legacy
}

/// Which documents a text may hold, asked of `mentions` (an ASCII word, and whether its case
/// matters): JSON (an object, and a key of one of its layouts, case and all), Mailgun's legacy
/// key/value form (its `event` key and words, in any case). A "no" is certain.
fn signs(mentions: impl Fn(&str, bool) -> bool) -> (bool, bool) {
    let json = mentions("{", true) && JSON_SIGNS.iter().any(|s| mentions(s, true));
    let legacy = (mentions("event=", false) || mentions("event:", false))
        && mentions("recipient", false)
        && LEGACY_EVENTS.iter().any(|e| mentions(e, false));
    (json, legacy)
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    mail.leaves.iter().filter_map(document_text).find_map(|text| read_text(&text))
}

/// The text of a part that may hold a document: text parts other than HTML (whose markup
/// escapes the quotes), JSON and form-encoded attachments.
fn document_text<'a>(leaf: &'a Leaf<'_>) -> Option<Cow<'a, str>> {
    let ct = leaf.content_type.as_str();
    if ct == "text/html" {
        None
    } else if ct.starts_with("text/") {
        leaf.text.as_deref().map(Cow::Borrowed)
    } else if ct == "application/json" || ct.ends_with("+json") || ct == "application/x-www-form-urlencoded" {
        Some(String::from_utf8_lossy(leaf.bytes))
    } else {
        None
    }
}

fn read_text(text: &str) -> Option<Finding> {
    let (json, legacy) = signs(|w, case| if case { text.contains(w) } else { contains_ci(text, w) });
    let found = if json { first_document(text, |doc| read_document(doc, MAX_ENVELOPES)) } else { None };
    found.or_else(|| if legacy { mailgun_legacy(text) } else { None })
}

/// How many places in one text are tried as the start of a document.
const MAX_STARTS: usize = 16;

/// The first JSON document in `text` that `read` recognises. A document starts where `{"` or
/// `[{` does (after prose, perhaps); when it does not parse as it stands, it is read again with
/// the line breaks of transport undone ([`unfold`]).
fn first_document<T>(text: &str, read: impl Fn(&Value) -> Option<T>) -> Option<T> {
    let mut from = 0;
    for _ in 0..MAX_STARTS {
        let start = from + text.get(from..)?.find(['{', '['])?;
        let rest = &text[start..];
        from = start + 1;
        if !opens_document(rest) || quoted(&text[..start]) {
            continue;
        }
        match first_value(rest) {
            Some((value, len)) => {
                if let Some(found) = read(&value) {
                    return Some(found);
                }
                // A document of another kind: none of its inner objects is a notification.
                from = start + len.max(1);
            }
            None => {
                if let Some(found) = first_value(&unfold(rest)).and_then(|(value, _)| read(&value)) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Whether the line that `before` ends is a quotation (`> ...`): a person replying to a
/// notification quotes it, and the reply is theirs, not the service's.
fn quoted(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or_default();
    line.trim_start().starts_with('>')
}

/// Whether text at a `{` or `[` looks like the start of an object or of a list of objects.
fn opens_document(s: &str) -> bool {
    let mut chars = s.chars();
    let open = chars.next();
    let next = chars.find(|c| !c.is_whitespace());
    matches!((open, next), (Some('{'), Some('"')) | (Some('['), Some('{')))
}

/// The JSON value at the start of `s` and its length in bytes (text may follow it).
fn first_value(s: &str) -> Option<(Value, usize)> {
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<Value>();
    let value = stream.next()?.ok()?;
    Some((value, stream.byte_offset()))
}

/// Undo what transport does to long lines: a line break followed by a space or tab is a fold
/// (the space came with it), a line break inside a JSON string was never part of the document
/// (JSON escapes its newlines), and sendmail marks the lines it splits with `!` before the break.
/// Between JSON tokens a dropped break loses nothing: tokens are separated by punctuation.
fn unfold(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            let folded = matches!(chars.peek(), Some(' ' | '\t'));
            if folded && out.ends_with('!') {
                out.pop();
            }
            if folded {
                chars.next();
                continue;
            }
            if in_string {
                continue;
            }
        } else if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// How many envelopes may wrap a document (SNS around EventBridge around the SES record).
const MAX_ENVELOPES: usize = 2;

/// A document of one of the services, if it is one, inside at most `envelopes` envelopes.
fn read_document(doc: &Value, envelopes: usize) -> Option<Finding> {
    let doc = match doc {
        Value::Array(events) => {
            return finding(
                "sendgrid",
                events.iter().filter_map(Value::as_object).filter_map(sendgrid_event).collect(),
            );
        }
        Value::Object(doc) => doc,
        _ => return None,
    };
    if envelopes > 0
        && let Some(inner) = sns_message(doc).or_else(|| eventbridge_detail(doc))
    {
        return read_document(&inner, envelopes - 1);
    }
    let has = |key: &str| doc.contains_key(key);
    let list = |key: &str| doc.get(key).and_then(Value::as_array);
    let one = |format, event: Option<Event>| finding(format, event.into_iter().collect());
    if has("notificationType") || has("eventType") {
        amazon_ses(doc)
    } else if let Some(data) = doc.get("event-data") {
        one("mailgun", data.as_object().and_then(mailgun_event))
    } else if let Some(items) = list("items").filter(|_| has("paging")) {
        // Mailgun's Events API: a page of events.
        finding("mailgun", items.iter().filter_map(Value::as_object).filter_map(mailgun_event).collect())
    } else if has("log-level") && has("delivery-status") {
        // One of Mailgun's events on its own, as its logs show it.
        one("mailgun", mailgun_event(doc))
    } else if has("sg_event_id") || has("sg_message_id") {
        one("sendgrid", sendgrid_event(doc))
    } else if let Some(bounces) = list("Bounces").filter(|_| has("TotalCount")) {
        // Postmark's Bounce API: a page of bounces.
        finding("postmark", bounces.iter().filter_map(Value::as_object).filter_map(postmark_event).collect())
    } else if has("RecordType") || (has("TypeCode") && has("BouncedAt")) {
        one("postmark", postmark_event(doc))
    } else {
        None
    }
}

/// The message of an Amazon SNS notification as an "email-json" subscription mails it: an
/// envelope whose `Message` is the published document as a string.
/// <https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html>
fn sns_message(doc: &Map<String, Value>) -> Option<Value> {
    if str_of(doc, "Type") != Some("Notification") || !doc.contains_key("TopicArn") {
        return None;
    }
    serde_json::from_str(str_of(doc, "Message")?).ok()
}

/// The SES event record in an Amazon EventBridge event (`source` `aws.ses`, `detail-type`
/// "Email Bounced" ...), which a rule may send on to SNS and so to mail.
/// <https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html>
fn eventbridge_detail(doc: &Map<String, Value>) -> Option<Value> {
    (str_of(doc, "source") == Some("aws.ses") && doc.contains_key("detail-type")).then(|| doc.get("detail").cloned())?
}

/// One recipient's outcome as a service reports it.
#[derive(Default)]
struct Event {
    kind: Kind,
    address: Option<String>,
    /// The enhanced status the service gives.
    status: Option<String>,
    /// The SMTP reply code the service gives (services also use codes of their own: only real
    /// reply codes are kept).
    reply_code: Option<String>,
    /// What the receiving server said, or else the service's explanation.
    diagnostic: Option<String>,
    remote_mta: Option<String>,
    /// The reason the service's own classification says, where it is more certain than words
    /// (a suppression list) or there are no words.
    reason: Option<&'static str>,
}

impl Event {
    fn recipient(self) -> Recipient {
        let diagnostic = self.diagnostic.as_deref().map(clean_diagnostic).filter(|d| !d.is_empty());
        let diag = diagnostic.as_deref().unwrap_or("");
        let given_code = self.reply_code.filter(|c| is_reply_code(c));
        let (action, reason) = match self.kind {
            Kind::Delay => ("delayed", self.reason.unwrap_or_default()),
            Kind::Delivered => ("delivered", "delivered"),
            Kind::FeedbackReport => ("", "feedback"),
            _ => ("failed", self.reason.unwrap_or_default()),
        };
        Recipient {
            address: self.address.filter(|a| a.contains('@')),
            action: Some(action.to_string()).filter(|a| !a.is_empty()),
            status: self.status.as_deref().and_then(find_status).or_else(|| find_status(diag)),
            reply_code: given_code.or_else(|| leading_reply_code(diag)).or_else(|| find_reply_code(diag)),
            remote_mta: self.remote_mta.filter(|m| !m.is_empty()),
            diagnostic,
            reason: reason.to_string(),
            ..Default::default()
        }
    }
}

/// A diagnostic without its `smtp;` type (RFC 3464's diagnostic-type, which services copy),
/// and the remote server's reply out of SES's older wrapping.
fn clean_diagnostic(d: &str) -> String {
    let d = d.trim();
    let d = match d.get(..5) {
        Some(t) if t.eq_ignore_ascii_case("smtp;") => d[5..].trim_start(),
        _ => d,
    };
    super::fields::remote_reply(d).to_string()
}

/// The finding for a document's events: of the kind that matters most (a failure before a
/// delay, before a complaint, before a delivery), with that kind's recipients.
fn finding(format: &'static str, events: Vec<Event>) -> Option<Finding> {
    let kind = [Kind::Bounce, Kind::Delay, Kind::FeedbackReport, Kind::Delivered]
        .into_iter()
        .find(|k| events.iter().any(|e| e.kind == *k))?;
    let recipients = events.into_iter().filter(|e| e.kind == kind).map(Event::recipient).collect();
    Some(Finding { kind, format, recipients, ..Default::default() })
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// A string or a number (services write codes either way), as text.
fn text_of(o: &Map<String, Value>, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn objects<'a>(o: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Map<String, Value>> {
    o.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

/// Amazon SES: the notification an SNS "email" subscription mails (`notificationType`), and the
/// records of event publishing (`eventType`, with `DeliveryDelay`).
/// <https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html>
/// <https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html>
fn amazon_ses(doc: &Map<String, Value>) -> Option<Finding> {
    let type_name = str_of(doc, "notificationType").or_else(|| str_of(doc, "eventType"))?;
    let mta =
        |o: &Map<String, Value>| str_of(o, "reportingMTA").map(|m| m.trim_start_matches("dsn;").trim().to_string());
    let mut events = Vec::new();
    let (mut reporting_mta, mut feedback) = (None, None);
    match type_name {
        "Bounce" => {
            let bounce = doc.get("bounce")?.as_object()?;
            // Transient: SES gave up on a temporary failure. Permanent and Undetermined fail.
            let kind = if str_of(bounce, "bounceType") == Some("Transient") { Kind::Delay } else { Kind::Bounce };
            let subtype = str_of(bounce, "bounceSubType").and_then(ses_subtype_reason);
            reporting_mta = mta(bounce);
            for r in objects(bounce, "bouncedRecipients") {
                let diagnostic = text_of(r, "diagnosticCode");
                events.push(Event {
                    kind,
                    address: text_of(r, "emailAddress"),
                    status: text_of(r, "status"),
                    reason: if diagnostic.is_none() { subtype } else { None },
                    diagnostic,
                    remote_mta: text_of(bounce, "remoteMtaIp"),
                    ..Default::default()
                });
            }
        }
        "DeliveryDelay" => {
            let delay = doc.get("deliveryDelay")?.as_object()?;
            let delay_reason = match str_of(delay, "delayType") {
                Some("MailboxFull") => Some("mailboxfull"),
                Some("SpamDetected") => Some("spamdetected"),
                _ => None,
            };
            reporting_mta = mta(delay);
            for r in objects(delay, "delayedRecipients") {
                let diagnostic = text_of(r, "diagnosticCode");
                events.push(Event {
                    kind: Kind::Delay,
                    address: text_of(r, "emailAddress"),
                    status: text_of(r, "status"),
                    reason: if diagnostic.is_none() { delay_reason } else { None },
                    diagnostic,
                    ..Default::default()
                });
            }
        }
        "Complaint" => {
            let complaint = doc.get("complaint")?.as_object()?;
            feedback = Some(Feedback {
                feedback_type: text_of(complaint, "complaintFeedbackType"),
                user_agent: text_of(complaint, "userAgent"),
                ..Default::default()
            });
            for r in objects(complaint, "complainedRecipients") {
                events.push(Event {
                    kind: Kind::FeedbackReport,
                    address: text_of(r, "emailAddress"),
                    ..Default::default()
                });
            }
        }
        "Delivery" => {
            let delivery = doc.get("delivery")?.as_object()?;
            reporting_mta = mta(delivery);
            for address in delivery.get("recipients")?.as_array()?.iter().filter_map(Value::as_str) {
                events.push(Event {
                    kind: Kind::Delivered,
                    address: Some(address.to_string()),
                    diagnostic: text_of(delivery, "smtpResponse"),
                    remote_mta: text_of(delivery, "remoteMtaIp"),
                    ..Default::default()
                });
            }
        }
        _ => return None,
    }
    let mut finding = finding("amazon-ses", events)?;
    finding.reporting_mta = reporting_mta;
    finding.feedback = feedback;
    Some(finding)
}

/// The reason SES's bounce subtype names, for a recipient without a diagnostic.
fn ses_subtype_reason(subtype: &str) -> Option<&'static str> {
    Some(match subtype {
        "NoEmail" => "userunknown",
        "Suppressed" | "OnAccountSuppressionList" => "suppressed",
        "MailboxFull" => "mailboxfull",
        "MessageTooLarge" => "mesgtoobig",
        "ContentRejected" | "AttachmentRejected" => "contenterror",
        _ => return None,
    })
}

/// One event of SendGrid's Event Webhook, which posts a list of them: `event`, `email` and
/// SendGrid's message and event ids. Engagement events (open, click ...) are not read.
/// <https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event>
fn sendgrid_event(e: &Map<String, Value>) -> Option<Event> {
    let ids = ["sg_event_id", "sg_message_id", "smtp-id"];
    if !ids.iter().any(|k| e.contains_key(*k)) {
        return None;
    }
    let (kind, words) = match str_of(e, "event")? {
        // `type` says `bounce` or `blocked`: either way SendGrid does not retry.
        "bounce" | "dropped" => (Kind::Bounce, "reason"),
        "deferred" => (Kind::Delay, "response"),
        "delivered" => (Kind::Delivered, "response"),
        "spamreport" => (Kind::FeedbackReport, "reason"),
        _ => return None,
    };
    let diagnostic = text_of(e, words);
    // Dropped because the address is on one of SendGrid's suppression lists.
    let suppressed = str_of(e, "event") == Some("dropped")
        && diagnostic.as_deref().is_some_and(|d| {
            ["Bounced Address", "Unsubscribed Address", "Spam Reporting Address"].iter().any(|s| contains_ci(d, s))
        });
    Some(Event {
        kind,
        address: text_of(e, "email"),
        status: text_of(e, "status"),
        diagnostic,
        reason: suppressed.then_some("suppressed"),
        ..Default::default()
    })
}

/// One event of Mailgun's webhooks (`{"signature": ..., "event-data": {...}}`) or Events API:
/// `failed` with severity `permanent` or `temporary`, `delivered`, `complained`; the receiver's
/// reply in `delivery-status`.
/// <https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads>
/// <https://documentation.mailgun.com/docs/mailgun/user-manual/events/event-types>
fn mailgun_event(e: &Map<String, Value>) -> Option<Event> {
    let kind = match (str_of(e, "event")?, str_of(e, "severity")) {
        ("failed", Some("temporary")) => Kind::Delay,
        ("failed", _) => Kind::Bounce,
        ("delivered", _) => Kind::Delivered,
        ("complained", _) => Kind::FeedbackReport,
        _ => return None,
    };
    let empty = Map::new();
    let status = e.get("delivery-status").and_then(Value::as_object).unwrap_or(&empty);
    let code = text_of(status, "code");
    let diagnostic = text_of(status, "message").or_else(|| text_of(status, "description"));
    let suppressed = str_of(e, "reason").is_some_and(|r| r.starts_with("suppress-"));
    Some(Event {
        kind,
        address: text_of(e, "recipient"),
        status: text_of(status, "enhanced-code"),
        diagnostic: with_code(code.as_deref(), diagnostic),
        reply_code: code,
        remote_mta: text_of(status, "mx-host"),
        reason: suppressed.then_some("suppressed"),
    })
}

/// A reply text with its code in front, as SMTP wrote it, when the service keeps them apart.
fn with_code(code: Option<&str>, text: Option<String>) -> Option<String> {
    match (code.filter(|c| is_reply_code(c)), text) {
        (Some(code), Some(text)) if leading_reply_code(&text).is_none() => Some(format!("{code} {text}")),
        (_, text) => text,
    }
}

/// Keys of Mailgun's legacy webhooks besides `event` and `recipient`.
const LEGACY_KEYS: &[&str] = &[
    "code",
    "error",
    "notification",
    "description",
    "reason",
    "domain",
    "message-headers",
    "message-id",
    "timestamp",
    "token",
    "signature",
];

/// Mailgun's legacy webhooks: a form (`event=bounced&recipient=...&code=550&error=...`), or the
/// same fields as `key: value` lines, with `event` `bounced`, `dropped`, `delivered` or
/// `complained`, `recipient`, and at least two more of its keys.
/// <https://help.mailgun.com/hc/en-us/articles/14048832145051-Legacy-Webhooks>
fn mailgun_legacy(text: &str) -> Option<Finding> {
    let fields = key_values(text);
    let get = |key: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
    let event = get("event")?.to_ascii_lowercase();
    let kind = match event.as_str() {
        "bounced" | "dropped" => Kind::Bounce,
        "delivered" => Kind::Delivered,
        "complained" => Kind::FeedbackReport,
        _ => return None,
    };
    let address = get("recipient").filter(|a| a.contains('@') && !a.contains(char::is_whitespace))?;
    if LEGACY_KEYS.iter().filter(|k| get(k).is_some()).count() < 2 {
        return None;
    }
    let code = get("code").map(str::to_string);
    let diagnostic = ["error", "notification", "description"].iter().find_map(|k| get(k)).map(str::to_string);
    // Dropped because the address bounced before (`hardfail`).
    let suppressed = event == "dropped" && get("reason") == Some("hardfail");
    let event = Event {
        kind,
        address: Some(address.to_string()),
        diagnostic: with_code(code.as_deref(), diagnostic),
        reply_code: code,
        reason: suppressed.then_some("suppressed"),
        ..Default::default()
    };
    finding("mailgun", vec![event])
}

/// The `key=value&...` pairs of form-encoded lines (folded lines joined, values decoded) and
/// the `key: value` or `key=value` fields of other lines (continuation lines appended).
fn key_values(text: &str) -> Vec<(String, String)> {
    let unfolded = text.replace("\r\n", "\n").replace("!\n ", "").replace("\n ", "").replace("\n\t", "");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in unfolded.lines().filter(|l| !quoted(l)) {
        if line.contains('&') && line.contains('=') && !line.trim().contains(' ') {
            for pair in line.trim().split('&') {
                if let Some((key, value)) = pair.split_once('=') {
                    let key = key.rsplit(|c: char| !is_key_char(c)).next().unwrap_or_default();
                    if !key.is_empty() {
                        fields.push((key.to_string(), percent_decode(value)));
                    }
                }
            }
        } else if let Some(at) = line.find([':', '=']) {
            let (key, value) = (line[..at].trim(), line[at + 1..].trim());
            if !key.is_empty() && key.chars().all(is_key_char) {
                fields.push((key.to_string(), value.to_string()));
            }
        }
    }
    fields
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A form value decoded (`+` is a space, `%XX` a byte). Hand-written: the filter's wasm module
/// needs nothing else from URL handling.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                out.push((hex(i + 1).unwrap_or(0) * 16 + hex(i + 2).unwrap_or(0)) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A record of Postmark's bounce webhook or Bounce API (`RecordType` `Bounce`, `Type`, `Email`, `Details`;
/// the API's older records have no `RecordType` but `TypeCode` and `BouncedAt`), its spam
/// complaint webhook (`SpamComplaint`) and its delivery webhook (`Delivery`, `Recipient`).
/// <https://postmarkapp.com/developer/webhooks/bounce-webhook>
/// <https://postmarkapp.com/developer/api/bounce-api>
/// <https://postmarkapp.com/developer/webhooks/delivery-webhook>
fn postmark_event(doc: &Map<String, Value>) -> Option<Event> {
    let record = str_of(doc, "RecordType");
    if record == Some("Delivery") {
        return doc.contains_key("DeliveredAt").then(|| Event {
            kind: Kind::Delivered,
            address: text_of(doc, "Recipient"),
            diagnostic: text_of(doc, "Details"),
            ..Default::default()
        });
    }
    if !matches!(record, None | Some("Bounce" | "SpamComplaint")) || !doc.contains_key("Email") {
        return None;
    }
    let (kind, reason) = match str_of(doc, "Type")? {
        "HardBounce" | "BadEmailAddress" | "Blocked" | "SpamNotification" | "VirusNotification" | "DMARCPolicy"
        | "SMTPApiError" | "Unknown" => (Kind::Bounce, None),
        "ManuallyDeactivated" => (Kind::Bounce, Some("suppressed")),
        "AddressChange" => (Kind::Bounce, Some("hasmoved")),
        "Transient" | "SoftBounce" | "DnsError" => (Kind::Delay, None),
        "SpamComplaint" => (Kind::FeedbackReport, None),
        // Auto-replies, challenges, subscriptions, inbound errors: not reports on a delivery.
        _ => return None,
    };
    Some(Event {
        kind,
        address: text_of(doc, "Email"),
        diagnostic: text_of(doc, "Details").or_else(|| text_of(doc, "Description")),
        reason,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The finding for a raw message, and whether the header gate lets the message through when
    /// it is one text part.
    fn read(raw: &str) -> (Option<Finding>, Option<bool>) {
        let raw = raw.as_bytes();
        let msg = crate::mime::parse(raw).expect("parses");
        let mail = crate::mime::view(&msg, &crate::Limits::default());
        let head = crate::mime::parse_head(raw).expect("headers");
        let gate = crate::mime::plain_body(&head, crate::mime::body_after(&head, raw), &crate::Limits::default())
            .map(|body| may_claim(&crate::mime::view(&head, &crate::Limits::default()), &body));
        (detect(&mail), gate)
    }

    /// A one-part text message with this body: the finding, after checking the gate passes it.
    fn claimed(body: &str) -> Finding {
        let raw = format!("From: notifications@example.net\nTo: ops@example.org\nSubject: notification\n\n{body}\n");
        let (finding, gate) = read(&raw);
        assert_eq!(gate, Some(true), "the gate turns away {body}");
        finding.unwrap_or_else(|| panic!("not claimed: {body}"))
    }

    /// A recipient's address, status and reply code.
    fn said(r: &Recipient) -> (Option<&str>, Option<&str>, Option<&str>) {
        (r.address.as_deref(), r.status.as_deref(), r.reply_code.as_deref())
    }

    fn only(f: &Finding) -> &Recipient {
        assert_eq!(f.recipients.len(), 1, "{:?}", f.recipients);
        &f.recipients[0]
    }

    const SES_BOUNCE: &str = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"jane@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000","remoteMtaIp":"127.0.2.0","reportingMTA":"dsn; a8-70.smtp-out.amazonses.com"},"mail":{"timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com","messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000","destination":["jane@example.com"]}}"#;

    #[test]
    fn ses_email_notification() {
        let f = claimed(SES_BOUNCE);
        assert_eq!((f.kind, f.format), (Kind::Bounce, "amazon-ses"));
        assert_eq!(f.reporting_mta.as_deref(), Some("a8-70.smtp-out.amazonses.com"));
        let r = only(&f);
        assert_eq!(r.address.as_deref(), Some("jane@example.com"));
        assert_eq!((r.status.as_deref(), r.reply_code.as_deref()), (Some("5.1.1"), Some("550")));
        assert_eq!(r.diagnostic.as_deref(), Some("550 5.1.1 user unknown"));
        assert_eq!(r.remote_mta.as_deref(), Some("127.0.2.0"));
        // After some prose, and folded by transport (RFC 5322 folds and sendmail's split lines).
        let folded: String =
            SES_BOUNCE.as_bytes().chunks(70).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n ");
        let f = claimed(&format!("Forwarded from our SES console:\n\n{folded}\n\n-- \nops"));
        assert_eq!(only(&f).status.as_deref(), Some("5.1.1"));
        // sendmail writes `!`, the line end and a space where it splits a line.
        let split =
            SES_BOUNCE.replacen("user unknown", "user un!\n known", 1).replacen("\"bounce\":", "\"bounce\"!\n :", 1);
        assert_eq!(only(&claimed(&split)).diagnostic.as_deref(), Some("550 5.1.1 user unknown"));
        // Hard-wrapped inside a string without a leading space.
        let wrapped = SES_BOUNCE.replacen("user unknown", "user\nunknown", 1);
        assert_eq!(only(&claimed(&wrapped)).diagnostic.as_deref(), Some("550 5.1.1 userunknown"));
    }

    #[test]
    fn ses_types_and_subtypes() {
        let transient = SES_BOUNCE.replace("\"Permanent\"", "\"Transient\"");
        assert_eq!(claimed(&transient).kind, Kind::Delay);
        let undetermined = SES_BOUNCE.replace("\"Permanent\"", "\"Undetermined\"");
        assert_eq!(claimed(&undetermined).kind, Kind::Bounce);
        // Without a diagnostic the subtype says why.
        let suppressed = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"Suppressed","bouncedRecipients":[{"emailAddress":"jane@example.com"}],"reportingMTA":"dns; amazonses.com"}}"#;
        assert_eq!(only(&claimed(suppressed)).reason, "suppressed");
        let complaint = r#"{"notificationType":"Complaint","complaint":{"userAgent":"ExampleCorp Feedback Loop (V0.01)","complainedRecipients":[{"emailAddress":"recipient@example.com"}],"complaintFeedbackType":"abuse","timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},"mail":{"source":"sender@example.com"}}"#;
        let f = claimed(complaint);
        assert_eq!((f.kind, only(&f).reason.as_str()), (Kind::FeedbackReport, "feedback"));
        assert_eq!(f.feedback.as_ref().and_then(|fb| fb.feedback_type.as_deref()), Some("abuse"));
    }

    #[test]
    fn ses_email_json_envelope() {
        let envelope = serde_json::json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
            "Message": SES_BOUNCE,
            "Timestamp": "2012-05-02T00:54:06.655Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEw6JRN...",
            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0"
        });
        let f = claimed(&serde_json::to_string_pretty(&envelope).unwrap());
        assert_eq!((f.kind, f.format), (Kind::Bounce, "amazon-ses"));
        assert_eq!(only(&f).address.as_deref(), Some("jane@example.com"));
    }

    #[test]
    fn ses_event_publishing_delivery_delay() {
        let delay = r#"{
  "eventType": "DeliveryDelay",
  "mail": {"timestamp": "2020-06-16T00:15:40.641Z", "source": "sender@example.com", "destination": ["recipient@example.com"]},
  "deliveryDelay": {
    "timestamp": "2020-06-16T00:25:40.095Z",
    "delayType": "TransientCommunicationFailure",
    "expirationTime": "2020-06-16T00:25:40.914Z",
    "delayedRecipients": [{"emailAddress": "recipient@example.com", "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host"}]
  }
}"#;
        let f = claimed(delay);
        assert_eq!((f.kind, f.format), (Kind::Delay, "amazon-ses"));
        let r = only(&f);
        assert_eq!(
            (r.action.as_deref(), r.status.as_deref(), r.reply_code.as_deref()),
            (Some("delayed"), Some("4.4.1"), Some("421"))
        );
        let bounce = SES_BOUNCE.replace("notificationType", "eventType");
        assert_eq!(claimed(&bounce).kind, Kind::Bounce);
    }

    #[test]
    fn sendgrid_event_list() {
        let events = r#"[
  {"email": "example@test.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "processed", "category": "cat facts", "sg_event_id": "sg_event_id", "sg_message_id": "sg_message_id"},
  {"email": "later@test.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "deferred", "sg_event_id": "sg_event_id", "sg_message_id": "sg_message_id", "response": "400 try again later", "attempt": "5"},
  {"email": "example@test.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "bounce_classification": "Invalid Address", "event": "bounce", "category": "cat facts", "sg_event_id": "sg_event_id", "sg_message_id": "sg_message_id", "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce"},
  {"email": "gone@test.com", "timestamp": 1513299569, "event": "dropped", "sg_event_id": "sg_event_id", "sg_message_id": "sg_message_id", "reason": "Bounced Address", "status": "5.0.0"}
]"#;
        let f = claimed(events);
        assert_eq!((f.kind, f.format), (Kind::Bounce, "sendgrid"));
        assert_eq!(f.recipients.len(), 2, "{:?}", f.recipients);
        let r = &f.recipients[0];
        assert_eq!((r.address.as_deref(), r.status.as_deref()), (Some("example@test.com"), Some("5.0.0")));
        assert_eq!(r.diagnostic.as_deref(), Some("500 unknown recipient"));
        assert_eq!(f.recipients[1].reason, "suppressed");
        // Only a deferral: a delay. One object on its own is read too.
        let deferred = events.lines().nth(2).unwrap().trim_end_matches(',');
        let f = claimed(deferred);
        assert_eq!((f.kind, only(&f).address.as_deref()), (Kind::Delay, Some("later@test.com")));
    }

    const MAILGUN_FAILED: &str = r#"{
  "signature": {"timestamp": "1529006854", "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", "signature": "d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},
  "event-data": {
    "event": "failed", "severity": "permanent", "reason": "bounce", "log-level": "error",
    "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1521233195.375624,
    "recipient": "alice@example.com", "recipient-domain": "example.com",
    "envelope": {"sender": "bob@sandbox.mailgun.org", "transport": "smtp", "targets": "alice@example.com"},
    "delivery-status": {"attempt-no": 1, "code": 550, "enhanced-code": "5.1.1", "mx-host": "mx.example.com", "message": "No such user here", "description": "", "session-seconds": 0.44}
  }
}"#;

    #[test]
    fn mailgun_webhook() {
        let f = claimed(MAILGUN_FAILED);
        assert_eq!((f.kind, f.format), (Kind::Bounce, "mailgun"));
        let r = only(&f);
        assert_eq!(said(r), (Some("alice@example.com"), Some("5.1.1"), Some("550")));
        assert_eq!(r.diagnostic.as_deref(), Some("550 No such user here"));
        assert_eq!(r.remote_mta.as_deref(), Some("mx.example.com"));
        let temporary = MAILGUN_FAILED.replace("\"permanent\"", "\"temporary\"").replace("550", "452");
        assert_eq!(claimed(&temporary).kind, Kind::Delay);
        // Mailgun's own codes (605: suppressed) are no SMTP reply codes.
        let suppressed = MAILGUN_FAILED
            .replace("\"bounce\"", "\"suppress-bounce\"")
            .replace("550", "605")
            .replace("No such user here", "")
            .replace("\"description\": \"\"", "\"description\": \"Not delivering to previously bounced address\"");
        let f = claimed(&suppressed);
        assert_eq!((only(&f).reply_code.as_deref(), only(&f).reason.as_str()), (None, "suppressed"));
    }

    #[test]
    fn mailgun_legacy_key_values() {
        let form = "event=bounced&recipient=alice%40example.com&domain=example.org&code=550&error=5.1.1+The+email+account+that+you+tried+to+reach+does+not+exist&timestamp=1529006854&token=a8ce0edb2dd8301dee6c&signature=d2271d12299f6592d9d4";
        let f = claimed(&format!("Payload received by our webhook:\n{form}\n\nThanks"));
        assert_eq!((f.kind, f.format), (Kind::Bounce, "mailgun"));
        let r = only(&f);
        assert_eq!(said(r), (Some("alice@example.com"), Some("5.1.1"), Some("550")));
        assert_eq!(r.diagnostic.as_deref(), Some("550 5.1.1 The email account that you tried to reach does not exist"));
        // Folded, and as `key: value` lines.
        let folded = format!("{}\n {}", &form[..60], &form[60..]);
        assert_eq!(only(&claimed(&folded)).address.as_deref(), Some("alice@example.com"));
        let lines = "event: dropped\nrecipient: bob@example.com\nreason: hardfail\ncode: 605\ndescription: Not delivering to previously bounced address\ndomain: example.org";
        let f = claimed(lines);
        assert_eq!(
            (f.kind, only(&f).reason.as_str(), only(&f).reply_code.as_deref()),
            (Kind::Bounce, "suppressed", None)
        );
    }

    #[test]
    fn postmark_bounce() {
        let bounce = r#"{
  "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
  "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test",
  "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
  "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
  "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
  "Email": "john@example.com", "From": "sender@example.com", "BouncedAt": "2019-11-05T16:33:54.9070259Z",
  "DumpAvailable": true, "Inactive": true, "CanActivate": true, "Subject": "Test subject"
}"#;
        let f = claimed(bounce);
        assert_eq!((f.kind, f.format), (Kind::Bounce, "postmark"));
        let r = only(&f);
        assert_eq!(said(r), (Some("john@example.com"), Some("5.1.1"), Some("550")));
        let soft = bounce.replace("\"HardBounce\"", "\"SoftBounce\"").replace("\"RecordType\": \"Bounce\", ", "");
        assert_eq!(claimed(&soft).kind, Kind::Delay);
        let auto = bounce.replace("\"HardBounce\"", "\"AutoResponder\"");
        assert!(read(&format!("From: a@example.net\n\n{auto}\n")).0.is_none());
    }

    #[test]
    fn eventbridge_events_and_api_pages() {
        // SES's record in an EventBridge event, which a rule sent on to SNS "email-json".
        let event = serde_json::json!({
            "version": "0", "id": "5f0d2e4b", "detail-type": "Email Bounced", "source": "aws.ses",
            "account": "123456789012", "time": "2023-05-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": serde_json::from_str::<Value>(&SES_BOUNCE.replace("notificationType", "eventType")).unwrap()
        });
        let envelope = serde_json::json!({
            "Type": "Notification", "MessageId": "d9a3", "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
            "Message": event.to_string(), "Timestamp": "2023-05-01T00:00:01Z"
        });
        assert_eq!(claimed(&envelope.to_string()).format, "amazon-ses");
        let other = event.to_string().replace("aws.ses", "aws.s3").replace("eventType", "kind");
        assert!(read(&format!("From: a@example.net\n\n{other}\n")).0.is_none());
        // Mailgun's Events API and Postmark's Bounce API answer with a page of records.
        let data = serde_json::from_str::<Value>(MAILGUN_FAILED).unwrap()["event-data"].clone();
        let page = serde_json::json!({"items": [data], "paging": {"next": "https://api.mailgun.net/v3/example.org/events/W3siYSI6IGZhbHNlfQ=="}});
        assert_eq!(claimed(&page.to_string()).format, "mailgun");
        let bounces = r#"{"TotalCount": 1, "Bounces": [{"ID": 692560173, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "MessageID": "2c1b63fe-43f2-4db5-91b0-8bdfa44a9316", "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).", "Details": "action: failed\n", "Email": "anything@blackhole.postmarkapp.com", "From": "sender@example.com", "BouncedAt": "2014-01-15T16:09:19.6421112-05:00", "Inactive": false, "CanActivate": true}]}"#;
        let f = claimed(bounces);
        assert_eq!((f.kind, f.format), (Kind::Bounce, "postmark"));
        assert_eq!(only(&f).address.as_deref(), Some("anything@blackhole.postmarkapp.com"));
        // Deliveries.
        let delivered = r#"{"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": "00000000-0000-0000-0000-000000000000", "Recipient": "john@example.com", "Tag": "welcome-email", "DeliveredAt": "2019-11-05T16:33:54.9070259Z", "Details": "250 2.0.0 OK"}"#;
        let f = claimed(delivered);
        assert_eq!(
            (f.kind, only(&f).reason.as_str(), only(&f).reply_code.as_deref()),
            (Kind::Delivered, "delivered", Some("250"))
        );
        let sendgrid = r#"[{"email": "example@test.com", "timestamp": 1513299569, "event": "delivered", "sg_event_id": "x", "sg_message_id": "y", "response": "250 OK"}]"#;
        assert_eq!(claimed(sendgrid).kind, Kind::Delivered);
    }

    #[test]
    fn a_form_encoded_attachment_is_read() {
        let raw = "From: a@example.net\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nThe webhook body.\n--b\nContent-Type: application/x-www-form-urlencoded\n\nevent=dropped&recipient=bob%40example.com&reason=old&code=605&description=Too+old&domain=example.org\n--b--\n";
        let f = read(raw).0.expect("claimed");
        assert_eq!((f.kind, f.format, only(&f).address.as_deref()), (Kind::Bounce, "mailgun", Some("bob@example.com")));
    }

    #[test]
    fn a_json_attachment_is_read() {
        let raw = format!(
            "From: a@example.net\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\n{}\n--b--\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, MAILGUN_FAILED)
        );
        let (f, gate) = read(&raw);
        assert_eq!(gate, None);
        assert_eq!(f.map(|f| f.format), Some("mailgun"));
    }

    #[test]
    fn ordinary_mail_with_json_is_not_claimed() {
        for body in [
            // Another service's JSON, an API sample, config with an `event` key.
            r#"Here is the config: {"event": "bounce", "email": "a@example.com", "reason": "test"}"#,
            r#"Our logs: [{"eventType": "Click", "mail": {"source": "a@example.com"}}]"#,
            r#"{"Type": "Notification", "TopicArn": "arn:aws:sns:x", "Message": "Hello world"}"#,
            r#"{"RecordType": "Open", "Email": "a@example.com", "Type": "HardBounce"}"#,
            "The event: we bounced ideas around; the recipient list is below.\nrecipient: bob@example.com\n",
            "event=bounced&recipient=alice%40example.com",
            r#"{"notificationType": "Bounce", "bounce": "not an object"} {"broken": "#,
            // A person's reply quoting a notification.
            &format!("Could you look at this one?\n\n> {SES_BOUNCE}\n"),
            "Why was this dropped?\n> event: dropped\n> recipient: bob@example.com\n> code: 605\n> domain: example.org\n",
        ] {
            let raw = format!("From: alice@example.com\nTo: bob@example.org\nSubject: notes\n\n{body}\n");
            assert!(read(&raw).0.is_none(), "claimed {body}");
        }
    }
}
