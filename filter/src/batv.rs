//! BATV (Bounce Address Tag Validation), `prvs` format: sign our envelope senders and verify the
//! tags on the recipients of bounces, with a key ring that rotates and a rollout period.
//!
//! `prvs=KDDDSSSSSS=local@domain`: K the key digit, DDD the expiry day ((day + lifetime) mod
//! 1000), SSSSSS the first 3 bytes of HMAC-SHA1(key, K ‖ DDD ‖ address) in hex. In `exact` mode
//! the output equals Exim's `${prvs}`; in `canonical` mode (default) the HMAC covers the
//! lower-cased address, so relays that fold case cannot break it. Verification tries the address
//! as received, then lower-cased (`case_folded`), compares in constant time, then checks expiry
//! with modular arithmetic (no revival 838 days later, no eternal DDD 999, unlike Exim).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::tags::{self, Tag};

const DAY: u64 = 86_400;
/// Exim refuses longer keys; the HMAC of longer keys would differ from Exim's anyway.
pub const MAX_KEY_BYTES: usize = 64;
pub const MAX_KEYS: usize = 10;
/// Local parts longer than this are not signed: the tag adds 16 octets and RFC 5321 allows 64.
pub const MAX_SIGNED_LOCAL_PART: usize = 48;

/// What the HMAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The lower-cased address (survives case-folding relays). Default.
    #[default]
    Canonical,
    /// The address as given (byte-identical to Exim's `${prvs}` for every address).
    Exact,
}

/// BATV configuration: the key ring and the policy around it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatvConfig {
    pub keys: Vec<KeyConfig>,
    /// Days a tag stays valid (Exim: 7).
    pub lifetime_days: u32,
    pub mode: Mode,
    /// Days a replaced key keeps verifying after it stopped signing (default: lifetime + 1).
    pub overlap_days: Option<u32>,
    /// Days after `enabled_at` during which untagged bounces are reported, not rejected.
    pub observe_days: u32,
    /// When signing started (Unix seconds); default: the earliest key's `sign_from`.
    pub enabled_at: Option<u64>,
    /// Destinations (domains, or full addresses) that must see our sender untagged: list
    /// servers, greylisting peers, services that key state on the envelope sender.
    pub exempt: Vec<String>,
    /// Local parts that are never signed (besides the null sender).
    pub never_sign: Vec<String>,
}

impl Default for BatvConfig {
    fn default() -> Self {
        BatvConfig {
            keys: Vec::new(),
            lifetime_days: 7,
            mode: Mode::Canonical,
            overlap_days: None,
            observe_days: 7,
            enabled_at: None,
            exempt: Vec::new(),
            never_sign: ["postmaster", "mailer-daemon", "abuse"].map(String::from).to_vec(),
        }
    }
}

impl std::fmt::Debug for BatvConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatvConfig")
            .field("keys", &self.keys)
            .field("lifetime_days", &self.lifetime_days)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// One key of the ring. Exactly one of `secret` (text), `secret_hex`, `secret_base64`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct KeyConfig {
    /// The key digit K (0–9) written into tags.
    pub digit: u8,
    pub secret: Option<String>,
    pub secret_hex: Option<String>,
    pub secret_base64: Option<String>,
    /// From when it signs (Unix seconds; default 0).
    pub sign_from: u64,
    /// Until when it signs (default: until a key with a later `sign_from` takes over).
    pub sign_until: Option<u64>,
    /// Until when it verifies (default: the end of signing + the overlap; forever while it signs).
    pub verify_until: Option<u64>,
}

/// Secrets never appear in debug output, logs or errors.
impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("digit", &self.digit)
            .field("secret", &"<redacted>")
            .field("sign_from", &self.sign_from)
            .field("sign_until", &self.sign_until)
            .field("verify_until", &self.verify_until)
            .finish()
    }
}

struct Key {
    digit: u8,
    secret: Vec<u8>,
    sign_from: u64,
    sign_until: Option<u64>,
    verify_until: Option<u64>,
}

