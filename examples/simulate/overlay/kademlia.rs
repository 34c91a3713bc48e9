//! Kademlia (Maymounkov and Mazières 2002) with 64-bit ids, the XOR metric
//! and k = 20.
//!
//! Bucket `i` of a peer holds peers at XOR distance in `[2^i, 2^(i+1))`:
//! those sharing its top `63 - i` bits and differing at bit `i`, a contiguous
//! block of the sorted ids. A bucket with at most k such peers holds them
//! all; a fuller one holds a seeded stratified sample of k: the block cut
//! into k equal runs of positions and one peer picked in each by a hash of
//! (seed, owner, bucket, run). Real nodes hold whichever k peers they met
//! (a random-ish subset); the stratified sample is such a subset with no
//! duplicates and no allocation, and neighbouring peers get different ones.
//! Every contact is [`StateKind::Routing`]: Kademlia has no separate
//! neighbour set (its nearest buckets play that part).
//!
//! Routing is the iterative lookup reduced to one path (α = 1): each step
//! goes to the contact XOR-closest to the key, until the root, the peer
//! XOR-closest to the key, is reached. Each step strictly shortens the XOR
//! distance, so routes cannot loop, and a peer other than the root always
//! has a closer contact (the bucket on the root's side is never empty).

use super::ring::{pick, salt, slot_hash, Ring};
use super::{Overlay, PeerId, StateKind};

/// Salt constant of Kademlia's picks ("kademlia").
const SALT: u64 = 0x6b61_6465_6d6c_6961;

/// A Kademlia overlay.
#[derive(Debug, Clone)]
pub(crate) struct Kademlia {
    ring: Ring,
    salt: u64,
    /// Bucket capacity.
    k: usize,
}

impl Kademlia {
    /// `nodes` peers with ids drawn from `seed` and k = 20.
    pub(crate) fn new(nodes: usize, seed: u64) -> Self {
        Self::with_k(nodes, seed, 20)
    }

    /// Like [`Kademlia::new`] with buckets of `k` peers (at least 1).
    pub(crate) fn with_k(nodes: usize, seed: u64, k: usize) -> Self {
        assert!(k >= 1, "buckets hold at least one peer");
        Self {
            ring: Ring::new(nodes, seed),
            salt: salt(seed, SALT),
            k,
        }
    }

    /// The positions `lo..hi` of the peers in bucket `bucket` of the peer
    /// with id `owner` (all candidates; the bucket holds k of them).
    fn bucket(&self, owner: u64, bucket: u32) -> (usize, usize) {
        self.ring.prefix_block(owner ^ 1u64 << bucket, 64 - bucket)
    }

    /// Contact `run` (in `0..k`) of a full bucket `bucket` of the peer with
    /// id `owner`, whose candidates are at `lo..lo + count`.
    fn contact(&self, owner: u64, bucket: u32, lo: usize, count: usize, run: usize) -> usize {
        let (start, end) = (lo + run * count / self.k, lo + (run + 1) * count / self.k);
        let tag = u64::from(bucket) << 32 | run as u64;
        pick(slot_hash(self.salt, owner, tag), start, end)
    }

    /// Calls `f` with the position of each contact in bucket `bucket` of the
    /// peer with id `owner`.
    fn for_each_contact(&self, owner: u64, bucket: u32, mut f: impl FnMut(usize)) {
        let (lo, hi) = self.bucket(owner, bucket);
        let count = hi - lo;
        if count <= self.k {
            (lo..hi).for_each(f);
        } else {
            (0..self.k).for_each(|run| f(self.contact(owner, bucket, lo, count, run)));
        }
    }

    /// The lowest bucket that can be non-empty for the peer at `i`: the one
    /// of its sorted neighbour sharing the longest prefix with it.
    fn lowest_bucket(&self, i: usize) -> Option<u32> {
        let n = self.ring.len();
        let own = self.ring.id_at(i);
        let shared = |j: usize| (self.ring.id_at(j) ^ own).leading_zeros();
        let longest = match (i.checked_sub(1), (i + 1 < n).then_some(i + 1)) {
            (Some(p), Some(s)) => shared(p).max(shared(s)),
            (Some(p), None) => shared(p),
            (None, Some(s)) => shared(s),
            (None, None) => return None,
        };
        Some(63 - longest)
    }

    /// The contact of the peer at `i` (not the root) XOR-closest to `key`.
    fn next_hop(&self, i: usize, key: u64, root: usize) -> usize {
        let own = self.ring.id_at(i);
        // The closest contact lies in the bucket of the highest bit where
        // the peer differs from the key whose bucket is not empty.
        let mut differ = own ^ key;
        while differ != 0 {
            let bucket = 63 - differ.leading_zeros();
            let (lo, hi) = self.bucket(own, bucket);
            let count = hi - lo;
            if count > self.k {
                return (0..self.k)
                    .map(|run| self.contact(own, bucket, lo, count, run))
                    .min_by_key(|&j| self.ring.id_at(j) ^ key)
                    .expect("k >= 1");
            }
            if count > 0 {
                return self.ring.xor_closest_in(lo, hi, key);
            }
            differ &= !(1u64 << bucket);
        }
        debug_assert!(false, "Kademlia found no closer contact");
        root
    }
}

