//! The sending node (§4.1, §5.1, §6.1): builds the piggyback option for its
//! outgoing requests and, when the response comes back, "MUST check the
//! candidate set in the response and save the candidate set locally for
//! later use". Non-NATed nodes may do the same (§3.3.2).
//!
//! The node judges every response by what it asked for: the N it sent (never
//! the N the response claims), the hops that can have processed the
//! request, and its own filter, address policy and per-hop share. What a
//! hop sends beyond its share is kept as reserve, so an honest peer that
//! fills the whole set as the draft allows loses nothing, while no single
//! hop decides what [`SendingNode::best`] hands out first.

mod cache;
mod config;
mod observed;
mod persist;
mod report;
mod stats;

use core::net::{IpAddr, SocketAddr};
use std::time::{Instant, SystemTime};

use crate::admission::{check_stamps, Admission, Inserted, StampError, Verdict};
use crate::candidate::{Services, TransportAddress};
use crate::filter::Filter;
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::{MessageKind, PiggybackOption, RoutingMode};
use crate::set::{CandidateSet, SetEntry};

pub use cache::{CachedCandidate, Feedback};
pub use config::NodeConfig;
pub use observed::{Mapping, MappingVerdict, Observation, ObservedAddresses, RecordOutcome};
pub use persist::{CacheSnapshot, ImportReport, SavedCandidate};
pub use report::{ResponseError, SaveReport};
pub use stats::NodeStats;

use cache::CandidateCache;

/// The sending node's side: option building, response checking, the
/// candidate cache and feedback.
///
/// ```
/// use std::time::{Instant, SystemTime};
/// use stun_turn_discovery::*;
///
/// let mut node = SendingNode::new(NodeConfig::default());
/// let now = Instant::now();
/// assert_eq!(node.shortfall(now), 10);
/// let option = node.recursive_option();
/// // ... the request travels; intermediate peers fill the set; the
/// // response echoes the option back ...
/// let report = node.on_response(now, MessageKind::Join, &option)?;
/// assert_eq!((report.offered, report.shortfall), (0, 10));
/// # Ok::<(), stun_turn_discovery::node::ResponseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SendingNode {
    config: NodeConfig,
    cache: CandidateCache,
    stats: NodeStats,
    nat: NatView,
}

/// What the node knows of its NAT from observed addresses (§3.2.1 and §4.1
/// leave that to a separate STUN exchange).
#[derive(Debug, Clone, Default)]
struct NatView {
    observed: ObservedAddresses,
    /// The node's own interface addresses and port, for telling a public
    /// address from a mapped one.
    interfaces: Vec<IpAddr>,
    local_port: u16,
    /// The host's word on the mapping, over the verdict.
    forced: Option<Mapping>,
    /// The verdict as of `at`, the last observation or expiry (`None`:
    /// nothing observed yet).
    verdict: Option<MappingVerdict>,
    at: Option<Instant>,
}

impl NatView {
    fn update(&mut self, now: Instant) {
        self.at = Some(now);
        self.verdict = Some(self.observed.verdict(
            now,
            self.interfaces.iter().copied(),
            self.local_port,
        ));
    }

    fn verdict(&self) -> MappingVerdict {
        self.verdict.unwrap_or_default()
    }

    fn mapping(&self) -> Mapping {
        self.forced
            .or(self.verdict.map(|v| v.mapping))
            .unwrap_or(Mapping::Unknown)
    }
}

impl SendingNode {
    /// A sending node with an empty cache.
    pub fn new(config: NodeConfig) -> Self {
        Self {
            cache: CandidateCache::new(
                config.key(),
                config.cache_capacity(),
                config.entry_lifetime(),
            ),
            config,
            stats: NodeStats::default(),
            nat: NatView::default(),
        }
    }

