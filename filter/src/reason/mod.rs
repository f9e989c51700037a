//! Reason classes (sisimai's vocabulary, `shared/reasons.md`) and how a recipient gets one:
//! from the RFC 3463 status, then the SMTP reply code. The tables are data in `status.rs`.

use std::cell::OnceCell;

use crate::report::ReasonSource;

mod phrases;
mod rhost;
mod status;

/// Every reason class the filter can report.
pub const REASONS: &[&str] = &[
    "authfailure",
    "badreputation",
    "blocked",
    "contenterror",
    "delivered",
    "exceedlimit",
    "expired",
    "failedstarttls",
    "feedback",
    "filtered",
    "hasmoved",
    "hostunknown",
    "mailboxfull",
    "mailererror",
    "mesgtoobig",
    "networkerror",
    "norelaying",
    "notaccept",
    "notcompliantrfc",
    "onhold",
    "policyviolation",
    "rejected",
    "requireptr",
    "securityerror",
    "spamdetected",
    "speeding",
    "suppressed",
    "suspend",
    "syntaxerror",
    "systemerror",
    "systemfull",
    "toomanyconn",
    "undefined",
    "userunknown",
    "vacation",
    "virusdetected",
];

/// A reason and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reason: &'static str,
    pub source: ReasonSource,
}

impl Decision {
    fn new(reason: &'static str, rule: &str, table: &str, entry: &str) -> Decision {
        Decision { reason, source: ReasonSource::new(rule, table, entry) }
    }

    fn by_status(code: &str) -> Option<Decision> {
        status::lookup(code).map(|(reason, reference)| Decision::new(reason, "status", reference, code))
    }

    fn by_phrase(table: &phrases::Table, phrase: &str) -> Decision {
        Decision::new(table.reason, "phrase", table.name, phrase)
    }

    /// The same source, another reason: a rule that keeps the evidence but reads it otherwise.
    fn restated(self, reason: &'static str, rule: &str, entry: &str) -> Decision {
        Decision::new(reason, rule, &format!("{}:{}", self.source.rule, self.source.entry), entry)
    }
}

/// The reason for a failed recipient (see [`decide`]).
pub fn classify(status: Option<&str>, reply_code: Option<&str>, texts: &[&str], command: Option<&str>) -> &'static str {
    decide(status, reply_code, texts, command).reason
}

