//! What a sending node has done since it was made: cumulative counters a
//! host exports to its monitoring.

use super::report::{ResponseError, SaveReport};

/// Cumulative counters of one [`SendingNode`](super::SendingNode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NodeStats {
    /// Candidate sets accepted (recursive responses and iterative answers).
    pub sets_accepted: u64,
    /// Sets refused whole: wrong routing mode.
    pub refused_wrong_mode: u64,
    /// Sets refused whole: unique by another key than asked for.
    pub refused_wrong_key: u64,
    /// Sets refused whole: more candidates than asked for.
    pub refused_too_many: u64,
    /// Sets refused whole: impossible or reordered hop stamps.
    pub refused_hop_stamps: u64,
    /// Candidates offered in accepted sets.
    pub offered: u64,
    /// New candidates saved within their hop's share.
    pub saved: u64,
    /// New candidates saved as reserve.
    pub reserved: u64,
    /// Cache hits: candidates offered that were cached already.
    pub cache_hits: u64,
    /// Candidates dropped by the filter.
    pub filtered: u64,
    /// Candidates dropped by the address policy.
    pub refused_by_policy: u64,
    /// Candidates dropped for want of room.
    pub no_room: u64,
    /// Feedback: worked.
    pub worked: u64,
    /// Feedback: failed.
    pub failed: u64,
    /// Candidates evicted after too many failures.
    pub evicted: u64,
    /// Candidates expired.
    pub expired: u64,
}

impl NodeStats {
    pub(crate) fn record(&mut self, result: &Result<SaveReport, ResponseError>) {
        match result {
            Ok(r) => {
                self.sets_accepted += 1;
                self.offered += u64::from(r.offered);
                self.saved += u64::from(r.saved);
                self.reserved += u64::from(r.reserved);
                self.cache_hits += u64::from(r.refreshed);
                self.filtered += u64::from(r.filtered);
                self.refused_by_policy += u64::from(r.refused);
                self.no_room += u64::from(r.no_room);
            }
            Err(ResponseError::WrongMode { .. }) => self.refused_wrong_mode += 1,
            Err(ResponseError::WrongKey { .. }) => self.refused_wrong_key += 1,
            Err(ResponseError::TooMany { .. }) => self.refused_too_many += 1,
            Err(ResponseError::HopOutOfRange { .. } | ResponseError::HopOrder { .. }) => {
                self.refused_hop_stamps += 1;
            }
        }
    }
}
