//! `classify` from raw bytes: with default settings, and with a site, BATV keys and an
//! envelope so that the verdict code runs too. The report must serialise.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ndr_filter::{Config, Envelope, classify};

static SITE: LazyLock<Config> = LazyLock::new(|| {
    serde_json::from_value(serde_json::json!({
        "site": {"domains": ["example.com"], "relays": ["out.example.com", "198.51.100.0/24"]},
        "batv": {"keys": [{"digit": 1, "secret": "fuzz"}]},
        "srs": {"domain": "fwd.example.com", "secrets": ["fuzz"]},
        "limits": {"max_parts": 50, "max_headers": 50, "max_header_bytes": 256, "max_recipients": 20}
    }))
    .unwrap()
});

fuzz_target!(|raw: &[u8]| {
    let report = classify(raw, None, &Config::default(), 1_795_521_600);
    serde_json::to_vec(&report).unwrap();
    let envelope = Envelope {
        mail_from: Some(String::new()),
        rcpt_to: vec!["prvs=1123abcdef=alice@example.com".into(), "SRS0=ab=CD=other.example=x@fwd.example.com".into()],
        client_ip: Some("192.0.2.7".into()),
        helo: None,
    };
    let report = classify(raw, Some(&envelope), &SITE, 1_795_521_600);
    serde_json::to_vec(&report).unwrap();
});