/// The reason for a failed recipient and the rule behind it: what its texts say first (the
/// phrase tables, tried on each text in order: its own diagnostic, then, for a one-recipient
/// report, the report's text), then its status, then its reply code. A recipient refused as
/// unknown after DATA (or at an unknown stage, without a X.1.1 status) is `filtered`: the
/// mailbox may exist, a filter said no.
pub fn decide(status: Option<&str>, reply_code: Option<&str>, texts: &[&str], command: Option<&str>) -> Decision {
    let by_status = status.and_then(status::reason_for_status);
    // Typographic apostrophes (Office 365 "wasn’t found") read as ASCII ones. Each text is
    // read only when a question needs it: most answers come from the first. The phrase sets
    // ignore ASCII case, so only a text with other letters is lowered.
    let lowered_cells: Vec<OnceCell<String>> = texts.iter().map(|_| OnceCell::new()).collect();
    let lowered = || {
        texts.iter().zip(&lowered_cells).map(|(t, cell)| {
            cell.get_or_init(|| {
                if t.is_ascii() {
                    return without_continuations(t);
                }
                without_continuations(&crate::text::lower(t).replace('\u{2019}', "'"))
            })
            .as_str()
        })
    };
    // The recipient's own diagnostic first. A specific status (not X.0.0) outranks the wording
    // of the report's whole text, which also carries transcripts, advice and boilerplate.
    // X.4.7 ("delivery time expired") only says that retries ran out; the text says why.
    let specific_status = by_status.filter(|r| *r != "expired" && status.is_some_and(|c| !c.ends_with(".0.0")));
    let by_text = lowered()
        .next()
        .and_then(phrases::table_for_text)
        .or_else(|| if specific_status.is_some() { None } else { lowered().skip(1).find_map(phrases::table_for_text) });
    // "Giving up", "in the queue too long": the note that retries ran out, appended to the
    // last error (qmail, Yahoo). The error itself, or its status, names the cause first.
    let gave_up = || lowered().find_map(|t| phrases::GAVE_UP.last_in(t)).map(|i| phrases::GAVE_UP_PHRASES[i]);
    let names_missing_host = || lowered().any(|t| phrases::HOST_NOT_FOUND.any_in(t));
    let code = status.unwrap_or("");
    let status_decision = || status.and_then(Decision::by_status);
    let decision = match (by_text, by_status) {
        // A few codes say exactly what happened, whatever the wording: X.1.6 moved, X.2.3 the
        // recipient's size limit, X.7.13 a disabled account, the RFC 7372 authentication codes.
        (_, Some(_)) if EXACT_DETAILS.iter().any(|d| code.ends_with(d)) => status_decision(),
        // X.2.3 is the recipient's own size limit; the wording cannot tell it from a system limit.
        (Some((t, _)), Some("exceedlimit")) if t.reason == "mesgtoobig" => status_decision(),
        // A failed DNS lookup with X.4.4 ("unable to route") that says the name was not found.
        (Some((t, _)), Some("hostunknown")) if t.reason == "networkerror" && names_missing_host() => status_decision(),
        (Some((t, p)), _) => Some(Decision::by_phrase(t, p)),
        (None, Some(_)) => status_decision(),
        (None, None) => None,
    }
    .or_else(|| {
        let c = reply_code?;
        status::reason_for_reply_code(c).map(|r| Decision::new(r, "reply_code", "rfc5321", c))
    })
    .or_else(|| gave_up().map(|p| Decision::new("expired", "phrase", "gave_up", p)))
    .unwrap_or_else(|| Decision::new("undefined", "fallback", "none", "undefined"));
    let decision = match lowered().next() {
        Some(own) => not_the_mailbox(decision, own),
        None => decision,
    };
    // "User unknown" is certain when the status says so (X.1.1) or the server said it at RCPT
    // or before; said after DATA, or at an unknown stage, a filter may be speaking (sisimai).
    let said_early = matches!(command, Some("RCPT" | "MAIL" | "HELO" | "EHLO" | "CONN"));
    let certain = || lowered().any(|t| phrases::USERUNKNOWN_CERTAIN.any_in(t));
    // Asked only of a `userunknown`: the others need not read (nor prepare) the report's text.
    let filtered = || by_status != Some("userunknown") && (command == Some("DATA") || (!said_early && !certain()));
    let reason = decision.reason;
    if reason == "userunknown" && filtered() {
        return decision.restated("filtered", "smtp_command", command.unwrap_or("unknown"));
    }
    // Refused at the greeting or HELO: the server turned down the client itself.
    if let Some(c @ ("CONN" | "HELO" | "EHLO")) = command
        && matches!(reason, "undefined" | "rejected" | "securityerror")
    {
        return decision.restated("blocked", "smtp_command", c);
    }
    // Refused at MAIL FROM: the server turned down the sender, not a recipient.
    if command == Some("MAIL") && matches!(reason, "userunknown" | "securityerror" | "undefined") {
        return decision.restated("rejected", "smtp_command", "MAIL");
    }
    decision
}

/// A refusal of the sender, its network or its message is not an unknown mailbox, whatever
/// code or "unknown" wording it came with (a rate limit sent as 5.1.1, "mailbox unavailable"
/// for a policy block): where the recipient's own diagnostic (`own`, lower case) names one, a
/// `userunknown` decision yields to it (see `phrases::NOT_THE_MAILBOX`).
fn not_the_mailbox(decision: Decision, own: &str) -> Decision {
    if decision.reason != "userunknown" {
        return decision;
    }
    phrases::not_the_mailbox(own).map_or(decision, |(t, p)| Decision::by_phrase(t, p))
}

/// Status details whose meaning no wording overrides.
const EXACT_DETAILS: &[&str] =
    &[".1.6", ".2.3", ".7.13", ".7.20", ".7.21", ".7.22", ".7.23", ".7.24", ".7.25", ".7.26", ".7.29", ".7.54"];

