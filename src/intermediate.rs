//! The intermediate peer (§4.2, §5.2, §6.2): "all peers on the path from
//! the sending node to the message destination, including the peer which is
//! the message destination" (§2). The host calls [`IntermediatePeer::on_request`]
//! for every request it processes that carries the piggyback option, and
//! [`IntermediatePeer::on_response`] for every response; both are pure
//! functions of their arguments and the peer's candidate table.

use core::ops::ControlFlow;
use std::time::Instant;

use rand::Rng;

use crate::candidate::Candidate;
use crate::config::Config;
use crate::option::{PiggybackOption, RoutingMode};
use crate::selection::Selector;
use crate::set::CandidateSet;
use crate::table::{expiry_cutoff, CandidateTable};

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

/// Why an intermediate peer stopped adding candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Stop {
    /// §4.2 step 3: "If the number K in STUN/TURN candidate set equals or
    /// exceeds N, peers don't do anything".
    AlreadyFull,
    /// §4.2 step 7: "K equals N".
    ReachedN,
    /// §4.2 step 7: "all server candidates in the candidate table has been
    /// examined".
    TableExhausted,
    /// This hop added its per-hop share of N (SECURITY.md).
    HopCap,
}

/// What one intermediate peer did to a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HopReport {
    /// The request's kind.
    pub kind: MessageKind,
    /// The option's routing mode.
    pub mode: RoutingMode,
    /// N this peer worked to: the request's, else its default (§4.2 step 2),
    /// never above its N cap.
    pub n: u8,
    /// K before this peer.
    pub k_before: u8,
    /// K after this peer.
    pub k_after: u8,
    /// This peer's hop position, stamped on what it added.
    pub hop: u8,
    /// Why it stopped.
    pub stop: Stop,
}

impl HopReport {
    /// Candidates this peer added (§4.2 step 6: K = K + 1 for each).
    pub fn added(&self) -> u8 {
        self.k_after - self.k_before
    }
}

/// What the host does with a request after [`IntermediatePeer::on_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "in iterative mode the answer must go into the response"]
pub enum Outcome {
    /// Recursive mode: the set in the request was filled in place; forward
    /// the request as usual.
    Filled(HopReport),
    /// Iterative mode: put this set in the immediate response (§3.3.2 step
    /// 2: "candidate set will be returned to the sending node in response
    /// immediately").
    Answer(CandidateSet, HopReport),
}

impl Outcome {
    /// The hop report.
    pub fn report(&self) -> &HopReport {
        match self {
            Self::Filled(r) | Self::Answer(_, r) => r,
        }
    }
}

/// What the host does with a response after [`IntermediatePeer::on_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum ResponseAction {
    /// §4.2 step 1: "If the message is a response, intermediate peers don't
    /// do additional processing beyond forwarding". Forward it untouched.
    ForwardUnchanged,
}

/// An intermediate peer: its candidate table and configuration.
///
/// ```
/// use std::time::Instant;
/// use rand::SeedableRng;
/// use stun_turn_discovery::*;
///
/// let config = Config::default().with_address_policy(AddressPolicy::default().allow_documentation(true));
/// let mut peer = IntermediatePeer::new(config);
/// let now = Instant::now();
/// let _ = peer.table_mut().sync_source(now, Source::RoutingTable, (1..=8).map(|i| {
///     Candidate::peer(TransportAddress::udp(format!("192.0.2.{i}:3478").parse().unwrap()), Services::BOTH)
/// }));
///
/// let mut option = PiggybackOption::recursive(Some(10), Filter::ANY, UniquenessKey::Ip)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let Outcome::Filled(report) = peer.on_request(now, MessageKind::Join, &mut option, &mut rng) else {
///     unreachable!("a recursive option is filled in place")
/// };
/// // The default per-hop share lets one peer add half of N.
/// assert_eq!((report.k_before, report.k_after), (0, 5));
/// assert_eq!(option.set().len(), 5);
/// # Ok::<(), OptionError>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntermediatePeer {
    table: CandidateTable,
}

