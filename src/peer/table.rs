//! The STUN/TURN candidate table (§2, §3.3.1): "Every peer MUST have this
//! table, but the number of entry in the candidate table may be zero".
//!
//! The host keeps it in sync with its own state: the willing peers of its
//! routing, neighbor and connection tables (MUST), itself (SHOULD) and its
//! willing clients (SHOULD). Entries are kept in three orders (by address,
//! by priority, by performance) plus an alias table of the load-spreading
//! weights, so every selection policy reads only the entries it hands out,
//! whatever the table's size.
//!
//! Memory: a host may hold one table per simulated peer, a million of them,
//! most a few entries long (§3.3.3: about 75 routing entries at 10^6 peers,
//! of which a willing fraction makes a handful). So a table is three
//! allocations whatever its size, 102 bytes an entry: its entries (88
//! bytes each), its three orders in one array (positions, `u16` when the
//! capacity allows: by priority, by performance, and by address, which is
//! searched by bisection) and its alias table (8 bytes a position; no raw
//! weights). A batch ([`CandidateTable::sync_source`] and the other calls
//! that take many candidates at once) makes room for as many entries as
//! its iterator says are coming, and gives back what it did not use when it
//! ends.
//!
//! Time: every call that changes an entry's weight, adds or removes one
//! rebuilds the alias table once at its end, O(n); a refresh that moves
//! neither order nor weight does not. Hosts with many changes pass them in
//! one batch ([`CandidateTable::sync_source`]) rather than one
//! [`CandidateTable::upsert`] each.

use core::cmp::Ordering;
use core::fmt;
use core::ops::ControlFlow;
use core::time::Duration;
use std::collections::BTreeMap;
use std::time::Instant;

use rand::Rng;
use thiserror::Error;

use crate::address_policy::AddressClass;
use crate::advert::Advertisement;
use crate::candidate::{Candidate, PerformanceHints, Source, TransportAddress};
use crate::node_id::NodeId;

use super::alias::Alias;
use super::table_config::TableConfig;

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
    /// The table's sync generation when the entry was last refreshed, or
    /// [`UNSEEN`]: one byte, which fits the entry's padding (88 bytes in
    /// all, 68 of them the candidate).
    seen: u8,
}

/// A `seen` that no generation equals (see [`CandidateTable::next_generation`]).
const UNSEEN: u8 = u8::MAX;

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

/// What takes the entries a selection policy proposes, one at a time (the
/// intermediate peer's §4.2 steps 5–7).
pub(crate) trait Visit {
    /// Considers `entry`; breaks when nothing more is wanted.
    fn visit(&mut self, entry: &TableEntry) -> ControlFlow<()>;
}

/// The candidate's own priority, or else the default of its
/// highest-priority source.
fn effective_priority(config: &TableConfig, candidate: &Candidate, sources: u8) -> u16 {
    let defaults = config.source_priorities();
    candidate.priority.unwrap_or_else(|| {
        Source::ALL
            .into_iter()
            .filter(|s| sources & s.bit() != 0)
            .map(|s| defaults.get(s))
            .max()
            .unwrap_or(0)
    })
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
    /// The entries, in no particular order.
    entries: Vec<TableEntry>,
    /// Positions in `entries`, by priority, by performance and by address.
    orders: Orders,
    /// The load-spreading weights, as an alias table for weighted draws.
    weights: Alias,
    /// Whether a weight, or the set of positions, changed since `weights`
    /// was last built; [`CandidateTable::settle`] rebuilds it.
    reweigh: bool,
    /// The current sync generation, `0..UNSEEN`.
    generation: u8,
    /// What each advertiser advertised, per source: an address leaves a
    /// source only when no advertiser of that source advertises it. Boxed,
    /// and there only while some advertiser has servers in the table: most
    /// tables never see an advertisement.
    advertised: Option<Box<Advertised>>,
}

/// Per source and advertiser, the addresses it advertised.
type Advertised = BTreeMap<(Source, NodeId), Vec<TransportAddress>>;

/// A storage position as the orders hold it.
trait Position: Copy + fmt::Debug {
    /// The position.
    fn at(self) -> usize;
    /// Position `i`, which fits.
    fn of(i: usize) -> Self;
}

impl Position for u16 {
    #[inline]
    fn at(self) -> usize {
        usize::from(self)
    }
    #[inline]
    fn of(i: usize) -> Self {
        debug_assert!(i <= usize::from(Self::MAX));
        i as Self
    }
}

