//! The registry of report formats. Each module answers "is this mine?" cheaply and then extracts
//! what the report says. `detect` tries them in a fixed order: structured reports first (their
//! MIME types are unambiguous), then the text formats, then automatic replies.
//!
//! Most mail is ordinary. [`may_claim`] asks every detector whether the headers (and the
//! undecoded body of a one-part text message) leave it a chance; when none has one, the body is
//! never parsed.

mod address;
mod arf;
mod challenge;
mod esp_events;
mod fields;
mod fml;
mod google_groups;
pub(crate) mod human;
mod rfc3464;
mod rfc3834;
mod rfc8098;
mod text_ndr;
mod virus_notice;

use std::sync::LazyLock;

use crate::mime::{Mail, PlainBody};
use crate::reason;
use crate::report::{Feedback, Kind, ReasonSource, Recipient};
use crate::text::{PhraseSet, find_last_failure_status, find_remote_host, find_smtp_command};

/// What a format detector found.
#[derive(Debug, Default)]
pub struct Finding {
    pub kind: Kind,
    pub format: &'static str,
    pub recipients: Vec<Recipient>,
    pub reporting_mta: Option<String>,
    pub arrival_date: Option<String>,
    pub feedback: Option<Feedback>,
    pub warnings: Vec<String>,
}

