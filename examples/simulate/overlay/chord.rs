//! Chord (Stoica et al. 2001) on a 2^64 ring: finger `i` of a peer with id
//! `n` is successor(n + 2^i) for `i` in `0..64`, distinct entries only; the
//! successor list (8 peers) is the neighbour set. The root of a key is its
//! successor, the first peer at or clockwise of it.
//!
//! Routing is Chord's find_successor, greedy and clockwise: a peer whose
//! successor is the root hands the request to it; any other peer to its
//! closest preceding finger, the finger farthest round the ring that still
//! precedes the key. Fingers only, as in the paper's lookup (the successor
//! list is there for failures); the successor list is still routing state,
//! so §3.3.1 counts it. Every hop moves strictly clockwise without passing
//! the key, so routes cannot loop.
//!
//! The finger table is computed in one binary search per distinct finger:
//! fingers between two distinct ones repeat the first, so the next distinct
//! finger is the first `i` with `2^i` beyond the last one found.

use super::ring::{clockwise, Ring};
use super::{Overlay, PeerId, StateKind};

/// A Chord overlay.
#[derive(Debug, Clone)]
pub(crate) struct Chord {
    ring: Ring,
    /// Length of the successor list.
    successors: usize,
}

impl Chord {
    /// `nodes` peers with ids drawn from `seed` and a successor list of 8.
    pub(crate) fn new(nodes: usize, seed: u64) -> Self {
        Self::with_successors(nodes, seed, 8)
    }

    /// Like [`Chord::new`] with a successor list of `successors` peers.
    pub(crate) fn with_successors(nodes: usize, seed: u64, successors: usize) -> Self {
        Self {
            ring: Ring::new(nodes, seed),
            successors,
        }
    }

    /// The finger of the peer with id `own` that a request for a key whose
    /// root's predecessor has id `last` goes to: successor(own + 2^i) for
    /// the largest `i` with `2^i` not beyond `last` (`last` is not `own`).
    fn closest_preceding_finger(&self, own: u64, last: u64) -> usize {
        let reach = clockwise(own, last);
        debug_assert_ne!(reach, 0);
        let i = 63 - reach.leading_zeros();
        self.ring.successor(own.wrapping_add(1u64 << i))
    }
}

