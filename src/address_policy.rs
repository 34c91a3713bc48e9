//! Which candidate addresses are acceptable. The draft's §7 is empty; this
//! is part of what the crate puts there (see SECURITY.md): a forged or
//! careless candidate set must not send a NATed node to an address that
//! cannot be a STUN/TURN server, or that points it at its own network.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use core::fmt;

use thiserror::Error;

use crate::candidate::TransportAddress;

/// Why an address is refused as a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AddressClass {
    /// `0.0.0.0`, `::`, or port 0: never a reachable server. Always refused.
    #[error("unspecified address or port 0")]
    Unspecified,
    /// Multicast: never a unicast server. Always refused.
    #[error("multicast address")]
    Multicast,
    /// `255.255.255.255`. Always refused.
    #[error("broadcast address")]
    Broadcast,
    /// `127.0.0.0/8`, `::1`.
    #[error("loopback address")]
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`.
    #[error("link-local address")]
    LinkLocal,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), shared address space
    /// (`100.64/10`, RFC 6598) and unique local IPv6 (`fc00::/7`).
    #[error("private address")]
    Private,
    /// Documentation ranges: `192.0.2/24`, `198.51.100/24`, `203.0.113/24`,
    /// `2001:db8::/32`.
    #[error("documentation address")]
    Documentation,
}

/// Address policy for candidates, applied when a candidate enters a
/// [`CandidateTable`](crate::CandidateTable) and when a sending node saves a
/// candidate set.
///
/// Unspecified, multicast and broadcast addresses are always refused. The
/// other classes are refused by default, which suits an overlay on the public
/// Internet; a lab or a private overlay allows them.
///
/// ```
/// use stun_turn_discovery::{AddressClass, AddressPolicy, Transport, TransportAddress};
/// let doc = TransportAddress::new("192.0.2.1".parse().unwrap(), 3478, Transport::Udp);
/// assert_eq!(AddressPolicy::default().check(&doc), Err(AddressClass::Documentation));
/// assert_eq!(AddressPolicy::default().with_documentation(true).check(&doc), Ok(()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AddressPolicy {
    /// Allow loopback addresses.
    pub loopback: bool,
    /// Allow link-local addresses.
    pub link_local: bool,
    /// Allow private addresses.
    pub private: bool,
    /// Allow documentation addresses.
    pub documentation: bool,
}

impl Default for AddressPolicy {
    /// Public Internet: every configurable class refused.
    fn default() -> Self {
        Self {
            loopback: false,
            link_local: false,
            private: false,
            documentation: false,
        }
    }
}

impl AddressPolicy {
    /// Every configurable class allowed; unspecified, multicast and broadcast
    /// are still refused.
    pub const fn permissive() -> Self {
        Self {
            loopback: true,
            link_local: true,
            private: true,
            documentation: true,
        }
    }

    /// This policy with loopback allowed or not.
    #[must_use]
    pub const fn with_loopback(mut self, allow: bool) -> Self {
        self.loopback = allow;
        self
    }

    /// This policy with link-local allowed or not.
    #[must_use]
    pub const fn with_link_local(mut self, allow: bool) -> Self {
        self.link_local = allow;
        self
    }

    /// This policy with private ranges allowed or not.
    #[must_use]
    pub const fn with_private(mut self, allow: bool) -> Self {
        self.private = allow;
        self
    }

    /// This policy with documentation ranges allowed or not.
    #[must_use]
    pub const fn with_documentation(mut self, allow: bool) -> Self {
        self.documentation = allow;
        self
    }

    /// `Ok` if `address` may be a candidate, or the class that refuses it.
    pub fn check(&self, address: &TransportAddress) -> Result<(), AddressClass> {
        if address.port() == 0 {
            return Err(AddressClass::Unspecified);
        }
        match AddressClass::of(address.ip()) {
            None => Ok(()),
            Some(class) if self.allows(class) => Ok(()),
            Some(class) => Err(class),
        }
    }

    /// Whether `class` is allowed by this policy.
    pub const fn allows(&self, class: AddressClass) -> bool {
        match class {
            AddressClass::Unspecified | AddressClass::Multicast | AddressClass::Broadcast => false,
            AddressClass::Loopback => self.loopback,
            AddressClass::LinkLocal => self.link_local,
            AddressClass::Private => self.private,
            AddressClass::Documentation => self.documentation,
        }
    }
}

