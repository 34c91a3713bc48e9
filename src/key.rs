//! The comparison a candidate set keeps unique (§4.2 step 5: "The
//! comparison criteria MAY be based on IP address and keeps the candidate in
//! the candidate set unique").
//!
//! This file is the one home of that comparison: the candidate set, the
//! in-place append of an encoded option and the sending node's cache all
//! compare [`UniquenessKey::of`] values and nothing else. The set and the
//! append also keep a [`KeyFilter`] of the keys they hold, so most
//! candidates are proved new without a scan.

use core::fmt;
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
    /// The address bits, high half then low half: ordered as the 128-bit
    /// number, but 8-byte aligned, so a key takes 24 bytes, not 32.
    hi: u64,
    lo: u64,
    /// The port XOR the family (1 for IPv6) in the low 16 bits, the family
    /// in bit 16: one word, written and read whole (a key copied through
    /// memory is never read back from narrower stores), and the hash's
    /// `port ^ v6` is its low 16 bits.
    tail: u64,
}

impl KeyValue {
    #[inline(always)]
    fn new(v6: bool, hi: u64, lo: u64, port: u16) -> Self {
        Self {
            hi,
            lo,
            tail: u64::from(port ^ u16::from(v6)) | u64::from(v6) << 16,
        }
    }
}

impl KeyValue {
    /// A multiplicative hash of the value: of `hi ^ lo ^ port ^ v6`.
    #[inline]
    fn hash(&self) -> u64 {
        let folded = self.lo ^ self.hi ^ (self.tail & 0xffff);
        folded.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// One of 64 bits, for a [`KeyFilter`].
    #[inline]
    fn bit(&self) -> u64 {
        1 << (self.hash() >> 58)
    }

    /// A 16-bit fingerprint, for [`KnownKeys`](crate::KnownKeys): the top
    /// bits of the hash, so the value's every bit counts.
    #[inline]
    pub(crate) fn fingerprint(&self) -> u16 {
        (self.hash() >> 48) as u16
    }
}

/// A 64-bit Bloom filter of the keys a set holds: a clear bit proves a key
/// absent without comparing it with every entry (§4.2 step 5 in one test,
/// most of the time). With N = 10 about one new candidate in six needs the
/// scan. BENCHMARKS.md has the ablation row that keeps it here; the
/// `ablate-bloom` feature (benchmarks only) turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KeyFilter(u64);

impl KeyFilter {
    /// An empty filter.
    pub(crate) const fn new() -> Self {
        Self(0)
    }

    /// Records `key`.
    #[inline]
    pub(crate) fn insert(&mut self, key: &KeyValue) {
        self.0 |= key.bit();
    }

    /// Whether `key` may be present: `false` proves it absent.
    #[inline]
    pub(crate) fn may_contain(&self, key: &KeyValue) -> bool {
        cfg!(feature = "ablate-bloom") || self.0 & key.bit() != 0
    }

    /// Forgets every key.
    pub(crate) fn clear(&mut self) {
        self.0 = 0;
    }
}

/// Up to `M` keys, kept by field (three arrays, not an array of keys): a
/// key goes in with three 8-byte stores and is compared with 8-byte loads,
/// so a key just built on the stack is never copied with a load wider than
/// the stores that wrote it (a store the processor cannot forward, a stall
/// the in-place append's profile showed on every entry).
#[derive(Debug, Clone)]
pub(crate) struct KeyList<const M: usize> {
    hi: [u64; M],
    lo: [u64; M],
    tail: [u64; M],
    len: usize,
}

impl<const M: usize> KeyList<M> {
    /// No keys.
    pub(crate) const fn new() -> Self {
        Self {
            hi: [0; M],
            lo: [0; M],
            tail: [0; M],
            len: 0,
        }
    }

    /// Adds `key` if there is room; returns whether there was.
    #[inline(always)]
    pub(crate) fn push(&mut self, key: &KeyValue) -> bool {
        let i = self.len;
        if i >= M {
            return false;
        }
        self.hi[i] = key.hi;
        self.lo[i] = key.lo;
        self.tail[i] = key.tail;
        self.len = i + 1;
        true
    }

    /// Whether `key` is held.
    #[inline]
    pub(crate) fn contains(&self, key: &KeyValue) -> bool {
        (0..self.len.min(M))
            .any(|i| self.lo[i] == key.lo && self.hi[i] == key.hi && self.tail[i] == key.tail)
    }
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
    #[inline(always)]
    pub(crate) fn of(self, address: &TransportAddress) -> KeyValue {
        let (v6, hi, lo) = address.bits();
        self.of_bits(v6, hi, lo, address.port())
    }

