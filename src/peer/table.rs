//! The STUN/TURN candidate table (§2, §3.3.1): "Every peer MUST have this
//! table, but the number of entry in the candidate table may be zero".
//!
//! The host keeps it in sync with its own state: the willing peers of its
//! routing, neighbor and connection tables (MUST), itself (SHOULD) and its
//! willing clients (SHOULD). Entries are kept in three orders (by address,
//! by priority, by performance) plus a weight tree, so every selection
//! policy reads only the entries it hands out, whatever the table's size.

use core::cmp::Ordering;
use core::time::Duration;
use std::collections::BTreeMap;
use std::time::Instant;

use thiserror::Error;

use crate::address_policy::AddressClass;
use crate::advert::Advertisement;
use crate::candidate::{Candidate, PerformanceHints, Source, TransportAddress};
use crate::node_id::NodeId;

use super::table_config::TableConfig;
use super::weights::Weights;

/// A candidate the table refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TableError {
    /// The address policy refuses the candidate's address.
    #[error("{address} refused by the address policy: {class}")]
    Refused {
        /// The candidate's address.
        address: TransportAddress,
        /// Why.
        class: AddressClass,
    },
    /// The candidate offers no service, so it is not willing to serve (§2).
    #[error("{address} offers neither STUN nor TURN")]
    NotWilling {
        /// The candidate's address.
        address: TransportAddress,
    },
    /// The table already holds its configured maximum of entries.
    #[error("candidate table is full ({max} entries)")]
    Full {
        /// The configured maximum.
        max: u32,
    },
}

/// What [`CandidateTable::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Upserted {
    /// A new entry.
    Added,
    /// An existing entry, refreshed and updated.
    Updated,
}

/// What [`CandidateTable::sync_source`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct SyncReport {
    /// New entries.
    pub added: u32,
    /// Entries refreshed or updated.
    pub updated: u32,
    /// Entries that no longer appear in any source and were removed.
    pub removed: u32,
    /// Entries of the source that are not willing (no service): skipped, and
    /// dropped from the table if they were in it.
    pub not_willing: u32,
    /// Candidates refused, with the reason.
    pub refused: Vec<TableError>,
}

impl core::fmt::Display for SyncReport {
    /// `added 3, updated 1, removed 0, not willing 0, refused 1`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "added {}, updated {}, removed {}, not willing {}, refused {}",
            self.added,
            self.updated,
            self.removed,
            self.not_willing,
            self.refused.len()
        )
    }
}

/// One entry of the candidate table: a candidate, the sources it was
/// learned from, its effective priority and when it was last refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableEntry {
    candidate: Candidate,
    sources: u8,
    priority: u16,
    refreshed: Instant,
    seen: u32,
}

impl TableEntry {
    /// The candidate.
    pub fn candidate(&self) -> &Candidate {
        &self.candidate
    }

    /// Effective priority: the candidate's own, or else the default of its
    /// highest-priority source.
    pub fn priority(&self) -> u16 {
        self.priority
    }

    /// Whether the entry was learned from `source`.
    pub fn has_source(&self, source: Source) -> bool {
        self.sources & source.bit() != 0
    }

    /// The sources the entry was learned from.
    pub fn sources(&self) -> impl Iterator<Item = Source> + '_ {
        Source::ALL.into_iter().filter(|s| self.has_source(*s))
    }

    /// When the entry was last refreshed.
    pub fn refreshed(&self) -> Instant {
        self.refreshed
    }

    /// Whether the entry is `lifetime` or more old at `now`.
    #[inline]
    pub fn is_expired(&self, now: Instant, lifetime: Duration) -> bool {
        self.is_expired_at(expiry_cutoff(now, lifetime))
    }

    /// Whether the entry is expired given `cutoff = expiry_cutoff(now,
    /// lifetime)`: one comparison, for loops over many entries.
    #[inline]
    pub(crate) fn is_expired_at(&self, cutoff: Option<Instant>) -> bool {
        cutoff.is_some_and(|c| self.refreshed <= c)
    }

    /// Load-spreading weight: `(priority + 1) × (spare capacity + 1)`.
    pub fn weight(&self) -> u64 {
        (u64::from(self.priority) + 1) * (u64::from(self.candidate.hints.spare_capacity()) + 1)
    }

    fn by_priority(&self, other: &Self) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then_with(|| self.candidate.address.cmp(&other.candidate.address))
    }

    fn by_performance(&self, other: &Self) -> Ordering {
        other
            .candidate
            .hints
            .score()
            .cmp(&self.candidate.hints.score())
            .then_with(|| self.by_priority(other))
    }
}