/// A validated key ring with its policy.
pub struct KeyRing {
    keys: Vec<Key>,
    lifetime: u32,
    mode: Mode,
    enabled_at: u64,
    observe_days: u32,
    exempt: Vec<String>,
    never_sign: Vec<String>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits: Vec<u8> = self.keys.iter().map(|k| k.digit).collect();
        f.debug_struct("KeyRing").field("digits", &digits).field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

/// The outcome of signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The address to use as the envelope sender.
    pub address: String,
    /// True when a tag was added (or refreshed).
    pub signed: bool,
    /// The key digit used.
    pub key: Option<u8>,
    /// Why it was left unchanged: `null_sender`, `never_sign`, `exempt_destination`,
    /// `foreign_tag`, `local_part_too_long`, `no_signing_key`, `not_an_address`.
    pub skipped: Option<String>,
}

/// The result of verifying a recipient address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Valid,
    Expired,
    BadSignature,
    UnknownKey,
    Malformed,
    Untagged,
    ForeignTag,
    /// The address is in a domain we relay for but do not own (`site.relay_domains`): our keys
    /// say nothing about it.
    RelayDomain,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub result: Outcome,
    /// The key digit of the tag.
    pub key: Option<u8>,
    /// The address without its tag.
    pub address: String,
    /// True when only the lower-cased address verified (a relay folded the case).
    pub case_folded: bool,
    /// For `expired`: how many days ago it expired.
    pub days_past: Option<u32>,
    /// For `foreign_tag`: `prvs-old`, `prvs-reversed`, `btv1`, `msprvs1`, `srs0`, `srs1`.
    pub tag_kind: Option<String>,
    /// False during the rollout's observe period: untagged bounces are to be reported only.
    pub enforcing: bool,
}

impl KeyRing {
    /// Validate a configuration. Errors name the key digit, never the secret.
    pub fn new(config: &BatvConfig) -> Result<KeyRing, String> {
        if config.keys.len() > MAX_KEYS {
            return Err(format!("batv: {} keys; at most {MAX_KEYS}", config.keys.len()));
        }
        if !(1..=365).contains(&config.lifetime_days) {
            return Err(format!("batv: lifetime_days {} is outside 1..=365", config.lifetime_days));
        }
        let mut keys = Vec::new();
        for k in &config.keys {
            if k.digit > 9 {
                return Err(format!("batv: key digit {} is not 0-9", k.digit));
            }
            if keys.iter().any(|x: &Key| x.digit == k.digit) {
                return Err(format!("batv: key digit {} appears twice", k.digit));
            }
            let secret = decode_secret(k)?;
            keys.push(Key {
                digit: k.digit,
                secret,
                sign_from: k.sign_from,
                sign_until: k.sign_until,
                verify_until: k.verify_until,
            });
        }
        keys.sort_by_key(|k| k.sign_from);
        let overlap = u64::from(config.overlap_days.unwrap_or(config.lifetime_days + 1)) * DAY;
        // A key signs until the next one starts, and verifies for the overlap after that.
        for i in 0..keys.len() {
            let next_start = keys.get(i + 1).map(|k| k.sign_from);
            let key = &mut keys[i];
            if key.sign_until.is_none() {
                key.sign_until = next_start;
            }
            if key.verify_until.is_none() {
                key.verify_until = key.sign_until.map(|end| end.saturating_add(overlap));
            }
        }
        let enabled_at = config.enabled_at.or(keys.first().map(|k| k.sign_from)).unwrap_or(0);
        Ok(KeyRing {
            keys,
            lifetime: config.lifetime_days,
            mode: config.mode,
            enabled_at,
            observe_days: config.observe_days,
            exempt: config.exempt.iter().map(|e| e.to_ascii_lowercase()).collect(),
            never_sign: config.never_sign.iter().map(|e| e.to_ascii_lowercase()).collect(),
        })
    }

    /// The key that signs at `now`: the latest-starting key whose signing window holds `now`.
    fn signing_key(&self, now: u64) -> Option<&Key> {
        self.keys.iter().rfind(|k| k.sign_from <= now && k.sign_until.is_none_or(|end| now < end))
    }

    fn verifying_key(&self, digit: u8, now: u64) -> Option<&Key> {
        self.keys.iter().find(|k| k.digit == digit && k.verify_until.is_none_or(|end| now < end))
    }

    /// True once the observe period after `enabled_at` is over.
    pub fn enforcing(&self, now: u64) -> bool {
        now >= self.enabled_at.saturating_add(u64::from(self.observe_days) * DAY)
    }

