//! Which network addresses webhooks may target. Owns the address classification and the
//! operator's allow-list; used when an endpoint is saved and (later) before every connection.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public internet destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Multicast,
    Broadcast,
    Documentation,
    Reserved,
}

impl Restricted {
    pub fn describe(self) -> &'static str {
        match self {
            Restricted::Unspecified => "an unspecified address",
            Restricted::Loopback => "a loopback address",
            Restricted::Private => "a private address",
            Restricted::LinkLocal => "a link-local address",
            Restricted::SharedCgnat => "a shared (CGNAT) address",
            Restricted::Multicast => "a multicast address",
            Restricted::Broadcast => "a broadcast address",
            Restricted::Documentation => "a documentation address",
            Restricted::Reserved => "a reserved address",
        }
    }
}

/// Why webhooks may not target `ip`, if they may not: a restricted address the operator's
/// allow list does not cover. The one decision, made when an endpoint is saved (literal
/// addresses) and before every connection (resolved ones), so what saves is what is sent to.
pub fn refused(ip: IpAddr, allow: &AllowList) -> Option<Restricted> {
    classify(ip).filter(|_| !allow.covers(ip))
}

/// Classifies an address, looking through IPv4-mapped and IPv4-translated IPv6 forms.
pub fn classify(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let [a, b, c, _] = ip.octets();
    let class = if ip.is_unspecified() || a == 0 {
        Restricted::Unspecified
    } else if ip.is_loopback() {
        Restricted::Loopback
    } else if ip.is_private() {
        Restricted::Private
    } else if ip.is_link_local() {
        Restricted::LinkLocal
    } else if a == 100 && (64..128).contains(&b) {
        Restricted::SharedCgnat
    } else if ip.is_multicast() {
        Restricted::Multicast
    } else if ip.is_broadcast() {
        Restricted::Broadcast
    } else if ip.is_documentation() {
        Restricted::Documentation
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) || (a == 198 && (b == 18 || b == 19)) {
        Restricted::Reserved
    } else {
        return None;
    };
    Some(class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Restricted> {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    let class = if ip.is_unspecified() {
        Restricted::Unspecified
    } else if ip.is_loopback() {
        Restricted::Loopback
    } else if first & 0xfe00 == 0xfc00 {
        Restricted::Private
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        Restricted::LinkLocal
    } else if ip.is_multicast() {
        Restricted::Multicast
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Restricted::Documentation
    } else {
        return None;
    };
    Some(class)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    None
}

/// The operator's exceptions (`FACEHOOK_ALLOW_TARGETS`): CIDRs or single addresses. Shared,
/// not copied: the HTTP client clones its resolver, and with it this list, for every request.
#[derive(Debug, Clone, Default)]
pub struct AllowList(std::sync::Arc<[IpNet]>);

impl AllowList {
    pub fn new(nets: Vec<IpNet>) -> Self {
        AllowList(nets.into())
    }

    pub fn covers(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.0
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
    }
}

/// Parses one allow-list entry: `10.0.0.0/8`, `::1/128` or a bare address.
pub fn parse_allow_entry(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(net);
    }
    raw.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{raw:?} is not a CIDR (like 10.0.0.0/8) or an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(raw: &str) -> Option<Restricted> {
        classify(raw.parse().unwrap())
    }

    #[test]
    fn classifies_the_restricted_ranges() {
        assert_eq!(class("127.0.0.1"), Some(Restricted::Loopback));
        assert_eq!(class("10.1.2.3"), Some(Restricted::Private));
        assert_eq!(class("172.16.0.1"), Some(Restricted::Private));
        assert_eq!(class("192.168.1.1"), Some(Restricted::Private));
        assert_eq!(class("169.254.169.254"), Some(Restricted::LinkLocal));
        assert_eq!(class("100.64.0.1"), Some(Restricted::SharedCgnat));
        assert_eq!(class("224.0.0.1"), Some(Restricted::Multicast));
        assert_eq!(class("255.255.255.255"), Some(Restricted::Broadcast));
        assert_eq!(class("192.0.2.1"), Some(Restricted::Documentation));
        assert_eq!(class("0.0.0.0"), Some(Restricted::Unspecified));
        assert_eq!(class("::1"), Some(Restricted::Loopback));
        assert_eq!(class("::"), Some(Restricted::Unspecified));
        assert_eq!(class("fd00::1"), Some(Restricted::Private));
        assert_eq!(class("fe80::1"), Some(Restricted::LinkLocal));
        assert_eq!(class("ff02::1"), Some(Restricted::Multicast));
        assert_eq!(class("2001:db8::1"), Some(Restricted::Documentation));
        assert_eq!(class("::ffff:127.0.0.1"), Some(Restricted::Loopback));
        assert_eq!(class("::ffff:10.0.0.1"), Some(Restricted::Private));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(Restricted::LinkLocal));
        assert_eq!(class("93.184.216.34"), None);
        assert_eq!(class("2606:4700::1111"), None);
        assert_eq!(class("100.128.0.1"), None);
    }

    #[test]
    fn allow_list_covers_cidrs_bare_addresses_and_mapped_forms() {
        let list = AllowList::new(vec![
            parse_allow_entry("127.0.0.0/8").unwrap(),
            parse_allow_entry("::1").unwrap(),
        ]);
        assert!(list.covers("127.0.0.1".parse().unwrap()));
        assert!(list.covers("::1".parse().unwrap()));
        assert!(list.covers("::ffff:127.0.0.2".parse().unwrap()));
        assert!(!list.covers("10.0.0.1".parse().unwrap()));
        assert!(parse_allow_entry("not-a-net").is_err());
    }
}