/// Records a refused candidate and says so at `warn`: a host that drops
/// the report still sees why a peer is missing from its table.
fn refuse(report: &mut SyncReport, source: Source, e: TableError) {
    tracing::warn!(?source, error = %e, "candidate refused by the candidate table");
    report.refused.push(e);
}

/// The latest refresh time that counts as expired at `now`: `now −
/// lifetime`, or `None` when `now` is too early for anything to be that old.
#[inline]
pub(crate) fn expiry_cutoff(now: Instant, lifetime: Duration) -> Option<Instant> {
    now.checked_sub(lifetime)
}

/// The candidate table of one peer (§2, §3.3.1).
///
/// ```
/// use std::time::Instant;
/// use stun_turn_discovery::peer::TableConfig;
/// use stun_turn_discovery::{AddressPolicy, Candidate, CandidateTable, Services, Source, TransportAddress};
/// let config = TableConfig::default().with_address_policy(AddressPolicy::default().with_documentation(true));
/// let mut table = CandidateTable::new(config);
/// let now = Instant::now();
/// let routing = ["192.0.2.1:3478", "192.0.2.2:3478"].map(|a| {
///     Candidate::peer(TransportAddress::udp(a.parse().unwrap()), Services::BOTH)
/// });
/// let report = table.sync_source(now, Source::RoutingTable, routing);
/// assert_eq!(report.added, 2);
/// // One peer left the routing table: its entry goes (§3.3.1).
/// let report = table.sync_source(now, Source::RoutingTable, [routing[0]]);
/// assert_eq!((report.removed, table.len()), (1, 1));
/// ```
#[derive(Debug, Clone)]
pub struct CandidateTable {
    config: TableConfig,
    entries: Vec<TableEntry>,
    by_address: BTreeMap<TransportAddress, u32>,
    by_priority: Vec<u32>,
    by_performance: Vec<u32>,
    weights: Weights,
    generation: u32,
    /// What each advertiser advertised, per source: an address leaves a
    /// source only when no advertiser of that source advertises it.
    advertised: BTreeMap<(Source, NodeId), Vec<TransportAddress>>,
}

impl CandidateTable {
    /// An empty table (§2: it "may be zero" entries long).
    pub fn new(config: TableConfig) -> Self {
        Self {
            config,
            entries: Vec::new(),
            by_address: BTreeMap::new(),
            by_priority: Vec::new(),
            by_performance: Vec::new(),
            weights: Weights::default(),
            generation: 0,
            advertised: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `address`.
    pub fn get(&self, address: &TransportAddress) -> Option<&TableEntry> {
        let &i = self.by_address.get(address)?;
        self.entries.get(i as usize)
    }

    /// The entry at storage position `index` (`0..len()`), in no particular
    /// order.
    pub(crate) fn entry_at(&self, index: usize) -> Option<&TableEntry> {
        self.entries.get(index)
    }

    /// Entries from the highest priority down (ties by address).
    pub fn by_priority(&self) -> impl ExactSizeIterator<Item = &TableEntry> + '_ {
        self.by_priority.iter().map(|&i| &self.entries[i as usize])
    }

    /// Entries from the best performance hints down (ties by priority).
    pub fn by_performance(&self) -> impl ExactSizeIterator<Item = &TableEntry> + '_ {
        self.by_performance
            .iter()
            .map(|&i| &self.entries[i as usize])
    }

