//! Address ranges for `IpAddress` and `NotIpAddress`: IPv4 or IPv6 CIDR blocks (`10.0.0.0/8`,
//! `2001:db8::/32`), or a single address (a `/32` or `/128`). Host bits after the prefix are ignored.

use std::net::IpAddr;

/// An address block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`.
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in the block. An IPv4-mapped IPv6 address counts as its IPv4 address.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
            ("192.168.1.7/24", "192.168.1.200", true),
            ("203.0.113.5", "203.0.113.5", true),
            ("203.0.113.5", "203.0.113.6", false),
            ("203.0.113.5/32", "203.0.113.5", true),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("2001:db8::1", "2001:db8::1", true),
            ("2001:db8::1", "2001:db8::2", false),
            ("::/0", "fe80::1", true),
            ("::/0", "127.0.0.1", false),
            ("2001:db8:abcd:12::/63", "2001:db8:abcd:13::9", true),
            ("2001:db8:abcd:12::/64", "2001:db8:abcd:13::9", false),
        ];
        for (cidr, ip, want) in cases {
            let block = Cidr::parse(cidr).unwrap();
            assert_eq!(block.contains(ip.parse().unwrap()), *want, "{cidr} contains {ip}");
        }
    }

    #[test]
    fn refuses_bad_blocks() {
        for bad in
            ["", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "host", "10.0.0.0/+8"]
        {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