    /// What this node has done so far.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// How many more candidates this node wants at `now` (0: enough):
    /// [`NodeConfig::wanted`] minus the usable cached candidates that are
    /// not reserve and offer what the node needs (TURN behind an
    /// endpoint-dependent mapping, see [`Self::mapping`]).
    pub fn shortfall(&self, now: Instant) -> u8 {
        let counted = self
            .cache
            .counted(now, self.needed())
            .min(usize::from(u8::MAX)) as u8;
        self.config.wanted().get().saturating_sub(counted)
    }

    /// The option for a recursive-mode request (§4.1 step 1, §5.1 step 1,
    /// §6.1 step 1): N = the configured number wanted, with its filter
    /// (asking for TURN as well behind an endpoint-dependent mapping, see
    /// [`Self::mapping`]) and key, and an empty set with room for N.
    pub fn recursive_option(&self) -> PiggybackOption {
        let c = &self.config;
        PiggybackOption::recursive(Some(c.wanted()), self.filter(), c.key())
            .with_known(self.known())
    }

    /// The option for an iterative-mode request to the intermediate peer at
    /// position `hop` (1 = the first peer asked), with the filter of
    /// [`recursive_option`](Self::recursive_option).
    pub fn iterative_option(&self, hop: u8) -> PiggybackOption {
        let c = &self.config;
        PiggybackOption::iterative(Some(c.wanted()), self.filter(), c.key(), hop)
            .with_known(self.known())
    }

    /// The filter the node asks with: the configured one, plus TURN when
    /// the mapping is endpoint-dependent.
    fn filter(&self) -> Filter {
        let mut f = self.config.filter();
        f.services = f.services | self.needed();
        f
    }

    /// The services every candidate must offer to be of use: TURN behind an
    /// endpoint-dependent mapping (RFC 4787 §4.1: a peer cannot reach the
    /// address a STUN server saw, so only a relay works), else none beyond
    /// the filter.
    fn needed(&self) -> Services {
        match self.nat.mapping() {
            Mapping::EndpointDependent => Services::TURN,
            _ => Services::NONE,
        }
    }

    /// Records that the peer at `observer` (the address this node sent a
    /// request to: the first hop in recursive mode, every hop in iterative
    /// mode) saw that request come from `observed` (the observed address
    /// its response carried), and updates the verdict. Record only what
    /// answers to this node's own requests report, attributed to the
    /// address each request went to: [`ObservedAddresses`] says what a
    /// lying observer can and cannot do.
    ///
    /// ```
    /// use std::time::Instant;
    /// use stun_turn_discovery::*;
    /// let mut node = SendingNode::new(NodeConfig::default());
    /// node.set_local_addresses(["10.0.0.2".parse().unwrap()], 5000);
    /// let now = Instant::now();
    /// // A NAT that maps each destination to a new port (endpoint-dependent).
    /// for (peer, port) in [("198.51.100.1", 40001), ("198.51.100.2", 40002), ("198.51.100.3", 40003)] {
    ///     let seen = std::net::SocketAddr::new("203.0.113.7".parse().unwrap(), port);
    ///     node.observed(now, peer.parse().unwrap(), seen);
    /// }
    /// assert_eq!(node.mapping(), Mapping::EndpointDependent);
    /// assert!(node.nat_verdict().nat.is_some_and(|n| n.is_behind_nat()));
    /// // TURN is what works now: the node asks for it.
    /// assert!(node.recursive_option().filter().services.contains(Services::TURN));
    /// ```
    pub fn observed(
        &mut self,
        now: Instant,
        observer: IpAddr,
        observed: SocketAddr,
    ) -> RecordOutcome {
        let outcome = self.nat.observed.record(now, observer, observed);
        self.nat.update(now);
        outcome
    }

    /// The node's own interface addresses and the local port of the socket
    /// its requests leave from, so an observed address equal to its own
    /// reads as [`NatStatus::Public`](crate::NatStatus::Public). Without
    /// them every agreed observed address reads as behind NAT.
    pub fn set_local_addresses(&mut self, interfaces: impl IntoIterator<Item = IpAddr>, port: u16) {
        self.nat.interfaces = interfaces.into_iter().collect();
        self.nat.local_port = port;
        if let Some(at) = self.nat.at {
            self.nat.update(at);
        }
    }

