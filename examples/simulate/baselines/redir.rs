//! ReDiR (RFC 7374), branching factor b = 10, starting level Lstart = 2.
//!
//! The tree. Tree node (l, j), for j in 0..b^l, covers the ids in
//! [j·2^64/b^l, (j+1)·2^64/b^l) (64-bit ids here, as the overlays'; RELOAD's
//! are 128-bit), split into b intervals, one per child. I(l, k) is the
//! interval at level l that holds key k, the range of tree node (l+1, ·).
//! Tree node (l, j) is a dictionary stored at Resource-ID H("turn-server",
//! l, j), at that id's root; entries are the providers' Node-IDs.
//!
//! Registration (RFC 7374 §4.3), by a provider with Node-ID n:
//! upward walk: at l = Lstart, Fetch tree node (l, ·) that holds n and
//! Store n in it; while n is then the lowest or highest id stored there and
//! l > 0, go up one level and do the same. Downward walk: from Lstart,
//! while n is not the only provider in I(l, n), go down one level, Fetch
//! and Store there. Each level visited is one Fetch and one Store
//! (`setup_messages` sums them over the providers). Registrations are soft
//! state refreshed by every provider, so the tree modelled is the steady
//! state, where every Fetch sees every other provider's registration: a
//! tree node at Lstart holds every provider of its range, one deeper every
//! provider of its range when that holds at least two (else none), and one
//! at l < Lstart the lowest and highest provider of each of its intervals
//! (and some more).
//!
//! Lookup (RFC 7374 §4.4) of the provider closest to key k (the successor
//! of k, wrapping round the ring), starting at l = Lstart, one Fetch of
//! tree node (l, ·) holding k a step:
//! 1. no successor of k in the whole tree node: go up a level (at level 0
//!    the successor wraps to the lowest id the root tree node holds; the
//!    RFC says the lookup fails there, which only happens past the last
//!    provider on the ring);
//! 2. k between two entries of I(l, k): go down a level;
//! 3. otherwise the closest successor in the tree node is the answer.
//!
//! A lookup only goes up or only goes down from Lstart (a step up means no
//! provider above k in that range, so the level above cannot sandwich k; a
//! step down means the level below holds a successor), so it takes at most
//! max(Lstart + 1, depth - Lstart + 1) Fetches, depth being the deepest
//! level any registration reached ([`Redir::fetch_bound`]).
//!
//! The node keys its first lookup with its own Node-ID (the RFC finds the
//! provider closest to a key; requesters' ids are spread like random keys)
//! and takes, from every tree node it fetched, the N entries closest after
//! k (the successor first). Should those be fewer than N, its further
//! lookups use random keys.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use stun_turn_discovery::rand::Rng;

use super::{resource_id, Directory, Found, Requests, NAMESPACE};
use crate::overlay::{Overlay, PeerId};

/// Branching factor (RFC 7374's default).
pub(crate) const BRANCHING: u64 = 10;

/// Starting level (RFC 7374's default).
pub(crate) const LSTART: u8 = 2;

/// Deepest level: b^19 ≤ 2^64 < b^20, so an interval of level 19 holds at
/// most one id.
const MAX_LEVEL: u8 = 19;

/// An entry: a provider's Node-ID, and the provider.
type Entry = (u64, PeerId);

/// The index j of the tree node at `level` that holds `id`:
/// ⌊id · b^level / 2^64⌋.
fn node_of(id: u64, level: u8) -> u64 {
    debug_assert!(level <= MAX_LEVEL);
    ((u128::from(id) * u128::from(BRANCHING).pow(u32::from(level))) >> 64) as u64
}

/// The entries of sorted `entries` whose tree node at `level` is `j`.
fn range_of(entries: &[Entry], level: u8, j: u64) -> (usize, usize) {
    let lo = entries.partition_point(|e| node_of(e.0, level) < j);
    let hi = lo + entries[lo..].partition_point(|e| node_of(e.0, level) <= j);
    (lo, hi)
}

/// A ReDiR tree in its steady state.
pub(crate) struct Redir {
    /// Tree nodes by (level, j), each's entries sorted by id.
    tree: BTreeMap<(u8, u64), Vec<Entry>>,
    /// Fetches and Stores the registrations took.
    setup: u64,
    /// Deepest level stored.
    depth: u8,
}

