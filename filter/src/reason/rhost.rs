//! Remote-host refinement: the same words mean different things at different receivers. Each
//! receiver is known by host-name suffixes (of the remote MTA, or of the recipient's domain when
//! the report names no MTA) and has its own phrases. A receiver's phrase overrides the generic
//! tables. Phrases are lower-case substrings of the reply text, each with where it is documented
//! or seen.

use std::sync::LazyLock;

use crate::text::PhraseSet;

pub struct Receiver {
    /// Names the receiver in `reason_source`.
    pub name: &'static str,
    pub hosts: &'static [&'static str],
    pub phrases: &'static [(&'static str, &'static str)],
}

pub const RECEIVERS: &[Receiver] = &[
    Receiver {
        name: "google",
        // Gmail's "SMTP errors and codes" page (support.google.com/a/answer/3726730, 2023 and 2026)
        hosts: &["google.com", "gmail.com", "googlemail.com"],
        phrases: &[
            ("account that you tried to reach does not exist", "userunknown"), // 5.1.1
            ("account that you tried to reach is disabled", "suspend"),        // 5.2.1
            ("account that you tried to reach is inactive", "suspend"),
            ("account that you tried to reach is over quota", "mailboxfull"), // 4.2.2 / 5.2.2
            ("out of storage space", "mailboxfull"),
            ("receiving mail at a rate that prevents additional messages", "speeding"), // 4.2.1
            ("receiving mail too quickly", "speeding"),
            ("exceeded google's message size limits", "mesgtoobig"), // 5.3.4
            ("unusual rate of unsolicited mail", "blocked"),         // 4.7.28 / 5.7.28
            ("ip you're using to send mail is not authorized", "blocked"), // 5.7.1
            ("very low reputation", "badreputation"),
            ("likely unsolicited mail", "spamdetected"),
            ("dmarc policy", "authfailure"), // 5.7.26
            ("not rfc 5322 compliant", "notcompliantrfc"),
        ],
    },
    Receiver {
        name: "microsoft",
        // Exchange Online's NDR reference and Outlook.com's postmaster troubleshooting page
        hosts: &["outlook.com", "hotmail.com", "live.com", "msn.com", "protection.outlook.com"],
        phrases: &[
            ("requested action not taken: mailbox unavailable", "userunknown"), // Outlook.com 550 5.5.0
            ("recipient address rejected: access denied", "userunknown"),       // EOP 5.4.1 (directory edge blocking)
            ("recipientnotfound", "userunknown"),                               // RESOLVER.ADR.RecipientNotFound
            ("recipnotfound", "userunknown"),
            ("banned sending ip", "blocked"),       // 5.7.606-649
            ("messages from", "blocked"),           // "Unfortunately, messages from [IP] weren't sent" (SC-00x)
            ("does not pass dmarc", "authfailure"), // 5.7.509
            ("ip reputation", "badreputation"),     // 4.7.650 / S3150
            ("mismatches client ip", "requireptr"), // one report only, no published source
        ],
    },
    Receiver {
        name: "yahoo",
        // Yahoo help SLN3434/SLN3444 (2nd-hand: the current senders page lists categories only)
        hosts: &["yahoo.com", "yahoodns.net", "yahoo.co.jp", "aol.com", "ymail.com"],
        phrases: &[
            ("doesn't have a", "userunknown"), // "This user doesn't have a yahoo.com account"
            ("account has been disabled", "suspend"),
            ("not accepted for policy reasons", "policyviolation"), // 5.7.9
            ("unexpected volume or user complaints", "badreputation"), // TSS04
        ],
    },
    Receiver {
        name: "apple",
        // 2nd-hand: iCloud publishes no error list (support.apple.com/102322)
        hosts: &["icloud.com", "me.com", "mac.com", "apple.com"],
        phrases: &[
            ("dmarc policy", "authfailure"),
            ("not accepting connections", "blocked"),
            ("user does not exist", "userunknown"),
            ("mailbox is full", "mailboxfull"),
        ],
    },
    Receiver {
        name: "orange",
        // Orange and Wanadoo (France) refuse spam with "Mail rejeté"; Orange ("OFR005_505")
        // and La Poste ("LPN006_107") end each reply with a code of their catalogue, whose
        // number says more than the shared wording ("Service refusé" for several causes)
        hosts: &["orange.fr", "wanadoo.fr", "laposte.net"],
        phrases: &[
            ("mail rejete", "spamdetected"),
            ("mail rejeté", "spamdetected"),
            ("_505", "systemerror"), // OFR005_505: "421 4.2.0 Service refusé" (one report only)
            ("_107", "requireptr"),  // LPN006_107: the client's reverse DNS (one report only)
            ("_630", "policyviolation"), // LPN000_630: "Client host rejected" by policy (one report only)
        ],
    },
    Receiver {
        name: "tencent",
        hosts: &["qq.com", "exmail.qq.com"],
        phrases: &[("frequency limited", "toomanyconn"), ("mailbox not found", "userunknown")],
    },
    Receiver {
        name: "cox",
        // "AUP#…" codes of Cox's published error-code table (cox.com email-error-codes)
        hosts: &["cox.net", "cox.com"],
        phrases: &[("aup#cdrbl", "blocked")], // the client IP is on Cox's DNS blocklist (one report only)
    },
    Receiver {
        name: "charter",
        // Charter / Spectrum: "AUP#In-nnnn" codes of Spectrum's email-error-codes page
        hosts: &["charter.net", "spectrum.net", "twc.com", "rr.com"],
        phrases: &[("aup#in-1310", "toomanyconn")], // too many connections from the sending IP (one report only)
    },
    Receiver {
        name: "mimecast",
        // The customer's permitted-senders policy refused the client's network
        hosts: &["mimecast.com", "mimecast.co.za"],
        phrases: &[("host network not allowed", "policyviolation")],
    },
];

