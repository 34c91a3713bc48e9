//! The sorted node ids the three overlays share, and the hashing they pick
//! with.
//!
//! Ids are drawn from the seed with SplitMix64 (peer `p` gets the stream's
//! `p`-th value; a collision, about 3·10^-8 likely at 10^6 peers, is redrawn),
//! then kept sorted with a permutation to [`PeerId`] and back. A radix index
//! over the top bits of the ids turns a lower bound into one table read and a
//! binary search over a handful of ids (an O(1) read when the value is aligned
//! to a radix bucket, as every Pastry row boundary up to row 3 is at 10^6
//! peers). Memory: 16 bytes a peer plus 4·2^bits bytes of index (256 KiB at
//! 10^6 peers). Every overlay computes its routing state from this on demand.

use super::PeerId;

/// Sorted, distinct node ids with the permutation to and from [`PeerId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ring {
    /// Node ids, ascending and distinct.
    ids: Vec<u64>,
    /// `peer_at[i]` is the peer whose id is `ids[i]`.
    peer_at: Vec<PeerId>,
    /// `index_of[peer]` is the position of `peer`'s id in `ids`.
    index_of: Vec<u32>,
    /// `radix[b]` is the number of ids whose top `64 - shift` bits are below
    /// `b`; `2^(64 - shift) + 1` entries.
    radix: Vec<u32>,
    /// 64 minus the number of radix bits.
    shift: u32,
}

impl Ring {
    /// `nodes` distinct ids drawn from `seed`. Panics when `nodes` is 0 or
    /// does not fit a [`PeerId`].
    pub(crate) fn new(nodes: usize, seed: u64) -> Self {
        assert!(nodes >= 1, "an overlay needs at least one peer");
        assert!(
            u32::try_from(nodes).is_ok(),
            "at most 2^32 - 1 peers (PeerId is u32)"
        );
        let mut stream = SplitMix64(seed);
        let mut pairs: Vec<(u64, PeerId)> = (0..nodes as PeerId)
            .map(|peer| (stream.next_u64(), peer))
            .collect();
        loop {
            pairs.sort_unstable();
            let mut collided = false;
            for i in 1..pairs.len() {
                if pairs[i].0 == pairs[i - 1].0 {
                    pairs[i].0 = stream.next_u64();
                    collided = true;
                }
            }
            if !collided {
                break;
            }
        }
        let ids: Vec<u64> = pairs.iter().map(|&(id, _)| id).collect();
        let peer_at: Vec<PeerId> = pairs.iter().map(|&(_, peer)| peer).collect();
        drop(pairs);
        let mut index_of = vec![0u32; nodes];
        for (i, &peer) in peer_at.iter().enumerate() {
            index_of[peer as usize] = i as u32;
        }
        // Radix bits: a multiple of 4 (so Pastry's digit boundaries are
        // bucket boundaries) leaving about 4 to 16 ids a bucket, 4..=20.
        let log2 = usize::BITS - 1 - nodes.leading_zeros();
        let bits = (4 * (log2.saturating_sub(2) / 4)).clamp(4, 20);
        let shift = 64 - bits;
        let mut radix = vec![0u32; (1usize << bits) + 1];
        for &id in &ids {
            radix[(id >> shift) as usize + 1] += 1;
        }
        for b in 1..radix.len() {
            radix[b] += radix[b - 1];
        }
        Self {
            ids,
            peer_at,
            index_of,
            radix,
            shift,
        }
    }

    /// Number of peers.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The id at sorted position `i`.
    pub(crate) fn id_at(&self, i: usize) -> u64 {
        self.ids[i]
    }

    /// The peer at sorted position `i`.
    pub(crate) fn peer_at(&self, i: usize) -> PeerId {
        self.peer_at[i]
    }

    /// The sorted position of `peer`'s id.
    pub(crate) fn index_of(&self, peer: PeerId) -> usize {
        self.index_of[peer as usize] as usize
    }

    /// The node id of `peer`.
    pub(crate) fn id(&self, peer: PeerId) -> u64 {
        self.ids[self.index_of(peer)]
    }

    /// Sorted position `steps` places clockwise of `i` (wrapping).
    pub(crate) fn after(&self, i: usize, steps: usize) -> usize {
        (i + steps) % self.len()
    }

    /// Sorted position `steps` places counter-clockwise of `i` (wrapping).
    pub(crate) fn before(&self, i: usize, steps: usize) -> usize {
        let n = self.len();
        (i + n - steps % n) % n
    }

    /// The first position in `lo..hi` whose id is at least `value` (`hi` if
    /// none), for a `lo..hi` that is sorted like the whole (any subrange).
    pub(crate) fn lower_bound_in(&self, lo: usize, hi: usize, value: u64) -> usize {
        let bucket = (value >> self.shift) as usize;
        let (start, end) = (self.radix[bucket] as usize, self.radix[bucket + 1] as usize);
        // The global lower bound lies in start..=end; clamp it to lo..=hi.
        if value & ((1u64 << self.shift) - 1) == 0 {
            return start.clamp(lo, hi);
        }
        let (a, z) = (lo.max(start), hi.min(end));
        if a > z {
            return if end < lo { lo } else { hi };
        }
        a + self.ids[a..z].partition_point(|&id| id < value)
    }

    /// The first position whose id is at least `value` (`len()` if none).
    pub(crate) fn lower_bound(&self, value: u64) -> usize {
        self.lower_bound_in(0, self.len(), value)
    }

    /// The position of the first id at or clockwise of `value` (wrapping):
    /// Chord's successor(value).
    pub(crate) fn successor(&self, value: u64) -> usize {
        let i = self.lower_bound(value);
        if i == self.len() {
            0
        } else {
            i
        }
    }