    /// True when mail to `destination` (an address or a domain) is sent with an untagged sender.
    pub fn is_exempt(&self, destination: &str) -> bool {
        let dest = destination.trim_matches(['<', '>']).to_ascii_lowercase();
        let dest_domain = dest.rsplit_once('@').map_or(dest.as_str(), |(_, d)| d);
        self.exempt.iter().any(|e| *e == dest || *e == dest_domain)
    }

    /// Sign an envelope sender for mail to `destination` (a recipient address, if known).
    pub fn sign(&self, address: &str, destination: Option<&str>, now: u64) -> Signed {
        let unchanged =
            |why: &str| Signed { address: address.to_string(), signed: false, key: None, skipped: Some(why.into()) };
        if address.is_empty() || address == "<>" {
            return unchanged("null_sender");
        }
        let core = match tags::classify(address) {
            Tag::Prvs { core_local, domain, .. } => format!("{core_local}@{domain}"),
            Tag::Foreign { .. } | Tag::MalformedPrvs => return unchanged("foreign_tag"),
            Tag::None => address.to_string(),
        };
        let Some((local, domain)) = tags::split(&core) else { return unchanged("not_an_address") };
        if self.never_sign.iter().any(|n| n.eq_ignore_ascii_case(local)) {
            return unchanged("never_sign");
        }
        if destination.is_some_and(|d| self.is_exempt(d)) {
            return unchanged("exempt_destination");
        }
        if local.len() > MAX_SIGNED_LOCAL_PART {
            return unchanged("local_part_too_long");
        }
        let Some(key) = self.signing_key(now) else { return unchanged("no_signing_key") };
        let ddd = format!("{:03}", (now / DAY + u64::from(self.lifetime)) % 1000);
        let hashed = match self.mode {
            Mode::Exact => core.clone(),
            Mode::Canonical => core.to_ascii_lowercase(),
        };
        let mac = mac3(&key.secret, key.digit, &ddd, &hashed);
        Signed {
            address: format!("prvs={}{ddd}{}={local}@{domain}", key.digit, hex::encode(mac)),
            signed: true,
            key: Some(key.digit),
            skipped: None,
        }
    }

    /// [`KeyRing::verify`] for a site: addresses in the domains it only relays for are never
    /// judged by our keys (their own BATV tags would look forged to us).
    pub fn verify_at_site(&self, address: &str, site: Option<&crate::verdict::SiteConfig>, now: u64) -> Verified {
        let mut v = self.verify(address, now);
        if site.is_some_and(|s| s.relays_for(address)) {
            v = Verified { result: Outcome::RelayDomain, key: None, days_past: None, case_folded: false, ..v };
        }
        v
    }

    /// Verify the tag on a recipient address of an inbound bounce.
    pub fn verify(&self, address: &str, now: u64) -> Verified {
        let mut v = Verified {
            result: Outcome::Untagged,
            key: None,
            address: tags::strip(address),
            case_folded: false,
            days_past: None,
            tag_kind: None,
            enforcing: self.enforcing(now),
        };
        let (digit, ddd, mac_hex, core) = match tags::classify(address) {
            Tag::None => return v,
            Tag::MalformedPrvs => {
                v.result = Outcome::Malformed;
                return v;
            }
            Tag::Foreign { kind, .. } => {
                v.result = Outcome::ForeignTag;
                v.tag_kind = Some(kind.to_string());
                return v;
            }
            Tag::Prvs { digit, ddd, mac, core_local, domain } => (digit, ddd, mac, format!("{core_local}@{domain}")),
        };
        v.key = Some(digit);
        let Some(key) = self.verifying_key(digit, now) else {
            v.result = Outcome::UnknownKey;
            return v;
        };
        let Ok(presented) = hex::decode(mac_hex) else {
            v.result = Outcome::Malformed;
            return v;
        };
        // Signature first, then the date: an `expired` result proves the tag was ours.
        let lowered = core.to_ascii_lowercase();
        if verify_mac(&key.secret, digit, ddd, &core, &presented) {
            v.case_folded = false;
        } else if lowered != core && verify_mac(&key.secret, digit, ddd, &lowered, &presented) {
            v.case_folded = true;
        } else {
            v.result = Outcome::BadSignature;
            return v;
        }
        let expiry: u64 = ddd.parse().unwrap_or(0);
        let ahead = (expiry + 1000 - (now / DAY) % 1000) % 1000;
        if ahead <= u64::from(self.lifetime) {
            v.result = Outcome::Valid;
        } else {
            v.result = Outcome::Expired;
            v.days_past = Some((1000 - ahead) as u32);
        }
        v
    }
}