/// Every receiver's phrases in one set, tagged with their position in [`RECEIVERS`] read in
/// order: a receiver's first phrase in a text is its lowest tag there, found in one pass
/// instead of one search per phrase (one set for all: each set's tables take 12 KiB).
static PHRASES: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(RECEIVERS.iter().flat_map(|r| r.phrases.iter().map(|p| p.0)).zip(0..)));

/// The receiver's reading of the first of `texts` that holds one of its phrases, if the host
/// is one of them: its name, the phrase, the reason, and that text. (The receiver is looked up
/// once for all the texts.)
pub fn refine<'t>(host: &str, texts: &[&'t str]) -> Option<(&'static str, &'static str, &'static str, &'t str)> {
    let at = RECEIVERS.iter().position(|r| r.hosts.iter().any(|h| crate::text::host_in(host, h)))?;
    let receiver = &RECEIVERS[at];
    let first_tag: usize = RECEIVERS[..at].iter().map(|r| r.phrases.len()).sum();
    let tags = first_tag..first_tag + receiver.phrases.len();
    texts.iter().find_map(|text| {
        let tag = PHRASES.lowest_tag_among(&crate::text::lower_non_ascii(text), tags.clone())?;
        receiver.phrases.get(tag - first_tag).map(|(p, r)| (receiver.name, *p, *r, *text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The former reading: the text lowered, each phrase searched in turn.
    fn refine_by_search(host: &str, diagnostic: &str) -> Option<(&'static str, &'static str, &'static str)> {
        let receiver = RECEIVERS.iter().find(|r| r.hosts.iter().any(|h| crate::text::host_in(host, h)))?;
        let lower = diagnostic.to_lowercase();
        receiver.phrases.iter().find(|(p, _)| lower.contains(p)).map(|(p, r)| (receiver.name, *p, *r))
    }

    #[test]
    fn one_pass_finds_the_phrase_each_search_found() {
        // Each receiver's phrases in other cases, two in one text (either order), and the
        // corpus's lines, read at every receiver and at an unknown host.
        let mut texts: Vec<String> = Vec::new();
        for r in RECEIVERS {
            for (i, (p, _)) in r.phrases.iter().enumerate() {
                let other = r.phrases[(i * 7 + 3) % r.phrases.len()].0;
                texts.push(format!("550 5.0.0 {} (x)", p.to_uppercase()));
                texts.push(format!("{p} ... {other}"));
                let cut = p.char_indices().last().map_or(0, |(at, _)| at);
                texts.push(format!("{other} {}", &p[..cut]));
            }
        }
        texts.push("421 Mail REJETÉ".into());
        for path in crate::tests::corpus_files() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            texts.extend(text.lines().map(str::to_string));
        }
        let hosts = RECEIVERS.iter().map(|r| r.hosts[0]).chain(["mx.example.org"]);
        let mut found = 0;
        for host in hosts {
            for t in &texts {
                let expected = refine_by_search(host, t);
                found += usize::from(expected.is_some());
                assert_eq!(refine(host, &[t]).map(|(n, p, r, _)| (n, p, r)), expected, "{host}: {t:?}");
            }
        }
        assert!(found > 200, "{found}");
    }
}