impl Position for u32 {
    #[inline]
    fn at(self) -> usize {
        self as usize
    }
    #[inline]
    fn of(i: usize) -> Self {
        debug_assert!(i <= Self::MAX as usize);
        i as Self
    }
}

/// The table's three orders of its storage positions, in one array of
/// three sections, each as long as the table: `[by priority | by
/// performance | by address]`. Positions are `u16` when the configured
/// capacity is at most 65,536 entries (the default is 512), else `u32`.
#[derive(Debug, Clone)]
enum Orders {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

/// The sections of [`Orders`].
const PRIORITY: usize = 0;
const PERFORMANCE: usize = 1;

/// Runs `$body` with `$v` bound to the orders' array, whatever its width.
macro_rules! with_orders {
    ($orders:expr, $v:ident => $body:expr) => {
        match $orders {
            Orders::Narrow($v) => $body,
            Orders::Wide($v) => $body,
        }
    };
}

fn priority_before(a: &TableEntry, b: &TableEntry) -> bool {
    a.by_priority(b) == Ordering::Less
}

fn performance_before(a: &TableEntry, b: &TableEntry) -> bool {
    a.by_performance(b) == Ordering::Less
}

fn address_before(a: &TableEntry, b: &TableEntry) -> bool {
    a.candidate.address < b.candidate.address
}

/// Where `e` goes in `section`, which is ordered by `before`: the number of
/// its positions whose entry comes before `e`. For an entry of the table,
/// its own position.
#[inline]
fn place<P: Position>(
    section: &[P],
    entries: &[TableEntry],
    e: &TableEntry,
    before: impl Fn(&TableEntry, &TableEntry) -> bool,
) -> usize {
    section.partition_point(|&j| before(&entries[j.at()], e))
}

/// Puts position `i`, the entry just pushed last in `entries`, in its place
/// in every order: one pass over the array, from its end.
fn order_insert<P: Position>(v: &mut Vec<P>, entries: &[TableEntry], i: usize) {
    let n = v.len() / 3;
    debug_assert_eq!(n, i);
    let e = &entries[i];
    let p = place(&v[..n], entries, e, priority_before);
    let q = place(&v[n..2 * n], entries, e, performance_before);
    let a = place(&v[2 * n..], entries, e, address_before);
    let x = P::of(i);
    v.resize(3 * n + 3, x);
    // Each section moves right by as many new positions as precede it;
    // moving from the end, nothing is overwritten before it has moved.
    v.copy_within(2 * n + a..3 * n, 2 * n + 3 + a);
    v[2 * n + 2 + a] = x;
    v.copy_within(2 * n..2 * n + a, 2 * n + 2);
    v.copy_within(n + q..2 * n, n + 2 + q);
    v[n + 1 + q] = x;
    v.copy_within(n..n + q, n + 1);
    v.copy_within(p..n, p + 1);
    v[p] = x;
}

/// Takes position `i` out of every order, from the front.
fn order_remove<P: Position>(v: &mut Vec<P>, entries: &[TableEntry], i: usize) {
    let n = v.len() / 3;
    let e = &entries[i];
    let p = place(&v[..n], entries, e, priority_before);
    let q = place(&v[n..2 * n], entries, e, performance_before);
    let a = place(&v[2 * n..], entries, e, address_before);
    debug_assert_eq!((v[p].at(), v[n + q].at(), v[2 * n + a].at()), (i, i, i));
    v.copy_within(p + 1..n, p);
    v.copy_within(n..n + q, n - 1);
    v.copy_within(n + q + 1..2 * n, n - 1 + q);
    v.copy_within(2 * n..2 * n + a, 2 * n - 2);
    v.copy_within(2 * n + a + 1..3 * n, 2 * n - 2 + a);
    v.truncate(3 * n - 3);
}

/// The entry at position `from` moves to position `to`, keys unchanged:
/// its place in each order stays, only the position it names changes.
/// O(log n).
fn order_rename<P: Position>(v: &mut [P], entries: &[TableEntry], from: usize, to: usize) {
    let n = v.len() / 3;
    let e = &entries[from];
    let p = place(&v[..n], entries, e, priority_before);
    let q = n + place(&v[n..2 * n], entries, e, performance_before);
    let a = 2 * n + place(&v[2 * n..], entries, e, address_before);
    for k in [p, q, a] {
        debug_assert_eq!(v[k].at(), from);
        v[k] = P::of(to);
    }
}

/// The entry at position `i` becomes `new`, same address: its place in the
/// priority and performance orders moves from where the old entry was to
/// where `new` goes, and only the positions between shift.
fn order_move<P: Position>(v: &mut [P], entries: &[TableEntry], i: usize, new: &TableEntry) {
    let n = v.len() / 3;
    let old = &entries[i];
    debug_assert_eq!(old.candidate.address, new.candidate.address);
    let (by_priority, rest) = v.split_at_mut(n);
    shift(by_priority, entries, old, new, priority_before);
    shift(&mut rest[..n], entries, old, new, performance_before);
}

/// Moves the position of `old` in `section` to where `new` goes.
fn shift<P: Position>(
    section: &mut [P],
    entries: &[TableEntry],
    old: &TableEntry,
    new: &TableEntry,
    before: impl Fn(&TableEntry, &TableEntry) -> bool,
) {
    let from = place(section, entries, old, &before);
    // Counts `old` itself when it comes before `new`.
    let to = place(section, entries, new, &before);
    if from < to {
        section[from..to].rotate_left(1);
    } else if to < from {
        section[to..=from].rotate_right(1);
    }
}

/// The position of the entry for `address`, by bisection of the address
/// order: O(log n). Written out rather than `partition_point`, which left
/// the comparison out of line and took twice as long.
#[inline]
fn order_find<P: Position>(
    v: &[P],
    entries: &[TableEntry],
    address: &TransportAddress,
) -> Option<usize> {
    let n = v.len() / 3;
    let by_address = &v[2 * n..];
    let below = |j: P| entries[j.at()].candidate.address < *address;
    let mut size = by_address.len();
    if size == 0 {
        return None;
    }
    let mut base = 0;
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        if below(by_address[mid]) {
            base = mid;
        }
        size -= half;
    }
    let at = base + usize::from(below(by_address[base]));
    let i = by_address.get(at)?.at();
    (entries[i].candidate.address == *address).then_some(i)
}

