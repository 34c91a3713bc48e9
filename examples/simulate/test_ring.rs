//! A small Chord-like ring for the simulator's own tests, independent of
//! the overlays in `overlay/`: 64-bit ids from the seed, fingers to the
//! successors of `id + 2^i` (the routing table), the next eight peers (the
//! neighbour set), and greedy routing that never passes the key's root.

use crate::network::mix;
use crate::overlay::{Overlay, PeerId, StateKind};

/// Successors kept in the neighbour set.
const SUCCESSORS: usize = 8;

/// A ring of peers numbered by id order (peer 0 has the smallest id).
pub(crate) struct Ring {
    ids: Vec<u64>,
}

impl Ring {
    /// `nodes` peers with ids drawn from `seed`.
    pub(crate) fn new(nodes: usize, seed: u64) -> Self {
        let mut ids: Vec<u64> = (0..nodes as u64).map(|i| mix(seed ^ mix(i))).collect();
        ids.sort_unstable();
        ids.dedup();
        Self { ids }
    }

    /// The first peer whose id is at or after `key`, wrapping.
    fn successor(&self, key: u64) -> PeerId {
        let i = self.ids.partition_point(|&id| id < key);
        (i % self.ids.len()) as PeerId
    }

    fn fingers(&self, p: PeerId, out: &mut Vec<(PeerId, StateKind)>) {
        out.clear();
        let id = self.ids[p as usize];
        let n = self.ids.len();
        for s in 1..=SUCCESSORS.min(n - 1) {
            out.push((((p as usize + s) % n) as PeerId, StateKind::Neighbor));
        }
        for i in 0..64 {
            let f = self.successor(id.wrapping_add(1 << i));
            if f == p {
                continue;
            }
            match out.iter_mut().find(|(q, _)| *q == f) {
                Some(entry) => entry.1 = StateKind::Routing,
                None => out.push((f, StateKind::Routing)),
            }
        }
    }
}

impl Overlay for Ring {
    fn name(&self) -> &'static str {
        "ring"
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn id(&self, peer: PeerId) -> u64 {
        self.ids[peer as usize]
    }

    fn routing_state(&self, peer: PeerId, out: &mut Vec<(PeerId, StateKind)>) {
        self.fingers(peer, out);
    }

    fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>) {
        out.clear();
        let root = self.root(key);
        let target = self.ids[root as usize];
        let mut at = from;
        let mut state = Vec::new();
        while at != root {
            let here = self.ids[at as usize];
            let left = target.wrapping_sub(here);
            self.fingers(at, &mut state);
            // The farthest hop that does not pass the root.
            at = state
                .iter()
                .map(|&(q, _)| q)
                .filter(|&q| self.ids[q as usize].wrapping_sub(here) <= left)
                .max_by_key(|&q| self.ids[q as usize].wrapping_sub(here))
                .expect("the successor never passes the root");
            out.push(at);
        }
    }

    fn root(&self, key: u64) -> PeerId {
        self.successor(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_end_at_the_root_in_log_hops() {
        let ring = Ring::new(4096, 1);
        let mut path = Vec::new();
        let mut total = 0;
        for k in 0..200u64 {
            let key = mix(k);
            ring.route((k * 17 % 4096) as PeerId, key, &mut path);
            if let Some(&last) = path.last() {
                assert_eq!(last, ring.root(key));
            }
            total += path.len();
        }
        let mean = total as f64 / 200.0;
        assert!((3.0..9.0).contains(&mean), "{mean} hops");
    }
}
