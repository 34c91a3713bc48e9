//! The piggyback option (§3.3.2, §4.1, §5.1, §6.1): how a sending node
//! "express[es] their demand for STUN/TURN server candidate in the message".

use core::fmt;

use thiserror::Error;

use crate::filter::Filter;
use crate::key::UniquenessKey;
use crate::known::KnownKeys;
use crate::n::N;
use crate::set::CandidateSet;

/// How the overlay routes the request that carries the option (§3.3.2
/// step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum RoutingMode {
    /// "If recursive mode is used, candidate set will be carried in the
    /// request and later be returned to the sending node hop by hop in the
    /// response."
    Recursive,
    /// "If iterative mode is used, candidate set will be returned to the
    /// sending node in response immediately."
    Iterative,
}

/// Which routine message carries the option (§3.3.2: "JOIN message,
/// periodical maintenance message and GET/PUT message"). The algorithm is
/// the same for all (§5.2, §6.2: "The procedure is the same as the
/// procedure defined in section 4.2"); the kind reaches reports and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum MessageKind {
    /// JOIN (§4).
    Join,
    /// Routing-state maintenance (§5), e.g. RELOAD Update.
    Maintenance,
    /// GET (§6), e.g. RELOAD Fetch.
    Get,
    /// PUT (§6), e.g. RELOAD Store.
    Put,
    /// Any other routed request.
    Other,
}

/// An option whose parts contradict each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OptionError {
    /// The set already holds more than N candidates (N the option's, or
    /// [`N::MAX`] when it has none).
    #[error("candidate set holds K = {k} candidates, more than N = {n}")]
    KAboveN {
        /// Candidates in the set.
        k: usize,
        /// The bound.
        n: N,
    },
    /// An iterative-mode request carries a non-empty set; the set of
    /// iterative routing travels only in responses (§3.3.2 step 2).
    #[error("an iterative-mode request carries no candidate set, found {k} candidates")]
    IterativeWithSet {
        /// Candidates found in the request.
        k: usize,
    },
}

/// The piggyback option a sending node sets on a request it sends anyway
/// (JOIN §4.1, maintenance §5.1, GET/PUT §6.1): the demand itself, the N
/// wanted (optional: "The joining peer MAY specify the number of server
/// candidates it wants"), a filter, the uniqueness key, the hop position
/// of the next intermediate peer, optionally what the node already holds
/// ([`KnownKeys`]: hops skip those) and, in recursive mode, the candidate
/// set carried in the request.
///
/// ```
/// use stun_turn_discovery::{Filter, PiggybackOption, RoutingMode, Services, UniquenessKey, N};
/// let opt = PiggybackOption::recursive(Some(N::DEFAULT), Filter::services(Services::TURN), UniquenessKey::Ip);
/// assert_eq!(opt.mode(), RoutingMode::Recursive);
/// assert_eq!(opt.n(), Some(N::DEFAULT));
/// assert!(opt.set().is_empty());
/// ```
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawOption", into = "RawOption"))]
pub struct PiggybackOption {
    mode: RoutingMode,
    n: Option<N>,
    filter: Filter,
    hop: u8,
    known: KnownKeys,
    set: CandidateSet,
}

impl PiggybackOption {
    /// A recursive-mode option whose set rides in the request, empty and
    /// with room for N candidates ([`N::DEFAULT`] when `n` is `None`), and
    /// whose first intermediate peer is hop 1.
    pub fn recursive(n: Option<N>, filter: Filter, key: UniquenessKey) -> Self {
        Self {
            mode: RoutingMode::Recursive,
            n,
            filter,
            hop: 1,
            known: KnownKeys::new(),
            set: CandidateSet::with_capacity(key, n.unwrap_or_default()),
        }
    }

    /// An iterative-mode option for the intermediate peer at position `hop`
    /// on the path; its answer comes back in that peer's response.
    pub fn iterative(n: Option<N>, filter: Filter, key: UniquenessKey, hop: u8) -> Self {
        Self {
            mode: RoutingMode::Iterative,
            n,
            filter,
            hop,
            known: KnownKeys::new(),
            set: CandidateSet::new(key),
        }
    }

    /// An option from its parts, as a decoder finds them: an iterative-mode
    /// option carries no set, and K is at most N.
    pub fn from_parts(
        mode: RoutingMode,
        n: Option<N>,
        filter: Filter,
        hop: u8,
        set: CandidateSet,
    ) -> Result<Self, OptionError> {
        check_parts(mode, n, &set)?;
        Ok(Self {
            mode,
            n,
            filter,
            hop,
            known: KnownKeys::new(),
            set,
        })
    }

