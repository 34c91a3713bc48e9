//! What the sending node did with a response's candidate set, and why it
//! refuses a set whole.

use core::fmt;

use thiserror::Error;

use crate::n::N;
use crate::option::{MessageKind, RoutingMode};

/// A response whose candidate set the sending node refuses whole; the
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
    /// The set is unique by another key than this node asked for: its
    /// per-hop counts and its uniqueness mean something else.
    #[error("the set is unique by {found}, not by the key this node asked for")]
    WrongKey {
        /// The key found.
        found: crate::key::UniquenessKey,
    },
    /// More candidates than this node asked for (K above the N it sent,
    /// whatever N the response claims).
    #[error("response carries K = {k} candidates, more than the N = {n} asked for")]
    TooMany {
        /// K found.
        k: usize,
        /// N asked for.
        n: N,
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

/// What the sending node did with one response's candidate set. Every
/// candidate offered is counted in exactly one of `saved`, `reserved`,
/// `refreshed`, `filtered`, `refused` and `no_room`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[must_use]
#[non_exhaustive]
pub struct SaveReport {
    /// The request's kind.
    pub kind: MessageKind,
    /// K: candidates in the set.
    pub offered: u8,
    /// New candidates saved within their hop's share.
    pub saved: u8,
    /// New candidates beyond their hop's share of N, saved as reserve:
    /// ranked after the others and not counted as wanted ones.
    pub reserved: u8,
    /// Candidates already known, refreshed.
    pub refreshed: u8,
    /// Candidates that do not pass this node's filter, dropped.
    pub filtered: u8,
    /// Candidates the address policy refuses, dropped.
    pub refused: u8,
    /// Candidates dropped because the cache was full of better ones.
    pub no_room: u8,
    /// Candidates in the cache now that count towards those wanted (usable,
    /// not reserve).
    pub usable: u8,
    /// How many more this node wants (0: enough). When above 0 the host
    /// sets the option on its next request, which takes another path
    /// (§3.3.3: "Using another message which traverse different path may
    /// identify a non-NULL candidate set").
    pub shortfall: u8,
}

impl fmt::Display for SaveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: offered {}, saved {}, reserve {}, refreshed {}, dropped {} (filter {}, policy {}, no room {}); usable {}, shortfall {}",
            self.kind,
            self.offered,
            self.saved,
            self.reserved,
            self.refreshed,
            u16::from(self.filtered) + u16::from(self.refused) + u16::from(self.no_room),
            self.filtered,
            self.refused,
            self.no_room,
            self.usable,
            self.shortfall
        )
    }
}