impl IntermediatePeer {
    /// A peer with an empty candidate table.
    pub fn new(config: Config) -> Self {
        Self {
            table: CandidateTable::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.table.config()
    }

    /// The candidate table.
    pub fn table(&self) -> &CandidateTable {
        &self.table
    }

    /// The candidate table, for the host to keep in sync with its routing
    /// state, itself and its clients (§3.3.1).
    pub fn table_mut(&mut self) -> &mut CandidateTable {
        &mut self.table
    }

    /// Processes a request that carries the piggyback option (§4.2 steps
    /// 2–7), with the configured selection policy.
    ///
    /// In recursive mode the set carried in `option` is filled in place and
    /// the option's hop position advances; filling a set whose capacity
    /// covers N does not allocate. In iterative mode the returned answer
    /// goes in the immediate response.
    pub fn on_request<R: Rng + ?Sized>(
        &self,
        now: Instant,
        kind: MessageKind,
        option: &mut PiggybackOption,
        rng: &mut R,
    ) -> Outcome {
        let policy = self.config().selection();
        self.on_request_with(&policy, now, kind, option, rng)
    }

    /// [`on_request`](Self::on_request) with a selection policy of the
    /// host's own.
    pub fn on_request_with<S: Selector + ?Sized, R: Rng + ?Sized>(
        &self,
        selector: &S,
        now: Instant,
        kind: MessageKind,
        option: &mut PiggybackOption,
        rng: &mut R,
    ) -> Outcome {
        let mode = option.mode();
        let n = self.effective_n(option.n());
        let filter = option.filter();
        match mode {
            RoutingMode::Recursive => {
                let (set, hop) = option.parts_mut();
                let report = self.fill(selector, now, kind, mode, n, filter, *hop, set, rng);
                *hop = hop.saturating_add(1);
                Outcome::Filled(report)
            }
            RoutingMode::Iterative => {
                let mut answer = CandidateSet::with_capacity(option.key(), n);
                let report = self.fill(
                    selector,
                    now,
                    kind,
                    mode,
                    n,
                    filter,
                    option.hop(),
                    &mut answer,
                    rng,
                );
                Outcome::Answer(answer, report)
            }
        }
    }

    /// Processes a response (§4.2 step 1): nothing beyond forwarding. The
    /// option copied into the response is not touched.
    pub fn on_response(&self, kind: MessageKind, option: &PiggybackOption) -> ResponseAction {
        tracing::debug!(
            ?kind,
            mode = ?option.mode(),
            k = option.set().len(),
            "piggyback response: forward unchanged (§4.2 step 1)"
        );
        ResponseAction::ForwardUnchanged
    }

    /// §4.2 step 2: "If the sending peer has set the number of candidate it
    /// wants in the message, set the N to this number. If it has not been
    /// set in the message, we MAY choose a default value for N". Never above
    /// the configured N cap.
    pub(crate) fn effective_n(&self, n: Option<u8>) -> u8 {
        let config = self.config();
        n.unwrap_or(config.default_n()).min(config.max_n())
    }

    /// §4.2 steps 3–7 into any [`Sink`]: the set in an option, an answer,
    /// or an encoded option appended in place.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fill<S: Selector + ?Sized, R: Rng + ?Sized, K: Sink + ?Sized>(
        &self,
        selector: &S,
        now: Instant,
        kind: MessageKind,
        mode: RoutingMode,
        n: u8,
        filter: crate::option::Filter,
        hop: u8,
        set: &mut K,
        rng: &mut R,
    ) -> HopReport {
        let k_before = set.len().min(usize::from(u8::MAX)) as u8;
        let mut report = HopReport {
            kind,
            mode,
            n,
            k_before,
            k_after: k_before,
            hop,
            stop: Stop::AlreadyFull,
        };
        // Step 3.
        if k_before >= n {
            trace_report(&report);
            return report;
        }
        let cap = self.config().per_hop_cap(n);
        let cutoff = expiry_cutoff(now, self.config().entry_lifetime());
        let want = cap.min(n - k_before);
        let trace_each = tracing::enabled!(tracing::Level::TRACE);
        let mut added = 0u8;
        let mut stop = Stop::TableExhausted;
        // Step 4: fetch by the policy's criteria.
        selector.propose(&self.table, usize::from(want), rng, |entry| {
            let candidate = entry.candidate();
            if entry.is_expired_at(cutoff) || !filter.accepts(candidate) {
                return ControlFlow::Continue(());
            }
            // Step 5: compare before adding; step 6: K = K + 1.
            if !set.add(candidate, entry.priority(), hop) {
                return ControlFlow::Continue(());
            }
            added += 1;
            if trace_each {
                tracing::trace!(address = %candidate.address, hop, "candidate added");
            }
            // Step 7, and the per-hop cap.
            if set.len() >= usize::from(n) {
                stop = Stop::ReachedN;
                ControlFlow::Break(())
            } else if added >= cap {
                stop = Stop::HopCap;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        report.k_after = k_before + added;
        report.stop = stop;
        trace_report(&report);
        report
    }
}

/// Where an intermediate peer puts the candidates it adds: K, the step-5
/// comparison and the step-6 append.
pub(crate) trait Sink {
    /// K.
    fn len(&self) -> usize;
    /// Adds `candidate` (the table's copy) at `hop` with `priority`, unless
    /// its key is present or there is no room; returns whether it was added.
    fn add(&mut self, candidate: &Candidate, priority: u16, hop: u8) -> bool;
}

impl Sink for CandidateSet {
    fn len(&self) -> usize {
        Self::len(self)
    }

    #[inline]
    fn add(&mut self, candidate: &Candidate, priority: u16, hop: u8) -> bool {
        self.add_from_table(candidate, priority, hop)
    }
}

fn trace_report(r: &HopReport) {
    tracing::debug!(
        kind = ?r.kind,
        mode = ?r.mode,
        n = r.n,
        k_before = r.k_before,
        k_after = r.k_after,
        hop = r.hop,
        stop = ?r.stop,
        "piggyback request processed (§4.2)"
    );
}
