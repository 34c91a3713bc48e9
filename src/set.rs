//! The candidate set (§2): "Its content includes server candidates which
//! are chosen and put into the candidate set"; it travels in the request
//! (recursive routing) or in the response (iterative routing) back to the
//! sending node.

use thiserror::Error;

use crate::candidate::{Candidate, TransportAddress};
use crate::key::{KeyFilter, KeyValue, UniquenessKey};
use crate::known::KnownKeys;
use crate::n::N;

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
    /// The set already holds [`N::MAX`] candidates.
    #[error("candidate set already holds the maximum of {} candidates", N::MAX)]
    Full,
}

/// A candidate set (§2): ordered as the candidates were added, at most
/// [`N::MAX`] long, unique by its [`UniquenessKey`]. Its length is the
/// draft's K. The bound N is the request's, applied by whoever fills the set
/// (§4.2 steps 2, 3 and 7) and checked by the sending node.
///
/// A set made with [`CandidateSet::with_capacity`] for N candidates never
/// allocates while it is filled up to N.
///
/// ```
/// use stun_turn_discovery::{Candidate, CandidateSet, Services, SetEntry, Transport, TransportAddress, UniquenessKey, N};
/// let mut set = CandidateSet::with_capacity(UniquenessKey::Ip, N::DEFAULT);
/// let a = TransportAddress::new("203.0.113.5".parse().unwrap(), 3478, Transport::Udp);
/// let b = TransportAddress::new("203.0.113.5".parse().unwrap(), 5349, Transport::Tls);
/// set.try_push(SetEntry { candidate: Candidate::peer(a, Services::STUN), hop: 1 })?;
/// // Same IP address: refused under the default key (§4.2 step 5).
/// assert!(set.try_push(SetEntry { candidate: Candidate::peer(b, Services::TURN), hop: 2 }).is_err());
/// assert_eq!(set.len(), 1);
/// # Ok::<(), stun_turn_discovery::error::SetError>(())
/// ```
#[derive(Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawSet", into = "RawSet"))]
pub struct CandidateSet {
    key: UniquenessKey,
    entries: Vec<SetEntry>,
    filter: KeyFilter,
}

impl CandidateSet {
    /// An empty set; does not allocate.
    pub const fn new(key: UniquenessKey) -> Self {
        Self {
            key,
            entries: Vec::new(),
            filter: KeyFilter::new(),
        }
    }

    /// An empty set with room for `n` candidates, so filling it up to `n`
    /// does not allocate.
    pub fn with_capacity(key: UniquenessKey, n: N) -> Self {
        Self {
            key,
            entries: Vec::with_capacity(n.len()),
            filter: KeyFilter::default(),
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
    pub fn contains(&self, address: &TransportAddress) -> bool {
        self.contains_key(self.key.of(address))
    }

    /// Appends `entry` unless its key is already present (§4.2 step 5) or
    /// the set is full; K grows by one on success (§4.2 step 6).
    #[inline]
    pub fn try_push(&mut self, entry: SetEntry) -> Result<(), SetError> {
        let key = self.admit(&entry.candidate.address)?;
        self.filter.insert(&key);
        self.entries.push(entry);
        Ok(())
    }

    /// [`try_push`](Self::try_push) for a decoder that has the entry's key
    /// before the entry: unless `key` is present or the set is full, `make`
    /// builds the entry (whose key must be `key`) and it is appended.
    /// Returns whether it was.
    #[inline]
    pub(crate) fn try_push_keyed(
        &mut self,
        key: KeyValue,
        make: impl FnOnce() -> SetEntry,
    ) -> bool {
        if self.entries.len() >= N::MAX.len() || self.contains_key(key) {
            return false;
        }
        let entry = make();
        debug_assert_eq!(self.key.of(&entry.candidate.address), key);
        self.filter.insert(&key);
        self.entries.push(entry);
        true
    }

    /// Empties the set, keeping its capacity.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.filter.clear();
    }

    /// §4.2 steps 5 and 6 for an intermediate peer: adds `candidate` (read
    /// in place from the candidate table) at `hop` with `priority`, unless
    /// its key is present, `known` holds it, or the set is full. Returns
    /// whether it was added.
    #[inline(always)]
    pub(crate) fn add_from_table(
        &mut self,
        candidate: &Candidate,
        priority: u16,
        hop: u8,
        known: &KnownKeys,
    ) -> bool {
        if self.entries.len() >= N::MAX.len() {
            return false;
        }
        let key = self.key.of(&candidate.address);
        if self.contains_key(key) || !known.is_empty() && known.contains(&key) {
            return false;
        }
        self.filter.insert(&key);
        let mut candidate = *candidate;
        candidate.priority = Some(priority);
        self.entries.push(SetEntry { candidate, hop });
        true
    }

    /// Empties the set and gives it `key`, keeping its capacity.
    pub(crate) fn reset(&mut self, key: UniquenessKey) {
        self.clear();
        self.key = key;
    }

    /// Makes room for `n` candidates in all.
    pub(crate) fn reserve_for(&mut self, n: usize) {
        let want = n.min(N::MAX.len());
        self.entries
            .reserve(want.saturating_sub(self.entries.len()));
    }

    /// Whether a candidate at `address` may join: room left and its key
    /// absent. Returns its key.
    #[inline]
    fn admit(&self, address: &TransportAddress) -> Result<KeyValue, SetError> {
        if self.entries.len() >= N::MAX.len() {
            return Err(SetError::Full);
        }
        let key = self.key.of(address);
        if self.contains_key(key) {
            return Err(SetError::Duplicate {
                address: *address,
                key: self.key,
            });
        }
        Ok(key)
    }

    #[inline]
    fn contains_key(&self, key: KeyValue) -> bool {
        self.filter.may_contain(&key)
            && self
                .entries
                .iter()
                .any(|e| self.key.of(&e.candidate.address) == key)
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
            filter: self.filter,
        }
    }

    /// Copies `source` into this set's own buffer: no allocation when it
    /// has room.
    fn clone_from(&mut self, source: &Self) {
        self.key = source.key;
        self.filter = source.filter;
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
