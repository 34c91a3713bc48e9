//! Pastry (Rowstron and Druschel 2001) with b = 4: 64-bit ids read as 16 hex
//! digits, a routing table of up to 16 rows of 15 entries, and a leaf set of
//! the 8 numerically closest ids on each side.
//!
//! Row `r` of a peer's table holds, for each digit `d` other than the peer's
//! own digit `r`, one peer whose id shares the peer's first `r` digits and
//! has `d` at position `r`, when one exists. Real Pastry fills a slot with the
//! candidate closest in the network (proximity neighbour selection); network
//! position is unrelated to ids, so here the slot holds a candidate picked
//! uniformly by a hash of (seed, owner, slot). Neighbouring peers thus get
//! different tables, as they would in a deployment.
//!
//! Routing (the paper's Fig. 2): a key within the leaf set's range goes to
//! its root, the live peer numerically closest to it (ties to the clockwise
//! one); otherwise to the table entry sharing one more digit with the key;
//! when that slot is empty (no peer has that prefix), to the peer of the
//! leaf set or of the same table row numerically closest to the key among
//! those sharing as many digits with it. Each hop lengthens the shared
//! prefix or keeps it and gets numerically closer, so routes cannot loop.
//! No neighbourhood set M: it only matters for proximity.

use super::ring::{clockwise, high_bits, pick, ring_distance, salt, slot_hash, Ring};
use super::{Overlay, PeerId, StateKind};

/// Bits a digit (b).
const DIGIT_BITS: u32 = 4;
/// Digits an id.
const DIGITS: u32 = 64 / DIGIT_BITS;
/// Values a digit takes.
const RADIX: u64 = 1 << DIGIT_BITS;
/// Salt constant of Pastry's picks ("pastry").
const SALT: u64 = 0x7061_7374_7279;

/// A Pastry overlay with b = 4.
#[derive(Debug, Clone)]
pub(crate) struct Pastry {
    ring: Ring,
    salt: u64,
    /// Leaf-set entries on each side (8: a leaf set of 16).
    leaf_half: usize,
}

impl Pastry {
    /// `nodes` peers with ids drawn from `seed` and a leaf set of 16.
    pub(crate) fn new(nodes: usize, seed: u64) -> Self {
        Self::with_leaf_set(nodes, seed, 16)
    }

    /// Like [`Pastry::new`] with a leaf set of `leaf_set` peers (even,
    /// `leaf_set / 2` on each side; at least 2).
    pub(crate) fn with_leaf_set(nodes: usize, seed: u64, leaf_set: usize) -> Self {
        assert!(
            leaf_set >= 2 && leaf_set % 2 == 0,
            "the leaf set is an even number, at least 2"
        );
        Self {
            ring: Ring::new(nodes, seed),
            salt: salt(seed, SALT),
            leaf_half: leaf_set / 2,
        }
    }

    /// The sorted position of the root of `key`: the id numerically closest
    /// to it on the ring, the clockwise one on a tie.
    fn root_index(&self, key: u64) -> usize {
        let succ = self.ring.successor(key);
        let pred = self.ring.before(succ, 1);
        let (s, p) = (self.ring.id_at(succ), self.ring.id_at(pred));
        if clockwise(p, key) < clockwise(key, s) {
            pred
        } else {
            succ
        }
    }

    /// Whether the leaf set holds every other peer.
    fn leaf_set_is_everyone(&self) -> bool {
        self.ring.len() - 1 <= 2 * self.leaf_half
    }

    /// Whether `key` lies within the leaf set of the peer at `i`: on the arc
    /// from its farthest counter-clockwise leaf to its farthest clockwise one.
    fn in_leaf_range(&self, i: usize, key: u64) -> bool {
        if self.leaf_set_is_everyone() {
            return true;
        }
        let first = self.ring.id_at(self.ring.before(i, self.leaf_half));
        let last = self.ring.id_at(self.ring.after(i, self.leaf_half));
        clockwise(first, key) <= clockwise(first, last)
    }

    /// The peer in slot (`row`, `digit`) of the table of the peer with id
    /// `owner`, given `lo..hi`, the positions of the ids with that slot's
    /// prefix. `None` when there are none.
    fn slot(&self, owner: u64, row: u32, digit: u64, lo: usize, hi: usize) -> Option<usize> {
        (lo < hi).then(|| {
            let tag = u64::from(row) * RADIX + digit;
            pick(slot_hash(self.salt, owner, tag), lo, hi)
        })
    }

