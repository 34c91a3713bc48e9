//! An overlay node id, opaque to this crate and stored inline so copying a
//! candidate never touches the heap.

use core::fmt;

use thiserror::Error;

/// An opaque overlay node id of at most [`NodeId::MAX_LEN`] bytes (RELOAD
/// Node-IDs are 16 to 20 bytes, RFC 6940 §6.3.1). Stored inline: copying a
/// candidate that carries one does not allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    len: u8,
    bytes: [u8; Self::MAX_LEN],
}

/// A node id longer than [`NodeId::MAX_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("node id of {len} bytes is longer than the maximum of {max}", max = NodeId::MAX_LEN)]
pub struct NodeIdTooLong {
    /// Length that was offered.
    pub len: usize,
}

impl NodeId {
    /// Longest node id accepted, in bytes.
    pub const MAX_LEN: usize = 32;

    /// The empty id, the least of all ids.
    pub const MIN: Self = Self {
        len: 0,
        bytes: [0; Self::MAX_LEN],
    };

    /// A node id from its bytes.
    ///
    /// ```
    /// use stun_turn_discovery::NodeId;
    /// let id = NodeId::new(&[0xab; 16])?;
    /// assert_eq!(id.as_bytes().len(), 16);
    /// assert!(NodeId::new(&[0; 33]).is_err());
    /// # Ok::<(), stun_turn_discovery::error::NodeIdTooLong>(())
    /// ```
    pub fn new(id: &[u8]) -> Result<Self, NodeIdTooLong> {
        if id.len() > Self::MAX_LEN {
            return Err(NodeIdTooLong { len: id.len() });
        }
        let mut bytes = [0; Self::MAX_LEN];
        bytes[..id.len()].copy_from_slice(id);
        Ok(Self {
            len: id.len() as u8,
            bytes,
        })
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for NodeId {
    /// Lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.as_bytes())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(d)?;
        Self::new(&bytes).map_err(serde::de::Error::custom)
    }
}