impl Overlay for Chord {
    fn name(&self) -> &'static str {
        "chord"
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
        let mut exponent = 0u32;
        while exponent < 64 {
            let finger = self.ring.successor(own.wrapping_add(1u64 << exponent));
            if finger == i {
                // Wrapped round to the peer itself: so would every larger
                // finger.
                break;
            }
            out.push((self.ring.peer_at(finger), StateKind::Routing));
            // The next distinct finger: the first 2^exponent beyond this one.
            exponent = 64 - clockwise(own, self.ring.id_at(finger)).leading_zeros();
        }
        // Successors already among the fingers count as Routing (listed once).
        let fingers = out.len();
        for k in 1..=self.successors.min(self.ring.len() - 1) {
            let successor = self.ring.peer_at(self.ring.after(i, k));
            if !out[..fingers].iter().any(|&(p, _)| p == successor) {
                out.push((successor, StateKind::Neighbor));
            }
        }
    }

    fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>) {
        out.clear();
        let root = self.ring.successor(key);
        let last = self.ring.before(root, 1);
        let last_id = self.ring.id_at(last);
        let mut at = self.ring.index_of(from);
        while at != root {
            at = if at == last {
                root
            } else {
                self.closest_preceding_finger(self.ring.id_at(at), last_id)
            };
            out.push(self.ring.peer_at(at));
        }
    }

    fn root(&self, key: u64) -> PeerId {
        self.ring.peer_at(self.ring.successor(key))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{
        check_small, fingerprint, mean_hops, mean_state, measure, p_nonempty,
    };
    use super::*;

    const N: usize = 10_000;

    #[test]
    fn fingers_match_theory_at_10k() {
        let overlay = Chord::new(N, 1);
        let (fingers, successors_only) = mean_state(&overlay, N);
        // The distinct fingers are the first peers of the non-empty arcs
        // [n + 2^i, n + 2^(i+1)), a 2^(i-64) share of the ring each: 13.6
        // expected (about log2 N); within 1 %. Successors that are not
        // fingers: at most 8.
        let expected: f64 = (0..64).map(|i| p_nonempty(N - 1, 2f64.powi(i - 64))).sum();
        assert!(
            (fingers / expected - 1.0).abs() < 0.01,
            "{fingers} vs {expected}"
        );
        assert!(successors_only > 0.0 && successors_only <= 8.0);
    }

    #[test]
    fn hops_match_theory_at_10k() {
        let overlay = Chord::new(N, 1);
        // Stoica et al.: ½·log2 N hops to the key's predecessor on average,
        // here plus the hand-off to the root: 7.64 at 10^4. At most about
        // log2 N + 1.
        let log2 = (N as f64).log2();
        let (mean, _) = mean_hops(&overlay, 5_000, log2 as usize + 2);
        assert!((mean - (log2 / 2.0 + 1.0)).abs() < 0.4, "{mean}");
    }

    #[test]
    fn small_overlays_route_every_key_to_its_root() {
        for n in [1, 2, 3, 16, 17, 18, 19, 40, 100] {
            check_small(&Chord::new(n, 3), 10);
            check_small(&Chord::with_successors(n, 3, 1), 10);
        }
    }

    #[test]
    fn state_is_fingers_and_successors_by_definition() {
        // Against a plain scan of all ids: the distinct successor(n + 2^i)
        // as Routing, the other first 8 successors as Neighbor.
        let n = 500;
        let overlay = Chord::new(n, 4);
        let ids: Vec<u64> = (0..n as PeerId).map(|p| overlay.id(p)).collect();
        let successor = |value: u64| {
            (0..n as PeerId)
                .min_by_key(|&p| clockwise(value, ids[p as usize]))
                .unwrap()
        };
        let mut state = Vec::new();
        for peer in 0..n as PeerId {
            let own = ids[peer as usize];
            let mut fingers: Vec<PeerId> = (0..64)
                .map(|i| successor(own.wrapping_add(1 << i)))
                .filter(|&p| p != peer)
                .collect();
            fingers.dedup();
            let mut next: Vec<PeerId> = (0..n as PeerId).filter(|&p| p != peer).collect();
            next.sort_by_key(|&p| clockwise(own, ids[p as usize]));
            let neighbours: Vec<PeerId> = next[..8]
                .iter()
                .copied()
                .filter(|p| !fingers.contains(p))
                .collect();
            overlay.routing_state(peer, &mut state);
            let of_kind = |kind| -> Vec<PeerId> {
                state.iter().filter(|e| e.1 == kind).map(|e| e.0).collect()
            };
            assert_eq!(of_kind(StateKind::Routing), fingers, "{peer}");
            assert_eq!(of_kind(StateKind::Neighbor), neighbours, "{peer}");
        }
    }

    #[test]
    fn same_seed_same_overlay() {
        let a = fingerprint(&Chord::new(2_000, 5));
        assert_eq!(a, fingerprint(&Chord::new(2_000, 5)));
        let b = fingerprint(&Chord::new(2_000, 6));
        assert_ne!(a.ids, b.ids);
        assert_ne!(a.states, b.states);
    }

    #[test]
    fn root_is_the_successor() {
        let overlay = Chord::new(300, 9);
        let ids: Vec<u64> = (0..300).map(|p| overlay.id(p)).collect();
        for key in [0, 1, u64::MAX, 1 << 63, ids[0], ids[1].wrapping_add(7)] {
            let best = ids.iter().map(|&id| clockwise(key, id)).min().unwrap();
            assert_eq!(clockwise(key, overlay.id(overlay.root(key))), best);
        }
    }

    /// Release-mode figures at 10^6 peers: `cargo test --release --example
    /// simulate -- --ignored --nocapture chord`.
    #[test]
    #[ignore]
    fn measure_1m() {
        measure(|| Chord::new(1_000_000, 1));
    }
}