    /// What the observed addresses say: the reflexive address, whether the
    /// node is behind NAT, the mapping and how many observers agree, as of
    /// the last [`observed`](Self::observed) or [`expire`](Self::expire).
    /// The host's override ([`set_mapping`](Self::set_mapping)) is not
    /// applied here; [`mapping`](Self::mapping) applies it.
    pub fn nat_verdict(&self) -> MappingVerdict {
        self.nat.verdict()
    }

    /// The mapping the node acts on: the host's override if set, else the
    /// verdict's. Behind an endpoint-dependent mapping the node asks for
    /// TURN-capable candidates and ranks them first in
    /// [`best`](Self::best); otherwise STUN-capable ones suffice.
    pub fn mapping(&self) -> Mapping {
        self.nat.mapping()
    }

    /// Overrides the mapping verdict (`Some`) or goes back to it (`None`),
    /// e.g. for a host that knows its NAT from configuration or RFC 5780
    /// tests.
    pub fn set_mapping(&mut self, mapping: Option<Mapping>) {
        self.nat.forced = mapping;
    }

    /// The observations behind [`nat_verdict`](Self::nat_verdict).
    pub fn observations(&self) -> &ObservedAddresses {
        &self.nat.observed
    }

    /// What the options tell hops this node holds: up to
    /// [`NodeConfig::known_hint`] cached candidates, reserve ones included,
    /// the most recently refreshed first. A hop then
    /// sends candidates the node does not have, and the same hop cannot
    /// make the node's reserve count by sending it again.
    pub fn known(&self) -> KnownKeys {
        let hint = usize::from(self.config.known_hint());
        if hint == 0 {
            return KnownKeys::new();
        }
        let mut held: Vec<&CachedCandidate> = self.cache.iter().collect();
        held.sort_by(|a, b| {
            b.refreshed()
                .cmp(&a.refreshed())
                .then_with(|| a.candidate().address.cmp(&b.candidate().address))
        });
        KnownKeys::of(
            self.config.key(),
            held.iter().take(hint).map(|c| &c.candidate().address),
        )
    }

    /// Checks and saves the set of a recursive-mode response, i.e. the
    /// option the responder copied back. Hops 1 to `option.hop() − 1`
    /// processed the request. K and the per-hop share are judged by the N
    /// this node sent ([`NodeConfig::wanted`]); the N the response carries
    /// is ignored, so an on-path peer that rewrites or clears it gains
    /// nothing. A set refused whole leaves the cache as it was.
    pub fn on_response(
        &mut self,
        now: Instant,
        kind: MessageKind,
        option: &PiggybackOption,
    ) -> Result<SaveReport, ResponseError> {
        let result = if option.mode() == RoutingMode::Recursive {
            // No hop processed it when hop is still 1: then no entry is valid.
            let last = option.hop().saturating_sub(1);
            self.save(now, kind, option.set(), 1, last)
        } else {
            Err(ResponseError::WrongMode {
                found: option.mode(),
            })
        };
        self.stats.record(&result);
        result
    }

    /// Checks and saves the answer of the intermediate peer at position
    /// `hop` to an iterative-mode request, judged like
    /// [`on_response`](Self::on_response): K by the N this node sent, every
    /// entry stamped `hop`.
    pub fn on_answer(
        &mut self,
        now: Instant,
        kind: MessageKind,
        hop: u8,
        answer: &CandidateSet,
    ) -> Result<SaveReport, ResponseError> {
        let result = self.save(now, kind, answer, hop, hop);
        self.stats.record(&result);
        result
    }

    /// Up to `k` usable candidates, best first: those within a share before
    /// reserve ones, then fewer failures, worked, lower RTT, higher
    /// priority, more sightings.
    pub fn best(&self, now: Instant, k: usize) -> Vec<CachedCandidate> {
        self.cache.best(now, k, self.needed())
    }

