//! §4.2 steps 3–7, once, for every place an intermediate peer puts
//! candidates: the set carried in a decoded option, an iterative answer, or
//! an encoded option appended in place. Each candidate goes through the
//! crate's one admission check ([`Admission`]).

use core::ops::ControlFlow;
use std::time::Instant;

use rand::Rng;

use crate::admission::{Admission, Inserted, Verdict};
use crate::candidate::Candidate;
use crate::filter::Filter;
use crate::known::KnownKeys;
use crate::n::N;
use crate::option::{MessageKind, RoutingMode};
use crate::set::CandidateSet;

use super::config::PeerConfig;
use super::limiter::Requester;
use super::report::{HopReport, Stop};
use super::table::{expiry_cutoff, CandidateTable, TableEntry, Visit};

/// Where an intermediate peer puts the candidates it adds: K, and the
/// step-5 comparison with the step-6 append.
pub(crate) trait Sink {
    /// K.
    fn len(&self) -> usize;
    /// Adds `candidate` (the table's copy) at `hop` with `priority`, unless
    /// its key is present, `known` holds it, or there is no room (§4.2
    /// step 5).
    fn add(&mut self, candidate: &Candidate, priority: u16, hop: u8, known: &KnownKeys)
        -> Inserted;
}

impl Sink for CandidateSet {
    fn len(&self) -> usize {
        Self::len(self)
    }

    #[inline(always)]
    fn add(
        &mut self,
        candidate: &Candidate,
        priority: u16,
        hop: u8,
        known: &KnownKeys,
    ) -> Inserted {
        if self.add_from_table(candidate, priority, hop, known) {
            Inserted::New
        } else {
            Inserted::Duplicate
        }
    }
}

/// What the request asks of this hop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub(crate) kind: MessageKind,
    pub(crate) mode: RoutingMode,
    pub(crate) n: N,
    pub(crate) filter: Filter,
    pub(crate) hop: u8,
    /// Who sent it, if the host named them (for [`HopReport::observed`]).
    pub(crate) from: Option<Requester>,
}

/// §4.2 steps 3–7 into `sink`.
///
/// `requester_allowed` is asked once, only when the set has room: `false`
/// (the requester is over its limit) adds nothing. Candidates the sending
/// node holds already (`known`) are skipped like duplicates (§4.2 step 5).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn fill<R: Rng + ?Sized, K: Sink + ?Sized>(
    config: &PeerConfig,
    table: &CandidateTable,
    now: Instant,
    req: Request,
    known: &KnownKeys,
    sink: &mut K,
    rng: &mut R,
    requester_allowed: impl FnOnce() -> bool,
) -> Filled {
    let n = req.n;
    let k_before = sink.len().min(usize::from(u8::MAX)) as u8;
    let stopped = |stop| Filled {
        k_before,
        k_after: k_before,
        stop,
    };
    // Step 3.
    if k_before >= n.get() {
        return stopped(Stop::AlreadyFull);
    }
    if !requester_allowed() {
        return stopped(Stop::Limited);
    }
    // The table applied the address policy when each entry went in.
    let admission = Admission::new(req.filter, None, config.per_hop_share(), n);
    let want = admission.cap().min(n.get() - k_before);
    let mut step = Step {
        admission,
        cutoff: expiry_cutoff(now, table.config().entry_lifetime()),
        known,
        sink,
        n,
        hop: req.hop,
        trace_each: tracing::enabled!(tracing::Level::TRACE),
        added: 0,
        stop: Stop::TableExhausted,
    };
    // Step 4: fetch by the policy's criteria.
    config
        .selection()
        .propose(table, usize::from(want), rng, &mut step);
    Filled {
        k_before,
        k_after: k_before.saturating_add(step.added),
        stop: step.stop,
    }
}

/// What [`fill`] did: K before and after, and why it stopped. The caller
/// makes the report of it with [`finish`] when it has nothing else left to
/// do, so the report is built once, last, from its parts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filled {
    pub(crate) k_before: u8,
    pub(crate) k_after: u8,
    pub(crate) stop: Stop,
}

/// §4.2 steps 5–7 for each entry the policy proposes.
struct Step<'a, K: ?Sized> {
    admission: Admission,
    cutoff: Option<Instant>,
    known: &'a KnownKeys,
    sink: &'a mut K,
    n: N,
    hop: u8,
    trace_each: bool,
    added: u8,
    stop: Stop,
}

impl<K: Sink + ?Sized> Visit for Step<'_, K> {
    #[inline(always)]
    fn visit(&mut self, entry: &TableEntry) -> ControlFlow<()> {
        if entry.is_expired_at(self.cutoff) {
            return ControlFlow::Continue(());
        }
        let candidate = entry.candidate();
        // Step 5: compare before adding; step 6: K = K + 1. The walk stops
        // when the hop is full, so every candidate judged is in its share.
        let Ok(in_share) = self.admission.judge(candidate, self.hop) else {
            return ControlFlow::Continue(());
        };
        let inserted = if in_share {
            self.sink
                .add(candidate, entry.priority(), self.hop, self.known)
        } else {
            Inserted::NoRoom
        };
        let verdict = self.admission.record(in_share, inserted);
        if !matches!(
            verdict,
            Verdict::Admitted {
                inserted: Inserted::New,
                ..
            }
        ) {
            return ControlFlow::Continue(());
        }
        self.added += 1;
        if self.trace_each {
            tracing::trace!(address = %candidate.address, hop = self.hop, "candidate added");
        }
        // Step 7, and the per-hop share.
        if self.sink.len() >= self.n.len() {
            self.stop = Stop::ReachedN;
            ControlFlow::Break(())
        } else if self.admission.hop_full() {
            self.stop = Stop::HopCap;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The hop's report of `req` and what [`fill`] did, traced. Built once,
/// last, from its parts, with nothing taking its address (the trace reads
/// copies of its fields), so it goes from registers to where it is
/// returned: a report written to memory field by field and then copied
/// whole (patched after it is built, kept across calls, returned inside a
/// `Result`) is read with loads wider than the stores that wrote it, a
/// stall the profile showed on every request.
#[inline(always)]
pub(crate) fn finish(req: &Request, filled: Filled) -> HopReport {
    let Filled {
        k_before,
        k_after,
        stop,
    } = filled;
    let report = HopReport {
        kind: req.kind,
        mode: req.mode,
        n: req.n,
        k_before,
        k_after,
        hop: req.hop,
        stop,
        observed: HopReport::observed_from(req.from, req.mode, req.hop),
    };
    trace_report(report);
    report
}

#[inline(always)]
fn trace_report(r: HopReport) {
    let HopReport {
        kind,
        mode,
        n,
        k_before,
        k_after,
        hop,
        stop,
        ..
    } = r;
    tracing::debug!(
        ?kind,
        ?mode,
        n = n.get(),
        k_before,
        k_after,
        hop,
        ?stop,
        "piggyback request processed (§4.2)"
    );
}
