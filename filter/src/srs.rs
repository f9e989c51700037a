//! SRS (Sender Rewriting Scheme) as libsrs2, PostSRSd and pysrs implement it, byte for byte:
//! `SRS0=HHHH=TT=domain=local@forwarder`, `SRS1=HHHH=host0=rest@forwarder` for a second hop.
//! HHHH is base64 of HMAC-SHA1(secret, lower-cased fields) cut to 4 characters; TT is the day in
//! base32, 10 bits. Verification accepts both base64 alphabets and any case of the hash.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::tags;

const DAY: u64 = 86_400;
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Which base64 alphabet the hash is written in when signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// `+/`: libsrs2, pysrs, Debian's PostSRSd 1.10.
    Standard,
    /// `-_`: PostSRSd ≥ 2.2.6 (receivers refuse `/` in MAIL FROM). Default.
    #[default]
    Url,
}

/// SRS configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SrsConfig {
    /// Our forwarding domain: rewritten senders end `@domain`.
    pub domain: String,
    /// Other domains of ours whose senders are not rewritten.
    pub local_domains: Vec<String>,
    /// Secrets: the first signs, all verify (put a new one first, keep the old ≥ 21 days).
    pub secrets: Vec<String>,
    pub alphabet: Alphabet,
    /// `=`, `+` or `-` after `SRS0`/`SRS1`.
    pub separator: char,
    /// Days a rewritten address stays valid.
    pub max_age_days: u32,
}

impl Default for SrsConfig {
    fn default() -> Self {
        SrsConfig {
            domain: String::new(),
            local_domains: Vec::new(),
            secrets: Vec::new(),
            alphabet: Alphabet::Url,
            separator: '=',
            max_age_days: 21,
        }
    }
}

impl std::fmt::Debug for SrsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrsConfig")
            .field("domain", &self.domain)
            .field("secrets", &format!("<{} redacted>", self.secrets.len()))
            .field("alphabet", &self.alphabet)
            .finish_non_exhaustive()
    }
}

/// Why an address did not reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReverseError {
    /// Not an SRS address.
    NotSrs,
    /// An SRS address at a domain that is not ours (pass it on untouched).
    ForeignDomain,
    /// SRS syntax, but fields are missing or malformed.
    Malformed,
    /// The time stamp is older than the maximum age, or in the future.
    Expired,
    /// The hash does not verify under any secret.
    BadHash,
}

/// Result of a reversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversed {
    /// The address the bounce goes back to, when it verified.
    pub address: Option<String>,
    pub error: Option<ReverseError>,
}

