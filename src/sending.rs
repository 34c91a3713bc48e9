//! The sending node (§4.1, §5.1, §6.1): builds the piggyback option for its
//! outgoing requests and, when the response comes back, "MUST check the
//! candidate set in the response and save the candidate set locally for
//! later use". Non-NATed nodes may do the same (§3.3.2).

use std::time::Instant;

use thiserror::Error;

use crate::address_policy::AddressClass;
use crate::cache::{CachedCandidate, CandidateCache, Feedback, Merged};
use crate::candidate::TransportAddress;
use crate::config::Config;
use crate::intermediate::MessageKind;
use crate::option::{PiggybackOption, RoutingMode};
use crate::set::{CandidateSet, SetEntry};

/// A response whose candidate set the sending node rejects whole; the
/// cache is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The option came back in a different routing mode than a recursive
    /// request's echo.
    #[error("expected a recursive-mode option in the response, found {found:?}")]
    WrongMode {
        /// Mode found.
        found: RoutingMode,
    },
    /// More candidates than this node asked for (K > N).
    #[error("response carries K = {k} candidates, more than the N = {n} asked for")]
    TooMany {
        /// K found.
        k: usize,
        /// N asked for.
        n: u8,
    },
    /// A candidate claims a hop position that did not process the request.
    #[error("candidate {index} claims hop {hop}, outside {first}..={last}")]
    HopOutOfRange {
        /// Position of the candidate in the set.
        index: usize,
        /// Hop it claims.
        hop: u8,
        /// First valid hop.
        first: u8,
        /// Last valid hop.
        last: u8,
    },
    /// Hop positions go backwards: hops append in path order, so a
    /// reordered set was tampered with.
    #[error("candidate {index} has a lower hop position than the one before it")]
    HopOrder {
        /// Position of the candidate in the set.
        index: usize,
    },
}

/// What the sending node did with one response's candidate set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct SaveReport {
    /// The request's kind.
    pub kind: MessageKind,
    /// K: candidates in the set.
    pub offered: u8,
    /// New candidates saved.
    pub saved: u8,
    /// Candidates already known, refreshed.
    pub refreshed: u8,
    /// Candidates beyond their hop's share of N, dropped.
    pub over_hop_cap: u8,
    /// Candidates that do not pass this node's filter, dropped.
    pub filtered: u8,
    /// Candidates the address policy refuses, dropped.
    pub refused: u8,
    /// Candidates dropped because the cache was full of better ones.
    pub no_room: u8,
    /// Usable candidates in the cache now.
    pub usable: u8,
    /// How many more this node wants (0: enough). When above 0 the host
    /// sets the option on its next request, which takes another path
    /// (§3.3.3: "Using another message which traverse different path may
    /// identify a non-NULL candidate set").
    pub shortfall: u8,
}

/// The sending node's side: option building, response checking, the
/// candidate cache and feedback.
///
/// ```
/// use std::time::{Duration, Instant};
/// use stun_turn_discovery::*;
///
/// let mut node = SendingNode::new(Config::default());
/// let now = Instant::now();
/// assert_eq!(node.shortfall(now), 10);
/// let option = node.recursive_option();
/// // ... the request travels; intermediate peers fill the set; the
/// // response echoes the option back ...
/// let report = node.on_response(now, MessageKind::Join, &option)?;
/// assert_eq!((report.offered, report.shortfall), (0, 10));
/// # Ok::<(), ResponseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SendingNode {
    config: Config,
    cache: CandidateCache,
}

