//! The report: plain data that every host (native, wasm ABI, JavaScript, CLI) sees the same way.

use serde::{Deserialize, Serialize};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Permanent delivery failure (non-delivery report).
    Bounce,
    /// Transient failure: a delayed DSN or a warning that delivery is still being tried.
    Delay,
    /// Success DSN: relayed, delivered or expanded.
    Delivered,
    /// Vacation, out-of-office or another RFC 3834 automatic reply.
    AutoReply,
    /// A challenge-response request ("confirm you are human").
    ChallengeResponse,
    /// RFC 5965 abuse feedback report (ARF).
    FeedbackReport,
    /// RFC 8098 message disposition notification (read receipt).
    ReadReceipt,
    /// Anything else: ordinary mail.
    #[default]
    Normal,
}

impl Kind {
    /// True for the kinds that report a failed delivery.
    pub fn is_bounce(self) -> bool {
        matches!(self, Kind::Bounce | Kind::Delay)
    }
}

/// One recipient that a report speaks of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Recipient {
    pub address: Option<String>,
    /// RFC 3464 action: `failed`, `delayed`, `delivered`, `relayed`, `expanded` (lower case).
    pub action: Option<String>,
    /// RFC 3463 enhanced status, e.g. `5.1.1`.
    pub status: Option<String>,
    /// True when the report gave no status and `status` is sisimai's pseudo status for the
    /// reason (`5.0.9xx`, only its class digit is meaningful).
    pub pseudo_status: bool,
    /// SMTP reply code, e.g. `550`.
    pub reply_code: Option<String>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub smtp_command: Option<String>,
    /// Reason class in sisimai's vocabulary (`userunknown`, `mailboxfull`, ...).
    pub reason: String,
    /// Which rule decided `reason`: the phrase, status code, reply code or fallback behind it.
    /// Absent only on recipients of a report that was never classified.
    pub reason_source: Option<ReasonSource>,
    /// True when retrying can never succeed.
    pub hard: bool,
    pub original_recipient: Option<String>,
    pub last_attempt: Option<String>,
}

/// Why a recipient has its reason: the rule that decided it, and the table entry it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReasonSource {
    /// `phrase` (a reason's phrase table), `receiver` (a receiver's own wording), `status`
    /// (the enhanced status code), `reply_code` (the SMTP reply code), `smtp_command` (the stage
    /// at which the server refused), `delay` (a delay notice with nothing more specific),
    /// `format` (the report's format says it: feedback, auto-reply, delivered ...), `fallback`
    /// (nothing decided it: `undefined` or `onhold`).
    pub rule: String,
    /// The table the entry belongs to: the phrase table's name (`userunknown`, `gave_up`), the
    /// receiver (`google`), the status registry (`rfc3463`, `rfc7372` ...), `rfc5321`, the format.
    pub table: String,
    /// The entry itself: the phrase (lower case), the status code (`5.1.1`), the reply code,
    /// the SMTP command, or the reason a fallback gave.
    pub entry: String,
}

impl ReasonSource {
    pub fn new(rule: &str, table: &str, entry: &str) -> ReasonSource {
        ReasonSource { rule: rule.into(), table: table.into(), entry: entry.into() }
    }
}

/// One `Received:` line of the returned original, in header order (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReceivedHop {
    pub from_host: Option<String>,
    pub by_host: Option<String>,
    pub ip: Option<String>,
}

/// The returned original message, as far as the report carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Original {
    /// Where it came from: `message/rfc822`, `text/rfc822-headers`, `message/global`,
    /// `message/global-headers` or `inline` (pasted into the text).
    pub source: String,
    /// True when only the headers were returned.
    pub headers_only: bool,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub return_path: Option<String>,
    pub received: Vec<ReceivedHop>,
}

/// RFC 5965 fields of a feedback report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Feedback {
    pub feedback_type: Option<String>,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    pub original_mail_from: Option<String>,
    pub reported_domain: Option<String>,
}

/// What our BATV key ring and SRS secrets say about one envelope recipient (RCPT TO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RcptCheck {
    pub address: String,
    /// The BATV verification, when the site configures BATV.
    pub batv: Option<crate::batv::Verified>,
    /// The SRS reversal, when the site configures SRS and the address is SRS: `address` is the
    /// original sender the bounce goes back to.
    pub srs: Option<crate::srs::Reversed>,
}

/// The answer for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    pub kind: Kind,
    /// True for `bounce` and `delay`.
    pub is_bounce: bool,
    /// The report format it was recognised from (`rfc3464`, `arf`, `rfc8098`, `rfc3834`, ...).
    pub format: Option<String>,
    pub recipients: Vec<Recipient>,
    pub original: Option<Original>,
    pub reporting_mta: Option<String>,
    pub arrival_date: Option<String>,
    /// Feedback-report fields, for kind `feedback_report`.
    pub feedback: Option<Feedback>,
    /// Our tags on the envelope recipients (needs the envelope and a `batv` or `srs` config).
    pub rcpt_checks: Vec<RcptCheck>,
    /// For reports (bounce, delay, delivered, auto-reply, challenge): is it about mail we sent?
    pub verdict: Option<crate::verdict::Verdict>,
    /// What the host should do with the message.
    pub action: Option<crate::verdict::Action>,
    /// `rcpt` or `data`: the SMTP stage at which the action can be taken.
    pub stage: Option<String>,
    /// The reply for `reject` and `tempfail`.
    pub smtp_reply: Option<crate::verdict::SmtpReply>,
    /// Every piece of evidence, with its weight.
    pub signals: Vec<crate::verdict::Signal>,
    /// The sum of the signals' weights (positive: ours).
    pub score: Option<i32>,
    /// True when the envelope was read from delivery headers (Return-Path, X-Original-To).
    pub envelope_inferred: bool,
    /// The message's own Subject and From, decoded.
    pub subject: Option<String>,
    pub from: Option<String>,
    /// What was odd, truncated or skipped.
    pub warnings: Vec<String>,
    /// Set when the input could not be analysed at all; the other fields are then partial.
    pub error: Option<String>,
}