    /// Sum of all load-spreading weights.
    pub(crate) fn total_weight(&self) -> u64 {
        self.weights.total()
    }

    /// The position of the entry that covers `r` in the cumulative weights,
    /// for `r < total_weight()`: a draw proportional to
    /// [`TableEntry::weight`].
    pub(crate) fn position_by_weight(&self, r: u64) -> Option<usize> {
        self.weights.find(r)
    }

    /// Inserts `candidate` as learned from `source`, or refreshes and
    /// updates the entry with its address. A candidate with no service is
    /// not willing: its `source` is dropped from any existing entry and
    /// [`TableError::NotWilling`] returned.
    pub fn upsert(
        &mut self,
        now: Instant,
        source: Source,
        candidate: Candidate,
    ) -> Result<Upserted, TableError> {
        let address = candidate.address;
        if candidate.services.is_empty() {
            let _ = self.remove(source, &address);
            return Err(TableError::NotWilling { address });
        }
        if let Err(class) = self.config.address_policy().check(&address) {
            return Err(TableError::Refused { address, class });
        }
        if let Some(&i) = self.by_address.get(&address) {
            let i = i as usize;
            let old = self.entries[i];
            let mut new = old;
            new.candidate = candidate;
            new.sources |= source.bit();
            new.refreshed = now;
            new.seen = self.generation;
            new.priority = self.effective_priority(&candidate, new.sources);
            if new.priority == old.priority && new.candidate.hints == old.candidate.hints {
                // Neither order nor weight moves: a refresh costs the
                // address lookup above and nothing more.
                self.entries[i] = new;
            } else {
                self.replace(i, new);
            }
            return Ok(Upserted::Updated);
        }
        let max = self.config.max_entries();
        if self.entries.len() >= max as usize {
            return Err(TableError::Full { max });
        }
        let entry = TableEntry {
            candidate,
            sources: source.bit(),
            priority: self.effective_priority(&candidate, source.bit()),
            refreshed: now,
            seen: self.generation,
        };
        self.insert(entry);
        Ok(Upserted::Added)
    }

    /// Drops `source` from the entry for `address`; the entry goes when no
    /// source is left. Returns whether an entry was found.
    pub fn remove(&mut self, source: Source, address: &TransportAddress) -> bool {
        let Some(&i) = self.by_address.get(address) else {
            return false;
        };
        self.drop_source(i as usize, source);
        true
    }

    /// Removes the entry for `address` whatever its sources.
    pub fn remove_all(&mut self, address: &TransportAddress) -> Option<TableEntry> {
        let &i = self.by_address.get(address)?;
        Some(self.take(i as usize))
    }

    /// Makes the entries of `source` exactly the willing candidates among
    /// `current` (§3.3.1: "Every peer MUST include peers which show their
    /// willingness to be a STUN/TURN server into candidate table by examing
    /// every peer in the routing state"): inserts and refreshes them, and
    /// drops `source` from entries no longer in it. Refused candidates are
    /// reported and do not stop the rest.
    ///
    /// Call it whenever the source changes **and at least once per
    /// [`TableConfig::entry_lifetime`]** (the routing-maintenance timer of §5 is a
    /// natural place): every entry expires that long after its last
    /// refresh, so a host that stops syncing stops handing out what it no
    /// longer vouches for.
    pub fn sync_source(
        &mut self,
        now: Instant,
        source: Source,
        current: impl IntoIterator<Item = Candidate>,
    ) -> SyncReport {
        self.generation = self.generation.wrapping_add(1);
        let mut report = SyncReport::default();
        for candidate in current {
            match self.upsert(now, source, candidate) {
                Ok(Upserted::Added) => report.added += 1,
                Ok(Upserted::Updated) => report.updated += 1,
                Err(TableError::NotWilling { .. }) => report.not_willing += 1,
                Err(e) => refuse(&mut report, source, e),
            }
        }
        let generation = self.generation;
        let mut i = self.entries.len();
        while i > 0 {
            i -= 1;
            let e = self.entries[i];
            if e.has_source(source) && e.seen != generation && self.drop_source(i, source) {
                report.removed += 1;
            }
        }
        report
    }