impl SendingNode {
    /// A sending node with an empty cache.
    pub fn new(config: Config) -> Self {
        Self {
            cache: CandidateCache::new(config.key(), config.cache_capacity()),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The candidate cache.
    pub fn cache(&self) -> &CandidateCache {
        &self.cache
    }

    /// How many more usable candidates this node wants at `now` (0: enough).
    pub fn shortfall(&self, now: Instant) -> u8 {
        let usable = self.cache.usable(now).min(usize::from(u8::MAX)) as u8;
        self.config.wanted().saturating_sub(usable)
    }

    /// The option for a recursive-mode request (§4.1 step 1, §5.1 step 1,
    /// §6.1 step 1): N = the configured number wanted, with its filter and
    /// key, and an empty set with room for N.
    pub fn recursive_option(&self) -> PiggybackOption {
        let c = &self.config;
        PiggybackOption::trusted(RoutingMode::Recursive, c.wanted(), c.filter(), c.key(), 1)
    }

    /// The option for an iterative-mode request to the intermediate peer at
    /// position `hop` (1 = the first peer asked).
    pub fn iterative_option(&self, hop: u8) -> PiggybackOption {
        let c = &self.config;
        PiggybackOption::trusted(RoutingMode::Iterative, c.wanted(), c.filter(), c.key(), hop)
    }

    /// Checks and saves the set of a recursive-mode response, i.e. the
    /// option the responder copied back. Hops 1 to `option.hop() − 1`
    /// processed the request. K and the per-hop cap are checked against
    /// the option's N, but never above this node's [`Config::wanted`], so an
    /// on-path peer that raises N gains nothing; against the N cap
    /// ([`Config::max_n`]) when the option carries no N.
    pub fn on_response(
        &mut self,
        now: Instant,
        kind: MessageKind,
        option: &PiggybackOption,
    ) -> Result<SaveReport, ResponseError> {
        if option.mode() != RoutingMode::Recursive {
            return Err(ResponseError::WrongMode {
                found: option.mode(),
            });
        }
        // No hop processed it when hop is still 1: then no entry is valid.
        let last = option.hop().saturating_sub(1);
        let n = match option.n() {
            Some(n) => n.min(self.config.wanted()),
            None => self.config.max_n(),
        };
        self.save(now, kind, option.set(), n, 1, last)
    }

    /// Checks and saves the answer of the intermediate peer at position
    /// `hop` to an iterative-mode request. K is checked against the N this
    /// node puts in its options ([`Config::wanted`]).
    pub fn on_answer(
        &mut self,
        now: Instant,
        kind: MessageKind,
        hop: u8,
        answer: &CandidateSet,
    ) -> Result<SaveReport, ResponseError> {
        self.save(now, kind, answer, self.config.wanted(), hop, hop)
    }

    /// Up to `k` usable candidates, best first.
    pub fn best(&self, now: Instant, k: usize) -> Vec<&CachedCandidate> {
        self.cache.best(now, k)
    }

    /// Reports the outcome of using the candidate at `address`; returns
    /// `false` if it is not cached.
    pub fn feedback(
        &mut self,
        now: Instant,
        address: &TransportAddress,
        feedback: Feedback,
    ) -> bool {
        self.cache.feedback(
            now,
            address,
            feedback,
            self.config.failure_backoff(),
            self.config.max_failures(),
        )
    }

    /// Drops cached candidates neither seen again nor working within the
    /// configured lifetime; returns how many went.
    pub fn expire(&mut self, now: Instant) -> usize {
        self.cache.expire(now, self.config.entry_lifetime())
    }

    fn save(
        &mut self,
        now: Instant,
        kind: MessageKind,
        set: &CandidateSet,
        n: u8,
        first: u8,
        last: u8,
    ) -> Result<SaveReport, ResponseError> {
        let entries = set.entries();
        // Structural checks first: a bad set changes nothing.
        if entries.len() > usize::from(n) {
            return Err(ResponseError::TooMany {
                k: entries.len(),
                n,
            });
        }
        let mut prev = first;
        for (index, e) in entries.iter().enumerate() {
            if e.hop < first || e.hop > last {
                return Err(ResponseError::HopOutOfRange {
                    index,
                    hop: e.hop,
                    first,
                    last,
                });
            }
            if e.hop < prev {
                return Err(ResponseError::HopOrder { index });
            }
            prev = e.hop;
        }

        let cap = self.config.per_hop_cap(n);
        let filter = self.config.filter();
        let policy = self.config.address_policy();
        let mut report = SaveReport {
            kind,
            offered: entries.len() as u8,
            saved: 0,
            refreshed: 0,
            over_hop_cap: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 0,
            shortfall: 0,
        };
        let mut hop = 0u8;
        let mut from_hop = 0u8;
        for &SetEntry { candidate, hop: h } in entries {
            if h != hop {
                hop = h;
                from_hop = 0;
            }
            from_hop += 1;
            if from_hop > cap {
                report.over_hop_cap += 1;
            } else if !filter.accepts(&candidate) {
                report.filtered += 1;
            } else if let Err(class) = policy.check(&candidate.address) {
                refused(&candidate.address, class);
                report.refused += 1;
            } else {
                match self.cache.merge(now, candidate, h) {
                    Merged::New => report.saved += 1,
                    Merged::Refreshed => report.refreshed += 1,
                    Merged::NoRoom => report.no_room += 1,
                }
            }
        }
        report.usable = self.cache.usable(now).min(usize::from(u8::MAX)) as u8;
        report.shortfall = self.shortfall(now);
        tracing::debug!(
            ?kind,
            k = report.offered,
            saved = report.saved,
            refreshed = report.refreshed,
            dropped = report.over_hop_cap + report.filtered + report.refused + report.no_room,
            shortfall = report.shortfall,
            "candidate set saved (§4.1 step 2)"
        );
        Ok(report)
    }
}

fn refused(address: &TransportAddress, class: AddressClass) {
    tracing::debug!(%address, %class, "candidate refused by the address policy");
}
