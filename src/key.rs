//! The comparison a candidate set keeps unique (§4.2 step 5: "The
//! comparison criteria MAY be based on IP address and keeps the candidate in
//! the candidate set unique").
//!
//! This file is the one home of that comparison: the candidate set, the
//! in-place append of an encoded option and the sending node's cache all
//! compare [`UniquenessKey::of`] values and nothing else.

use core::net::IpAddr;

use crate::candidate::TransportAddress;

/// What makes two candidates "the same" in a [`CandidateSet`](crate::CandidateSet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum UniquenessKey {
    /// The IP address, as §4.2 step 5 suggests. The default.
    #[default]
    Ip,
    /// IP address and port: several servers behind one address count apart.
    IpPort,
    /// The network prefix (/24 for IPv4, /48 for IPv6): at most one
    /// candidate per network, for diversity against a single operator
    /// (see SECURITY.md, Sybil).
    Prefix,
}

/// The value two candidates are compared on under a [`UniquenessKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) struct KeyValue {
    v6: bool,
    bits: u128,
    port: u16,
}

impl UniquenessKey {
    /// Whether `a` and `b` count as the same candidate under this key.
    ///
    /// ```
    /// use stun_turn_discovery::{Transport, TransportAddress, UniquenessKey};
    /// let a = TransportAddress::new("203.0.113.5".parse().unwrap(), 3478, Transport::Udp);
    /// let b = TransportAddress::new("203.0.113.9".parse().unwrap(), 3479, Transport::Tcp);
    /// assert!(!UniquenessKey::Ip.same(&a, &b));
    /// assert!(UniquenessKey::Prefix.same(&a, &b));
    /// ```
    pub fn same(self, a: &TransportAddress, b: &TransportAddress) -> bool {
        self.of(a) == self.of(b)
    }

    /// The value `address` is compared on.
    #[inline]
    pub(crate) fn of(self, address: &TransportAddress) -> KeyValue {
        let (v6, bits) = match address.ip() {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (true, u128::from(v6)),
        };
        match self {
            Self::Ip => KeyValue { v6, bits, port: 0 },
            Self::IpPort => KeyValue {
                v6,
                bits,
                port: address.port(),
            },
            Self::Prefix => {
                let mask = if v6 { !0u128 << 80 } else { 0xffff_ff00 };
                KeyValue {
                    v6,
                    bits: bits & mask,
                    port: 0,
                }
            }
        }
    }
}
