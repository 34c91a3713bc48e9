//! What the sending node already holds, told to the hops so they do not
//! hand it the same candidates again (a node asks again on later requests
//! while its shortfall is above zero, §3.3.3, and the first hop is often
//! the same peer). Compact: a 16-bit fingerprint of each candidate's
//! uniqueness key, two bytes a candidate on the wire (WIRE.md).
//!
//! A fingerprint can collide: a hop then skips a candidate the node does
//! not hold, with probability about `len / 65536` per candidate. It never
//! makes a hop hand out a duplicate.

use core::fmt;

use crate::candidate::TransportAddress;
use crate::key::{KeyValue, UniquenessKey};

/// Fingerprints of the uniqueness keys of candidates the sending node
/// holds; at most [`KnownKeys::MAX`]. Stored inline: copying it never
/// touches the heap.
///
/// ```
/// use stun_turn_discovery::{KnownKeys, Transport, TransportAddress, UniquenessKey};
/// let a = TransportAddress::new("203.0.113.5".parse().unwrap(), 3478, Transport::Udp);
/// let b = TransportAddress::new("203.0.113.5".parse().unwrap(), 5349, Transport::Tls);
/// let known = KnownKeys::of(UniquenessKey::Ip, [&a]);
/// assert_eq!(known.len(), 1);
/// assert!(known.holds(UniquenessKey::Ip, &b), "same IP address: the same candidate under the IP key");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KnownKeys {
    fingerprints: [u16; Self::MAX],
    len: u8,
}

impl KnownKeys {
    /// Most fingerprints carried: 129 bytes on the wire at most.
    pub const MAX: usize = 64;

    /// None known.
    pub const fn new() -> Self {
        Self {
            fingerprints: [0; Self::MAX],
            len: 0,
        }
    }

    /// The fingerprints of `addresses` under `key`, the first
    /// [`Self::MAX`] distinct ones.
    pub fn of<'a>(
        key: UniquenessKey,
        addresses: impl IntoIterator<Item = &'a TransportAddress>,
    ) -> Self {
        let mut known = Self::new();
        for a in addresses {
            if known.len() == Self::MAX {
                break;
            }
            known.push(key.of(a).fingerprint());
        }
        known
    }

    /// Fingerprints held.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a candidate at `address` counts as known under `key`.
    pub fn holds(&self, key: UniquenessKey, address: &TransportAddress) -> bool {
        self.contains(&key.of(address))
    }

    /// Whether `key`'s fingerprint is held.
    #[inline]
    pub(crate) fn contains(&self, key: &KeyValue) -> bool {
        let fp = key.fingerprint();
        self.fingerprints().contains(&fp)
    }

    /// The fingerprints, in order.
    pub(crate) fn fingerprints(&self) -> &[u16] {
        &self.fingerprints[..self.len()]
    }

    /// Adds `fp` unless held or full.
    pub(crate) fn push(&mut self, fp: u16) {
        if self.len() < Self::MAX && !self.fingerprints().contains(&fp) {
            self.fingerprints[self.len()] = fp;
            self.len += 1;
        }
    }

    /// Forgets every fingerprint.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

impl Default for KnownKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KnownKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.fingerprints()).finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KnownKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fingerprints().serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for KnownKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<u16> = serde::Deserialize::deserialize(d)?;
        if v.len() > Self::MAX {
            return Err(serde::de::Error::invalid_length(
                v.len(),
                &"at most 64 fingerprints",
            ));
        }
        let mut known = Self::new();
        for fp in v {
            known.push(fp);
        }
        Ok(known)
    }
}
