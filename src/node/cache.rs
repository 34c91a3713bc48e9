//! The sending node's local store of candidates (§4.1 step 2, §5.1 step 2,
//! §6.1 step 2: "save the candidate set locally for later use"). It merges
//! the sets of many responses, keeps one entry per key, expires what is not
//! seen again, and ranks by what the host reports of actually using them.

use core::cmp::Ordering;
use core::time::Duration;
use std::time::Instant;

use crate::admission::Inserted;
use crate::candidate::{Candidate, Services, TransportAddress};
use crate::key::UniquenessKey;

/// What the host learned from using a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Feedback {
    /// A STUN/TURN transaction with it succeeded after `rtt`.
    Worked {
        /// Round-trip time of the transaction.
        rtt: Duration,
    },
    /// It did not answer, or refused service.
    Failed,
}

/// One candidate in the sending node's cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedCandidate {
    candidate: Candidate,
    hop: u8,
    first_seen: Instant,
    refreshed: Instant,
    sightings: u32,
    srtt: Option<Duration>,
    failures: u8,
    retry_at: Option<Instant>,
    reserve: bool,
}

impl CachedCandidate {
    /// The candidate, as the last set that carried it described it.
    pub fn candidate(&self) -> &Candidate {
        &self.candidate
    }

    /// Hop position of the intermediate peer that last offered it.
    pub fn hop(&self) -> u8 {
        self.hop
    }

    /// When it was first learned.
    pub fn first_seen(&self) -> Instant {
        self.first_seen
    }

    /// When it was last seen in a set or last worked.
    pub fn refreshed(&self) -> Instant {
        self.refreshed
    }

    /// In how many sets it was seen.
    pub fn sightings(&self) -> u32 {
        self.sightings
    }

    /// Smoothed round-trip time, once it has worked.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Failures in a row.
    pub fn failures(&self) -> u8 {
        self.failures
    }

    /// Until when it backs off after a failure, if it does.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Whether it may be handed out at `now` (not backing off after a
    /// failure).
    pub fn is_usable(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// Whether it is held as reserve: it came beyond its hop's share of N
    /// and has not worked since. Reserve candidates rank after all others
    /// and do not count as wanted ones; only a success
    /// ([`Feedback::Worked`]) takes one out of reserve, since a hop that
    /// sends it again proves nothing (it may be the same hop).
    pub fn is_reserve(&self) -> bool {
        self.reserve
    }

    /// Whether it counts towards the candidates the node wants: usable and
    /// not reserve.
    pub(crate) fn counts(&self, now: Instant) -> bool {
        !self.reserve && self.is_usable(now)
    }

    /// A cached candidate with every field given, for a restore.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restored(
        candidate: Candidate,
        hop: u8,
        first_seen: Instant,
        refreshed: Instant,
        sightings: u32,
        srtt: Option<Duration>,
        failures: u8,
        retry_at: Option<Instant>,
        reserve: bool,
    ) -> Self {
        Self {
            candidate,
            hop,
            first_seen,
            refreshed,
            sightings,
            srtt,
            failures,
            retry_at,
            reserve,
        }
    }

    /// Ranking, best first: usable, not reserve, fewer failures, worked,
    /// lower RTT, higher priority, more sightings, then address.
    fn rank(&self, other: &Self, now: Instant) -> Ordering {
        other
            .is_usable(now)
            .cmp(&self.is_usable(now))
            .then(self.reserve.cmp(&other.reserve))
            .then(self.failures.cmp(&other.failures))
            .then(other.srtt.is_some().cmp(&self.srtt.is_some()))
            .then(self.srtt.cmp(&other.srtt))
            .then(other.candidate.priority.cmp(&self.candidate.priority))
            .then(other.sightings.cmp(&self.sightings))
            .then(self.candidate.address.cmp(&other.candidate.address))
    }
}

/// The sending node's candidate cache: at most `capacity` entries, unique
/// by `key`.
#[derive(Debug, Clone)]
pub(crate) struct CandidateCache {
    key: UniquenessKey,
    capacity: usize,
    lifetime: Duration,
    entries: Vec<CachedCandidate>,
}

impl CandidateCache {
    /// An empty cache whose entries live `lifetime` unless seen again or
    /// working.
    pub(crate) fn new(key: UniquenessKey, capacity: u8, lifetime: Duration) -> Self {
        Self {
            key,
            capacity: usize::from(capacity.max(1)),
            lifetime,
            entries: Vec::new(),
        }
    }

    /// Whether `e` is within its lifetime at `now`; one that is not is
    /// neither handed out nor counted, and [`Self::expire`] removes it.
    pub(crate) fn is_live(&self, e: &CachedCandidate, now: Instant) -> bool {
        now.saturating_duration_since(e.refreshed) < self.lifetime
    }

    /// Number of cached candidates.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Candidates that count towards those wanted at `now`: usable and
    /// not reserve.
    pub(crate) fn counted(&self, now: Instant, offering: Services) -> usize {
        self.entries
            .iter()
            .filter(|e| {
                e.counts(now) && self.is_live(e, now) && e.candidate.services.contains(offering)
            })
            .count()
    }

    /// The entry with the same key as `address`.
    pub(crate) fn get(&self, address: &TransportAddress) -> Option<&CachedCandidate> {
        self.position(address).map(|i| &self.entries[i])
    }

    /// Removes the entry with the same key as `address`.
    pub(crate) fn remove(&mut self, address: &TransportAddress) -> Option<CachedCandidate> {
        self.position(address).map(|i| self.entries.swap_remove(i))
    }

