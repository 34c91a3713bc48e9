//! The candidate set (§2): "Its content includes server candidates which
//! are chosen and put into the candidate set"; it travels in the request
//! (recursive routing) or in the response (iterative routing) back to the
//! sending node.

use thiserror::Error;

use crate::candidate::{Candidate, TransportAddress};
use crate::key::{KeyValue, UniquenessKey};

/// The most candidates a set can hold, and so the largest N a sending node
/// may ask for: 64 entries of at most 60 bytes stay far below RELOAD's
/// 5000-byte default message size (RFC 6940 §11.1).
pub const MAX_N: u8 = 64;

/// The N a sending node gets when it does not say (§4.2 step 2: "we MAY
/// choose a default value for N, for example, 10").
pub const DEFAULT_N: u8 = 10;

/// One candidate in a set, with the position on the path of the
/// intermediate peer that added it (1 = the first peer after the sending
/// node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SetEntry {
    /// The candidate, with the priority the adding peer gave it.
    pub candidate: Candidate,
    /// Hop position of the intermediate peer that added it.
    pub hop: u8,
}

/// Why a candidate could not join a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SetError {
    /// A candidate with the same key is already in the set (§4.2 step 5).
    #[error("{address} has the same {key:?} key as a candidate already in the set")]
    Duplicate {
        /// The address that was refused.
        address: TransportAddress,
        /// The key it collided on.
        key: UniquenessKey,
    },
    /// The set already holds [`MAX_N`] candidates.
    #[error("candidate set already holds the maximum of {MAX_N} candidates")]
    Full,
}

/// A candidate set (§2): ordered as the candidates were added, at most
/// [`MAX_N`] long, unique by its [`UniquenessKey`]. Its length is the draft's
/// K. The bound N is the request's, applied by whoever fills the set (§4.2
/// steps 2, 3 and 7) and checked by the sending node.
///
/// A set made with [`CandidateSet::with_capacity`] for N candidates never
/// allocates while it is filled up to N.
///
/// ```
/// use stun_turn_discovery::{Candidate, CandidateSet, Services, SetEntry, Transport, TransportAddress, UniquenessKey};
/// let mut set = CandidateSet::with_capacity(UniquenessKey::Ip, 10);
/// let a = TransportAddress::new("203.0.113.5".parse().unwrap(), 3478, Transport::Udp);
/// let b = TransportAddress::new("203.0.113.5".parse().unwrap(), 5349, Transport::Tls);
/// set.try_push(SetEntry { candidate: Candidate::peer(a, Services::STUN), hop: 1 })?;
/// // Same IP address: refused under the default key (§4.2 step 5).
/// assert!(set.try_push(SetEntry { candidate: Candidate::peer(b, Services::TURN), hop: 2 }).is_err());
/// assert_eq!(set.len(), 1);
/// # Ok::<(), stun_turn_discovery::SetError>(())
/// ```
#[derive(Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawSet", into = "RawSet"))]
pub struct CandidateSet {
    key: UniquenessKey,
    entries: Vec<SetEntry>,
    /// One bit per key hash of the entries: a clear bit proves a key absent
    /// without scanning the set (§4.2 step 5 in one test, most of the time).
    bloom: u64,
}

impl CandidateSet {
    /// An empty set; does not allocate.
    pub const fn new(key: UniquenessKey) -> Self {
        Self {
            key,
            entries: Vec::new(),
            bloom: 0,
        }
    }

    /// An empty set with room for `n` candidates (at most [`MAX_N`]), so
    /// filling it up to `n` does not allocate.
    pub fn with_capacity(key: UniquenessKey, n: u8) -> Self {
        Self {
            key,
            entries: Vec::with_capacity(usize::from(n.min(MAX_N))),
            bloom: 0,
        }
    }

    /// A set of `entries`, in order, refusing duplicates and overflow.
    pub fn from_entries(
        key: UniquenessKey,
        entries: impl IntoIterator<Item = SetEntry>,
    ) -> Result<Self, SetError> {
        let mut set = Self::new(key);
        for entry in entries {
            set.try_push(entry)?;
        }
        Ok(set)
    }

    /// The key the set is unique by.
    pub fn key(&self) -> UniquenessKey {
        self.key
    }

    /// K, the number of candidates in the set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty (§3.3.3: "The candidate set returned ... is
    /// NULL in this case").
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many candidates fit without allocating.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// The candidates, in the order they were added.
    pub fn entries(&self) -> &[SetEntry] {
        &self.entries
    }