/// A multi-line reply joined into one line repeats its code ("550-5.7.1 … 550-5.7.1 …"): drop
/// the repeats so that phrases spanning the line breaks match. White space is collapsed as
/// [`crate::text::collapse_ws`] does. One pass that writes the result directly: this runs on
/// every text `decide` reads, the report's whole text among them.
fn without_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut push = |w: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    };
    let mut first_code: Option<&str> = None;
    // After a repeated bare code ("550"), an enhanced status that follows it is dropped too.
    let mut after_bare_code = false;
    crate::text::each_word(text, |w| {
        if std::mem::take(&mut after_bare_code)
            && w.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && w.contains('.')
        {
            return;
        }
        let code =
            w.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()) && (w.len() == 3 || w.as_bytes()[3] == b'-'));
        match (code, first_code) {
            (Some(c), Some(f)) if c == f => {
                // "550-No SMTP service": the line's first word is glued to the code; keep it.
                if w.len() > 4 && !w[4..].starts_with(|ch: char| ch.is_ascii_digit()) {
                    push(&w[4..]);
                }
                // Else skip "550-5.7.1", or "550" (and the status after it).
                after_bare_code = w.len() == 3;
                return;
            }
            (Some(c), None) => first_code = Some(c),
            _ => {}
        }
        push(w);
    });
    out
}

/// The reading of the receiver that answered (`host`: its MTA, or the recipient's domain), when
/// it is one whose wording has a meaning of its own: of the first of `texts` (the recipient's
/// diagnostic, then the report's text) with one of its phrases.
pub fn refine_for_receiver(host: &str, texts: &[&str]) -> Option<Decision> {
    let (name, phrase, reason, text) = rhost::refine(host, texts)?;
    let decision = Decision::new(reason, "receiver", name, phrase);
    Some(not_the_mailbox(decision, &crate::text::lower_non_ascii(text)))
}

/// Give a failed or delayed recipient without a status sisimai's pseudo status for its reason.
/// The class comes from the reply code, else the action, else the report's kind.
pub fn fill_pseudo_status(r: &mut crate::report::Recipient, kind_class: char) {
    if r.status.is_some() || matches!(r.action.as_deref(), Some("delivered" | "relayed" | "expanded")) {
        return;
    }
    let class = match (r.reply_code.as_deref().and_then(|c| c.chars().next()), r.action.as_deref()) {
        (Some(c @ ('4' | '5')), _) => c,
        (_, Some("delayed")) => '4',
        (_, Some("failed")) => '5',
        _ => kind_class,
    };
    r.status = Some(status::pseudo_status(&r.reason, class));
    r.pseudo_status = true;
}

/// Whether a status names only its class or subject (`X.0.0`, `X.1.0` ...).
pub fn is_generic_status(code: &str) -> bool {
    status::is_generic(code)
}