    /// Routing mode.
    pub fn mode(&self) -> RoutingMode {
        self.mode
    }

    /// N as the sending node set it, if it did.
    pub fn n(&self) -> Option<N> {
        self.n
    }

    /// The filter.
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// The uniqueness key of the set.
    pub fn key(&self) -> UniquenessKey {
        self.set.key()
    }

    /// This option telling the hops that the node holds `known` already.
    #[must_use]
    pub fn with_known(mut self, known: KnownKeys) -> Self {
        self.known = known;
        self
    }

    /// What the sending node holds already: hops do not hand it out again.
    pub fn known(&self) -> &KnownKeys {
        &self.known
    }

    /// Hop position of the next intermediate peer to process the option.
    pub fn hop(&self) -> u8 {
        self.hop
    }

    /// Sets the hop position, as a sending node in iterative mode does
    /// before each request.
    pub fn set_hop(&mut self, hop: u8) {
        self.hop = hop;
    }

    /// The candidate set carried in the request (always empty in iterative
    /// mode).
    pub fn set(&self) -> &CandidateSet {
        &self.set
    }

    /// The candidate set, taking the option apart.
    pub fn into_set(self) -> CandidateSet {
        self.set
    }

    /// Replaces everything but the set, for a decoder that has filled the
    /// set in place; on error the option is unchanged and the caller
    /// clears the set.
    pub(crate) fn set_header(
        &mut self,
        mode: RoutingMode,
        n: Option<N>,
        filter: Filter,
        hop: u8,
    ) -> Result<(), OptionError> {
        check_parts(mode, n, &self.set)?;
        self.mode = mode;
        self.n = n;
        self.filter = filter;
        self.hop = hop;
        Ok(())
    }

    /// The set, for decoding into it in place.
    pub(crate) fn set_mut(&mut self) -> &mut CandidateSet {
        &mut self.set
    }

    /// The known list, for decoding into it in place.
    pub(crate) fn known_mut(&mut self) -> &mut KnownKeys {
        &mut self.known
    }

    /// The set, for the intermediate peer's fill, with the hop it advances
    /// and the known list it skips.
    pub(crate) fn parts_mut(&mut self) -> (&mut CandidateSet, &mut u8, &KnownKeys) {
        (&mut self.set, &mut self.hop, &self.known)
    }
}

impl Clone for PiggybackOption {
    /// A copy whose set keeps its capacity (see [`CandidateSet`]'s `Clone`).
    fn clone(&self) -> Self {
        Self {
            mode: self.mode,
            n: self.n,
            filter: self.filter,
            hop: self.hop,
            known: self.known,
            set: self.set.clone(),
        }
    }

    /// Copies `source` into this option, reusing its set's buffer: a host
    /// that keeps one option per request slot restores it without
    /// allocating.
    fn clone_from(&mut self, source: &Self) {
        self.mode = source.mode;
        self.n = source.n;
        self.filter = source.filter;
        self.hop = source.hop;
        self.known = source.known;
        self.set.clone_from(&source.set);
    }
}

fn check_parts(mode: RoutingMode, n: Option<N>, set: &CandidateSet) -> Result<(), OptionError> {
    if mode == RoutingMode::Iterative && !set.is_empty() {
        return Err(OptionError::IterativeWithSet { k: set.len() });
    }
    let bound = n.unwrap_or(N::MAX);
    if set.len() > bound.len() {
        return Err(OptionError::KAboveN {
            k: set.len(),
            n: bound,
        });
    }
    Ok(())
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawOption {
    mode: RoutingMode,
    n: Option<N>,
    filter: Filter,
    hop: u8,
    #[serde(default)]
    known: KnownKeys,
    set: CandidateSet,
}

#[cfg(feature = "serde")]
impl TryFrom<RawOption> for PiggybackOption {
    type Error = OptionError;
    fn try_from(r: RawOption) -> Result<Self, OptionError> {
        Ok(Self::from_parts(r.mode, r.n, r.filter, r.hop, r.set)?.with_known(r.known))
    }
}

#[cfg(feature = "serde")]
impl From<PiggybackOption> for RawOption {
    fn from(o: PiggybackOption) -> Self {
        Self {
            mode: o.mode,
            n: o.n,
            filter: o.filter,
            hop: o.hop,
            known: o.known,
            set: o.set,
        }
    }
}

impl fmt::Display for RoutingMode {
    /// `recursive` or `iterative`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Recursive => "recursive",
            Self::Iterative => "iterative",
        })
    }
}

impl fmt::Display for MessageKind {
    /// `JOIN`, `maintenance`, `GET`, `PUT` or `other`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Join => "JOIN",
            Self::Maintenance => "maintenance",
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Other => "other",
        })
    }
}