    /// The positions `lo..hi` of the ids whose top `keep` bits equal those of
    /// `value` (`keep` in `0..=64`).
    pub(crate) fn prefix_block(&self, value: u64, keep: u32) -> (usize, usize) {
        if keep == 0 {
            return (0, self.len());
        }
        let base = high_bits(value, keep);
        let lo = self.lower_bound(base);
        let hi = match base.checked_add(1u64 << (64 - keep)) {
            Some(end) => self.lower_bound_in(lo, self.len(), end),
            None => self.len(),
        };
        (lo, hi)
    }

    /// The position in `lo..hi` (non-empty) whose id is closest to `key` in
    /// XOR distance: a walk down the binary trie of the ids in `lo..hi`,
    /// skipping the bits they all share.
    pub(crate) fn xor_closest_in(&self, mut lo: usize, mut hi: usize, key: u64) -> usize {
        debug_assert!(lo < hi);
        while hi - lo > 1 {
            let (a, z) = (self.ids[lo], self.ids[hi - 1]);
            let shared = (a ^ z).leading_zeros();
            let bit = 63 - shared;
            let split = self.lower_bound_in(lo, hi, high_bits(a, shared) | 1u64 << bit);
            if key >> bit & 1 == 1 {
                lo = split;
            } else {
                hi = split;
            }
        }
        lo
    }

    /// The position whose id is closest to `key` in XOR distance
    /// (Kademlia's root). The ids sharing the longest prefix with `key`
    /// include one of its sorted neighbours; the trie walk then runs over
    /// that (small) block only.
    pub(crate) fn xor_closest(&self, key: u64) -> usize {
        let i = self.lower_bound(key);
        let shared = |j: usize| (self.ids[j] ^ key).leading_zeros();
        let longest = match (i.checked_sub(1), (i < self.len()).then_some(i)) {
            (Some(p), Some(s)) => shared(p).max(shared(s)),
            (Some(p), None) => shared(p),
            (None, Some(s)) => shared(s),
            (None, None) => unreachable!("a ring is never empty"),
        };
        let (lo, hi) = self.prefix_block(key, longest);
        self.xor_closest_in(lo, hi, key)
    }
}

/// The top `keep` bits of `value`, the rest zero (`keep` in `0..=64`).
pub(crate) fn high_bits(value: u64, keep: u32) -> u64 {
    if keep == 0 {
        0
    } else {
        value & (u64::MAX << (64 - keep))
    }
}

/// Clockwise distance from `a` to `b` on the 2^64 ring.
pub(crate) fn clockwise(a: u64, b: u64) -> u64 {
    b.wrapping_sub(a)
}

/// Distance between `a` and `b` on the 2^64 ring, the shorter way round.
pub(crate) fn ring_distance(a: u64, b: u64) -> u64 {
    clockwise(a, b).min(clockwise(b, a))
}

/// SplitMix64's output function (Steele, Lea and Flood 2014): a bijective
/// 64-bit mixer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// A hash of `(salt, node, tag)` for seeded picks: which peer a routing-table
/// slot holds is a pure function of the seed, the owner and the slot.
pub(crate) fn slot_hash(salt: u64, node: u64, tag: u64) -> u64 {
    mix(mix(salt ^ node).wrapping_add(tag.wrapping_add(1).wrapping_mul(GOLDEN)))
}

/// The salt an overlay picks with: the seed mixed with the overlay's own
/// constant, so two overlays built from one seed pick independently.
pub(crate) fn salt(seed: u64, overlay: u64) -> u64 {
    mix(seed ^ mix(overlay))
}

/// A position in `lo..hi` (non-empty) chosen uniformly by hash `h`
/// (multiply-shift, no modulo bias worth the name).
pub(crate) fn pick(h: u64, lo: usize, hi: usize) -> usize {
    debug_assert!(lo < hi);
    lo + ((u128::from(h) * (hi - lo) as u128) >> 64) as usize
}

/// A SplitMix64 stream (Steele, Lea and Flood 2014).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next value of the stream.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree_with_a_plain_scan() {
        for n in [1, 2, 5, 100, 700] {
            let ring = Ring::new(n, 11);
            let ids = &ring.ids;
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            for peer in 0..n as PeerId {
                assert_eq!(ring.peer_at(ring.index_of(peer)), peer);
            }
            let mut rng = SplitMix64(1);
            let mut values: Vec<u64> = ids.iter().flat_map(|&id| [id, id + 1, id - 1]).collect();
            values.extend([0, u64::MAX, 1 << 60, 1 << 63]);
            values.extend((0..200).map(|_| rng.next_u64()));
            for &v in &values {
                let (lo, hi) = (n / 3, n - n / 4);
                let expect = lo + ids[lo..hi].partition_point(|&id| id < v);
                assert_eq!(ring.lower_bound_in(lo, hi, v), expect);
                assert_eq!(ring.lower_bound(v), ids.partition_point(|&id| id < v));
                let xor = ids.iter().map(|&id| id ^ v).min().unwrap();
                assert_eq!(ring.id_at(ring.xor_closest(v)) ^ v, xor);
                for keep in [0, 1, 4, 13, 32, 63, 64] {
                    let (lo, hi) = ring.prefix_block(v, keep);
                    let count = ids
                        .iter()
                        .filter(|&&id| high_bits(id, keep) == high_bits(v, keep))
                        .count();
                    assert_eq!(hi - lo, count);
                    assert!(ids[lo..hi]
                        .iter()
                        .all(|&id| high_bits(id, keep) == high_bits(v, keep)));
                }
            }
        }
    }

    #[test]
    fn ids_are_the_seeds_stream() {
        let ring = Ring::new(10, 42);
        let mut stream = SplitMix64(42);
        for peer in 0..10 {
            assert_eq!(ring.id(peer), stream.next_u64());
        }
    }
}
