//! Amazon SES notifications delivered by e-mail through SNS: a JSON document
//! (`{"notificationType":"Bounce","bounce":{...}}`, or `eventType` for event publishing) that
//! lists bounced, complained-about or delivered recipients.

use serde_json::Value;

use super::Finding;
use crate::mime::{Mail, PlainBody};
use crate::report::{Feedback, Kind, Recipient};
use crate::text::{find_reply_code, find_status, leading_reply_code};

/// The notification's JSON names its type.
pub fn may_claim(_: &Mail<'_>, body: &PlainBody<'_>) -> bool {
    body.mentions("\"notificationType\"") || body.mentions("\"eventType\"")
}

pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let leaf = mail.text_parts().next()?;
    let text = leaf.text.as_deref()?;
    if !text.contains("\"notificationType\"") && !text.contains("\"eventType\"") {
        return None;
    }
    let start = text.find('{')?;
    let first = |t: &str| serde_json::Deserializer::from_str(t).into_iter::<Value>().next().and_then(Result::ok);
    // Long JSON lines arrive folded ("\n " inside a string): rejoin them when the first read fails.
    let doc = first(&text[start..]).or_else(|| first(&text[start..].replace("\r\n", "\n").replace("\n ", "")))?;
    let kind_name = doc["notificationType"].as_str().or(doc["eventType"].as_str())?;
    let mut finding = Finding { format: "amazon-ses", ..Default::default() };
    match kind_name {
        "Bounce" => {
            let bounce = &doc["bounce"];
            let transient = bounce["bounceType"].as_str() == Some("Transient");
            finding.kind = if transient { Kind::Delay } else { Kind::Bounce };
            finding.reporting_mta = bounce["reportingMTA"].as_str().map(|m| m.trim_start_matches("dsn; ").to_string());
            for r in bounce["bouncedRecipients"].as_array().into_iter().flatten() {
                let diagnostic = r["diagnosticCode"]
                    .as_str()
                    .map(|d| super::fields::remote_reply(d.trim_start_matches("smtp; ")).to_string());
                let diag = diagnostic.as_deref().unwrap_or("");
                finding.recipients.push(Recipient {
                    address: r["emailAddress"].as_str().map(str::to_string),
                    action: r["action"]
                        .as_str()
                        .map(str::to_string)
                        .or(Some(if transient { "delayed" } else { "failed" }.into())),
                    status: r["status"].as_str().map(str::to_string).or_else(|| find_status(diag)),
                    reply_code: leading_reply_code(diag).or_else(|| find_reply_code(diag)),
                    remote_mta: bounce["remoteMtaIp"].as_str().map(str::to_string),
                    diagnostic,
                    ..Default::default()
                });
            }
        }
        "Complaint" => {
            let complaint = &doc["complaint"];
            finding.kind = Kind::FeedbackReport;
            finding.feedback = Some(Feedback {
                feedback_type: complaint["complaintFeedbackType"].as_str().map(str::to_string),
                user_agent: complaint["userAgent"].as_str().map(str::to_string),
                ..Default::default()
            });
            for r in complaint["complainedRecipients"].as_array().into_iter().flatten() {
                let address = r["emailAddress"].as_str().map(str::to_string);
                finding.recipients.push(Recipient { address, reason: "feedback".into(), ..Default::default() });
            }
        }
        "Delivery" => {
            let delivery = &doc["delivery"];
            finding.kind = Kind::Delivered;
            for r in delivery["recipients"].as_array().into_iter().flatten() {
                finding.recipients.push(Recipient {
                    address: r.as_str().map(str::to_string),
                    action: Some("delivered".into()),
                    diagnostic: delivery["smtpResponse"].as_str().map(str::to_string),
                    reason: "delivered".into(),
                    ..Default::default()
                });
            }
        }
        _ => return None,
    }
    Some(finding)
}
