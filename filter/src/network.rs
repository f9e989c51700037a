//! IP networks written as an address or a CIDR range: our relays in the site configuration
//! (verdict) and the hosts' outbound client networks use the same reading.

use std::net::IpAddr;

/// An IP network: `192.0.2.0/24`, `2001:db8::/32`, or one address (a full-length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    bits: u8,
}

impl Network {
    /// `None` unless `s` is an IP address, with an optional prefix length that fits it.
    pub fn parse(s: &str) -> Option<Network> {
        let (base, bits) = match s.split_once('/') {
            Some((ip, bits)) => (ip.parse::<IpAddr>().ok()?, bits.parse::<u8>().ok()?),
            None => {
                let ip = s.parse::<IpAddr>().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if base.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Network { base, bits })
    }

    /// Whether `ip` lies in the network; an IPv4-mapped IPv6 address counts as its IPv4 one.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let mask = |len: u32| if self.bits == 0 { 0u128 } else { u128::MAX << (len - u32::from(self.bits)) };
        match (ip, self.base) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let m = mask(32) as u32;
                u32::from(a) & m == u32::from(b) & m
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let m = mask(128);
                u128::from(a) & m == u128::from(b) & m
            }
            (IpAddr::V6(a), IpAddr::V4(_)) => a.to_ipv4_mapped().is_some_and(|a| self.contains(IpAddr::V4(a))),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks() {
        let n = Network::parse("192.0.2.0/24").unwrap();
        assert!(n.contains(ip("192.0.2.77")));
        assert!(!n.contains(ip("192.0.3.1")));
        assert!(n.contains(ip("::ffff:192.0.2.1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(Network::parse("198.51.100.7").unwrap().contains(ip("198.51.100.7")));
        assert!(!Network::parse("198.51.100.7").unwrap().contains(ip("198.51.100.8")));
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("2001:db8::/129").is_none());
        assert!(Network::parse("example.com").is_none());
    }
}
