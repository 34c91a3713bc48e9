//! The piggyback option (§3.3.2, §4.1, §5.1, §6.1): how a sending node
//! "express[es] their demand for STUN/TURN server candidate in the message".

use thiserror::Error;

use crate::candidate::{Candidate, Services};
use crate::key::UniquenessKey;
use crate::set::{CandidateSet, DEFAULT_N, MAX_N};

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

/// IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Which candidates the sending node wants: the services they must offer
/// and, optionally, one address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Filter {
    /// Services every candidate must offer ([`Services::NONE`]: any).
    pub services: Services,
    /// Address family every candidate must have (`None`: either).
    pub family: Option<IpFamily>,
}

impl Filter {
    /// Any candidate.
    pub const ANY: Self = Self {
        services: Services::NONE,
        family: None,
    };

    /// Candidates offering all of `services`.
    pub const fn services(services: Services) -> Self {
        Self {
            services,
            family: None,
        }
    }

    /// This filter restricted to `family`.
    #[must_use]
    pub const fn with_family(mut self, family: IpFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// Whether `candidate` passes the filter. A candidate offering no
    /// service at all never passes: it is not willing to serve.
    #[inline]
    pub fn accepts(&self, candidate: &Candidate) -> bool {
        !candidate.services.is_empty()
            && candidate.services.contains(self.services)
            && match self.family {
                None => true,
                Some(IpFamily::V4) => candidate.address.ip().is_ipv4(),
                Some(IpFamily::V6) => candidate.address.ip().is_ipv6(),
            }
    }
}

/// An option the sending node cannot send, or that arrived malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OptionError {
    /// N = 0 asks for nothing.
    #[error("N must be at least 1")]
    ZeroN,
    /// N above [`MAX_N`].
    #[error("N = {n} is above the maximum of {MAX_N}")]
    NAboveMax {
        /// The N asked for.
        n: u8,
    },
    /// The set already holds more than N candidates.
    #[error("candidate set holds K = {k} candidates, more than N = {n}")]
    KAboveN {
        /// Candidates in the set.
        k: usize,
        /// N of the option.
        n: u8,
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
/// of the next intermediate peer and, in recursive mode, the candidate set
/// carried in the request.
///
/// ```
/// use stun_turn_discovery::{Filter, PiggybackOption, RoutingMode, Services, UniquenessKey};
/// let opt = PiggybackOption::recursive(Some(10), Filter::services(Services::TURN), UniquenessKey::Ip)?;
/// assert_eq!(opt.mode(), RoutingMode::Recursive);
/// assert_eq!(opt.n(), Some(10));
/// assert!(opt.set().is_empty());
/// assert!(PiggybackOption::recursive(Some(65), Filter::ANY, UniquenessKey::Ip).is_err());
/// # Ok::<(), stun_turn_discovery::OptionError>(())
/// ```
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawOption", into = "RawOption"))]
pub struct PiggybackOption {
    mode: RoutingMode,
    n: Option<u8>,
    filter: Filter,
    hop: u8,
    set: CandidateSet,
}

impl PiggybackOption {
    /// A recursive-mode option whose set rides in the request, empty and
    /// with room for N candidates, and whose first intermediate peer is hop 1.
    pub fn recursive(
        n: Option<u8>,
        filter: Filter,
        key: UniquenessKey,
    ) -> Result<Self, OptionError> {
        check_n(n)?;
        Ok(Self {
            mode: RoutingMode::Recursive,
            n,
            filter,
            hop: 1,
            set: CandidateSet::with_capacity(key, n.unwrap_or(DEFAULT_N)),
        })
    }

    /// An iterative-mode option for the intermediate peer at position `hop`
    /// on the path; its answer comes back in that peer's response.
    pub fn iterative(
        n: Option<u8>,
        filter: Filter,
        key: UniquenessKey,
        hop: u8,
    ) -> Result<Self, OptionError> {
        check_n(n)?;
        Ok(Self {
            mode: RoutingMode::Iterative,
            n,
            filter,
            hop,
            set: CandidateSet::new(key),
        })
    }

    /// An option from its parts, as a decoder finds them; checks every
    /// invariant the constructors keep.
    pub fn from_parts(
        mode: RoutingMode,
        n: Option<u8>,
        filter: Filter,
        hop: u8,
        set: CandidateSet,
    ) -> Result<Self, OptionError> {
        check_n(n)?;
        match mode {
            RoutingMode::Iterative if !set.is_empty() => {
                return Err(OptionError::IterativeWithSet { k: set.len() })
            }
            _ => {}
        }
        let bound = n.unwrap_or(MAX_N);
        if set.len() > usize::from(bound) {
            return Err(OptionError::KAboveN {
                k: set.len(),
                n: bound,
            });
        }
        Ok(Self {
            mode,
            n,
            filter,
            hop,
            set,
        })
    }

    /// Routing mode.
    pub fn mode(&self) -> RoutingMode {
        self.mode
    }

    /// N as the sending node set it, if it did.
    pub fn n(&self) -> Option<u8> {
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

    /// An option from values already validated (a [`Config`](crate::Config)'s).
    pub(crate) fn trusted(
        mode: RoutingMode,
        n: u8,
        filter: Filter,
        key: UniquenessKey,
        hop: u8,
    ) -> Self {
        let set = match mode {
            RoutingMode::Recursive => CandidateSet::with_capacity(key, n),
            RoutingMode::Iterative => CandidateSet::new(key),
        };
        Self {
            mode,
            n: Some(n.clamp(1, MAX_N)),
            filter,
            hop,
            set,
        }
    }

    /// Replaces everything but the set; the decoder has checked the header
    /// against the set it decoded.
    pub(crate) fn set_header(&mut self, mode: RoutingMode, n: Option<u8>, filter: Filter, hop: u8) {
        self.mode = mode;
        self.n = n;
        self.filter = filter;
        self.hop = hop;
    }

    /// The set, for decoding into it in place.
    pub(crate) fn set_mut(&mut self) -> &mut CandidateSet {
        &mut self.set
    }

    /// The set, for the intermediate peer's fill; also advances the hop.
    pub(crate) fn parts_mut(&mut self) -> (&mut CandidateSet, &mut u8) {
        (&mut self.set, &mut self.hop)
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
        self.set.clone_from(&source.set);
    }
}

fn check_n(n: Option<u8>) -> Result<(), OptionError> {
    match n {
        Some(0) => Err(OptionError::ZeroN),
        Some(n) if n > MAX_N => Err(OptionError::NAboveMax { n }),
        _ => Ok(()),
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RawOption {
    mode: RoutingMode,
    n: Option<u8>,
    filter: Filter,
    hop: u8,
    set: CandidateSet,
}

#[cfg(feature = "serde")]
impl TryFrom<RawOption> for PiggybackOption {
    type Error = OptionError;
    fn try_from(r: RawOption) -> Result<Self, OptionError> {
        Self::from_parts(r.mode, r.n, r.filter, r.hop, r.set)
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
            set: o.set,
        }
    }
}