    fn position(&self, address: &TransportAddress) -> Option<usize> {
        let k = self.key.of(address);
        self.entries
            .iter()
            .position(|e| self.key.of(&e.candidate.address) == k)
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, CachedCandidate> {
        self.entries.iter()
    }

    /// Up to `k` usable candidates, best first (reserve ones last).
    pub(crate) fn best(&self, now: Instant, k: usize, first: Services) -> Vec<CachedCandidate> {
        self.best_matching(now, k, first, |_| true)
    }

    /// Up to `k` usable candidates that `keep` accepts, best first; those
    /// offering every service in `first` come before the others.
    pub(crate) fn best_matching(
        &self,
        now: Instant,
        k: usize,
        first: Services,
        keep: impl Fn(&CachedCandidate) -> bool,
    ) -> Vec<CachedCandidate> {
        let mut v: Vec<CachedCandidate> = self
            .entries
            .iter()
            .filter(|e| e.is_usable(now) && self.is_live(e, now) && keep(e))
            .copied()
            .collect();
        let offers = |c: &CachedCandidate| c.candidate.services.contains(first);
        v.sort_by(|a, b| offers(b).cmp(&offers(a)).then_with(|| a.rank(b, now)));
        v.truncate(k);
        v
    }

    /// Applies feedback to the entry with `address`'s key; returns `None`
    /// if there is none, else whether the entry was evicted. A failure backs the entry off for `backoff ×
    /// 2^(failures−1)`; `max_failures` in a row evict it, and so does a
    /// back-off too long for `Instant` to represent. A success clears
    /// failures, refreshes it, takes it out of reserve and updates its
    /// smoothed RTT (7/8 old + 1/8 new, as TCP does).
    pub(crate) fn feedback(
        &mut self,
        now: Instant,
        address: &TransportAddress,
        feedback: Feedback,
        backoff: Duration,
        max_failures: u8,
    ) -> Option<bool> {
        let i = self.position(address)?;
        let e = &mut self.entries[i];
        match feedback {
            Feedback::Worked { rtt } => {
                e.reserve = false;
                e.failures = 0;
                e.retry_at = None;
                e.refreshed = now;
                e.srtt = Some(match e.srtt {
                    None => rtt,
                    Some(s) => s.saturating_mul(7).saturating_add(rtt) / 8,
                });
            }
            Feedback::Failed => {
                e.failures = e.failures.saturating_add(1);
                let factor = 1u32 << (e.failures - 1).min(16);
                let retry_at = now.checked_add(backoff.saturating_mul(factor));
                match retry_at {
                    // A back-off beyond what `Instant` can hold is forever.
                    Some(t) if e.failures < max_failures => e.retry_at = Some(t),
                    _ => {
                        self.entries.swap_remove(i);
                        return Some(true);
                    }
                }
            }
        }
        Some(false)
    }

    /// Merges one candidate seen in a set at hop `hop`, within its hop's
    /// share or (`in_share` false) beyond it. A known entry is refreshed and
    /// keeps its reserve state; its description (services, priority, hints)
    /// is replaced by the set's unless it has worked, in which case what the
    /// node learned by using it stands against an unsigned set.
    pub(crate) fn merge(
        &mut self,
        now: Instant,
        candidate: Candidate,
        hop: u8,
        in_share: bool,
    ) -> Inserted {
        if let Some(i) = self.position(&candidate.address) {
            let e = &mut self.entries[i];
            e.refreshed = now;
            e.sightings = e.sightings.saturating_add(1);
            e.hop = hop;
            if e.srtt.is_none() && e.candidate.address == candidate.address {
                e.candidate = candidate;
            }
            return Inserted::Known;
        }
        let new = CachedCandidate {
            candidate,
            hop,
            first_seen: now,
            refreshed: now,
            sightings: 1,
            srtt: None,
            failures: 0,
            retry_at: None,
            reserve: !in_share,
        };
        self.insert_ranked(now, new)
    }

    /// Inserts `new` if there is room, else in place of the worst entry if
    /// `new` ranks above it.
    fn insert_ranked(&mut self, now: Instant, new: CachedCandidate) -> Inserted {
        if self.entries.len() < self.capacity {
            self.entries.push(new);
            return Inserted::New;
        }
        let worst = self
            .entries
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| a.rank(b, now))
            .map(|(i, _)| i);
        match worst {
            Some(w) if new.rank(&self.entries[w], now) == Ordering::Less => {
                self.entries[w] = new;
                Inserted::New
            }
            _ => Inserted::NoRoom,
        }
    }

    /// Puts back candidates exported earlier, with all their state, best
    /// first, so a later one never displaces an earlier one: each unless its
    /// key is present; when full, only in place of an entry that ranks
    /// below it. Calls `each` with what happened to each.
    pub(crate) fn restore(
        &mut self,
        now: Instant,
        mut saved: Vec<CachedCandidate>,
        mut each: impl FnMut(Inserted),
    ) {
        saved.sort_by(|a, b| a.rank(b, now));
        for new in saved {
            if self.position(&new.candidate.address).is_some() {
                each(Inserted::Duplicate);
            } else {
                each(self.insert_ranked(now, new));
            }
        }
    }

    /// Removes entries neither seen nor working within the lifetime.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        let lifetime = self.lifetime;
        self.entries
            .retain(|e| now.saturating_duration_since(e.refreshed) < lifetime);
        before - self.entries.len()
    }
}