/// Whether retrying can never succeed (the rules of `shared/reasons.md`).
pub fn is_hard(reason: &str, status: Option<&str>, reply_code: Option<&str>) -> bool {
    match reason {
        "userunknown" | "hostunknown" | "hasmoved" => true,
        // RFC 7505 X.7.27 is a refusal of the sender's null-MX domain: the recipient may exist.
        "notaccept" if status.is_some_and(|s| s.ends_with(".7.27")) => false,
        "notaccept" => status.is_some_and(|s| s.starts_with('5')) || reply_code.is_some_and(|c| c.starts_with('5')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_first_then_reply_code() {
        assert_eq!(classify(Some("5.1.1"), Some("550"), &[], None), "userunknown");
        assert_eq!(classify(Some("5.2.2"), None, &[], None), "mailboxfull");
        assert_eq!(classify(Some("4.4.7"), None, &[], None), "expired");
        assert_eq!(classify(Some("5.0.0"), Some("552"), &[], None), "mailboxfull");
        assert_eq!(classify(None, None, &[], None), "undefined");
    }

    #[test]
    fn text_before_status_and_data_makes_unknown_filtered() {
        assert_eq!(classify(Some("5.1.1"), None, &["552 5.1.1 Mailbox full"], None), "mailboxfull");
        let unknown = &["550 5.1.1 <a@b.example>: Recipient address rejected: User unknown"];
        assert_eq!(classify(Some("5.1.1"), Some("550"), unknown, Some("RCPT")), "userunknown");
        // After DATA a filter may speak, unless the status itself says X.1.1 (sisimai).
        assert_eq!(classify(Some("5.1.1"), Some("550"), unknown, Some("DATA")), "userunknown");
        assert_eq!(classify(Some("5.0.0"), Some("550"), unknown, Some("DATA")), "filtered");
        assert_eq!(classify(None, Some("550"), &["550 <a@b.example>: User unknown"], None), "filtered");
        // The note that retries ran out yields to the error before it, or its status.
        let qmail = &[
            "Unable to contact LDAP server. (#4.4.3)I'm not going to try again; this message has been in the queue too long.",
        ];
        assert_eq!(classify(Some("4.4.3"), None, qmail, None), "systemerror");
        assert_eq!(
            classify(None, None, &["Unable to deliver message after multiple retries, giving up."], None),
            "expired"
        );
        // A glued continuation ("554-Bad DNS PTR") keeps its first word.
        let gmx = &["554-mail.com ESMTP Service not available 554-No SMTP service 554-Bad DNS PTR resource record."];
        assert_eq!(classify(Some("4.0.0"), None, gmx, Some("HELO")), "requireptr");
        let sender = &["553 5.1.8 <x@y.example>: Sender address rejected: Domain not found"];
        assert_eq!(classify(Some("5.1.8"), None, sender, Some("MAIL")), "rejected");
        assert_eq!(
            classify(Some("5.2.3"), None, &["552 5.2.3 Message size exceeds fixed maximum"], None),
            "exceedlimit"
        );
        assert_eq!(
            classify(Some("5.3.4"), None, &["552 5.3.4 Message size exceeds fixed maximum"], None),
            "mesgtoobig"
        );
        assert_eq!(
            classify(None, None, &["DNS Error: lookup of x.example responded with code NXDOMAIN"], None),
            "networkerror"
        );
        assert_eq!(classify(Some("5.1.6"), Some("551"), &["551 not our user"], None), "hasmoved");
        assert_eq!(classify(Some("5.7.1"), Some("550"), &["550 5.7.1 Access denied"], Some("MAIL")), "rejected");
        assert_eq!(classify(Some("5.0.0"), Some("550"), &["550 Rejected"], Some("EHLO")), "blocked");
        let multi = &["550-5.7.1 Messages with multiple 550-5.7.1 addresses in From: header are not accepted"];
        assert_eq!(classify(Some("5.7.1"), Some("550"), multi, None), "notcompliantrfc");
        // Authentication demanded before relaying; Exchange Online's X.7.54 is a relay refusal.
        let labs = &["550-Please turn on SMTP Authentication in your mail client. 550 x is not permitted to relay"];
        assert_eq!(classify(Some("5.0.0"), Some("550"), labs, None), "securityerror");
        let possibly = &["Recipient email address is possibly incorrect"];
        assert_eq!(classify(Some("5.7.54"), None, possibly, None), "norelaying");
        let postfix = &["550 5.3.2 <a@b.example>: Recipient address rejected: System not accepting network messages"];
        assert_eq!(classify(Some("5.3.2"), Some("550"), postfix, Some("RCPT")), "notaccept");
    }

    /// The former reading: the words listed, then the kept ones joined.
    fn without_continuations_by_words(text: &str) -> String {
        let words = crate::text::words(text);
        let mut out: Vec<&str> = Vec::with_capacity(words.len());
        let mut first_code: Option<&str> = None;
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            let code = w
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()) && (w.len() == 3 || w.as_bytes()[3] == b'-'));
            match (code, first_code) {
                (Some(c), Some(f)) if c == f => {
                    if w.len() > 4 && !w[4..].starts_with(|ch: char| ch.is_ascii_digit()) {
                        out.push(&w[4..]);
                        i += 1;
                        continue;
                    }
                    let next_is_status = w.len() == 3
                        && words
                            .get(i + 1)
                            .is_some_and(|n| n.bytes().next().is_some_and(|b| b.is_ascii_digit()) && n.contains('.'));
                    i += if next_is_status { 2 } else { 1 };
                    continue;
                }
                (Some(c), None) => first_code = Some(c),
                _ => {}
            }
            out.push(w);
            i += 1;
        }
        out.join(" ")
    }

    #[test]
    fn continuations_are_dropped_as_the_word_list_dropped_them() {
        let pieces = [
            " ",
            "\n",
            "\r\n ",
            "550",
            "550-",
            "550-5.7.1",
            "550-No",
            "551",
            "5.7.1",
            "4.",
            "7",
            "x",
            "é",
            "\u{a0}",
            "-",
        ];
        let mut texts = crate::text::random_joins(&pieces, 5000, 12);
        // Every line of the corpus, and each file's text whole.
        for path in crate::tests::corpus_files() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            texts.extend(text.lines().map(str::to_string));
            texts.push(text);
        }
        for text in &texts {
            assert_eq!(without_continuations(text), without_continuations_by_words(text), "{text:?}");
        }
        assert_eq!(without_continuations("550-5.7.1 a\n550-5.7.1 b 550 5.7.1 c 550-No d"), "550-5.7.1 a b c No d");
    }

    #[test]
    fn receivers_refine_by_mta_or_domain() {
        let refine = |h, t| refine_for_receiver(h, &[t]).map(|d| d.reason);
        assert_eq!(
            refine("gmail-smtp-in.l.google.com", "550 5.1.1 The email account that you tried to reach does not exist."),
            Some("userunknown")
        );
        assert_eq!(refine("notgoogle.com", "does not exist"), None);
        // A receiver's own codes decide over the shared wording.
        let orange = "421 4.2.0 Service refuse. Veuillez essayer plus tard. OFR005_505 [505]";
        assert_eq!(refine("smtp-in.orange.fr", orange), Some("systemerror"));
        assert_eq!(refine("cox.net", "550 5.1.0 <x@y> sender rejected. AUP#CDRBL"), Some("blocked"));
        assert_eq!(refine("mx.example.org", "account that you tried to reach does not exist"), None);
        let google =
            refine_for_receiver("gmail.com", &["The email account that you tried to reach is disabled"]).unwrap();
        assert_eq!(
            google.source,
            ReasonSource::new("receiver", "google", "account that you tried to reach is disabled")
        );
    }

    #[test]
    fn each_decision_names_its_rule_and_entry() {
        let d = decide(
            Some("5.1.1"),
            Some("550"),
            &["550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in local recipient table"],
            Some("RCPT"),
        );
        assert_eq!((d.reason, d.source), ("userunknown", ReasonSource::new("phrase", "userunknown", "user unknown")));
        let d = decide(Some("5.2.2"), None, &["something odd"], None);
        assert_eq!((d.reason, d.source), ("mailboxfull", ReasonSource::new("status", "rfc3463", "5.2.2")));
        let d = decide(Some("5.7.25"), None, &[], None);
        assert_eq!(d.source, ReasonSource::new("status", "rfc7372", "5.7.25"));
        let d = decide(Some("5.2.0"), None, &[], None);
        assert_eq!((d.reason, d.source.table.as_str()), ("mailboxfull", "rfc3463-subject"));
        let d = decide(None, Some("552"), &[], None);
        assert_eq!((d.reason, d.source), ("mailboxfull", ReasonSource::new("reply_code", "rfc5321", "552")));
        let d = decide(None, None, &["Unable to deliver message after multiple retries, giving up."], None);
        assert_eq!((d.reason, d.source), ("expired", ReasonSource::new("phrase", "gave_up", "giving up")));
        let d = decide(None, None, &[], None);
        assert_eq!((d.reason, d.source), ("undefined", ReasonSource::new("fallback", "none", "undefined")));
        // A rule that rereads the evidence keeps it: "user unknown" said after DATA.
        let d = decide(Some("5.0.0"), Some("550"), &["550 <a@b.example>: User unknown"], Some("DATA"));
        assert_eq!(
            (d.reason, d.source),
            ("filtered", ReasonSource::new("smtp_command", "phrase:user unknown", "DATA"))
        );
        // A success-only code says nothing of a failure: the reply code decides.
        assert_eq!(decide(Some("5.1.5"), Some("552"), &[], None).reason, "mailboxfull");
    }

    #[test]
    fn refusals_of_the_sender_are_never_an_unknown_mailbox() {
        // A rate limit, spam, a block list or a policy, sent with X.1.1 or "unknown" wording.
        let cases = [
            ("550 5.1.1 <a@b.example>: Recipient rate limit exceeded", "speeding"),
            ("550 5.1.1 Requested action not taken: mailbox unavailable (message looks like spam)", "spamdetected"),
            ("550 5.1.1 Mailbox unavailable: client blocked using zen.spamhaus.org", "blocked"),
            ("550 5.1.1 Mailbox unavailable: rejected by local policy", "policyviolation"),
            ("550 5.1.1 User unknown; sender reputation too low", "badreputation"),
        ];
        for (text, reason) in cases {
            let d = decide(Some("5.1.1"), Some("550"), &[text], Some("RCPT"));
            assert_eq!(d.reason, reason, "{text}");
            assert!(!is_hard(d.reason, Some("5.1.1"), Some("550")), "{text}");
        }
        // A receiver's own "unknown" wording yields too.
        let outlook = "550 5.5.0 Requested action not taken: mailbox unavailable. Rate limit exceeded";
        assert_eq!(refine_for_receiver("hotmail.com", &[outlook]).unwrap().reason, "speeding");
        // Without such words, X.1.1 stays a hard userunknown.
        let d = decide(Some("5.1.1"), Some("550"), &["550 5.1.1 <a@b.example>: User unknown"], Some("RCPT"));
        assert!(d.reason == "userunknown" && is_hard(d.reason, Some("5.1.1"), Some("550")));
        // Lotus Domino's directory lookup is not a block list ("listed in").
        let domino = "550 5.1.1 User a (a@b.example) not listed in Domino Directory";
        assert_eq!(decide(Some("5.1.1"), None, &[domino], Some("RCPT")).reason, "userunknown");
    }

    #[test]
    fn precedence_follows_the_evidence() {
        let report = "Delivery to the following recipients failed. Reasons: user unknown, mailbox full, relay denied.";
        // The recipient's own diagnostic before the report's general text.
        let d = decide(Some("5.0.0"), Some("552"), &["552 Mailbox full", report], Some("RCPT"));
        assert_eq!((d.reason, d.source.entry.as_str()), ("mailboxfull", "mailbox full"));
        // A specific status before the report's general text, when the diagnostic says nothing.
        let d = decide(Some("5.2.2"), Some("550"), &["550 Requested action not taken", report], Some("RCPT"));
        assert_eq!((d.reason, d.source.rule.as_str()), ("mailboxfull", "status"));
        // A generic status (X.0.0) leaves it to the report's words.
        let d = decide(Some("5.0.0"), Some("550"), &["550 Requested action not taken", report], Some("RCPT"));
        assert_eq!(d.source.rule, "phrase");
    }

    #[test]
    fn a_local_policy_violation_is_policyviolation_and_soft() {
        // reasons.md: policyviolation is soft; the mailbox is not said to be missing.
        let d = decide(Some("5.7.0"), Some("550"), &["550 5.7.0 Local Policy Violation"], Some("RCPT"));
        assert_eq!((d.reason, d.source.rule.as_str()), ("policyviolation", "phrase"));
        assert!(!is_hard(d.reason, Some("5.7.0"), Some("550")));
    }

    #[test]
    fn hardness() {
        assert!(is_hard("userunknown", Some("5.1.1"), None));
        assert!(is_hard("notaccept", Some("5.1.10"), None));
        assert!(!is_hard("notaccept", Some("4.3.2"), None));
        assert!(!is_hard("mailboxfull", Some("5.2.2"), None));
        // RFC 7505: X.7.27 refuses the sender's null-MX domain; the recipient may exist. The
        // reason stays sisimai's notaccept, but it is not a hard bounce.
        let sender_null_mx = classify(Some("5.7.27"), Some("550"), &["550 5.7.27 sender address has null MX"], None);
        assert!(!is_hard(sender_null_mx, Some("5.7.27"), Some("550")));
    }

    #[test]
    fn every_table_reason_is_known() {
        let receivers = rhost::RECEIVERS.iter().flat_map(|r| r.phrases.iter().map(|(_, reason)| *reason));
        for r in status::all_reasons().chain(phrases::ORDER.iter().map(|t| t.reason)).chain(receivers) {
            assert!(REASONS.contains(&r), "{r} is not a reason class");
        }
    }
}