/// A format detector.
struct Detector {
    /// Names the detector in test failures.
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    /// Reads the whole message: the finding, if the message is of this format.
    detect: fn(&Mail<'_>) -> Option<Finding>,
    /// Given only the headers of a one-part text message and its undecoded body (see
    /// [`PlainBody`]): whether `detect` could claim the message. "No" must be certain.
    may_claim: fn(&Mail<'_>, &PlainBody<'_>) -> bool,
    /// The header fields `may_claim` reads (names in lower case): only those are parsed for
    /// the gate. A test fails when it reads another.
    gate_fields: &'static [&'static [&'static str]],
    /// The words `may_claim` asks the body for: all are found in one reading of it.
    gate_words: &'static [&'static [&'static str]],
}

/// For the structured formats: a one-part text message has none of their MIME parts.
fn needs_mime_parts(_: &Mail<'_>, _: &PlainBody<'_>) -> bool {
    false
}

/// The detectors, in the order they are tried.
const REGISTRY: &[Detector] = &[
    Detector {
        name: "rfc3464",
        detect: rfc3464::detect,
        may_claim: needs_mime_parts,
        gate_fields: &[],
        gate_words: &[],
    },
    Detector {
        name: "arf",
        detect: arf::detect,
        may_claim: arf::may_claim,
        gate_fields: arf::GATE_FIELDS,
        gate_words: &[],
    },
    Detector {
        name: "rfc8098",
        detect: rfc8098::detect,
        may_claim: needs_mime_parts,
        gate_fields: &[],
        gate_words: &[],
    },
    Detector {
        name: "esp-events",
        detect: esp_events::detect,
        may_claim: esp_events::may_claim,
        gate_fields: &[],
        gate_words: esp_events::GATE_WORDS,
    },
    Detector {
        name: "rfc3464-text",
        detect: rfc3464::detect_in_text,
        may_claim: rfc3464::may_claim_in_text,
        gate_fields: &[],
        gate_words: &[&["recipient:"]],
    },
    Detector {
        name: "google-groups",
        detect: google_groups::detect,
        may_claim: google_groups::may_claim,
        gate_fields: google_groups::GATE_FIELDS,
        gate_words: &[],
    },
    Detector {
        name: "fml",
        detect: fml::detect,
        may_claim: fml::may_claim,
        gate_fields: fml::GATE_FIELDS,
        gate_words: &[],
    },
    Detector {
        name: "virus-notice",
        detect: virus_notice::detect,
        may_claim: virus_notice::may_claim,
        gate_fields: virus_notice::GATE_FIELDS,
        gate_words: &[],
    },
    Detector {
        name: "text",
        detect: text_ndr::detect,
        may_claim: text_ndr::may_claim,
        gate_fields: text_ndr::GATE_FIELDS,
        gate_words: &[],
    },
    // Challenges often carry Auto-Submitted too: they are tried before auto-replies.
    Detector {
        name: "challenge",
        detect: challenge::detect,
        may_claim: challenge::may_claim,
        gate_fields: challenge::GATE_FIELDS,
        gate_words: &[],
    },
    Detector {
        name: "rfc3834",
        detect: rfc3834::detect,
        may_claim: rfc3834::may_claim,
        gate_fields: rfc3834::GATE_FIELDS,
        gate_words: &[],
    },
];

/// The first detector that claims the message, if any, with every recipient's SMTP command,
/// reason, hardness and (when the report gave none) pseudo status filled in.
pub fn detect(mail: &Mail<'_>) -> Option<Finding> {
    let mut finding = REGISTRY.iter().find_map(|d| (d.detect)(mail))?;
    enrich(mail, &mut finding);
    Some(finding)
}

/// Whether some detector could claim a one-part text message with these headers and body.
pub fn may_claim(head: &Mail<'_>, body: &PlainBody<'_>) -> bool {
    // The gates that read only headers first: when one says yes, the body is never read.
    let asks = |d: &&Detector| (d.may_claim)(head, body);
    REGISTRY.iter().filter(|d| d.gate_words.is_empty()).any(|d| asks(&d))
        || REGISTRY.iter().filter(|d| !d.gate_words.is_empty()).any(|d| asks(&d))
}

/// Every word the gates ask a body for ([`Detector::gate_words`]).
pub static GATE_WORDS: LazyLock<crate::mime::GateWords> = LazyLock::new(|| {
    let mut words: Vec<&'static str> =
        REGISTRY.iter().flat_map(|d| d.gate_words.iter().copied().flatten().copied()).collect();
    words.sort_unstable();
    words.dedup();
    crate::mime::GateWords::new(words)
});

/// Bits of [`quick_reading`].
pub const HOLDS_BRACE: u8 = 1;
pub const HOLDS_EVENT_KEY: u8 = 2;
pub const HOLDS_RECIPIENT_KEY: u8 = 4;

/// What the body gates need before they ask a body for words, in one reading eight bytes a
/// step to each `{`, `v`, `V` and `:`: whether `text` holds `{` ([`HOLDS_BRACE`], a JSON
/// document), `event=` or `event:` ([`HOLDS_EVENT_KEY`], Mailgun's legacy form), `recipient:`
/// ([`HOLDS_RECIPIENT_KEY`], pasted delivery-status fields); words in any case.
pub fn quick_reading(text: &[u8]) -> u8 {
    use crate::scan::{any_byte_below, splat, visit_marked, zero_bytes};
    let ends =
        |at: usize, word: &[u8]| at.checked_sub(word.len()).is_some_and(|s| text[s..at].eq_ignore_ascii_case(word));
    // A byte ORed with 0x20 is `v` only when it is `v` or `V`. Most words hold none of the
    // three: a test that says whether a word has a zero byte (not which) passes them first.
    let marks = |x: u64| {
        let (brace, v, colon) = (x ^ splat(b'{'), (x | splat(0x20)) ^ splat(b'v'), x ^ splat(b':'));
        // `{` and `:` differ in two bits: with them cleared, one test finds both (and `;`, `z`).
        let brace_or_colon = (x & splat(!0x41)) ^ splat(b':');
        if any_byte_below(brace_or_colon, 1) | any_byte_below(v, 1) == 0 {
            return 0;
        }
        zero_bytes(brace) | zero_bytes(v) | zero_bytes(colon)
    };
    let mut bits = 0;
    visit_marked(text, marks, |at| {
        bits |= match text[at] {
            b'{' => HOLDS_BRACE,
            b':' if ends(at, b"recipient") => HOLDS_RECIPIENT_KEY,
            b':' if ends(at, b"event") => HOLDS_EVENT_KEY,
            b'v' | b'V' if text.get(at + 4) == Some(&b'=') && ends(at + 4, b"event") => HOLDS_EVENT_KEY,
            _ => 0,
        };
        bits != HOLDS_BRACE | HOLDS_EVENT_KEY | HOLDS_RECIPIENT_KEY
    });
    bits
}

/// The header fields some detector's gate reads ([`Detector::gate_fields`]).
pub fn gate_fields() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().flat_map(|d| d.gate_fields.iter().copied().flatten().copied())
}

/// Derive what detectors leave open, the same way for every format.
fn enrich(mail: &Mail<'_>, finding: &mut Finding) {
    let single = finding.recipients.len() == 1;
    let mut retried_out = vec![false; finding.recipients.len()];
    for (n, r) in finding.recipients.iter_mut().enumerate() {
        // One spelling for every format: prefixes, brackets, punctuation and line breaks dropped.
        if let Some(a) = r.address.as_deref().and_then(address::normalise) {
            r.address = Some(a);
        }
        if r.remote_mta.is_none() {
            r.remote_mta = r.diagnostic.as_deref().and_then(find_remote_host);
        }
        // The remote server's own enhanced code (in its reply) is more precise than the code
        // the reporting MTA chose for the whole failure: prefer it when the classes agree,
        // unless it is generic (X.0.0, X.Y.0) where the report's code is specific.
        if let Some(d) = r.diagnostic.as_deref().and_then(find_last_failure_status) {
            let specific_over_generic =
                reason::is_generic_status(&d) && r.status.as_deref().is_some_and(|s| !reason::is_generic_status(s));
            if !specific_over_generic && r.status.as_deref().is_none_or(|s| s.as_bytes()[0] == d.as_bytes()[0]) {
                r.status = Some(d);
            }
        }
        if r.smtp_command.is_none() {
            r.smtp_command = r
                .diagnostic
                .as_deref()
                .and_then(find_smtp_command)
                .or_else(|| {
                    let text = human::report_text(mail);
                    let address = r.address.as_deref()?;
                    human::paragraph_about(text, address)
                        .and_then(|p| find_smtp_command(&p))
                        .or_else(|| human::transcript_command(text, address))
                })
                .map(str::to_string);
        }
        if r.reason.is_empty() {
            let (status, code) = (r.status.as_deref(), r.reply_code.as_deref());
            // A one-recipient report's whole text speaks for it when its own lines do not.
            let text = if single { Some(human::report_text(mail)) } else { None };
            let texts: Vec<&str> = r.diagnostic.as_deref().into_iter().chain(text).collect();
            retried_out[n] = texts.iter().any(|t| RETRIED_OUT.any_in(t));
            let mut why = reason::decide(status, code, &texts, r.smtp_command.as_deref());
            // The receiver's own wording wins over the generic tables.
            // Known by its MTA, else by the recipient's domain (a receiver behind a filtering
            // service keeps its own codes).
            let domain = r.address.as_deref().and_then(|a| a.rsplit_once('@')).map(|(_, d)| d);
            let mut hosts = r.remote_mta.as_deref().into_iter().chain(domain);
            if let Some(receiver) = hosts.find_map(|h| reason::refine_for_receiver(h, &texts)) {
                why = receiver;
            }
            // Still being retried, with a bare status (X.Y.0) and nothing in words: sisimai's
            // reading of a delay is "expired".
            let bare = status.is_none_or(|s| s.ends_with(".0"));
            if r.action.as_deref() == Some("delayed")
                && bare
                && reason::classify(None, None, &texts, None) == "undefined"
            {
                why = reason::Decision { reason: "expired", source: ReasonSource::new("delay", "rfc3464", "delayed") };
            }
            // Nothing found in words that do say something: sisimai's "onhold" (undecided), as
            // opposed to "undefined" (nothing to read).
            if why.reason == "undefined"
                && r.diagnostic.as_deref().is_some_and(|d| says_something(d, r.address.as_deref()))
            {
                why = reason::Decision { reason: "onhold", source: ReasonSource::new("fallback", "none", "onhold") };
            }
            r.reason = why.reason.to_string();
            r.reason_source = Some(why.source);
        } else if r.reason_source.is_none() {
            // The detector set the reason: the report's format says it (feedback, auto-reply ...).
            r.reason_source = Some(ReasonSource::new("format", finding.format, &r.reason));
        }
        r.hard = reason::is_hard(&r.reason, r.status.as_deref(), r.reply_code.as_deref());
    }
    if finding.kind.is_bounce() {
        let class = if finding.kind == Kind::Delay { '4' } else { '5' };
        for (r, retried_out) in finding.recipients.iter_mut().zip(retried_out) {
            // Failed after retrying temporary errors until the retry time ran out: the errors
            // were of class 4 (sisimai gives Exim's such failures a 4.x pseudo status).
            reason::fill_pseudo_status(r, class);
            if retried_out && r.pseudo_status && r.reply_code.is_none() {
                r.status = r.status.as_deref().map(|s| format!("4{}", &s[1..]));
            }
        }
    }
}

/// Exim's words for a failure after temporary errors outlasted the retry rules.
static RETRIED_OUT: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::of(&["retry timeout exceeded", "have been failing for a long time"]));

/// Whether a diagnostic holds words besides the recipient's address.
fn says_something(diagnostic: &str, address: Option<&str>) -> bool {
    let rest = match address {
        Some(a) if !a.is_empty() => diagnostic.to_ascii_lowercase().replace(&a.to_ascii_lowercase(), ""),
        _ => diagnostic.to_string(),
    };
    rest.split_whitespace().any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_reading_finds_what_the_body_gates_need() {
        let (brace, event, recipient) = (HOLDS_BRACE, HOLDS_EVENT_KEY, HOLDS_RECIPIENT_KEY);
        for (text, bits) in [
            ("", 0),
            ("x {\"a\"", brace),
            ("EVENT=bounced", event),
            ("Event: x", event),
            ("prevent= x", event),
            ("Final-Recipient: rfc822; a@b", recipient),
            ("{ event: Recipient:", brace | event | recipient),
            ("event events: evenT x v= event = recipient : ecipient: [] vvvv:", 0),
        ] {
            assert_eq!(quick_reading(text.as_bytes()), bits, "{text}");
        }
    }

    /// On texts where the marked bytes fall anywhere in the words read (and bytes next to
    /// them in value: the word test must let through exactly the words that hold one).
    #[test]
    fn the_quick_reading_agrees_with_a_reading_byte_by_byte() {
        let pieces = ["{", "v", "V", ":", "=", "event", "EVENT", "recipient", "z", "y", ";", "\u{ff}", "abc", " ", "|"];
        for text in crate::text::random_joins(&pieces, 4000, 12) {
            let lower = text.to_ascii_lowercase();
            let mut want = 0;
            if text.contains('{') {
                want |= HOLDS_BRACE;
            }
            if lower.contains("event=") || lower.contains("event:") {
                want |= HOLDS_EVENT_KEY;
            }
            if lower.contains("recipient:") {
                want |= HOLDS_RECIPIENT_KEY;
            }
            assert_eq!(quick_reading(text.as_bytes()), want, "{text:?}");
        }
    }

    /// The finding for a whole message, as `detect` gives it (for the detectors' own tests too).
    pub(super) fn finding(raw: &[u8]) -> Finding {
        let msg = crate::mime::parse(raw).expect("parses");
        let mail = crate::mime::view(&msg, &crate::Limits::default());
        detect(&mail).expect("a report")
    }

    #[test]
    fn fml_notice_names_the_list() {
        let raw = b"From: neko-admin@example.org\nTo: a@example.net\nSubject: You a@example.net are not member (neko ML)\nX-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\n\nYou are not a member of this mailing list <neko@example.org>.\n";
        let f = finding(raw);
        assert_eq!(f.format, "fml");
        assert_eq!(f.recipients[0].address.as_deref(), Some("neko@example.org"));
        assert_eq!(f.recipients[0].reason, "rejected");
    }

    #[test]
    fn text_report_paragraphs_end_at_the_next_recipient() {
        let raw = b"From: MAILER-DAEMON@example.jp\nSubject: Delivery status notification\n\nAn error has occurred while attempting to deliver a message for\nthe following list of recipients:\n\nfull@example.jp: 550 5.2.2 <full@example.jp>... Mailbox Full\nnone@example.jp: 550 5.1.1 <none@example.jp>... User Unknown\n";
        let f = finding(raw);
        let full = f.recipients.iter().find(|r| r.address.as_deref() == Some("full@example.jp")).unwrap();
        assert_eq!((full.status.as_deref(), full.reason.as_str()), (Some("5.2.2"), "mailboxfull"));
    }

    #[test]
    fn x_unix_diagnostics_are_mailer_errors_and_undecided_words_are_onhold() {
        let dsn = |diag: &str| {
            format!(
                "From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\nSorry.\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: {diag}\n--b--\n"
            )
        };
        assert_eq!(finding(dsn("x-unix; temporary failure").as_bytes()).recipients[0].reason, "mailererror");
        assert_eq!(finding(dsn("x-unix; Disk quota exceeded").as_bytes()).recipients[0].reason, "mailboxfull");
        assert_eq!(finding(dsn("smtp; 550 Frobnication refused").as_bytes()).recipients[0].reason, "onhold");
        // Each says why.
        let why = |diag: &str| finding(dsn(diag).as_bytes()).recipients[0].reason_source.clone().unwrap();
        assert_eq!(why("x-unix; temporary failure"), ReasonSource::new("diagnostic_type", "rfc3464", "x-unix"));
        assert_eq!(why("x-unix; Disk quota exceeded"), ReasonSource::new("phrase", "mailboxfull", "quota exceeded"));
        assert_eq!(why("smtp; 550 Frobnication refused"), ReasonSource::new("fallback", "none", "onhold"));
        let gmail = "smtp; 550-5.1.1 The email account that you tried to reach does not exist. x - gsmtp";
        let f = finding(
            dsn(&gmail.replace("x - gsmtp", ""))
                .replace("mx.example.org", "mx.google.com")
                .replace("a@example.org", "a@gmail.com")
                .as_bytes(),
        );
        assert_eq!(f.recipients[0].reason_source.as_ref().unwrap().rule, "receiver");
    }

    #[test]
    fn a_specific_status_is_kept_over_a_generic_one_in_the_reply() {
        let dsn = |status: &str, diag: &str| {
            format!(
                "From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\nSorry.\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: {status}\nDiagnostic-Code: smtp; {diag}\n--b--\n"
            )
        };
        let status = |s: &str, d: &str| finding(dsn(s, d).as_bytes()).recipients[0].status.clone().unwrap();
        // The reply's specific code is preferred; its generic one (X.0.0, X.Y.0) is not.
        assert_eq!(status("5.0.0", "550 5.2.2 Mailbox full"), "5.2.2");
        assert_eq!(status("5.2.2", "550 5.0.0 Mailbox full"), "5.2.2");
        assert_eq!(status("5.1.1", "550 5.1.0 Address rejected"), "5.1.1");
        assert_eq!(status("5.0.0", "550 5.1.0 Address rejected"), "5.1.0");
    }

    #[test]
    fn the_failed_recipient_not_the_addresses_quoted_or_advised() {
        let raw = b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<SMTP:Kiji.Tora@example.net>: host mx.example.net said: 550 5.1.1 User unknown\n\nFor help, write to postmaster@mx.example.org.\n\n> Hello, please forward this to friend@example.jp\n> as we discussed.\n";
        let f = finding(raw);
        let got: Vec<_> = f.recipients.iter().filter_map(|r| r.address.as_deref()).collect();
        assert_eq!(got, ["Kiji.Tora@example.net"]);
    }

    #[test]
    fn a_reason_set_by_the_format_says_so() {
        let raw = b"From: neko-admin@example.org\nTo: a@example.net\nSubject: You a@example.net are not member (neko ML)\nX-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\n\nYou are not a member of this mailing list <neko@example.org>.\n";
        let f = finding(raw);
        assert_eq!(f.recipients[0].reason_source, Some(ReasonSource::new("format", "fml", "rejected")));
    }

    #[test]
    fn every_detector_rejects_empty_garbage_and_ordinary_mail() {
        let samples: &[&[u8]] = &[
            b"\n",
            b"\x00\xff\xfe garbage \x01",
            b"From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: lunch\n\nSee you at noon.\n",
            b"From: a@example.com\nSubject: Re: out of office policy\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhello\n--x--\n",
        ];
        for raw in samples {
            let Some(msg) = crate::mime::parse(raw) else {
                continue;
            };
            let mail = crate::mime::view(&msg, &crate::Limits::default());
            for d in REGISTRY {
                assert!((d.detect)(&mail).is_none(), "{} claimed {:?}", d.name, String::from_utf8_lossy(raw));
            }
        }
    }

    /// Whether the header gate lets `raw` through to the detectors: `None` when the message is
    /// not one text part (the gate does not apply), else whether some detector may claim it.
    fn gate(raw: &[u8]) -> Option<bool> {
        let head = crate::mime::parse_head(raw)?;
        let body = crate::mime::plain_body(&head, crate::mime::body_after(&head, raw), &crate::Limits::default())?;
        Some(may_claim(&crate::mime::view(&head, &crate::Limits::default()), &body))
    }

    #[test]
    fn the_gate_turns_away_ordinary_mail_and_reads_the_body_only_when_it_must() {
        let ordinary = b"From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: lunch\n\nSee you at noon.\n";
        assert_eq!(gate(ordinary), Some(false));
        // Each detector's own sign, in a one-part text message.
        for raw in [
            "From: MAILER-DAEMON@example.org\nSubject: hi\n\nx\n",
            "From: a@example.org\nSubject: Undelivered Mail Returned to Sender\n\nx\n",
            "From: a@example.org\nX-Failed-Recipients: b@example.org\n\nx\n",
            "From: a@example.org\nX-MLServer: fml [fml 4.0]\n\nx\n",
            "From: a@example.org\nSubject: VIRUS IN YOUR MAIL\n\nx\n",
            "From: a@example.org\nAuto-Submitted: auto-replied\n\nx\n",
            "From: a@example.org\nX-Apple-Unsubscribe: true\n\nx\n",
            "From: a@example.org\n\n{\"notificationType\":\"Bounce\"}\n",
            "From: a@example.org\n\nReporting-MTA: dns; x\n\nFINAL-RECIPIENT: rfc822; b@example.org\n",
            // A quoted-printable soft line break inside the field name.
            "From: a@example.org\nContent-Transfer-Encoding: quoted-printable\n\nFinal-Recip=\nient: rfc822; b@example.org\n",
            "From: a@example.org\nContent-Transfer-Encoding: quoted-printable\n\nFinal-Recipient=3A rfc822; b@example.org\n",
        ] {
            assert_eq!(gate(raw.as_bytes()), Some(true), "{raw}");
        }
        // Bodies the gate cannot read without decoding, and MIME structures: always parsed.
        for raw in [
            "From: a@example.org\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n",
            "From: a@example.org\nContent-Type: text/plain; charset=utf-16\n\nh\x00i\x00\n",
            "From: a@example.org\nContent-Type: text/plain; charset=csUnicode\n\nh\x00i\x00\n",
            "From: a@example.org\nContent-Type: text/plain; charset=iso-2022-jp\n\nFinal-Recip\x1b(Bient: x\n",
            "From: a@example.org\nContent-Type: text/rfc822-headers\n\nFrom: b@example.org\n",
            "From: a@example.org\nContent-Type: multipart/report; boundary=x\n\n--x\n\nhi\n--x--\n",
            "From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\nFrom: b\n\nhi\n--x--\n",
        ] {
            assert_eq!(gate(raw.as_bytes()), None, "{raw}");
        }
        // Ordinary mail in any MIME shape leaves after its headers; a report's words in a part do not.
        let mixed = |part: &str| {
            format!("From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n--x\n{part}\n--x--\n")
        };
        assert_eq!(gate(mixed("Content-Type: text/plain\n\nhi").as_bytes()), Some(false));
        assert_eq!(
            gate(mixed("Content-Type: text/plain\n\nFinal-Recipient: rfc822; b@example.org").as_bytes()),
            Some(true)
        );
        let qp = "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nFinal-Recip=\nient: x";
        assert_eq!(gate(mixed(qp).as_bytes()), Some(true));
    }

    /// On real mail: every message a detector claims passes that detector's gate (a "no" from the
    /// gate is certain), and a message the gate turns away has the same headers read either way.
    #[test]
    fn the_gate_never_turns_away_a_message_a_detector_claims() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
        assert!(corpus.is_dir(), "{} is missing", corpus.display());
        let (mut claimed, mut turned_away, mut multipart_turned_away) = (0, 0, 0);
        let mut folders = vec![corpus];
        while let Some(dir) = folders.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let raw = std::fs::read(&path).unwrap();
                let limits = crate::Limits::default();
                let bytes = crate::limits::prepare(&raw, &limits, &mut Vec::new());
                let (Some(head), Some(whole)) = (crate::mime::parse_head(&bytes), crate::mime::parse(&bytes)) else {
                    continue;
                };
                let Some(body) = crate::mime::plain_body(&head, crate::mime::body_after(&head, &bytes), &limits) else {
                    continue;
                };
                let (head_view, whole_view) = (crate::mime::view(&head, &limits), crate::mime::view(&whole, &limits));
                for d in REGISTRY {
                    if (d.detect)(&whole_view).is_some() {
                        claimed += 1;
                        assert!((d.may_claim)(&head_view, &body), "{} claims {} past its gate", d.name, path.display());
                    }
                }
                if !may_claim(&head_view, &body) {
                    turned_away += 1;
                    let root = head.root_part();
                    if mail_parser::MimeHeaders::content_type(root)
                        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
                    {
                        multipart_turned_away += 1;
                    }
                    assert_eq!(head_view.fields_read(), whole_view.fields_read(), "{}", path.display());
                    assert_eq!(head_view.cuts, whole_view.cuts, "{}", path.display());
                }
            }
        }
        assert!(claimed > 100 && turned_away > 1000, "{claimed} claimed, {turned_away} turned away");
        // Ordinary mail leaves after its headers in multipart shapes too (`scan.rs`).
        assert!(multipart_turned_away > 80, "{multipart_turned_away} multiparts turned away");
    }
}