impl Redir {
    /// Every one of `providers` registered by the RFC's walks.
    pub(crate) fn new(overlay: &dyn Overlay, providers: &[PeerId]) -> Self {
        let mut all: Vec<Entry> = providers.iter().map(|&p| (overlay.id(p), p)).collect();
        all.sort_unstable();
        let mut tree: BTreeMap<(u8, u64), Vec<Entry>> = BTreeMap::new();
        let (mut setup, mut depth) = (0u64, 0u8);
        // In id order, so every tree node's entries come sorted.
        for (i, &entry) in all.iter().enumerate() {
            let id = entry.0;
            let mut store = |level: u8| {
                tree.entry((level, node_of(id, level)))
                    .or_default()
                    .push(entry);
                setup += 2;
                depth = depth.max(level);
            };
            // Upward walk: on while n is the lowest or highest of the tree
            // node (the steady state holds each range's extremes).
            let mut level = LSTART;
            loop {
                store(level);
                if level == 0 {
                    break;
                }
                let (lo, hi) = range_of(&all, level, node_of(id, level));
                if i != lo && i + 1 != hi {
                    break;
                }
                level -= 1;
            }
            // Downward walk: on while n is not alone in I(level, n).
            let mut level = LSTART;
            while level < MAX_LEVEL {
                let (lo, hi) = range_of(&all, level + 1, node_of(id, level + 1));
                if hi - lo <= 1 {
                    break;
                }
                level += 1;
                store(level);
            }
        }
        Self { tree, setup, depth }
    }

    /// Most Fetches a lookup takes in this tree.
    pub(crate) fn fetch_bound(&self) -> u32 {
        u32::from((LSTART + 1).max(self.depth.saturating_sub(LSTART) + 1))
    }

    fn node(&self, level: u8, j: u64) -> &[Entry] {
        self.tree.get(&(level, j)).map_or(&[], Vec::as_slice)
    }

    /// RFC 7374's lookup of the provider closest to `k`, by `sender`: its
    /// Fetches go through `net`, and the tree nodes they fetched are left
    /// in `fetched`. Returns the answer, if any provider is registered.
    fn lookup<'a>(
        &'a self,
        sender: PeerId,
        k: u64,
        net: &mut Requests<'_>,
        fetched: &mut Vec<&'a [Entry]>,
    ) -> Option<Entry> {
        fetched.clear();
        let mut level = LSTART;
        loop {
            let j = node_of(k, level);
            net.send(sender, resource_id(&[NAMESPACE, u64::from(level), j]));
            let entries = self.node(level, j);
            fetched.push(entries);
            let successor = entries.partition_point(|e| e.0 < k);
            // 1. No successor of k in the whole tree node: up.
            if successor == entries.len() {
                if level == 0 {
                    return entries.first().copied();
                }
                level -= 1;
                continue;
            }
            // 2. k between two entries of I(level, k): down.
            if level < MAX_LEVEL {
                let (lo, hi) = range_of(entries, level + 1, node_of(k, level + 1));
                if lo < successor && successor < hi {
                    level += 1;
                    continue;
                }
            }
            // 3. The closest successor.
            return Some(entries[successor]);
        }
    }
}

impl Directory for Redir {
    fn discover(
        &self,
        sender: PeerId,
        attempt: u32,
        net: &mut Requests<'_>,
        found: &mut Found,
        rng: &mut ChaCha8Rng,
    ) -> u32 {
        let k = if attempt == 0 {
            net.overlay().id(sender)
        } else {
            rng.next_u64()
        };
        let mut fetched = Vec::new();
        let answer = self.lookup(sender, k, net, &mut fetched);
        debug_assert!(fetched.len() as u32 <= self.fetch_bound());
        if answer.is_none() {
            return fetched.len() as u32;
        }
        // From each tree node fetched, its N entries closest after k; then
        // the N closest of those, nearest first.
        let wanted = found.wanted;
        let mut closest: Vec<(u64, PeerId)> = Vec::new();
        for entries in &fetched {
            let start = entries.partition_point(|e| e.0 < k);
            closest.extend(
                entries[start..]
                    .iter()
                    .chain(&entries[..start])
                    .take(wanted)
                    .map(|&(id, p)| (id.wrapping_sub(k), p)),
            );
        }
        closest.sort_unstable();
        closest.iter().for_each(|&(_, p)| found.add(p));
        fetched.len() as u32
    }

