//! The comparison a candidate set keeps unique (§4.2 step 5: "The
//! comparison criteria MAY be based on IP address and keeps the candidate in
//! the candidate set unique").

use core::net::IpAddr;

use crate::candidate::TransportAddress;

/// What makes two candidates "the same" in a [`CandidateSet`](crate::CandidateSet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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
pub struct KeyValue {
    v6: bool,
    bits: u128,
    port: u16,
}

impl KeyValue {
    /// One of 64 bits, chosen by a multiplicative hash of the value, for a
    /// set's Bloom filter of its keys.
    #[inline]
    pub(crate) fn bloom_bit(&self) -> u64 {
        let folded = (self.bits as u64)
            ^ ((self.bits >> 64) as u64)
            ^ u64::from(self.port)
            ^ u64::from(self.v6);
        1 << (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
    }
}

impl UniquenessKey {
    /// The value `address` is compared on.
    ///
    /// ```
    /// use stun_turn_discovery::{Transport, TransportAddress, UniquenessKey};
    /// let a = TransportAddress::new("203.0.113.5".parse().unwrap(), 3478, Transport::Udp);
    /// let b = TransportAddress::new("203.0.113.9".parse().unwrap(), 3479, Transport::Tcp);
    /// assert_ne!(UniquenessKey::Ip.of(&a), UniquenessKey::Ip.of(&b));
    /// assert_eq!(UniquenessKey::Prefix.of(&a), UniquenessKey::Prefix.of(&b));
    /// ```
    #[inline]
    pub fn of(self, address: &TransportAddress) -> KeyValue {
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