    /// Up to `k` usable candidates that pass `filter` (a service, a
    /// transport, an address family), best first, in the order of
    /// [`best`](Self::best).
    ///
    /// ```
    /// use std::time::Instant;
    /// use stun_turn_discovery::*;
    /// let node = SendingNode::new(NodeConfig::default());
    /// let turn_over_tls = Filter::services(Services::TURN).with_transport(Transport::Tls);
    /// assert!(node.best_for(Instant::now(), 1, &turn_over_tls).is_empty());
    /// ```
    pub fn best_for(&self, now: Instant, k: usize, filter: &Filter) -> Vec<CachedCandidate> {
        self.cache
            .best_matching(now, k, self.needed(), |c| filter.accepts(c.candidate()))
    }

    /// The cached candidate with the same key as `address`.
    pub fn get(&self, address: &TransportAddress) -> Option<&CachedCandidate> {
        self.cache.get(address)
    }

    /// Every cached candidate, in no particular order.
    pub fn candidates(&self) -> impl ExactSizeIterator<Item = &CachedCandidate> + '_ {
        self.cache.iter()
    }

    /// Number of cached candidates, reserve ones included.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Reports the outcome of using the candidate at `address`; returns
    /// `false` if it is not cached. A success takes it out of reserve.
    pub fn feedback(
        &mut self,
        now: Instant,
        address: &TransportAddress,
        feedback: Feedback,
    ) -> bool {
        let applied = self.cache.feedback(
            now,
            address,
            feedback,
            self.config.failure_backoff(),
            self.config.max_failures(),
        );
        if let Some(evicted) = applied {
            match feedback {
                Feedback::Worked { .. } => self.stats.worked += 1,
                Feedback::Failed => self.stats.failed += 1,
            }
            self.stats.evicted += u64::from(evicted);
        }
        applied.is_some()
    }

    /// Removes the cached candidate with the same key as `address`.
    pub fn forget(&mut self, address: &TransportAddress) -> Option<CachedCandidate> {
        self.cache.remove(address)
    }

    /// Drops cached candidates neither seen again nor working within the
    /// configured lifetime; returns how many went.
    pub fn expire(&mut self, now: Instant) -> usize {
        let _ = self.nat.observed.expire(now);
        self.nat.update(now);
        let gone = self.cache.expire(now);
        self.stats.expired += gone as u64;
        gone
    }

    /// The cache as plain values with wall-clock times, for the host to
    /// store across a restart; `wall` is the wall-clock time at `now`.
    ///
    /// ```
    /// use std::time::{Instant, SystemTime};
    /// use stun_turn_discovery::*;
    /// let node = SendingNode::new(NodeConfig::default());
    /// let snapshot = node.export(Instant::now(), SystemTime::now());
    /// let mut restarted = SendingNode::new(NodeConfig::default());
    /// let report = restarted.import(Instant::now(), SystemTime::now(), &snapshot);
    /// assert_eq!(report.restored, 0);
    /// ```
    pub fn export(&self, now: Instant, wall: SystemTime) -> CacheSnapshot {
        CacheSnapshot {
            candidates: self
                .cache
                .iter()
                .map(|c| SavedCandidate::from_cached(c, now, wall))
                .collect(),
        }
    }

    /// Puts back what [`export`](Self::export) saved, with its back-off,
    /// feedback and reserve state; `wall` is the wall-clock time at `now`.
    /// Candidates not refreshed within [`NodeConfig::entry_lifetime`], or
    /// that this node's filter or address policy refuses now, are left out;
    /// the per-hop share does not apply (each keeps the reserve state it
    /// had). Candidates already cached keep their current state. A refresh
    /// time later than `wall` counts as `wall`.
    pub fn import(
        &mut self,
        now: Instant,
        wall: SystemTime,
        snapshot: &CacheSnapshot,
    ) -> ImportReport {
        let mut report = ImportReport::default();
        let mut restore = Vec::with_capacity(snapshot.candidates.len());
        let lifetime = self.config.entry_lifetime();
        for s in &snapshot.candidates {
            // A refresh time after `wall` (a clock stepped back, or an edited
            // file) counts as now: no entry outlives its lifetime.
            let refreshed = persist::to_instant(s.refreshed, now, wall).map(|r| r.min(now));
            let Some(refreshed) =
                refreshed.filter(|r| now.saturating_duration_since(*r) < lifetime)
            else {
                report.expired += 1;
                continue;
            };
            if !self.config.filter().accepts(&s.candidate)
                || self
                    .config
                    .address_policy()
                    .check(&s.candidate.address)
                    .is_err()
            {
                report.refused += 1;
                continue;
            }
            let first_seen = persist::to_instant(s.first_seen, now, wall)
                .filter(|f| *f <= refreshed)
                .unwrap_or(refreshed);
            // A back-off `Instant` cannot hold: as long as the lifetime.
            let retry_at = s.retry_at.map(|w| {
                persist::to_instant(w, now, wall)
                    .unwrap_or(now.checked_add(lifetime).unwrap_or(now))
            });
            restore.push(CachedCandidate::restored(
                s.candidate,
                s.hop,
                first_seen,
                refreshed,
                s.sightings,
                s.srtt,
                s.failures,
                retry_at,
                s.reserve,
            ));
        }
        self.cache.restore(now, restore, |inserted| match inserted {
            Inserted::New | Inserted::Known => report.restored += 1,
            Inserted::Duplicate => report.duplicate += 1,
            Inserted::NoRoom => report.no_room += 1,
        });
        report
    }

    fn save(
        &mut self,
        now: Instant,
        kind: MessageKind,
        set: &CandidateSet,
        first: u8,
        last: u8,
    ) -> Result<SaveReport, ResponseError> {
        let n: N = self.config.wanted();
        let entries = set.entries();
        // Structural checks first: a refused set changes nothing.
        if set.key() != self.config.key() {
            return Err(ResponseError::WrongKey { found: set.key() });
        }
        if entries.len() > n.len() {
            return Err(ResponseError::TooMany {
                k: entries.len(),
                n,
            });
        }
        check_stamps(entries, first, last).map_err(|e| match e {
            StampError::OutOfRange { index, hop } => ResponseError::HopOutOfRange {
                index,
                hop,
                first,
                last,
            },
            StampError::Order { index } => ResponseError::HopOrder { index },
        })?;

        let c = &self.config;
        let mut admission =
            Admission::new(c.filter(), Some(c.address_policy()), c.per_hop_share(), n);
        let mut report = SaveReport {
            kind,
            offered: entries.len() as u8,
            saved: 0,
            reserved: 0,
            refreshed: 0,
            filtered: 0,
            refused: 0,
            no_room: 0,
            usable: 0,
            shortfall: 0,
        };
        for &SetEntry { candidate, hop } in entries {
            let cache = &mut self.cache;
            let verdict = admission.admit(&candidate, hop, |in_share| {
                cache.merge(now, candidate, hop, in_share)
            });
            match verdict {
                Verdict::Filtered => report.filtered += 1,
                Verdict::Refused(class) => {
                    tracing::debug!(address = %candidate.address, %class, "candidate refused by the address policy");
                    report.refused += 1;
                }
                Verdict::Admitted { in_share, inserted } => match inserted {
                    Inserted::New if in_share => report.saved += 1,
                    Inserted::New => report.reserved += 1,
                    Inserted::Known | Inserted::Duplicate => report.refreshed += 1,
                    Inserted::NoRoom => report.no_room += 1,
                },
            }
        }
        report.usable = self
            .cache
            .counted(now, self.needed())
            .min(usize::from(u8::MAX)) as u8;
        report.shortfall = self.shortfall(now);
        tracing::debug!(
            ?kind,
            k = report.offered,
            saved = report.saved,
            reserved = report.reserved,
            refreshed = report.refreshed,
            dropped = report.filtered + report.refused + report.no_room,
            shortfall = report.shortfall,
            "candidate set saved (§4.1 step 2)"
        );
        Ok(report)
    }
}