    /// Ingests what one peer or client of `source` advertised (§3.3.1 item
    /// 1: "Each peer could indicate to other peers whether it is willing to
    /// be a STUN/TURN server"): its servers go in or are refreshed, tagged
    /// with `advertiser`, and any server it advertised before but not now
    /// loses `source`. An advertisement that is not willing withdraws them
    /// all. Call it on every advertisement received (JOIN, routing
    /// maintenance, Attach), and [`Self::advertiser_left`] when the
    /// advertiser leaves `source`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use stun_turn_discovery::*;
    /// let mut table = CandidateTable::new(peer::TableConfig::default());
    /// let now = Instant::now();
    /// let id = NodeId::new(&[7; 16])?;
    /// let server = Candidate::peer(TransportAddress::udp("203.0.113.9:3478".parse().unwrap()), Services::BOTH);
    /// let _ = table.advertised(now, Source::RoutingTable, id, &Advertisement::new([server])?);
    /// assert!(table.is_empty(), "documentation addresses are refused by default");
    /// let server = Candidate::peer(TransportAddress::udp("11.0.0.9:3478".parse().unwrap()), Services::BOTH);
    /// let report = table.advertised(now, Source::RoutingTable, id, &Advertisement::new([server])?);
    /// assert_eq!((report.added, table.len()), (1, 1));
    /// let report = table.advertised(now, Source::RoutingTable, id, &Advertisement::not_willing());
    /// assert_eq!((report.removed, table.len()), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn advertised(
        &mut self,
        now: Instant,
        source: Source,
        advertiser: NodeId,
        advert: &Advertisement,
    ) -> SyncReport {
        let mut report = SyncReport::default();
        let old = self
            .advertised
            .remove(&(source, advertiser))
            .unwrap_or_default();
        let mut held = Vec::with_capacity(advert.servers().len());
        let trusted = self.config.trusts_advertisements();
        for server in advert.servers() {
            let mut candidate = server.with_node_id(advertiser);
            if !trusted {
                // The advertiser's word on its own priority and capacity is
                // a claim; the source's default priority stands instead.
                candidate.priority = None;
                candidate.hints = PerformanceHints::default();
            }
            match self.upsert(now, source, candidate) {
                Ok(up) => {
                    match up {
                        Upserted::Added => report.added += 1,
                        Upserted::Updated => report.updated += 1,
                    }
                    held.push(candidate.address);
                }
                Err(TableError::NotWilling { .. }) => report.not_willing += 1,
                Err(e) => refuse(&mut report, source, e),
            }
        }
        let gone: Vec<TransportAddress> = old.into_iter().filter(|a| !held.contains(a)).collect();
        if !held.is_empty() {
            self.advertised.insert((source, advertiser), held);
        }
        report.removed = self.withdraw(source, &gone);
        report
    }

    /// The advertiser left `source` (its routing entry, neighbor slot or
    /// client association is gone): the servers it advertised lose `source`
    /// unless another advertiser of `source` still advertises them, and go
    /// when no source is left (§3.3.1: only peers in the routing state
    /// count). Returns how many entries went.
    pub fn advertiser_left(&mut self, source: Source, advertiser: &NodeId) -> u32 {
        let old = self
            .advertised
            .remove(&(source, *advertiser))
            .unwrap_or_default();
        self.withdraw(source, &old)
    }

    /// Drops `source` from the entries at `addresses` that no advertiser of
    /// `source` still advertises; returns how many entries went.
    fn withdraw(&mut self, source: Source, addresses: &[TransportAddress]) -> u32 {
        let mut removed = 0;
        for address in addresses {
            let still = self
                .advertised
                .range((source, NodeId::MIN)..)
                .take_while(|((s, _), _)| *s == source)
                .any(|(_, list)| list.contains(address));
            if still {
                continue;
            }
            let Some(&i) = self.by_address.get(address) else {
                continue;
            };
            let i = i as usize;
            if self.entries[i].has_source(source) && self.drop_source(i, source) {
                removed += 1;
            }
        }
        removed
    }

    /// Sets the local peer's own entries (§3.3.1 item 2: "If it is, it
    /// SHOULD be put into the STUN/TURN candidate table"); an empty
    /// iterator withdraws them.
    pub fn set_local_peer(
        &mut self,
        now: Instant,
        own: impl IntoIterator<Item = Candidate>,
    ) -> SyncReport {
        self.sync_source(now, Source::LocalPeer, own)
    }

    /// Removes every entry not refreshed within the configured lifetime;
    /// returns how many went.
    pub fn expire(&mut self, now: Instant) -> usize {
        let cutoff = expiry_cutoff(now, self.config.entry_lifetime());
        let before = self.entries.len();
        let mut i = before;
        while i > 0 {
            i -= 1;
            if self.entries[i].is_expired_at(cutoff) {
                let _ = self.take(i);
            }
        }
        before - self.entries.len()
    }

    // ---- index maintenance ----

    fn effective_priority(&self, candidate: &Candidate, sources: u8) -> u16 {
        let defaults = self.config.source_priorities();
        candidate.priority.unwrap_or_else(|| {
            Source::ALL
                .into_iter()
                .filter(|s| sources & s.bit() != 0)
                .map(|s| defaults.get(s))
                .max()
                .unwrap_or(0)
        })
    }

    /// Drops `source` from entry `i`; removes it if no source is left.
    /// Returns whether the entry was removed.
    fn drop_source(&mut self, i: usize, source: Source) -> bool {
        let mut e = self.entries[i];
        e.sources &= !source.bit();
        if e.sources == 0 {
            let _ = self.take(i);
            return true;
        }
        e.priority = self.effective_priority(&e.candidate, e.sources);
        self.replace(i, e);
        false
    }

    fn insert(&mut self, entry: TableEntry) {
        let i = self.entries.len() as u32;
        self.entries.push(entry);
        self.by_address.insert(entry.candidate.address, i);
        self.weights.push(entry.weight());
        self.index_insert(i);
    }

    /// Replaces entry `i`, keeping every order right.
    fn replace(&mut self, i: usize, new: TableEntry) {
        self.index_remove(i as u32);
        self.entries[i] = new;
        self.weights.set(i, new.weight());
        self.index_insert(i as u32);
    }

    /// Removes entry `i` (the last entry moves into its place).
    fn take(&mut self, i: usize) -> TableEntry {
        let last = self.entries.len() - 1;
        self.index_remove(i as u32);
        let removed = self.entries[i];
        self.by_address.remove(&removed.candidate.address);
        if i != last {
            let moved = self.entries[last];
            self.index_remove(last as u32);
            self.entries[i] = moved;
            self.by_address.insert(moved.candidate.address, i as u32);
            self.weights.set(i, moved.weight());
            self.index_insert(i as u32);
        }
        self.entries.pop();
        self.weights.pop();
        removed
    }

    fn index_insert(&mut self, i: u32) {
        let e = &self.entries[i as usize];
        let entries = &self.entries;
        let at = self
            .by_priority
            .partition_point(|&j| entries[j as usize].by_priority(e) == Ordering::Less);
        self.by_priority.insert(at, i);
        let at = self
            .by_performance
            .partition_point(|&j| entries[j as usize].by_performance(e) == Ordering::Less);
        self.by_performance.insert(at, i);
    }

    fn index_remove(&mut self, i: u32) {
        let e = &self.entries[i as usize];
        let entries = &self.entries;
        let at = self
            .by_priority
            .partition_point(|&j| entries[j as usize].by_priority(e) == Ordering::Less);
        if self.by_priority.get(at) == Some(&i) {
            self.by_priority.remove(at);
        }
        let at = self
            .by_performance
            .partition_point(|&j| entries[j as usize].by_performance(e) == Ordering::Less);
        if self.by_performance.get(at) == Some(&i) {
            self.by_performance.remove(at);
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.by_address.len(), self.entries.len());
        assert_eq!(self.by_priority.len(), self.entries.len());
        assert_eq!(self.by_performance.len(), self.entries.len());
        for (a, &i) in &self.by_address {
            assert_eq!(&self.entries[i as usize].candidate.address, a);
        }
        assert!(self
            .by_priority()
            .zip(self.by_priority().skip(1))
            .all(|(a, b)| a.by_priority(b) == Ordering::Less));
        assert!(self
            .by_performance()
            .zip(self.by_performance().skip(1))
            .all(|(a, b)| a.by_performance(b) == Ordering::Less));
        assert_eq!(
            self.weights.total(),
            self.entries.iter().map(TableEntry::weight).sum::<u64>()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddressPolicy, PerformanceHints, Services};

    fn cand(last: u8, prio: Option<u16>) -> Candidate {
        let addr = TransportAddress::udp(format!("192.0.2.{last}:3478").parse().unwrap());
        Candidate {
            priority: prio,
            hints: PerformanceHints {
                capacity: u16::from(last),
                bandwidth_kbps: 0,
                load_percent: 0,
            },
            ..Candidate::peer(addr, Services::BOTH)
        }
    }

    fn table() -> CandidateTable {
        CandidateTable::new(
            TableConfig::default()
                .with_address_policy(AddressPolicy::default().with_documentation(true)),
        )
    }

    #[test]
    fn orders_and_weights_survive_churn() {
        let mut t = table();
        let now = Instant::now();
        for i in 1..=50u8 {
            let _ = t
                .upsert(now, Source::RoutingTable, cand(i, Some(u16::from(i % 7))))
                .unwrap();
            t.check_invariants();
        }
        for i in (1..=50u8).step_by(3) {
            assert!(t.remove(Source::RoutingTable, &cand(i, None).address));
            t.check_invariants();
        }
        for i in (2..=50u8).step_by(4) {
            let _ = t
                .upsert(now, Source::Client, cand(i, Some(1000 - u16::from(i))))
                .unwrap();
            t.check_invariants();
        }
        let r = t.sync_source(now, Source::RoutingTable, (1..=10).map(|i| cand(i, None)));
        t.check_invariants();
        assert!(r.removed > 0);
        // Client entries 14, 18, .. keep their own priority, 1000 - i; 2, 6, 10 were
        // replaced by the routing sync with no priority of their own.
        assert_eq!(t.by_priority().next().unwrap().priority(), 986);
        assert_eq!(t.get(&cand(2, None).address).unwrap().priority(), 300);
    }

    #[test]
    fn source_default_priority_takes_best_source() {
        let mut t = table();
        let now = Instant::now();
        let c = cand(1, None);
        let _ = t.upsert(now, Source::Client, c).unwrap();
        assert_eq!(t.get(&c.address).unwrap().priority(), 100);
        let _ = t.upsert(now, Source::RoutingTable, c).unwrap();
        assert_eq!(t.get(&c.address).unwrap().priority(), 300);
        assert!(t.remove(Source::RoutingTable, &c.address));
        assert_eq!(t.get(&c.address).unwrap().priority(), 100);
        assert!(t.remove(Source::Client, &c.address));
        assert!(t.get(&c.address).is_none());
        t.check_invariants();
    }

    #[test]
    fn expiry_and_refresh() {
        let mut t = table();
        let t0 = Instant::now();
        let _ = t.upsert(t0, Source::RoutingTable, cand(1, None)).unwrap();
        let _ = t.upsert(t0, Source::RoutingTable, cand(2, None)).unwrap();
        let later = t0 + Duration::from_secs(599);
        let _ = t
            .upsert(later, Source::RoutingTable, cand(2, None))
            .unwrap();
        assert_eq!(t.expire(t0 + Duration::from_secs(600)), 1);
        assert!(t.get(&cand(2, None).address).is_some());
        t.check_invariants();
    }
}