    /// The next hop from the peer at `i` (not the root) towards `key`.
    fn next_hop(&self, i: usize, key: u64, root: usize) -> usize {
        if self.in_leaf_range(i, key) {
            return root;
        }
        let own = self.ring.id_at(i);
        let row = shared_digits(own, key);
        let (lo, hi) = self.ring.prefix_block(key, (row + 1) * DIGIT_BITS);
        if let Some(next) = self.slot(own, row, digit(key, row), lo, hi) {
            return next;
        }
        // The rare case: no peer shares one more digit with the key. Take
        // the peer numerically closest to the key among the leaf set and the
        // entries of table row `row`, of those sharing at least `row` digits
        // with it. Of the leaves only the two far ends can be closest (the
        // key lies beyond the leaf set), and the one on the key's side always
        // qualifies (it lies between the peer and the key, inside their
        // common `row`-digit block), so this hop strictly gets closer.
        let mut best = i;
        let mut best_distance = ring_distance(own, key);
        let mut consider = |j: usize| {
            let id = self.ring.id_at(j);
            let distance = ring_distance(id, key);
            if shared_digits(id, key) >= row && distance < best_distance {
                best = j;
                best_distance = distance;
            }
        };
        consider(self.ring.before(i, self.leaf_half));
        consider(self.ring.after(i, self.leaf_half));
        let (parent_lo, parent_hi) = self.ring.prefix_block(own, row * DIGIT_BITS);
        self.for_each_slot(own, row, parent_lo, parent_hi, consider);
        debug_assert_ne!(best, i, "Pastry's rare case found no closer peer");
        if best == i {
            root
        } else {
            best
        }
    }

    /// Calls `f` with every filled slot of table row `row` of the peer with
    /// id `owner`, given `lo..hi`, the positions of the ids sharing its first
    /// `row` digits.
    fn for_each_slot(&self, owner: u64, row: u32, lo: usize, hi: usize, mut f: impl FnMut(usize)) {
        let free = 64 - (row + 1) * DIGIT_BITS;
        let base = high_bits(owner, row * DIGIT_BITS);
        let own_digit = digit(owner, row);
        let mut start = lo;
        for d in 0..RADIX {
            let end = if d + 1 == RADIX {
                hi
            } else {
                self.ring.lower_bound_in(start, hi, base | (d + 1) << free)
            };
            if d != own_digit {
                if let Some(j) = self.slot(owner, row, d, start, end) {
                    f(j);
                }
            }
            start = end;
        }
    }
}

impl Overlay for Pastry {
    fn name(&self) -> &'static str {
        "pastry"
    }

    fn len(&self) -> usize {
        self.ring.len()
    }

    fn id(&self, peer: PeerId) -> u64 {
        self.ring.id(peer)
    }

    fn routing_state(&self, peer: PeerId, out: &mut Vec<(PeerId, StateKind)>) {
        out.clear();
        let i = self.ring.index_of(peer);
        let own = self.ring.id_at(i);
        for row in 0..DIGITS {
            let (lo, hi) = self.ring.prefix_block(own, row * DIGIT_BITS);
            if hi - lo <= 1 {
                break;
            }
            self.for_each_slot(own, row, lo, hi, |j| {
                out.push((self.ring.peer_at(j), StateKind::Routing));
            });
        }
        // Leaves already in the table count as Routing (listed once).
        let table = out.len();
        let mut add_leaf = |j: usize| {
            let leaf = self.ring.peer_at(j);
            if !out[..table].iter().any(|&(p, _)| p == leaf) {
                out.push((leaf, StateKind::Neighbor));
            }
        };
        if self.leaf_set_is_everyone() {
            for k in 1..self.ring.len() {
                add_leaf(self.ring.after(i, k));
            }
        } else {
            for k in 1..=self.leaf_half {
                add_leaf(self.ring.before(i, k));
                add_leaf(self.ring.after(i, k));
            }
        }
    }

    fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>) {
        out.clear();
        let root = self.root_index(key);
        let mut at = self.ring.index_of(from);
        while at != root {
            at = self.next_hop(at, key, root);
            out.push(self.ring.peer_at(at));
        }
    }

    fn root(&self, key: u64) -> PeerId {
        self.ring.peer_at(self.root_index(key))
    }
}

/// Digit `position` (0 = most significant) of `id`.
fn digit(id: u64, position: u32) -> u64 {
    (id >> (64 - (position + 1) * DIGIT_BITS)) & (RADIX - 1)
}

