//! Tagged envelope addresses: recognising BATV, SRS and vendor tags, and stripping them.
//! Recognition only: verifying our own tags is `batv.rs` and `srs.rs`.

use crate::text::starts_with_ci;

/// What kind of tag an address carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag<'a> {
    /// `prvs=KDDDSSSSSS=local@domain` (draft-levine-smtp-batv-01, Exim ≥ 4.68).
    Prvs { digit: u8, ddd: &'a str, mac: &'a str, core_local: &'a str, domain: &'a str },
    /// A `prvs=` prefix that does not have the form above.
    MalformedPrvs,
    /// Another scheme's tag: `prvs-old` (`prvs=local/KDDDSSSSSS`), `prvs-reversed`
    /// (`prvs=local=KDDDSSSSSS`), `btv1` (Barracuda), `msprvs1` (SparkPost), `srs0`, `srs1`.
    Foreign { kind: &'static str, core_local: String, domain: &'a str },
    /// No tag.
    None,
}

/// Split at the last `@`.
pub fn split(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty())
}

/// `[0-9]{4}[0-9a-fA-F]{6}`: the tag of a prvs address.
fn is_prvs_tag(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4..].iter().all(u8::is_ascii_hexdigit)
}

/// What tag `address` carries.
pub fn classify(address: &str) -> Tag<'_> {
    let Some((local, domain)) = split(address) else { return Tag::None };
    if starts_with_ci(local, "prvs=") {
        let rest = &local[5..];
        if let Some((tag, core)) = rest.split_once('=') {
            if is_prvs_tag(tag) && !core.is_empty() {
                let digit = tag.as_bytes()[0] - b'0';
                return Tag::Prvs { digit, ddd: &tag[1..4], mac: &tag[4..], core_local: core, domain };
            }
        }
        // Older and reversed forms, seen in the wild: the tag after the local part.
        if let Some((core, tag)) = rest.rsplit_once('/') {
            if is_prvs_tag(tag) {
                return Tag::Foreign { kind: "prvs-old", core_local: core.to_string(), domain };
            }
        }
        if let Some((core, tag)) = rest.rsplit_once('=') {
            if is_prvs_tag(tag) && !core.is_empty() {
                return Tag::Foreign { kind: "prvs-reversed", core_local: core.to_string(), domain };
            }
        }
        return Tag::MalformedPrvs;
    }
    if starts_with_ci(local, "btv1==") {
        // btv1==DDDhhhhhhhh==local
        if let Some((_, core)) = local[6..].split_once("==") {
            return Tag::Foreign { kind: "btv1", core_local: core.to_string(), domain };
        }
    }
    if starts_with_ci(local, "msprvs1=") {
        if let Some((_, core)) = local[8..].split_once('=') {
            return Tag::Foreign { kind: "msprvs1", core_local: core.to_string(), domain };
        }
    }
    for (prefix, kind) in [("srs0", "srs0"), ("srs1", "srs1")] {
        if starts_with_ci(local, prefix) && local[4..].starts_with(['=', '+', '-']) {
            return Tag::Foreign { kind, core_local: local.to_string(), domain };
        }
    }
    Tag::None
}

/// The address without a BATV or vendor tag (SRS addresses are kept: they name another
/// sender), for comparisons such as "is this the address we sent from".
pub fn strip(address: &str) -> String {
    match classify(address) {
        Tag::Prvs { core_local, domain, .. } => format!("{core_local}@{domain}"),
        Tag::Foreign { kind, core_local, domain } if !kind.starts_with("srs") => format!("{core_local}@{domain}"),
        _ => address.to_string(),
    }
}

/// The sender an SRS address stands for (`SRS0=HHH=TT=domain=local@fwd`, or SRS1's innermost
/// one), unverified: for comparisons only, never as proof (`srs.rs` verifies our own).
pub fn srs_sender(address: &str) -> Option<String> {
    let (local, _) = split(address)?;
    let lower = local.get(..5)?.to_ascii_lowercase();
    let srs0 = match lower.as_str() {
        "srs0=" | "srs0+" | "srs0-" => &local[5..],
        "srs1=" | "srs1+" | "srs1-" => local[5..].splitn(3, '=').nth(2)?.strip_prefix('=')?,
        _ => return None,
    };
    let mut f = srs0.splitn(4, '=');
    let (_, _, domain, local) = (f.next()?, f.next()?, f.next()?, f.next()?);
    (!domain.is_empty() && !local.is_empty()).then(|| format!("{local}@{domain}"))
}

/// The address a returned original's envelope sender stands for: without a BATV or vendor tag,
/// and an SRS address read back to the sender it rewrote.
pub fn sender_behind(address: &str) -> String {
    srs_sender(address).unwrap_or_else(|| strip(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_and_strips() {
        assert!(matches!(classify("prvs=02694aa88d=userx@test.ex"), Tag::Prvs { digit: 0, ddd: "269", .. }));
        assert!(matches!(classify("PRVS=02694AA88D=userx@test.ex"), Tag::Prvs { mac: "4AA88D", .. }));
        assert_eq!(classify("prvs=zz=userx@test.ex"), Tag::MalformedPrvs);
        assert_eq!(strip("prvs=userx/02694aa88d@test.ex"), "userx@test.ex");
        assert_eq!(strip("prvs=userx=02694aa88d@test.ex"), "userx@test.ex");
        assert_eq!(strip("btv1==269aabbccdd==bob@example.com"), "bob@example.com");
        assert_eq!(strip("msprvs1=17aa=bounces-1@sp.example.com"), "bounces-1@sp.example.com");
        assert_eq!(strip("prvs=7682ec0ca6=user+tag=x@example.org"), "user+tag=x@example.org");
        assert!(matches!(classify("SRS0=vmyz=2W=other.com=test@example.com"), Tag::Foreign { kind: "srs0", .. }));
        assert_eq!(strip("SRS0=vmyz=2W=other.com=test@example.com"), "SRS0=vmyz=2W=other.com=test@example.com");
        assert_eq!(classify("plain@example.com"), Tag::None);
        assert_eq!(classify("no-at-sign"), Tag::None);
    }

    #[test]
    fn srs_senders_are_read_back_unverified() {
        assert_eq!(srs_sender("SRS0=HHH=TT=ours.example=alice@fwd.example").as_deref(), Some("alice@ours.example"));
        assert_eq!(srs_sender("srs0+HHH=TT=ours.example=a=b@fwd.example").as_deref(), Some("a=b@ours.example"));
        assert_eq!(
            srs_sender("SRS1=X=fwd1.example==HHH=TT=ours.example=alice@fwd2.example").as_deref(),
            Some("alice@ours.example")
        );
        assert_eq!(srs_sender("SRS0=HHH=TT==alice@fwd.example"), None);
        assert_eq!(srs_sender("alice@ours.example"), None);
        assert_eq!(sender_behind("prvs=1234abcdef=alice@ours.example"), "alice@ours.example");
    }
}