/// A validated SRS configuration.
pub struct Srs {
    config: SrsConfig,
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl Srs {
    pub fn new(config: &SrsConfig) -> Result<Srs, String> {
        if config.domain.is_empty() || config.domain.contains('@') {
            return Err("srs: domain must be our forwarding domain, e.g. \"fwd.example.net\"".into());
        }
        if config.secrets.is_empty() || config.secrets.iter().any(String::is_empty) {
            return Err("srs: at least one non-empty secret is needed".into());
        }
        if !matches!(config.separator, '=' | '+' | '-') {
            return Err(format!("srs: separator {:?} is not one of = + -", config.separator));
        }
        Ok(Srs { config: config.clone() })
    }

    fn is_local(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.config.domain)
            || self.config.local_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Rewrite a sender for forwarding. Senders in our own domains, the null sender and
    /// non-addresses are returned unchanged.
    pub fn forward(&self, sender: &str, now: u64) -> String {
        let Some((local, domain)) = tags::split(sender) else { return sender.to_string() };
        // '=' separates SRS fields: a domain holding one (no real domain does) could not be
        // read back, so such a sender is left as it is.
        if self.is_local(domain) || domain.contains('=') {
            return sender.to_string();
        }
        let sep = self.config.separator;
        let fwd = &self.config.domain;
        let secret = self.config.secrets[0].as_bytes();
        if let Some(rest) = srs_rest(local, "SRS0") {
            // A foreign SRS0: wrap it as SRS1, keeping its first hop's domain.
            let hash = hash(secret, &[domain, rest], self.config.alphabet);
            return format!("SRS1{sep}{hash}={domain}={rest}@{fwd}");
        }
        if let Some(rest) = srs_rest(local, "SRS1") {
            // A foreign SRS1: keep host0 and its rest, re-hash, take our domain.
            let mut parts = rest[1..].splitn(3, '=');
            // Without its first hop's domain the SRS1 address is malformed: it gets wrapped as
            // an ordinary sender below, which reads back.
            if let (Some(_old_hash), Some(host0), Some(inner)) = (parts.next(), parts.next(), parts.next())
                && !host0.is_empty()
            {
                let hash = hash(secret, &[host0, inner], self.config.alphabet);
                return format!("SRS1{sep}{hash}={host0}={inner}@{fwd}");
            }
        }
        let tt = timestamp(now);
        let hash = hash(secret, &[&tt, domain, local], self.config.alphabet);
        format!("SRS0{sep}{hash}={tt}={domain}={local}@{fwd}")
    }

    /// Reverse one of our SRS addresses (the recipient of a bounce) to where it goes back.
    pub fn reverse(&self, address: &str, now: u64) -> Reversed {
        let fail = |e| Reversed { address: None, error: Some(e) };
        let Some((local, domain)) = tags::split(address) else { return fail(ReverseError::NotSrs) };
        let (srs0, srs1) = (srs_rest(local, "SRS0"), srs_rest(local, "SRS1"));
        if srs0.is_none() && srs1.is_none() {
            return fail(ReverseError::NotSrs);
        }
        if !self.is_local(domain) {
            return fail(ReverseError::ForeignDomain);
        }
        if let Some(rest) = srs0 {
            let mut f = rest[1..].splitn(4, '=');
            let (Some(h), Some(tt), Some(orig_domain), Some(orig_local)) = (f.next(), f.next(), f.next(), f.next())
            else {
                return fail(ReverseError::Malformed);
            };
            if h.len() < 4 || tt.len() != 2 || orig_domain.is_empty() || orig_local.is_empty() {
                return fail(ReverseError::Malformed);
            }
            match timestamp_age(tt, now) {
                None => return fail(ReverseError::Malformed),
                Some(age) if age > u64::from(self.config.max_age_days) => return fail(ReverseError::Expired),
                Some(_) => {}
            }
            if !self.hash_ok(h, &[tt, orig_domain, orig_local]) {
                return fail(ReverseError::BadHash);
            }
            return Reversed { address: Some(format!("{orig_local}@{orig_domain}")), error: None };
        }
        let rest = srs1.unwrap_or_default();
        let mut f = rest[1..].splitn(3, '=');
        let (Some(h), Some(host0), Some(inner)) = (f.next(), f.next(), f.next()) else {
            return fail(ReverseError::Malformed);
        };
        if h.len() < 4 || host0.is_empty() {
            return fail(ReverseError::Malformed);
        }
        if !self.hash_ok(h, &[host0, inner]) {
            return fail(ReverseError::BadHash);
        }
        Reversed { address: Some(format!("SRS0{inner}@{host0}")), error: None }
    }

    /// The presented hash against every secret, case-insensitively, in either alphabet.
    fn hash_ok(&self, presented: &str, fields: &[&str]) -> bool {
        let presented = normalise(presented);
        let mut ok = false;
        for secret in &self.config.secrets {
            let want = normalise(&hash(secret.as_bytes(), fields, Alphabet::Url));
            // Compare every secret's hash without stopping early: constant time per secret.
            ok |= constant_time_eq(want.as_bytes(), &presented.as_bytes()[..presented.len().min(4)]);
        }
        ok
    }
}

/// After `SRS0`/`SRS1` (any case) and a separator: the rest, starting with that separator.
fn srs_rest<'a>(local: &'a str, prefix: &str) -> Option<&'a str> {
    let b = local.as_bytes();
    (b.len() > 5 && b[..4].eq_ignore_ascii_case(prefix.as_bytes()) && matches!(b[4], b'=' | b'+' | b'-'))
        .then(|| &local[4..])
}