/// How many leading digits `a` and `b` share (16 when equal).
fn shared_digits(a: u64, b: u64) -> u32 {
    (a ^ b).leading_zeros() / DIGIT_BITS
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{
        check_small, fingerprint, mean_hops, mean_state, measure, p_nonempty,
    };
    use super::*;

    const N: usize = 10_000;

    /// Expected filled slots of a table among `n` peers: slot (r, d) is
    /// filled when one of the `n - 1` others has that (r + 1)-digit prefix,
    /// a 16^-(r+1) share of the ids.
    fn expected_table(n: usize) -> f64 {
        (1..=DIGITS as i32)
            .map(|r| 15.0 * p_nonempty(n - 1, 16f64.powi(-r)))
            .sum()
    }

    #[test]
    fn table_size_matches_theory_at_10k() {
        let overlay = Pastry::new(N, 1);
        let (table, leaves_only) = mean_state(&overlay, N);
        // Sampling every peer: within 1 % of the expectation (45.97; the
        // ceiling 15·⌈log16 N⌉ is 60). Leaves not already in the table: at
        // most 16.
        let expected = expected_table(N);
        assert!(
            (table / expected - 1.0).abs() < 0.01,
            "{table} vs {expected}"
        );
        assert!(table <= 15.0 * (N as f64).log(16.0).ceil());
        assert!(leaves_only > 0.0 && leaves_only <= 16.0, "{leaves_only}");
    }

    #[test]
    fn hops_match_theory_at_10k() {
        let overlay = Pastry::new(N, 1);
        let log16 = (N as f64).log(16.0);
        // Rowstron and Druschel: slightly under log16 N on average (3.32
        // here), never more than ⌈log16 N⌉ + 1 with a leaf set of 16.
        let max = log16.ceil() as usize + 1;
        let (mean, _) = mean_hops(&overlay, 5_000, max);
        assert!(mean <= log16 && mean > log16 - 0.4, "{mean} vs {log16}");
    }

    #[test]
    fn rare_case_routes_still_reach_the_root() {
        // A leaf set of 2 leaves the last digits to the rare case (no peer
        // shares one more digit): routes get longer but still end at the
        // root, each hop from the routing state.
        let overlay = Pastry::with_leaf_set(N, 1, 2);
        let (mean, _) = mean_hops(&overlay, 2_000, 16);
        assert!(mean < (N as f64).log(16.0) + 1.0, "{mean}");
    }

    #[test]
    fn small_overlays_route_every_key_to_its_root() {
        for n in [1, 2, 3, 16, 17, 18, 19, 40, 100] {
            check_small(&Pastry::new(n, 3), 8);
            check_small(&Pastry::with_leaf_set(n, 3, 2), 16);
        }
    }

    #[test]
    fn state_is_the_table_and_leaf_set_by_definition() {
        // Against a plain scan of all ids: one entry per slot with
        // candidates, from those candidates; the 8 nearest on each side.
        let n = 500;
        let overlay = Pastry::new(n, 4);
        let mut by_id: Vec<(u64, PeerId)> = (0..n as PeerId).map(|p| (overlay.id(p), p)).collect();
        by_id.sort_unstable();
        let mut state = Vec::new();
        for (position, &(own, peer)) in by_id.iter().enumerate() {
            overlay.routing_state(peer, &mut state);
            let mut slots = std::collections::HashMap::new();
            for &(p, kind) in &state {
                let id = overlay.id(p);
                let row = shared_digits(own, id);
                *slots.entry((row, digit(id, row))).or_insert(0) +=
                    usize::from(kind == StateKind::Routing);
            }
            for row in 0..DIGITS {
                for d in (0..RADIX).filter(|&d| d != digit(own, row)) {
                    let filled = by_id
                        .iter()
                        .any(|&(id, _)| shared_digits(own, id) >= row && digit(id, row) == d);
                    let held = slots.get(&(row, d)).copied().unwrap_or(0);
                    assert_eq!(held, usize::from(filled), "{peer}: slot ({row}, {d})");
                }
            }
            for k in 1..=8 {
                for leaf in [by_id[(position + k) % n].1, by_id[(position + n - k) % n].1] {
                    assert!(state.iter().any(|&(p, _)| p == leaf), "{peer}: leaf {leaf}");
                }
            }
            assert!(state.len() <= slots.len() + 16);
        }
    }

    #[test]
    fn same_seed_same_overlay() {
        let a = fingerprint(&Pastry::new(2_000, 5));
        assert_eq!(a, fingerprint(&Pastry::new(2_000, 5)));
        let b = fingerprint(&Pastry::new(2_000, 6));
        assert_ne!(a.ids, b.ids);
        assert_ne!(a.states, b.states);
    }

    #[test]
    fn root_is_numerically_closest_on_the_ring() {
        let overlay = Pastry::new(300, 9);
        let ids: Vec<u64> = (0..300).map(|p| overlay.id(p)).collect();
        for key in [0, 1, u64::MAX, 1 << 63, ids[0], ids[1].wrapping_add(7)] {
            let best = ids.iter().map(|&id| ring_distance(id, key)).min().unwrap();
            assert_eq!(ring_distance(overlay.id(overlay.root(key)), key), best);
        }
    }

    /// Release-mode figures at 10^6 peers: `cargo test --release --example
    /// simulate -- --ignored --nocapture pastry`.
    #[test]
    #[ignore]
    fn measure_1m() {
        measure(|| Pastry::new(1_000_000, 1));
    }
}