    /// The candidates, in the order they were added.
    pub fn iter(&self) -> core::slice::Iter<'_, SetEntry> {
        self.entries.iter()
    }

    /// Whether a candidate with the same key as `address` is in the set.
    #[inline]
    pub fn contains(&self, address: &TransportAddress) -> bool {
        let key = self.key.of(address);
        self.bloom & key.bloom_bit() != 0 && self.scan(address, &key)
    }

    /// The linear comparison behind a set Bloom bit, specialised per key so
    /// the common keys compare addresses directly.
    fn scan(&self, address: &TransportAddress, key: &KeyValue) -> bool {
        let (ip, port) = (address.ip(), address.port());
        let mut others = self.entries.iter().map(|e| &e.candidate.address);
        match self.key {
            UniquenessKey::Ip => others.any(|a| a.ip() == ip),
            UniquenessKey::IpPort => others.any(|a| a.ip() == ip && a.port() == port),
            UniquenessKey::Prefix => others.any(|a| self.key.of(a) == *key),
        }
    }

    /// Appends `entry` unless its key is already present (§4.2 step 5) or
    /// the set is full; K grows by one on success (§4.2 step 6).
    #[inline]
    pub fn try_push(&mut self, entry: SetEntry) -> Result<(), SetError> {
        self.bloom |= self.admit(&entry.candidate.address)?;
        self.entries.push(entry);
        Ok(())
    }

    /// §4.2 steps 5 and 6 for an intermediate peer: adds `candidate` (read
    /// in place from the candidate table) at `hop` with `priority`, unless
    /// its key is present or the set is full. The key is computed from the
    /// table's copy and the entry is written once, then its priority set in
    /// place: no temporary copy on the per-hop path.
    #[inline]
    pub(crate) fn add_from_table(&mut self, candidate: &Candidate, priority: u16, hop: u8) -> bool {
        let Ok(bit) = self.admit(&candidate.address) else {
            return false;
        };
        self.bloom |= bit;
        self.entries.push(SetEntry {
            candidate: *candidate,
            hop,
        });
        if let Some(last) = self.entries.last_mut() {
            last.candidate.priority = Some(priority);
        }
        true
    }

    /// Whether a candidate at `address` may join: room left and its key
    /// absent. Returns its Bloom bit for the caller to set on success.
    #[inline]
    fn admit(&self, address: &TransportAddress) -> Result<u64, SetError> {
        if self.entries.len() >= usize::from(MAX_N) {
            return Err(SetError::Full);
        }
        let key = self.key.of(address);
        let bit = key.bloom_bit();
        if self.bloom & bit != 0 && self.scan(address, &key) {
            return Err(SetError::Duplicate {
                address: *address,
                key: self.key,
            });
        }
        Ok(bit)
    }

    /// Empties the set, keeping its capacity.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bloom = 0;
    }

    /// Empties the set and gives it `key`, keeping its capacity.
    pub(crate) fn reset(&mut self, key: UniquenessKey) {
        self.clear();
        self.key = key;
    }

    /// Makes room for `n` candidates in all (at most [`MAX_N`]).
    pub fn reserve_for(&mut self, n: u8) {
        let want = usize::from(n.min(MAX_N));
        self.entries
            .reserve(want.saturating_sub(self.entries.len()));
    }
}

impl Clone for CandidateSet {
    /// A copy with the same capacity, so a cloned set still fills without
    /// allocating.
    fn clone(&self) -> Self {
        let mut entries = Vec::with_capacity(self.entries.capacity());
        entries.extend_from_slice(&self.entries);
        Self {
            key: self.key,
            entries,
            bloom: self.bloom,
        }
    }

    /// Copies `source` into this set's own buffer: no allocation when it
    /// has room.
    fn clone_from(&mut self, source: &Self) {
        self.key = source.key;
        self.bloom = source.bloom;
        self.entries.clone_from(&source.entries);
    }
}

impl<'a> IntoIterator for &'a CandidateSet {
    type Item = &'a SetEntry;
    type IntoIter = core::slice::Iter<'a, SetEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Unchecked form for serde; turned into a set through [`CandidateSet::from_entries`].
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawSet {
    key: UniquenessKey,
    entries: Vec<SetEntry>,
}

#[cfg(feature = "serde")]
impl TryFrom<RawSet> for CandidateSet {
    type Error = SetError;
    fn try_from(raw: RawSet) -> Result<Self, SetError> {
        Self::from_entries(raw.key, raw.entries)
    }
}

#[cfg(feature = "serde")]
impl From<CandidateSet> for RawSet {
    fn from(set: CandidateSet) -> Self {
        Self {
            key: set.key,
            entries: set.entries,
        }
    }
}
