//! # ndr-filter
//!
//! The sans-IO core of the sandboxed backscatter filter: bytes of a message in, a [`Report`]
//! out. It answers what the message is (bounce, delay, auto-reply, feedback report, ...), what a
//! bounce says about each recipient, and (later) whether the bounce is about mail we sent.
//!
//! No I/O, no clock, no randomness: the host passes the time. The crate builds natively and to
//! `wasm32-unknown-unknown`; with the `abi` feature it exports the stable ABI of `docs/ABI.md`.
//!
//! ```
//! let raw = b"From: MAILER-DAEMON@mx.example\nSubject: Delivery Status Notification\n\
//! Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\
//! Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n\
//! Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n";
//! let report = ndr_filter::classify(raw, None, &ndr_filter::Config::default(), 0);
//! assert_eq!(report.kind, ndr_filter::Kind::Bounce);
//! assert_eq!(report.recipients[0].reason, "userunknown");
//! ```

pub mod batv;
mod config;
mod formats;
mod limits;
mod mime;
mod original;
pub mod reason;
mod report;
pub mod requests;
pub mod srs;
pub mod tags;
mod text;

/// The exports of the wasm module (tested through wasmtime in `tests/`: its addresses are 32-bit).
#[cfg(feature = "abi")]
pub mod abi;

pub use config::{Config, Envelope, Limits};
pub use report::{Feedback, Kind, Original, ReceivedHop, Recipient, Report};

/// ABI major version: a change that breaks hosts gets a new major and a new marker export.
pub const ABI_MAJOR: u32 = 1;
/// ABI minor version: new exports and new JSON fields.
pub const ABI_MINOR: u32 = 1;

/// Classify one message. `envelope` is the SMTP envelope when the host has it (absent for a
/// message read from disk); `now` is the host's clock in Unix seconds.
pub fn classify(raw: &[u8], envelope: Option<&Envelope>, config: &Config, now: u64) -> Report {
    let _ = (envelope, now); // used by the verdict (BATV, SRS), which builds on this report
    let mut report = Report::default();
    let bytes = limits::prepare(raw, &config.limits, &mut report.warnings);
    let Some(msg) = mime::parse(&bytes) else {
        report.error = Some("empty message".into());
        return report;
    };
    let mail = mime::view(&msg, config.limits.max_nesting);
    report.subject = mail.header("subject").map(str::to_string);
    report.from = mail.header("from").map(str::to_string);
    if mail.leaves.iter().any(|l| l.nested_skipped) {
        report.warnings.push(format!("nested messages deeper than {} were not read", config.limits.max_nesting));
    }
    if let Some(finding) = formats::detect(&mail) {
        report.kind = finding.kind;
        report.format = Some(finding.format.to_string());
        report.recipients = finding.recipients;
        report.reporting_mta = finding.reporting_mta;
        report.arrival_date = finding.arrival_date;
        report.feedback = finding.feedback;
        report.warnings.extend(finding.warnings);
        if report.recipients.len() > config.limits.max_recipients {
            report.warnings.push(format!(
                "{} recipients; only the first {} are listed",
                report.recipients.len(),
                config.limits.max_recipients
            ));
            report.recipients.truncate(config.limits.max_recipients);
        }
        if report.kind != Kind::Normal {
            report.original = original::find(&mail, report.kind.is_bounce());
        }
    }
    report.is_bounce = report.kind.is_bounce();
    report
}