    /// The value an address of `ip` (canonical: an IPv4-mapped IPv6 address
    /// as IPv4, as [`TransportAddress::new`] stores it) and `port` is
    /// compared on.
    #[inline(always)]
    pub(crate) fn of_ip(self, ip: IpAddr, port: u16) -> KeyValue {
        let (v6, bits) = match ip {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (true, u128::from(v6)),
        };
        self.of_bits(v6, (bits >> 64) as u64, bits as u64, port)
    }

    /// The value of an address whose 128 bits (an IPv4 address's 32 in the
    /// low bits) are `hi` and `lo`, with `port`; the family picks the
    /// prefix mask without a branch.
    #[inline(always)]
    fn of_bits(self, v6: bool, hi: u64, lo: u64, port: u16) -> KeyValue {
        match self {
            Self::Ip => KeyValue::new(v6, hi, lo, 0),
            Self::IpPort => KeyValue::new(v6, hi, lo, port),
            Self::Prefix => {
                // /48 for IPv6: the top 48 bits; /24 for IPv4.
                let hi_mask = if v6 { !0u64 << 16 } else { 0 };
                let lo_mask = if v6 { 0 } else { 0xffff_ff00 };
                KeyValue::new(v6, hi & hi_mask, lo & lo_mask, 0)
            }
        }
    }
}

impl fmt::Display for UniquenessKey {
    /// `IP address`, `IP address and port` or `network prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Ip => "IP address",
            Self::IpPort => "IP address and port",
            Self::Prefix => "network prefix",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Transport;

    #[test]
    fn the_filter_never_denies_a_key_it_holds() {
        let mut f = KeyFilter::default();
        let keys: Vec<KeyValue> = (0..200u32)
            .map(|i| {
                let ip = core::net::Ipv4Addr::from(0x0b00_0000 | i);
                UniquenessKey::Ip.of(&TransportAddress::new(ip.into(), 3478, Transport::Udp))
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            f.insert(k);
            assert!(keys[..=i].iter().all(|k| f.may_contain(k)));
        }
        f.clear();
        assert_eq!(f, KeyFilter::default());
    }

    #[test]
    fn keys_of_an_address_and_of_its_ip_agree() {
        let ips = [
            "203.0.113.5",
            "0.0.0.1",
            "255.255.255.255",
            "::1",
            "2001:db8:aa:bb::5",
            "::ffff:198.51.100.7",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for ip in ips {
            let ip: IpAddr = ip.parse().unwrap();
            let a = TransportAddress::new(ip, 3478, Transport::Udp);
            for key in [
                UniquenessKey::Ip,
                UniquenessKey::IpPort,
                UniquenessKey::Prefix,
            ] {
                assert_eq!(key.of(&a), key.of_ip(a.ip(), 3478), "{ip} under {key:?}");
            }
        }
        // The IPv4 and IPv6 spellings of one address are one key; an IPv6
        // address whose bits equal an IPv4 one's is another.
        let v4 = TransportAddress::new("192.0.2.1".parse().unwrap(), 1, Transport::Udp);
        let mapped = TransportAddress::new("::ffff:192.0.2.1".parse().unwrap(), 1, Transport::Udp);
        let compatible = TransportAddress::new("::192.0.2.1".parse().unwrap(), 1, Transport::Udp);
        assert_eq!(UniquenessKey::Ip.of(&v4), UniquenessKey::Ip.of(&mapped));
        assert_ne!(UniquenessKey::Ip.of(&v4), UniquenessKey::Ip.of(&compatible));
        assert_ne!(
            UniquenessKey::Prefix.of(&v4),
            UniquenessKey::Prefix.of(&compatible)
        );
    }

    #[test]
    fn a_key_takes_24_bytes() {
        assert_eq!(core::mem::size_of::<KeyValue>(), 24);
        // Ordered as the 128-bit number it holds.
        let a = KeyValue::new(true, 1, 0, 0);
        let b = KeyValue::new(true, 0, u64::MAX, 0);
        assert!(a > b);
        // Family and port both count, however they combine in the tail.
        assert_ne!(KeyValue::new(false, 0, 1, 1), KeyValue::new(true, 0, 1, 0));
        assert_ne!(KeyValue::new(false, 0, 1, 0), KeyValue::new(true, 0, 1, 0));
        assert_ne!(KeyValue::new(true, 0, 1, 1), KeyValue::new(true, 0, 1, 0));
    }

    #[test]
    fn bits_spread_over_the_word() {
        let used: u64 = (0..64u32)
            .map(|i| {
                let ip = core::net::Ipv4Addr::from(0x0b00_0000 | (i << 8) | i);
                UniquenessKey::Ip
                    .of(&TransportAddress::new(ip.into(), 3478, Transport::Udp))
                    .bit()
            })
            .fold(0, |a, b| a | b);
        // 64 keys into 64 bins: far more than a third of the bins used.
        assert!(used.count_ones() > 24, "{used:064b}");
    }
}
