//! How an intermediate peer fetches candidates from its table (§4.2 step 4:
//! "Peers fetch candidates from its candidate table according to a specific
//! criteria, for example, priority, or performance parameters"; §3.3.1: "In
//! order to make the service load distributed through the candidates, peer
//! could choose candidates for sending nodes according to some algorithms,
//! for example, choose the candidates randomly").
//!
//! A policy only proposes entries in the order it prefers; the intermediate
//! peer decides which to keep (filter, uniqueness, expiry) and stops the
//! walk as soon as the set is full (§4.2 step 7). Every built-in policy
//! reads only as many entries as it proposes, and proposes every entry
//! before it gives up, so step 7's "all server candidates in the candidate
//! table has been examined" holds.

use core::fmt;

use rand::Rng;

use super::table::{CandidateTable, Visit};

/// How an intermediate peer chooses candidates, set in
/// [`PeerConfig`](super::PeerConfig).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum SelectionPolicy {
    /// Highest priority first (ties by address). Deterministic.
    ByPriority,
    /// Best performance hints first: spare capacity, then bandwidth, then
    /// priority. Deterministic.
    ByPerformance,
    /// Uniformly random: a random start and a random stride coprime to the
    /// table size, so every entry is equally likely to come first and each
    /// entry is proposed once.
    Random,
    /// Weighted random by priority and spare capacity
    /// ([`TableEntry::weight`](super::TableEntry::weight)), so repeated requests do not all get the
    /// same candidates. The default.
    LoadSpreading,
}

impl fmt::Display for SelectionPolicy {
    /// `by priority`, `by performance`, `random` or `load spreading`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::ByPriority => "by priority",
            Self::ByPerformance => "by performance",
            Self::Random => "random",
            Self::LoadSpreading => "load spreading",
        })
    }
}

impl SelectionPolicy {
    /// Offers entries of `table` to `to` in the order this policy
    /// prefers, until it breaks or every entry has been proposed. `want` is
    /// how many candidates the caller can still take (at least 1): a hint
    /// for how far to look.
    #[inline(always)]
    pub(crate) fn propose<R, O>(&self, table: &CandidateTable, want: usize, rng: &mut R, to: &mut O)
    where
        R: Rng + ?Sized,
        O: Visit,
    {
        match self {
            Self::ByPriority => table.walk_by_priority(to),
            Self::ByPerformance => table.walk_by_performance(to),
            Self::Random => random_walk(table, rng, to),
            Self::LoadSpreading => {
                // A table that holds no more than the caller can take has
                // all its entries examined whatever the order: walk it.
                if table.len() > want {
                    // Weighted draws from an alias table, in batches of as
                    // many as are still wanted, drawn before any is looked
                    // at. A position drawn before is skipped without a
                    // visit (a 64-bit filter, then the positions recorded;
                    // past those, the caller's uniqueness check turns it
                    // away, §4.2 step 5). After a bounded number of draws,
                    // fall back to the uniform walk, which proposes every
                    // entry.
                    let mut batch = [0u32; BATCH];
                    // Redraws are frequent only in a table not much larger
                    // than what is wanted; elsewhere the record costs as
                    // much as the visits it saves (BENCHMARKS.md).
                    let mut drawn = Drawn::new(table.len() <= 2 * want);
                    let mut left = 2 * want + 8;
                    while left > 0 {
                        let take = want.min(left).min(BATCH);
                        left -= take;
                        for &i in table.draw_by_weight(rng, &mut batch[..take]) {
                            if !drawn.first_time(i) {
                                continue;
                            }
                            let Some(e) = table.entry_at(i as usize) else {
                                continue;
                            };
                            if to.visit(e).is_break() {
                                return;
                            }
                        }
                    }
                }
                random_walk(table, rng, to);
            }
        }
    }
}

/// Most weighted draws made before the first of them is looked at.
const BATCH: usize = 16;

/// Positions drawn so far in one request: a 64-bit filter and the first
/// [`BATCH`] positions.
struct Drawn {
    on: bool,
    filter: u64,
    positions: [u32; BATCH],
    count: usize,
}

impl Drawn {
    /// A record that skips redraws if `on` (and the `ablate-drawn` feature,
    /// for benchmarks only, is off).
    fn new(on: bool) -> Self {
        Self {
            on: on && !cfg!(feature = "ablate-drawn"),
            filter: 0,
            positions: [0; BATCH],
            count: 0,
        }
    }

    /// Records `i`; `false` if it was drawn before (as far as the positions
    /// recorded tell).
    #[inline(always)]
    fn first_time(&mut self, i: u32) -> bool {
        if !self.on {
            return true;
        }
        let bit = 1u64 << (i & 63);
        let recorded = &self.positions[..self.count.min(BATCH)];
        if self.filter & bit != 0 && recorded.contains(&i) {
            return false;
        }
        self.filter |= bit;
        if let Some(slot) = self.positions.get_mut(self.count) {
            *slot = i;
            self.count += 1;
        }
        true
    }
}

/// Proposes every entry once, from a random start with a random stride
/// coprime to the table size.
fn random_walk<R, V>(table: &CandidateTable, rng: &mut R, to: &mut V)
where
    R: Rng + ?Sized,
    V: Visit,
{
    let len = table.len() as u64;
    if len == 0 {
        return;
    }
    let start = below(rng, len);
    let mut stride = 1 + below(rng, len);
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    // Now 1 ≤ stride ≤ len + 1; keep it below len so one subtraction wraps.
    let stride = stride % len;
    let mut pos = start;
    for _ in 0..len {
        if let Some(e) = table.entry_at(pos as usize) {
            if to.visit(e).is_break() {
                return;
            }
        }
        pos += stride;
        if pos >= len {
            pos -= len;
        }
    }
}

/// A number in `0..n` (`n > 0`), by Lemire's multiply-shift.
pub(crate) fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// Greatest common divisor (Euclid).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_and_below() {
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(7, 1), 1);
        assert_eq!(gcd(0, 5), 5);
        assert_eq!(gcd(64, 48), 16);
        for a in 1..60u64 {
            for b in 1..60u64 {
                let slow = (1..=a.min(b))
                    .rev()
                    .find(|d| a % d == 0 && b % d == 0)
                    .unwrap();
                assert_eq!(gcd(a, b), slow, "gcd({a}, {b})");
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in 1..50 {
            assert!(below(&mut rng, n) < n);
        }
    }

    use rand::SeedableRng;
}