/// The first four characters of base64(HMAC-SHA1(secret, lower-cased fields)).
fn hash(secret: &[u8], fields: &[&str], alphabet: Alphabet) -> String {
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for f in fields {
        mac.update(f.to_ascii_lowercase().as_bytes());
    }
    let digest = mac.finalize().into_bytes();
    let encoded = match alphabet {
        Alphabet::Standard => base64::engine::general_purpose::STANDARD.encode(digest),
        Alphabet::Url => base64::engine::general_purpose::URL_SAFE.encode(digest),
    };
    encoded[..4].to_string()
}

fn normalise(h: &str) -> String {
    h.chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// TT: 10 bits of the day in base32.
fn timestamp(now: u64) -> String {
    let day = now / DAY;
    [B32[((day >> 5) & 31) as usize] as char, B32[(day & 31) as usize] as char].iter().collect()
}

/// Days since a TT stamp (mod 1024); `None` for characters outside base32.
fn timestamp_age(tt: &str, now: u64) -> Option<u64> {
    let idx = |c: u8| B32.iter().position(|b| *b == c.to_ascii_uppercase()).map(|p| p as u64);
    let b = tt.as_bytes();
    let value = idx(b[0])? * 32 + idx(b[1])?;
    Some(((now / DAY) % 1024 + 1024 - value) % 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srs(secrets: &[&str], domain: &str, alphabet: Alphabet) -> Srs {
        let config = SrsConfig {
            domain: domain.into(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            alphabet,
            ..Default::default()
        };
        Srs::new(&config).unwrap()
    }

    const NOW: u64 = 1577836860;

    /// Found by fuzzing (`batv_srs` round trip): a foreign SRS0 sender whose "domain" held
    /// `==` was wrapped as SRS1, and the '=' inside the domain made the SRS1 address read
    /// back wrongly (bad hash). Such a sender is now left unchanged; real domains are unaffected.
    #[test]
    fn a_domain_with_the_field_separator_is_not_rewritten() {
        let s = srs(&["tops3cr3t"], "example.com", Alphabet::Url);
        for sender in ["SRS0=ab=CD=x.example=u@odd==domain", "user@a=b.example"] {
            assert_eq!(s.forward(sender, NOW), sender);
        }
        let wrapped = s.forward("SRS0=ab=CD=x.example=u@other.example", NOW);
        assert_eq!(s.reverse(&wrapped, NOW).error, None, "{wrapped}");
    }

    /// Found by fuzzing (`batv_srs` round trip): a foreign SRS1 address with an empty first-hop
    /// domain ("SRS1=hash==rest") was re-wrapped as SRS1 keeping the empty domain, which then
    /// reversed as malformed. It is now wrapped as an ordinary sender (SRS0) and reads back.
    #[test]
    fn a_foreign_srs1_without_its_first_hop_is_wrapped_as_srs0() {
        let s = srs(&["tops3cr3t"], "example.com", Alphabet::Url);
        let sender = "SRS1=xyz==ab=CD=x.example=u@forwarder.example";
        let forwarded = s.forward(sender, NOW);
        assert!(forwarded.starts_with("SRS0="), "{forwarded}");
        assert_eq!(s.reverse(&forwarded, NOW).address.as_deref(), Some(sender));
    }

    /// `shared/domain-notes.md` §7.3.
    #[test]
    fn vectors() {
        let s = srs(&["tops3cr3t"], "example.com", Alphabet::Url);
        assert_eq!(s.forward("test@otherdomain.com", NOW), "SRS0=vmyz=2W=otherdomain.com=test@example.com");
        assert_eq!(
            s.forward("SRS0=opaque+string@otherdomain.com", NOW),
            "SRS1=chaI=otherdomain.com==opaque+string@example.com"
        );
        assert_eq!(
            s.forward("SRS1=X=thirddomain.com==opaque+string@otherdomain.com", NOW),
            "SRS1=JIBX=thirddomain.com==opaque+string@example.com"
        );
        assert_eq!(s.forward("hash234@somedomain.com", NOW), "SRS0=-3_5=2W=somedomain.com=hash234@example.com");
        let std = srs(&["tops3cr3t"], "example.com", Alphabet::Standard);
        assert_eq!(std.forward("hash234@somedomain.com", NOW), "SRS0=+3/5=2W=somedomain.com=hash234@example.com");
        assert_eq!(s.forward("test@example.com", NOW), "test@example.com");
        let ok = |a: &str, now: u64| s.reverse(a, now).address;
        let err = |a: &str, now: u64| s.reverse(a, now).error;
        assert_eq!(ok("SRS0=XjO9=2V=otherdomain.com=test@example.com", NOW).as_deref(), Some("test@otherdomain.com"));
        assert_eq!(
            ok("SRS1=JIBX=thirddomain.com==opaque+string@example.com", NOW).as_deref(),
            Some("SRS0=opaque+string@thirddomain.com")
        );
        assert_eq!(err("SRS0=te87=T7=otherdomain.com=test@example.com", NOW), Some(ReverseError::Expired));
        assert_eq!(err("SRS0=VcIb=7N=otherdomain.com=test@example.com", NOW), Some(ReverseError::Expired));
        assert_eq!(err("SRS0=FAKE=2V=otherdomain.com=test@example.com", NOW), Some(ReverseError::BadHash));
        assert_eq!(ok("srs0=xjo9=2v=otherdomain.com=test@example.com", NOW).as_deref(), Some("test@otherdomain.com"));
        assert_eq!(ok("SRS0=XJO9=2V=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", NOW).as_deref(), Some("TEST@OTHERDOMAIN.COM"));
        assert_eq!(
            ok("SRS0=-3_5=2W=somedomain.com=hash234@example.com", NOW).as_deref(),
            Some("hash234@somedomain.com")
        );
        assert_eq!(
            ok("SRS0=+3/5=2W=somedomain.com=hash234@example.com", NOW).as_deref(),
            Some("hash234@somedomain.com")
        );
        assert_eq!(err("test@example.com", NOW), Some(ReverseError::NotSrs));
        assert_eq!(
            ok("SRS0=vmyz=2W=otherdomain.com=test@example.com", 1579651260).as_deref(),
            Some("test@otherdomain.com")
        );
        assert_eq!(err("SRS0=vmyz=2W=otherdomain.com=test@example.com", 1579737660), Some(ReverseError::Expired));
        let two = srs(&["n3w-s3cret", "tops3cr3t"], "example.com", Alphabet::Url);
        assert_eq!(
            two.reverse("SRS0=vmyz=2W=otherdomain.com=test@example.com", NOW).address.as_deref(),
            Some("test@otherdomain.com")
        );
        assert_eq!(err("SRS0=vmyz=2W=otherdomain.com=test@elsewhere.org", NOW), Some(ReverseError::ForeignDomain));
        assert_eq!(err("SRS0=vmyz=2W@example.com", NOW), Some(ReverseError::Malformed));
        assert_eq!(err("SRS0=vmyz=!!=otherdomain.com=test@example.com", NOW), Some(ReverseError::Malformed));
    }

    #[test]
    fn second_table_and_separators() {
        let s = srs(&["secret"], "fwd.example.net", Alphabet::Url);
        let t = 1700000000;
        assert_eq!(s.forward("alice@example.org", t), "SRS0=sEw5=G3=example.org=alice@fwd.example.net");
        assert_eq!(s.forward("Bob.Smith@Example.ORG", t), "SRS0=CuOo=G3=Example.ORG=Bob.Smith@fwd.example.net");
        assert_eq!(s.forward("alice@example.org", 1727568000), "SRS0=LwUB=Q3=example.org=alice@fwd.example.net");
        let plus = Srs::new(&SrsConfig { separator: '+', ..s.config.clone() }).unwrap();
        let fwd = plus.forward("alice@example.org", t);
        assert_eq!(fwd, "SRS0+sEw5=G3=example.org=alice@fwd.example.net");
        assert_eq!(plus.reverse(&fwd, t).address.as_deref(), Some("alice@example.org"));
    }

    #[test]
    fn bad_configs_are_refused_without_secrets_in_messages() {
        assert!(Srs::new(&SrsConfig { domain: "x.example".into(), ..Default::default() }).is_err());
        let c = SrsConfig {
            domain: "x.example".into(),
            secrets: vec!["hush".into()],
            separator: '#',
            ..Default::default()
        };
        let e = Srs::new(&c).unwrap_err();
        assert!(!e.contains("hush"));
        assert!(!format!("{c:?}").contains("hush"));
    }
}
