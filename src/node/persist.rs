//! Keeping what a sending node learned across a restart: its cache as
//! plain values with wall-clock times ([`SystemTime`]), which a host stores
//! however it likes (serde behind the `serde` feature) and reads back.
//!
//! The crate reads no clock: the host passes `now` and the wall-clock time
//! at the same moment to both calls, and the crate converts between them.

use core::time::Duration;
use std::time::{Instant, SystemTime};

use crate::candidate::Candidate;

use super::cache::CachedCandidate;

/// One cached candidate with wall-clock times: everything the cache knew,
/// back-off and reserve state included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SavedCandidate {
    /// The candidate.
    pub candidate: Candidate,
    /// Hop position of the intermediate peer that last offered it.
    pub hop: u8,
    /// When it was first learned.
    pub first_seen: SystemTime,
    /// When it was last seen in a set or last worked.
    pub refreshed: SystemTime,
    /// In how many sets it was seen.
    pub sightings: u32,
    /// Smoothed round-trip time, once it has worked.
    pub srtt: Option<Duration>,
    /// Failures in a row.
    pub failures: u8,
    /// Until when it backs off after a failure.
    pub retry_at: Option<SystemTime>,
    /// Whether it is held as reserve.
    pub reserve: bool,
}

/// A sending node's cache at one moment
/// ([`SendingNode::export`](super::SendingNode::export)), for
/// [`SendingNode::import`](super::SendingNode::import) after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CacheSnapshot {
    /// The candidates, in no particular order.
    pub candidates: Vec<SavedCandidate>,
}

/// What [`SendingNode::import`](super::SendingNode::import) did. Every
/// saved candidate is counted in exactly one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use]
#[non_exhaustive]
pub struct ImportReport {
    /// Restored with their state.
    pub restored: u32,
    /// Not refreshed within the entry lifetime: left out.
    pub expired: u32,
    /// Refused by the node's filter or address policy now: left out.
    pub refused: u32,
    /// Same key as a candidate already cached: left out.
    pub duplicate: u32,
    /// The cache was full of better candidates: left out.
    pub no_room: u32,
}

impl core::fmt::Display for ImportReport {
    /// `restored 9, expired 1, refused 0, duplicate 0, no room 0`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "restored {}, expired {}, refused {}, duplicate {}, no room {}",
            self.restored, self.expired, self.refused, self.duplicate, self.no_room
        )
    }
}

/// The wall-clock time of `t`, given that `now` is `wall`.
pub(crate) fn to_wall(t: Instant, now: Instant, wall: SystemTime) -> SystemTime {
    if t <= now {
        wall.checked_sub(now - t).unwrap_or(SystemTime::UNIX_EPOCH)
    } else {
        wall.checked_add(t - now).unwrap_or(wall)
    }
}

/// The `Instant` of wall-clock time `w`, given that `now` is `wall`; `None`
/// when `Instant` cannot hold it.
pub(crate) fn to_instant(w: SystemTime, now: Instant, wall: SystemTime) -> Option<Instant> {
    match w.duration_since(wall) {
        Ok(ahead) => now.checked_add(ahead),
        Err(behind) => now.checked_sub(behind.duration()),
    }
}

impl SavedCandidate {
    pub(crate) fn from_cached(c: &CachedCandidate, now: Instant, wall: SystemTime) -> Self {
        Self {
            candidate: *c.candidate(),
            hop: c.hop(),
            first_seen: to_wall(c.first_seen(), now, wall),
            refreshed: to_wall(c.refreshed(), now, wall),
            sightings: c.sightings(),
            srtt: c.srtt(),
            failures: c.failures(),
            retry_at: c.retry_at().map(|t| to_wall(t, now, wall)),
            reserve: c.is_reserve(),
        }
    }
}