fn hmac_for(secret: &[u8], digit: u8, ddd: &str, address: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length; lengths are checked when the ring is built.
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(&[b'0' + digit]);
    mac.update(ddd.as_bytes());
    mac.update(address.as_bytes());
    mac
}

fn mac3(secret: &[u8], digit: u8, ddd: &str, address: &str) -> [u8; 3] {
    let full = hmac_for(secret, digit, ddd, address).finalize().into_bytes();
    [full[0], full[1], full[2]]
}

/// Constant-time comparison of the presented 3 bytes with the HMAC's first 3.
fn verify_mac(secret: &[u8], digit: u8, ddd: &str, address: &str, presented: &[u8]) -> bool {
    presented.len() == 3 && hmac_for(secret, digit, ddd, address).verify_truncated_left(presented).is_ok()
}

fn decode_secret(k: &KeyConfig) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let given = [k.secret.is_some(), k.secret_hex.is_some(), k.secret_base64.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(format!("batv: key {} needs exactly one of secret, secret_hex, secret_base64", k.digit));
    }
    let bytes = if let Some(s) = &k.secret {
        s.as_bytes().to_vec()
    } else if let Some(h) = &k.secret_hex {
        hex::decode(h.trim()).map_err(|_| format!("batv: key {}: secret_hex is not hexadecimal", k.digit))?
    } else {
        let b = k.secret_base64.as_deref().unwrap_or("").trim();
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| format!("batv: key {}: secret_base64 is not base64", k.digit))?
    };
    if bytes.is_empty() {
        return Err(format!("batv: key {} is empty", k.digit));
    }
    if bytes.len() > MAX_KEY_BYTES {
        return Err(format!(
            "batv: key {} is {} bytes; at most {MAX_KEY_BYTES} (Exim refuses longer keys)",
            k.digit,
            bytes.len()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[(u8, &[u8], u64)], mode: Mode) -> KeyRing {
        let keys = keys
            .iter()
            .map(|(d, s, from)| KeyConfig {
                digit: *d,
                secret_hex: Some(hex::encode(s)),
                sign_from: *from,
                ..Default::default()
            })
            .collect();
        KeyRing::new(&BatvConfig { keys, mode, ..Default::default() }).unwrap()
    }

    fn exact(digit: u8, secret: &[u8]) -> KeyRing {
        ring(&[(digit, secret, 0)], Mode::Exact)
    }

    /// `shared/domain-notes.md` §7.1, V1–V8, V10, R1.
    #[test]
    fn signing_vectors() {
        let cases: &[(&[u8], u8, u64, &str, &str)] = &[
            (b"secret", 0, 1577836860, "userx@test.ex", "prvs=02694aa88d=userx@test.ex"),
            (b"secret", 1, 1577836860, "userx@test.ex", "prvs=1269e7157b=userx@test.ex"),
            (b"secret", 0, 1577836860, "John.Doe@Example.COM", "prvs=026900fd66=John.Doe@Example.COM"),
            (b"secret", 0, 1577836860, "john.doe@example.com", "prvs=0269e51582=john.doe@example.com"),
            (b"k3y-2023", 7, 1700000000, "user+tag=x@example.org", "prvs=7682ec0ca6=user+tag=x@example.org"),
            (b"secret", 0, 1727571600, "bounce-test@example.net", "prvs=0002c350ca=bounce-test@example.net"),
            (b"secret", 0, 1700000000, "\"quoted local\"@example.com", "prvs=0682adfa6f=\"quoted local\"@example.com"),
            (b"secret", 0, 1727352000, "userx@test.ex", "prvs=0999fb7905=userx@test.ex"),
        ];
        for (secret, digit, now, addr, want) in cases {
            assert_eq!(exact(*digit, secret).sign(addr, None, *now).address, *want, "{addr}");
        }
        let v7_key: Vec<u8> = (0x41..=0x80).collect();
        assert_eq!(
            exact(9, &v7_key).sign("alice@example.com", None, 1700000000).address,
            "prvs=9682f67870=alice@example.com"
        );
        let canonical = ring(&[(0, b"secret", 0)], Mode::Canonical);
        assert_eq!(
            canonical.sign("John.Doe@Example.COM", None, 1577836860).address,
            "prvs=0269e51582=John.Doe@Example.COM"
        );
    }

    /// §7.2, C1–C10 and the case table ("ours" column).
    #[test]
    fn verification_vectors() {
        let day = |d: u64| d * DAY + 100;
        // Both keys verify for good here: the vectors span years.
        let keys = [0u8, 1]
            .map(|digit| KeyConfig {
                digit,
                secret: Some("secret".into()),
                verify_until: Some(u64::MAX),
                ..Default::default()
            })
            .to_vec();
        let ours = KeyRing::new(&BatvConfig { keys, ..Default::default() }).unwrap();
        let check = |addr: &str, now: u64| ours.verify(addr, now);
        assert_eq!(check("prvs=02694aa88d=userx@test.ex", day(18262)).result, Outcome::Valid); // C1
        assert_eq!(check("prvs=02694aa88d=userx@test.ex", day(18269)).result, Outcome::Valid); // C2
        let c3 = check("prvs=02694aa88d=userx@test.ex", day(18270));
        assert_eq!((c3.result, c3.days_past), (Outcome::Expired, Some(1))); // C3
        let socrot = ring(&[(0, b"socrot", 0)], Mode::Canonical);
        assert_eq!(socrot.verify("prvs=02694aa88d=userx@test.ex", day(18262)).result, Outcome::BadSignature); // C4
        assert_eq!(check("prvs=02694AA88D=userx@test.ex", day(18262)).result, Outcome::Valid); // C5
        assert_eq!(check("prvs=0002c350ca=bounce-test@example.net", day(19998)).result, Outcome::Valid); // C6
        assert_eq!(check("prvs=02694aa88d=userx@test.ex", day(19100)).result, Outcome::Expired); // C7
        assert_eq!(check("prvs=1269e7157b=userx@test.ex", day(18262)).result, Outcome::Valid); // C8
        let c9 = check("prvs=02694aa88d=USERX@test.ex", day(18262));
        assert_eq!((c9.result, c9.case_folded), (Outcome::Valid, true)); // C9
        assert_eq!(check("prvs=0999fb7905=userx@test.ex", day(20500)).result, Outcome::Expired); // C10
        let r1 = check("prvs=0269e51582=John.Doe@Example.COM", day(18262));
        assert_eq!((r1.result, r1.case_folded), (Outcome::Valid, true));
        assert_eq!(check("prvs=0269e51582=john.doe@example.com", day(18262)).result, Outcome::Valid);
        let v3 = check("prvs=026900fd66=John.Doe@Example.COM", day(18262));
        assert_eq!((v3.result, v3.case_folded), (Outcome::Valid, false));
        assert_eq!(check("prvs=026900fd66=john.doe@example.com", day(18262)).result, Outcome::BadSignature);
    }

    #[test]
    fn every_outcome() {
        let r = ring(&[(3, b"k", 0)], Mode::Canonical);
        let now = 1_800_000_000;
        let tagged = r.sign("a@example.com", None, now).address;
        let v = r.verify(&tagged, now);
        assert_eq!((v.result, v.key, v.address.as_str()), (Outcome::Valid, Some(3), "a@example.com"));
        assert_eq!(r.verify(&tagged.replacen("prvs=3", "prvs=4", 1), now).result, Outcome::UnknownKey);
        assert_eq!(r.verify("prvs=3xyz=a@example.com", now).result, Outcome::Malformed);
        assert_eq!(r.verify("a@example.com", now).result, Outcome::Untagged);
        let f = r.verify("btv1==123abcdef01==a@example.com", now);
        assert_eq!(
            (f.result, f.tag_kind.as_deref(), f.address.as_str()),
            (Outcome::ForeignTag, Some("btv1"), "a@example.com")
        );
        let mut bad = tagged.clone().into_bytes();
        bad[10] = if bad[10] == b'0' { b'1' } else { b'0' };
        assert_eq!(r.verify(std::str::from_utf8(&bad).unwrap(), now).result, Outcome::BadSignature);
    }

    #[test]
    fn signing_rules() {
        let r = KeyRing::new(&BatvConfig {
            keys: vec![KeyConfig { digit: 1, secret: Some("s".into()), ..Default::default() }],
            exempt: vec!["lists.example.org".into(), "peer@example.net".into()],
            ..Default::default()
        })
        .unwrap();
        let now = 1_800_000_000;
        let skipped = |a: &str, d: Option<&str>| r.sign(a, d, now).skipped;
        assert_eq!(skipped("", None).as_deref(), Some("null_sender"));
        assert_eq!(skipped("Postmaster@example.com", None).as_deref(), Some("never_sign"));
        assert_eq!(skipped("a@example.com", Some("x@Lists.Example.org")).as_deref(), Some("exempt_destination"));
        assert_eq!(skipped("a@example.com", Some("peer@example.net")).as_deref(), Some("exempt_destination"));
        assert_eq!(skipped("SRS0=vmyz=2W=other.com=test@example.com", None).as_deref(), Some("foreign_tag"));
        assert_eq!(skipped(&format!("{}@example.com", "x".repeat(49)), None).as_deref(), Some("local_part_too_long"));
        // Our own tag is refreshed, never stacked.
        let once = r.sign("a@example.com", None, now).address;
        let again = r.sign(&once, None, now + 3 * DAY).address;
        assert_eq!(again.matches("prvs=").count(), 1);
        assert!(again.ends_with("=a@example.com"));
    }

    /// Rotation: a new key signs from its start; the old one verifies until lifetime + 1 days
    /// after that, to the second.
    #[test]
    fn rotation_boundaries() {
        let t0 = 1_800_000_000;
        let t1 = t0 + 30 * DAY;
        let r = ring(&[(1, b"old", t0), (2, b"new", t1)], Mode::Canonical);
        assert_eq!(r.sign("a@x.example", None, t1 - 1).key, Some(1));
        assert_eq!(r.sign("a@x.example", None, t1).key, Some(2));
        assert_eq!(r.sign("a@x.example", None, t0 - 1).skipped.as_deref(), Some("no_signing_key"));
        let last_old = r.sign("a@x.example", None, t1 - 1).address;
        let old_end = t1 + 8 * DAY;
        assert_ne!(r.verify(&last_old, old_end - 1).result, Outcome::UnknownKey);
        assert_eq!(r.verify(&last_old, old_end).result, Outcome::UnknownKey);
        // The last tag of the old key is still valid on its last valid day (it expires by date).
        let expiry_day = (t1 - 1) / DAY + 7;
        assert_eq!(r.verify(&last_old, expiry_day * DAY + DAY - 1).result, Outcome::Valid);
        assert_eq!(r.verify(&last_old, (expiry_day + 1) * DAY).result, Outcome::Expired);
    }

    #[test]
    fn rollout_observe_period_boundaries() {
        let t0 = 1_800_000_000;
        let r = ring(&[(0, b"k", t0)], Mode::Canonical);
        assert!(!r.enforcing(t0 + 7 * DAY - 1));
        assert!(r.enforcing(t0 + 7 * DAY));
        assert!(!r.verify("a@x.example", t0).enforcing);
    }

    #[test]
    fn key_errors_never_show_the_secret() {
        let long = "k".repeat(65);
        let cfg = BatvConfig {
            keys: vec![KeyConfig { digit: 0, secret: Some(long.clone()), ..Default::default() }],
            ..Default::default()
        };
        let err = KeyRing::new(&cfg).unwrap_err();
        assert!(err.contains("at most 64") && !err.contains(&long), "{err}");
        assert!(!format!("{cfg:?}").contains(&long));
        let ok = KeyConfig { digit: 0, secret_base64: Some("c2VjcmV0".into()), ..Default::default() };
        let r = KeyRing::new(&BatvConfig { keys: vec![ok], mode: Mode::Exact, ..Default::default() }).unwrap();
        assert_eq!(r.sign("userx@test.ex", None, 1577836860).address, "prvs=02694aa88d=userx@test.ex");
        for bad in [
            KeyConfig { digit: 0, secret_hex: Some("zz".into()), ..Default::default() },
            KeyConfig { digit: 10, secret: Some("x".into()), ..Default::default() },
            KeyConfig { digit: 0, ..Default::default() },
        ] {
            assert!(KeyRing::new(&BatvConfig { keys: vec![bad], ..Default::default() }).is_err());
        }
    }
}