impl Overlay for Kademlia {
    fn name(&self) -> &'static str {
        "kademlia"
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
        let Some(lowest) = self.lowest_bucket(i) else {
            return;
        };
        for bucket in (lowest..64).rev() {
            self.for_each_contact(own, bucket, |j| {
                out.push((self.ring.peer_at(j), StateKind::Routing));
            });
        }
    }

    fn route(&self, from: PeerId, key: u64, out: &mut Vec<PeerId>) {
        out.clear();
        let root = self.ring.xor_closest(key);
        let mut at = self.ring.index_of(from);
        while at != root {
            at = self.next_hop(at, key, root);
            out.push(self.ring.peer_at(at));
        }
    }

    fn root(&self, key: u64) -> PeerId {
        self.ring.peer_at(self.ring.xor_closest(key))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{check_small, fingerprint, mean_hops, mean_state, measure};
    use super::*;

    const N: usize = 10_000;

    /// E[min(X, k)] for X ~ Binomial(trials, p).
    fn expected_min(trials: usize, p: f64, k: usize) -> f64 {
        let mut pmf = (1.0 - p).powf(trials as f64);
        let (mut below, mut mean) = (0.0, 0.0);
        for j in 0..k {
            below += pmf;
            mean += j as f64 * pmf;
            pmf *= (trials - j) as f64 / (j + 1) as f64 * p / (1.0 - p);
        }
        mean + k as f64 * (1.0 - below)
    }

    #[test]
    fn contacts_match_theory_at_10k() {
        let overlay = Kademlia::new(N, 1);
        let (contacts, neighbours) = mean_state(&overlay, N);
        // Bucket i holds min(k, peers at distance [2^i, 2^(i+1))), a
        // 2^(i-64) share of the others each: 197.5 expected; within 1 %.
        let expected: f64 = (0..64)
            .map(|i| expected_min(N - 1, 2f64.powi(i - 64), 20))
            .sum();
        assert!(
            (contacts / expected - 1.0).abs() < 0.01,
            "{contacts} vs {expected}"
        );
        assert_eq!(neighbours, 0.0);
    }

    #[test]
    fn hops_match_theory_at_10k() {
        let overlay = Kademlia::new(N, 1);
        // Each hop lands in the bucket towards the key, whose best of k
        // evenly spread contacts leaves about 1/(2k) of it to go: log2(2k)
        // bits a hop, from about log2 N - 1 bits apart, until a bucket holds
        // at most k peers and the next hop is the root. 2.50 at 10^4.
        let (n, k) = (N as f64, 20f64);
        let model = 1.0 + (n.log2() - 1.0 - k.log2()) / (2.0 * k).log2();
        let (mean, _) = mean_hops(&overlay, 5_000, 6);
        assert!((mean - model).abs() < 0.4, "{mean} vs {model}");
    }

    #[test]
    fn small_overlays_route_every_key_to_its_root() {
        for n in [1, 2, 3, 16, 17, 18, 19, 40, 100] {
            check_small(&Kademlia::new(n, 3), 8);
            check_small(&Kademlia::with_k(n, 3, 1), 64);
        }
    }

    #[test]
    fn buckets_hold_min_k_and_population() {
        // Against a plain scan of all ids, with k = 4 so buckets overflow.
        let n = 500;
        let overlay = Kademlia::with_k(n, 4, 4);
        let ids: Vec<u64> = (0..n as PeerId).map(|p| overlay.id(p)).collect();
        let bucket_of = |a: u64, b: u64| 63 - (a ^ b).leading_zeros() as usize;
        let mut state = Vec::new();
        for peer in 0..n as PeerId {
            let own = overlay.id(peer);
            overlay.routing_state(peer, &mut state);
            let mut population = [0usize; 64];
            ids.iter()
                .filter(|&&id| id != own)
                .for_each(|&id| population[bucket_of(own, id)] += 1);
            let mut held = [0usize; 64];
            state
                .iter()
                .for_each(|&(p, _)| held[bucket_of(own, overlay.id(p))] += 1);
            for i in 0..64 {
                assert_eq!(held[i], population[i].min(4), "{peer}: bucket {i}");
            }
        }
    }

    #[test]
    fn same_seed_same_overlay() {
        let a = fingerprint(&Kademlia::new(2_000, 5));
        assert_eq!(a, fingerprint(&Kademlia::new(2_000, 5)));
        let b = fingerprint(&Kademlia::new(2_000, 6));
        assert_ne!(a.ids, b.ids);
        assert_ne!(a.states, b.states);
    }

    #[test]
    fn root_is_xor_closest() {
        let overlay = Kademlia::new(300, 9);
        let ids: Vec<u64> = (0..300).map(|p| overlay.id(p)).collect();
        for key in [0, 1, u64::MAX, 1 << 63, ids[0], ids[1] ^ 0xffff] {
            let best = ids.iter().map(|&id| id ^ key).min().unwrap();
            assert_eq!(overlay.id(overlay.root(key)) ^ key, best);
        }
    }

    /// Release-mode figures at 10^6 peers: `cargo test --release --example
    /// simulate -- --ignored --nocapture kademlia`.
    #[test]
    #[ignore]
    fn measure_1m() {
        measure(|| Kademlia::new(1_000_000, 1));
    }
}