impl fmt::Display for AddressPolicy {
    /// `public only`, or the classes allowed: `allows loopback, private`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = [
            (self.loopback, "loopback"),
            (self.link_local, "link-local"),
            (self.private, "private"),
            (self.documentation, "documentation"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if allowed.is_empty() {
            f.write_str("public only")
        } else {
            write!(f, "allows {}", allowed.join(", "))
        }
    }
}

impl AddressClass {
    /// The special class of `ip`, or `None` for an ordinary global address.
    ///
    /// ```
    /// use stun_turn_discovery::AddressClass;
    /// assert_eq!(AddressClass::of("10.1.2.3".parse().unwrap()), Some(AddressClass::Private));
    /// assert_eq!(AddressClass::of("8.8.8.8".parse().unwrap()), None);
    /// ```
    pub fn of(ip: IpAddr) -> Option<Self> {
        match ip.to_canonical() {
            IpAddr::V4(v4) => classify_v4(v4),
            IpAddr::V6(v6) => classify_v6(v6),
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let o = ip.octets();
    if ip.is_unspecified() {
        Some(AddressClass::Unspecified)
    } else if ip.is_broadcast() {
        Some(AddressClass::Broadcast)
    } else if ip.is_multicast() {
        Some(AddressClass::Multicast)
    } else if ip.is_loopback() {
        Some(AddressClass::Loopback)
    } else if ip.is_link_local() {
        Some(AddressClass::LinkLocal)
    } else if ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        Some(AddressClass::Private)
    } else if ip.is_documentation() {
        Some(AddressClass::Documentation)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let s = ip.segments();
    if ip.is_unspecified() {
        Some(AddressClass::Unspecified)
    } else if ip.is_multicast() {
        Some(AddressClass::Multicast)
    } else if ip.is_loopback() {
        Some(AddressClass::Loopback)
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some(AddressClass::LinkLocal)
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some(AddressClass::Private)
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some(AddressClass::Documentation)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        AddressClass::of(s.parse().unwrap())
    }

    #[test]
    fn classes() {
        assert_eq!(class("0.0.0.0"), Some(AddressClass::Unspecified));
        assert_eq!(class("::"), Some(AddressClass::Unspecified));
        assert_eq!(class("255.255.255.255"), Some(AddressClass::Broadcast));
        assert_eq!(class("224.0.0.1"), Some(AddressClass::Multicast));
        assert_eq!(class("ff02::1"), Some(AddressClass::Multicast));
        assert_eq!(class("127.0.0.2"), Some(AddressClass::Loopback));
        assert_eq!(class("::1"), Some(AddressClass::Loopback));
        assert_eq!(class("169.254.1.1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("fe80::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("10.1.2.3"), Some(AddressClass::Private));
        assert_eq!(class("172.31.0.1"), Some(AddressClass::Private));
        assert_eq!(class("192.168.0.1"), Some(AddressClass::Private));
        assert_eq!(class("100.64.0.1"), Some(AddressClass::Private));
        assert_eq!(class("fd00::1"), Some(AddressClass::Private));
        assert_eq!(class("198.51.100.7"), Some(AddressClass::Documentation));
        assert_eq!(class("2001:db8::1"), Some(AddressClass::Documentation));
        assert_eq!(class("::ffff:10.0.0.1"), Some(AddressClass::Private));
        assert_eq!(class("8.8.8.8"), None);
        assert_eq!(class("100.128.0.1"), None);
        assert_eq!(class("2a00:1450::1"), None);
    }

    #[test]
    fn always_refused_even_when_permissive() {
        let p = AddressPolicy::permissive();
        for s in ["0.0.0.0", "224.0.0.1", "255.255.255.255", "ff02::1"] {
            let a = TransportAddress::new(s.parse().unwrap(), 3478, crate::Transport::Udp);
            assert!(p.check(&a).is_err(), "{s}");
        }
        let port0 = TransportAddress::new("8.8.8.8".parse().unwrap(), 0, crate::Transport::Udp);
        assert_eq!(p.check(&port0), Err(AddressClass::Unspecified));
    }
}