    fn setup_messages(&self) -> u64 {
        self.setup
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{run_one, scenario};
    use super::*;
    use crate::network::{mix, Roles};
    use crate::scenario::Mechanism;
    use crate::test_ring::Ring;

    /// Every lookup finds the provider closest after its key (checked
    /// against a plain scan), within the bound of Fetches the RFC's
    /// procedure gives, and with a small number of Fetches on average.
    #[test]
    fn lookups_find_the_successor_within_the_bound() {
        let nodes = 5000;
        let ring = Ring::new(nodes, 51);
        for f in [0.005, 0.02, 0.1, 0.3] {
            let roles = Roles::new(5, f, 0.0, 0.0);
            let providers: Vec<PeerId> = (0..nodes as PeerId)
                .filter(|&p| roles.is_willing(p))
                .collect();
            let redir = Redir::new(&ring, &providers);
            let mut ids: Vec<u64> = providers.iter().map(|&p| ring.id(p)).collect();
            ids.sort_unstable();
            let mut net = Requests::new(&ring);
            let mut fetched = Vec::new();
            let (mut total, mut most) = (0usize, 0usize);
            let lookups = 3000;
            for i in 0..lookups {
                let k = mix(i ^ 0xabcd);
                let answer = redir.lookup(0, k, &mut net, &mut fetched).unwrap();
                let at = ids.partition_point(|&id| id < k);
                assert_eq!(answer.0, ids[at % ids.len()], "f = {f}, k = {k:#x}");
                total += fetched.len();
                most = most.max(fetched.len());
            }
            let mean = total as f64 / lookups as f64;
            eprintln!(
                "f = {f}: {} providers, depth {}, Fetches mean {mean:.2}, most {most}, bound {}, \
                 setup {} messages",
                providers.len(),
                redir.depth,
                redir.fetch_bound(),
                redir.setup_messages()
            );
            assert!(most <= redir.fetch_bound() as usize, "f = {f}");
            assert!(mean <= 4.0, "f = {f}: {mean}");
            assert_eq!(net.messages, total as u64 - net.load[0] as u64);
        }
    }

    /// Through the harness: every first lookup brings providers, a few
    /// Fetches each, every one a routed request. A tree node at Lstart
    /// holds about W/100 of the W providers, so with W near 80 (f = 2 %
    /// of 4000) a node needs a few lookups for N, with W near 1200 (30 %)
    /// mostly one.
    #[test]
    fn lookups_bring_providers_and_fill_n() {
        let ring = Ring::new(4000, 52);
        for f in [0.02, 0.3] {
            let m = run_one(&ring, &scenario(Mechanism::Redir, 4000, 400, f));
            eprintln!("f = {f}: {m:?}");
            assert_eq!(m.empty_share, 0.0, "{m:?}");
            assert_eq!(m.fill_capped_share, 0.0, "{m:?}");
            assert!(m.tries_mean >= 1.0 && m.tries_mean <= 3.0, "{m:?}");
            assert!(m.extra_messages_mean <= m.tries_mean + 1e-9, "{m:?}");
            assert!(m.extra_messages_mean > 0.99 * m.tries_mean, "{m:?}");
            assert!(m.messages_to_fill_mean < 8.0, "{m:?}");
            let filled = if f > 0.1 { 0.6 } else { 0.05 };
            assert!(m.filled_share > filled, "{m:?}");
        }
    }

    #[test]
    fn tree_nodes_hold_what_the_walks_store() {
        let ring = Ring::new(3000, 53);
        let providers: Vec<PeerId> = (0..3000).step_by(7).collect();
        let redir = Redir::new(&ring, &providers);
        let mut all: Vec<Entry> = providers.iter().map(|&p| (ring.id(p), p)).collect();
        all.sort_unstable();
        for (&(level, j), entries) in &redir.tree {
            assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
            let (lo, hi) = range_of(&all, level, j);
            if level >= LSTART {
                // Every provider of the range (at least two below Lstart).
                assert_eq!(entries.as_slice(), &all[lo..hi], "({level}, {j})");
                assert!(level == LSTART || hi - lo >= 2);
            } else {
                // At least the range's extremes.
                assert!(entries.contains(&all[lo]) && entries.contains(&all[hi - 1]));
            }
        }
        // Every provider at Lstart, and the lowest and highest at the root.
        let at_lstart: usize = redir
            .tree
            .iter()
            .filter(|(&(l, _), _)| l == LSTART)
            .map(|(_, e)| e.len())
            .sum();
        assert_eq!(at_lstart, providers.len());
        let root = redir.node(0, 0);
        assert_eq!(root.first(), all.first());
        assert_eq!(root.last(), all.last());
    }
}
