//! The address parsers: BATV verification and signing, SRS reversal and forwarding, and tag
//! recognition, on arbitrary addresses and times, with several keys and secrets.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ndr_filter::batv::{BatvConfig, KeyRing};
use ndr_filter::srs::{Srs, SrsConfig};

static RING: LazyLock<KeyRing> = LazyLock::new(|| {
    let config: BatvConfig = serde_json::from_value(serde_json::json!({
        "keys": [{"digit": 1, "secret": "one", "sign_from": 0}, {"digit": 2, "secret_hex": "0102ff", "sign_from": 1_700_000_000}],
        "exempt": ["lists.example.org"], "never_sign": ["noreply@example.com"]
    }))
    .unwrap();
    KeyRing::new(&config).unwrap()
});

static SRS: LazyLock<Srs> = LazyLock::new(|| {
    let config: SrsConfig = serde_json::from_value(serde_json::json!({
        "domain": "fwd.example.com", "secrets": ["new", "old"], "local_domains": ["example.com"]
    }))
    .unwrap();
    Srs::new(&config).unwrap()
});

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let now = u64::from_le_bytes(data[..8].try_into().unwrap()) % 4_000_000_000;
    let address = String::from_utf8_lossy(&data[8..]);
    let verified = RING.verify(&address, now);
    let signed = RING.sign(&address, Some("rcpt@example.net"), now);
    if signed.signed {
        // What we sign, we verify: a round trip that must hold for any address.
        assert_eq!(RING.verify(&signed.address, now).result, ndr_filter::batv::Outcome::Valid, "{address:?}");
    }
    let _ = (verified, ndr_filter::tags::classify(&address), ndr_filter::tags::strip(&address));
    let reversed = SRS.reverse(&address, now);
    let forwarded = SRS.forward(&address, now);
    if forwarded != address && address.contains('@') {
        let back = SRS.reverse(&forwarded, now);
        assert!(back.error.is_none(), "{address:?} -> {forwarded:?} -> {back:?}");
    }
    let _ = reversed;
});