/// The entries of one order, as [`CandidateTable::by_priority`] and
/// [`CandidateTable::by_performance`] hand them out.
struct InOrder<'t> {
    entries: &'t [TableEntry],
    positions: Positions<'t>,
}

enum Positions<'t> {
    Narrow(core::slice::Iter<'t, u16>),
    Wide(core::slice::Iter<'t, u32>),
}

impl<'t> Iterator for InOrder<'t> {
    type Item = &'t TableEntry;

    #[inline]
    fn next(&mut self) -> Option<&'t TableEntry> {
        let i = match &mut self.positions {
            Positions::Narrow(it) => it.next()?.at(),
            Positions::Wide(it) => it.next()?.at(),
        };
        Some(&self.entries[i])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match &self.positions {
            Positions::Narrow(it) => it.len(),
            Positions::Wide(it) => it.len(),
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for InOrder<'_> {}

impl CandidateTable {
    /// An empty table (§2: it "may be zero" entries long).
    pub fn new(config: TableConfig) -> Self {
        let orders = if config.max_entries() <= u32::from(u16::MAX) + 1 {
            Orders::Narrow(Vec::new())
        } else {
            Orders::Wide(Vec::new())
        };
        Self {
            config,
            entries: Vec::new(),
            orders,
            weights: Alias::default(),
            reweigh: false,
            generation: 0,
            advertised: None,
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
        let i = self.find(address)?;
        Some(&self.entries[i])
    }

    /// The entry at storage position `index` (`0..len()`), in no particular
    /// order.
    #[inline]
    pub(crate) fn entry_at(&self, index: usize) -> Option<&TableEntry> {
        self.entries.get(index)
    }

    /// Entries from the highest priority down (ties by address).
    pub fn by_priority(&self) -> impl ExactSizeIterator<Item = &TableEntry> + '_ {
        self.in_order(PRIORITY)
    }

    /// Entries from the best performance hints down (ties by priority).
    pub fn by_performance(&self) -> impl ExactSizeIterator<Item = &TableEntry> + '_ {
        self.in_order(PERFORMANCE)
    }

    /// Offers the entries [`by_priority`](Self::by_priority) to `to`
    /// until it breaks: the selection policies' walk, one loop per
    /// position width, with `to`'s step inlined into it.
    #[inline]
    pub(crate) fn walk_by_priority<V: Visit>(&self, to: &mut V) {
        self.walk(PRIORITY, to);
    }

    /// Offers the entries [`by_performance`](Self::by_performance) to `to`
    /// until it breaks.
    #[inline]
    pub(crate) fn walk_by_performance<V: Visit>(&self, to: &mut V) {
        self.walk(PERFORMANCE, to);
    }

    #[inline(always)]
    fn walk<V: Visit>(&self, section: usize, to: &mut V) {
        let entries = &self.entries[..];
        let n = entries.len();
        with_orders!(&self.orders, v => {
            for &j in &v[section * n..(section + 1) * n] {
                if to.visit(&entries[j.at()]).is_break() {
                    return;
                }
            }
        });
    }

    fn in_order(&self, section: usize) -> InOrder<'_> {
        let n = self.entries.len();
        let range = section * n..(section + 1) * n;
        let positions = match &self.orders {
            Orders::Narrow(v) => Positions::Narrow(v[range].iter()),
            Orders::Wide(v) => Positions::Wide(v[range].iter()),
        };
        InOrder {
            entries: &self.entries,
            positions,
        }
    }

    /// Fills `out` with storage positions drawn independently in
    /// proportion to their entries' [`TableEntry::weight`] (nothing when
    /// the table is empty); read them with [`entry_at`](Self::entry_at).
    #[inline(always)]
    pub(crate) fn draw_by_weight<'o, R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        out: &'o mut [u32],
    ) -> &'o [u32] {
        self.weights.draw_into(rng, out)
    }

    /// Inserts `candidate` as learned from `source`, or refreshes and
    /// updates the entry with its address. A candidate with no service is
    /// not willing: its `source` is dropped from any existing entry and
    /// [`TableError::NotWilling`] returned. A change of weight or of the
    /// entries rebuilds the load-spreading draws, O(n): for many
    /// candidates, [`sync_source`](Self::sync_source) does it once.
    pub fn upsert(
        &mut self,
        now: Instant,
        source: Source,
        candidate: Candidate,
    ) -> Result<Upserted, TableError> {
        let result = self
            .upsert_in_batch(now, source, candidate, usize::MAX, || (0, None))
            .map(|(up, _)| up);
        self.settle();
        result
    }

    /// [`upsert`](Self::upsert) as part of a batch; returns where the entry
    /// is. `near`: where the entry may be, tried before the bisection: a
    /// batch passes the position after its previous candidate's, so a
    /// source synced again in the order it was first synced in (a host's
    /// routing state) finds each entry in one comparison. `more` gives
    /// bounds on how many candidates follow this one (an iterator's size
    /// hint), asked only if the table has to grow, so it makes room for all
    /// of them at once.
    fn upsert_in_batch(
        &mut self,
        now: Instant,
        source: Source,
        candidate: Candidate,
        near: usize,
        more: impl FnOnce() -> (usize, Option<usize>),
    ) -> Result<(Upserted, usize), TableError> {
        let address = candidate.address;
        if candidate.services.is_empty() {
            let _ = self.remove_source(source, &address);
            return Err(TableError::NotWilling { address });
        }
        if let Err(class) = self.config.address_policy().check(&address) {
            return Err(TableError::Refused { address, class });
        }
        let found = match self.entries.get(near) {
            Some(e) if e.candidate.address == address => Some(near),
            _ => self.find(&address),
        };
        if let Some(i) = found {
            let e = &mut self.entries[i];
            let sources = e.sources | source.bit();
            let priority = effective_priority(&self.config, &candidate, sources);
            if priority == e.priority && candidate.hints == e.candidate.hints {
                // Neither order nor weight moves: a refresh costs the
                // address lookup above and nothing more.
                e.candidate = candidate;
                e.sources = sources;
                e.refreshed = now;
                e.seen = self.generation;
            } else {
                let new = TableEntry {
                    candidate,
                    sources,
                    priority,
                    refreshed: now,
                    seen: self.generation,
                };
                self.replace(i, new);
            }
            return Ok((Upserted::Updated, i));
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
        self.insert(entry, more);
        Ok((Upserted::Added, self.entries.len() - 1))
    }

    /// Drops `source` from the entry for `address`; the entry goes when no
    /// source is left. Returns whether an entry was found.
    pub fn remove(&mut self, source: Source, address: &TransportAddress) -> bool {
        let found = self.remove_source(source, address);
        self.settle();
        found
    }

    /// [`remove`](Self::remove) within a call that settles the table.
    fn remove_source(&mut self, source: Source, address: &TransportAddress) -> bool {
        let Some(i) = self.find(address) else {
            return false;
        };
        self.drop_source(i, source);
        true
    }

    /// Removes the entry for `address` whatever its sources.
    pub fn remove_all(&mut self, address: &TransportAddress) -> Option<TableEntry> {
        let i = self.find(address)?;
        let removed = self.take(i);
        self.settle();
        Some(removed)
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
    ///
    /// A table that grows makes room for as many entries as `current`'s
    /// size hint says are left, and gives back what it did not use when the
    /// sync ends: a table synced from a list holds no spare room.
    pub fn sync_source(
        &mut self,
        now: Instant,
        source: Source,
        current: impl IntoIterator<Item = Candidate>,
    ) -> SyncReport {
        self.next_generation();
        let mut report = SyncReport::default();
        let mut current = current.into_iter();
        let mut near = 0;
        while let Some(candidate) = current.next() {
            match self.upsert_in_batch(now, source, candidate, near, || current.size_hint()) {
                Ok((up, at)) => {
                    near = at + 1;
                    match up {
                        Upserted::Added => report.added += 1,
                        Upserted::Updated => report.updated += 1,
                    }
                }
                Err(TableError::NotWilling { .. }) => report.not_willing += 1,
                Err(e) => refuse(&mut report, source, e),
            }
        }
        let generation = self.generation;
        let mut i = self.entries.len();
        while i > 0 {
            i -= 1;
            let e = &self.entries[i];
            if e.has_source(source) && e.seen != generation && self.drop_source(i, source) {
                report.removed += 1;
            }
        }
        self.fit();
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
        let old = self.forget_advertiser(source, &advertiser);
        let servers = advert.servers();
        let mut held = Vec::with_capacity(servers.len());
        let trusted = self.config.trusts_advertisements();
        let mut near = 0;
        for (k, server) in servers.iter().enumerate() {
            let mut candidate = server.with_node_id(advertiser);
            if !trusted {
                // The advertiser's word on its own priority and capacity is
                // a claim; the source's default priority stands instead.
                candidate.priority = None;
                candidate.hints = PerformanceHints::default();
            }
            let left = servers.len() - k - 1;
            match self.upsert_in_batch(now, source, candidate, near, || (left, Some(left))) {
                Ok((up, at)) => {
                    near = at + 1;
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
            self.advertised
                .get_or_insert_with(Box::default)
                .insert((source, advertiser), held);
        }
        report.removed = self.withdraw(source, &gone);
        self.fit();
        report
    }

    /// The advertiser left `source` (its routing entry, neighbor slot or
    /// client association is gone): the servers it advertised lose `source`
    /// unless another advertiser of `source` still advertises them, and go
    /// when no source is left (§3.3.1: only peers in the routing state
    /// count). Returns how many entries went.
    pub fn advertiser_left(&mut self, source: Source, advertiser: &NodeId) -> u32 {
        let old = self.forget_advertiser(source, advertiser);
        let removed = self.withdraw(source, &old);
        self.fit();
        removed
    }

    /// Takes what `advertiser` advertised for `source` out of the record;
    /// the record goes when it is empty.
    fn forget_advertiser(&mut self, source: Source, advertiser: &NodeId) -> Vec<TransportAddress> {
        let Some(map) = self.advertised.as_mut() else {
            return Vec::new();
        };
        let old = map.remove(&(source, *advertiser)).unwrap_or_default();
        if map.is_empty() {
            self.advertised = None;
        }
        old
    }

    /// Drops `source` from the entries at `addresses` that no advertiser of
    /// `source` still advertises; returns how many entries went.
    fn withdraw(&mut self, source: Source, addresses: &[TransportAddress]) -> u32 {
        let mut removed = 0;
        for address in addresses {
            let still = self.advertised.as_deref().is_some_and(|map| {
                map.range((source, NodeId::MIN)..)
                    .take_while(|((s, _), _)| *s == source)
                    .any(|(_, list)| list.contains(address))
            });
            if still {
                continue;
            }
            let Some(i) = self.find(address) else {
                continue;
            };
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
        self.fit();
        before - self.entries.len()
    }

    // ---- storage and index maintenance ----

    /// The position of the entry for `address`: O(log n).
    #[inline]
    fn find(&self, address: &TransportAddress) -> Option<usize> {
        let entries = &self.entries[..];
        with_orders!(&self.orders, v => order_find(v, entries, address))
    }

    /// Starts a sync: the next generation. `seen` holds a generation below
    /// [`UNSEEN`] or `UNSEEN`; when the count wraps, every entry becomes
    /// unseen, so no entry refreshed 255 syncs ago passes for one refreshed
    /// in this one.
    fn next_generation(&mut self) {
        self.generation += 1;
        if self.generation == UNSEEN {
            self.generation = 0;
            for e in &mut self.entries {
                e.seen = UNSEEN;
            }
        }
    }

    fn effective_priority(&self, candidate: &Candidate, sources: u8) -> u16 {
        effective_priority(&self.config, candidate, sources)
    }

    /// Drops `source` from entry `i`; removes it if no source is left.
    /// Returns whether the entry was removed.
    fn drop_source(&mut self, i: usize, source: Source) -> bool {
        let old = self.entries[i];
        let mut e = old;
        e.sources &= !source.bit();
        if e.sources == 0 {
            let _ = self.take(i);
            return true;
        }
        e.priority = self.effective_priority(&e.candidate, e.sources);
        if e.priority == old.priority {
            self.entries[i] = e;
        } else {
            self.replace(i, e);
        }
        false
    }

    /// Appends `entry` and puts it in every order; the draws are rebuilt
    /// when the call [`settle`](Self::settle)s.
    fn insert(&mut self, entry: TableEntry, more: impl FnOnce() -> (usize, Option<usize>)) {
        let i = self.entries.len();
        if i == self.entries.capacity() {
            self.grow(more());
        }
        self.entries.push(entry);
        self.reweigh = true;
        let entries = &self.entries[..];
        with_orders!(&mut self.orders, v => order_insert(v, entries, i));
    }

    /// Room for one more entry and the `(at least, at most)` more a batch
    /// says are coming: twice the table (amortised growth), but at least
    /// the least and at most the most said, and within the configured
    /// capacity. The orders and the alias table get room for as many.
    fn grow(&mut self, (least, most): (usize, Option<usize>)) {
        let len = self.entries.len();
        let room = (self.config.max_entries() as usize)
            .saturating_sub(len)
            .max(1);
        let doubling = len
            .max(4)
            .min(most.map_or(usize::MAX, |m| m.saturating_add(1)));
        let want = doubling.max(least.saturating_add(1));
        self.entries.reserve_exact(want.min(room));
        let cap = self.entries.capacity();
        with_orders!(&mut self.orders, v => v.reserve_exact(3 * cap - v.len()));
        self.weights.reserve_total(cap);
    }

    /// Ends a batch: gives back the room it left unused and
    /// [`settle`](Self::settle)s.
    fn fit(&mut self) {
        self.entries.shrink_to_fit();
        with_orders!(&mut self.orders, v => v.shrink_to_fit());
        self.settle();
        self.weights.shrink_to_fit();
    }

    /// Ends every call that changes the table: rebuilds the alias table if
    /// a weight or a position changed, once however many did. The one
    /// place the draws are brought up to date, so every public call leaves
    /// them matching the entries.
    fn settle(&mut self) {
        if self.reweigh {
            let entries = &self.entries;
            self.weights.rebuild(entries.len(), |i| entries[i].weight());
            self.reweigh = false;
        }
    }

    /// Replaces entry `i` by `new`, same address, keeping every order
    /// right (and the draws, once the call settles).
    fn replace(&mut self, i: usize, new: TableEntry) {
        let old = self.entries[i];
        let entries = &self.entries[..];
        with_orders!(&mut self.orders, v => order_move(v, entries, i, &new));
        self.entries[i] = new;
        if old.weight() != new.weight() {
            self.reweigh = true;
        }
    }

    /// Removes entry `i` (the last entry moves into its place).
    fn take(&mut self, i: usize) -> TableEntry {
        let last = self.entries.len() - 1;
        let removed = self.entries[i];
        let entries = &self.entries[..];
        with_orders!(&mut self.orders, v => {
            order_remove(v, entries, i);
            if i != last {
                order_rename(v, entries, last, i);
            }
        });
        if i != last {
            self.entries[i] = self.entries[last];
        }
        self.entries.pop();
        self.reweigh = true;
        removed
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let n = self.entries.len();
        with_orders!(&self.orders, v => {
            assert_eq!(v.len(), 3 * n);
            for section in v.chunks(n.max(1)) {
                let mut seen = vec![false; n];
                for j in section {
                    assert!(!std::mem::replace(&mut seen[j.at()], true), "{j:?} twice");
                }
            }
            if n > 0 {
                let by_address = &v[2 * n..];
                assert!(by_address.windows(2).all(|w| {
                    let (a, b) = (&self.entries[w[0].at()], &self.entries[w[1].at()]);
                    a.candidate.address < b.candidate.address
                }));
            }
        });
        for e in &self.entries {
            assert_eq!(self.get(&e.candidate.address), Some(e));
            assert_ne!(e.sources, 0);
            assert!(e.seen == UNSEEN || e.seen <= self.generation);
        }
        assert!(self.generation < UNSEEN);
        assert_eq!(self.by_priority().len(), n);
        assert_eq!(self.by_performance().len(), n);
        assert!(self
            .by_priority()
            .zip(self.by_priority().skip(1))
            .all(|(a, b)| a.by_priority(b) == Ordering::Less));
        assert!(self
            .by_performance()
            .zip(self.by_performance().skip(1))
            .all(|(a, b)| a.by_performance(b) == Ordering::Less));
        assert!(!self.reweigh, "a public call left the draws stale");
        self.weights
            .check(self.entries.iter().map(TableEntry::weight));
        if let Some(map) = &self.advertised {
            assert!(!map.is_empty());
        }
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

    /// A table with positions of either width.
    fn table_of(wide: bool) -> CandidateTable {
        let max = if wide { 70_000 } else { 512 };
        let t = CandidateTable::new(
            TableConfig::default()
                .with_max_entries(max)
                .unwrap()
                .with_address_policy(AddressPolicy::permissive()),
        );
        assert_eq!(matches!(t.orders, Orders::Wide(_)), wide);
        t
    }

    /// Random upserts, removals, syncs and expiries against a plain model
    /// (address → sources, candidate, refresh time): the table agrees with
    /// the model and keeps every invariant after each step, with narrow
    /// and wide positions, through hundreds of sync generations.
    #[test]
    fn random_operations_match_a_model() {
        use rand::{RngExt, SeedableRng};
        use std::collections::BTreeMap;

        const SOURCES: [Source; 3] = [Source::RoutingTable, Source::NeighborTable, Source::Client];
        for (seed, wide) in [(1u64, false), (2, true), (3, false)] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut t = table_of(wide);
            let mut model: BTreeMap<TransportAddress, (u8, Candidate, Instant)> = BTreeMap::new();
            let t0 = Instant::now();
            let config = *t.config();
            let lifetime = config.entry_lifetime();
            let random_candidate = |rng: &mut rand_chacha::ChaCha8Rng| {
                let k: u32 = rng.random_range(0..40);
                let ip = core::net::Ipv4Addr::from(0x2d00_0000 + k * 977);
                let mut c =
                    Candidate::peer(TransportAddress::udp((ip, 3478).into()), Services::BOTH);
                if rng.random_range(0..10u8) == 0 {
                    c.services = Services::NONE;
                }
                if rng.random_range(0..2u8) == 0 {
                    c.priority = Some(rng.random_range(0..4u16) * 100);
                }
                c.hints.capacity = rng.random_range(0..3u16) * 50;
                c.hints.load_percent = rng.random_range(0..3u8) * 40;
                c
            };
            for step in 0..3_000u32 {
                let now = t0 + Duration::from_secs(u64::from(step));
                let source = SOURCES[rng.random_range(0..SOURCES.len())];
                match rng.random_range(0..10u8) {
                    0..=3 => {
                        let c = random_candidate(&mut rng);
                        let r = t.upsert(now, source, c);
                        if c.services.is_empty() {
                            assert!(matches!(r, Err(TableError::NotWilling { .. })));
                            if let Some(m) = model.get_mut(&c.address) {
                                m.0 &= !source.bit();
                                if m.0 == 0 {
                                    model.remove(&c.address);
                                }
                            }
                        } else {
                            let m = model.entry(c.address).or_insert((0, c, now));
                            assert_eq!(
                                r,
                                Ok(if m.0 == 0 {
                                    Upserted::Added
                                } else {
                                    Upserted::Updated
                                })
                            );
                            *m = (m.0 | source.bit(), c, now);
                        }
                    }
                    4 => {
                        let c = random_candidate(&mut rng);
                        let found = t.remove(source, &c.address);
                        assert_eq!(found, model.contains_key(&c.address));
                        if let Some(m) = model.get_mut(&c.address) {
                            m.0 &= !source.bit();
                            if m.0 == 0 {
                                model.remove(&c.address);
                            }
                        }
                    }
                    5 => {
                        let c = random_candidate(&mut rng);
                        let gone = t.remove_all(&c.address);
                        assert_eq!(
                            gone.map(|e| e.candidate),
                            model.remove(&c.address).map(|m| m.1)
                        );
                    }
                    6..=8 => {
                        let list: Vec<Candidate> = (0..rng.random_range(0..12u8))
                            .map(|_| random_candidate(&mut rng))
                            .collect();
                        let filtered = rng.random_range(0..2u8) == 0;
                        let report = if filtered {
                            t.sync_source(now, source, list.iter().copied().filter(|_| true))
                        } else {
                            t.sync_source(now, source, list.iter().copied())
                        };
                        let mut current = BTreeMap::new();
                        for c in &list {
                            if c.services.is_empty() {
                                current.remove(&c.address);
                            } else {
                                current.insert(c.address, *c);
                            }
                        }
                        for c in &list {
                            if c.services.is_empty() {
                                if let Some(m) = model.get_mut(&c.address) {
                                    m.0 &= !source.bit();
                                    if m.0 == 0 {
                                        model.remove(&c.address);
                                    }
                                }
                            } else {
                                let m = model.entry(c.address).or_insert((0, *c, now));
                                *m = (m.0 | source.bit(), *c, now);
                            }
                        }
                        let mut removed = 0;
                        model.retain(|a, m| {
                            let listed = list
                                .iter()
                                .any(|c| c.address == *a && !c.services.is_empty());
                            if m.0 & source.bit() != 0 && !listed && !current.contains_key(a) {
                                m.0 &= !source.bit();
                                if m.0 == 0 {
                                    removed += 1;
                                    return false;
                                }
                            }
                            true
                        });
                        assert_eq!(report.removed, removed);
                        let orders = with_orders!(&t.orders, v => v.capacity());
                        assert_eq!(
                            (t.entries.capacity(), orders, t.weights.capacity()),
                            (t.len(), 3 * t.len(), t.len()),
                            "a sync leaves no spare room"
                        );
                    }
                    _ => {
                        let later = now + lifetime / 2;
                        let cutoff = expiry_cutoff(later, lifetime);
                        let before = model.len();
                        model.retain(|_, m| cutoff.is_none_or(|c| m.2 > c));
                        assert_eq!(t.expire(later), before - model.len());
                    }
                }
                t.check_invariants();
                assert_eq!(t.len(), model.len(), "step {step}");
                for (a, (sources, c, refreshed)) in &model {
                    let e = t.get(a).expect("in the table");
                    assert_eq!(
                        (e.sources, e.candidate, e.refreshed),
                        (*sources, *c, *refreshed)
                    );
                    assert_eq!(e.priority, t.effective_priority(c, *sources));
                }
            }
        }
    }

    /// An entry refreshed 255 syncs ago does not pass for one refreshed in
    /// this sync when the generation count wraps.
    #[test]
    fn generation_wrap_does_not_resurrect_entries() {
        let mut t = table();
        let now = Instant::now();
        let _ = t.sync_source(now, Source::RoutingTable, [cand(1, None), cand(2, None)]);
        for k in 0..600u32 {
            let _ = t.sync_source(now, Source::NeighborTable, [cand(3, None)]);
            let r = t.sync_source(now, Source::RoutingTable, [cand(1, None), cand(2, None)]);
            assert_eq!((r.added, r.updated, r.removed), (0, 2, 0), "sync {k}");
            // Only routing syncs of other generations in between.
            if k % 7 == 0 {
                let r = t.sync_source(now, Source::RoutingTable, [cand(1, None)]);
                assert_eq!(r.removed, 1, "sync {k}");
                let r = t.sync_source(now, Source::RoutingTable, [cand(1, None), cand(2, None)]);
                assert_eq!(r.added, 1, "sync {k}");
            }
            t.check_invariants();
        }
    }

    /// What a table synced from a list holds: its entries and no spare
    /// room, in three allocations of 88 + 6 + 8 bytes an entry.
    #[test]
    fn a_synced_list_is_stored_exactly() {
        assert!(size_of::<TableEntry>() <= 88);
        let mut t = table();
        let now = Instant::now();
        let _ = t.sync_source(now, Source::RoutingTable, (1..=8).map(|i| cand(i, None)));
        assert_eq!(t.entries.capacity(), 8);
        let Orders::Narrow(v) = &t.orders else {
            panic!("narrow positions")
        };
        assert_eq!((v.capacity(), t.weights.capacity()), (24, 8));
        // One more, singly: amortised growth, given back by the next batch.
        let _ = t.upsert(now, Source::Client, cand(9, None)).unwrap();
        assert_eq!(t.entries.capacity(), 16);
        assert_eq!(t.weights.capacity(), 16);
        assert_eq!(t.expire(now), 0);
        assert_eq!(t.entries.capacity(), 9);
        assert_eq!(t.weights.capacity(), 9);
        t.check_invariants();
    }
}
