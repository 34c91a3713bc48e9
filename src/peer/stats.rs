//! What an intermediate peer has done since it was made: cumulative
//! counters a host exports to its monitoring.

use super::report::{HopReport, Stop};
use crate::option::RoutingMode;

/// Cumulative counters of one [`IntermediatePeer`](super::IntermediatePeer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PeerStats {
    /// Requests carrying the option, recursive mode.
    pub recursive_requests: u64,
    /// Requests carrying the option, iterative mode.
    pub iterative_requests: u64,
    /// Candidates handed out (added to sets or answers).
    pub candidates_handed_out: u64,
    /// Requests that stopped because the set was already full (§4.2 step 3).
    pub already_full: u64,
    /// Requests that stopped at N (§4.2 step 7).
    pub reached_n: u64,
    /// Requests that stopped with the table exhausted (§4.2 step 7).
    pub table_exhausted: u64,
    /// Requests that stopped at this peer's per-hop share.
    pub hop_cap: u64,
    /// Requests whose requester was over its limit: nothing added.
    pub limited: u64,
    /// Encoded options or messages refused (malformed, or no room in a
    /// RELOAD message's length fields); nothing was written. An iterative
    /// option in `on_reload_request`, which the host answers through
    /// `on_request`, is not counted here.
    pub malformed: u64,
    /// Responses forwarded (§4.2 step 1).
    pub responses: u64,
}

impl PeerStats {
    pub(crate) fn record(&mut self, r: &HopReport) {
        match r.mode {
            RoutingMode::Recursive => self.recursive_requests += 1,
            RoutingMode::Iterative => self.iterative_requests += 1,
        }
        self.candidates_handed_out += u64::from(r.added());
        let counter = match r.stop {
            Stop::AlreadyFull => &mut self.already_full,
            Stop::ReachedN => &mut self.reached_n,
            Stop::TableExhausted => &mut self.table_exhausted,
            Stop::HopCap => &mut self.hop_cap,
            Stop::Limited => &mut self.limited,
        };
        *counter += 1;
    }
}
