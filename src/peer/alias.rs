//! An alias table (Walker, in Vose's linear-time construction) of the
//! load-spreading weights, so the default selection policy draws a
//! candidate in proportion to its weight with 32 random bits, two loads
//! from one 8-byte slot and a branch-free select, whatever the table's size
//! (§3.3.1: "peer could choose candidates for sending nodes according to
//! some algorithms").
//!
//! Position `i` has a slot `(keep, alias)`: a draw picks a position
//! uniformly, keeps it with probability `keep / 2^32` and otherwise takes
//! its alias. The table is rebuilt in O(n) whenever a weight changes, an
//! entry comes or goes ([`CandidateTable`](super::CandidateTable) does it
//! once at the end of each call that changed something), and needs no
//! memory beyond its slots: the construction keeps the one mass it changes
//! at a time in a local and reads every other mass from the weights.

use rand::Rng;

/// One position's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Keep the position when the draw's 32-bit coin is below this.
    keep: u32,
    /// The position taken otherwise.
    alias: u32,
}

/// A slot whose position is always kept.
const fn full(i: usize) -> Slot {
    Slot {
        keep: u32::MAX,
        alias: i as u32,
    }
}

/// 2^32, the coin's range.
const COIN: f64 = 4_294_967_296.0;

/// The slot threshold of a mass (1.0 is a whole slot); saturating.
fn keep_of(mass: f64) -> u32 {
    (mass * COIN) as u32
}

/// The mass a threshold stands for.
fn mass_of(keep: u32) -> f64 {
    f64::from(keep) / COIN
}

/// Walker's alias table over a growable array of `u64` weights.
#[derive(Debug, Clone, Default)]
pub(crate) struct Alias {
    slots: Vec<Slot>,
}

impl Alias {
    /// Rebuilds the table for `len` positions whose weights `weight(i)`
    /// gives. Positions must fit in `u32`; weights of zero are never drawn
    /// unless every weight is zero (then every position is equally likely).
    pub(crate) fn rebuild(&mut self, len: usize, weight: impl Fn(usize) -> u64) {
        self.slots.clear();
        self.slots.extend((0..len).map(full));
        let total: f64 = (0..len).map(|i| weight(i) as f64).sum();
        if len == 0 || total <= 0.0 {
            return;
        }
        // Masses scaled so each slot holds exactly 1.0.
        let scale = len as f64 / total;
        let mass = |i: usize| weight(i) as f64 * scale;
        let large = |i: usize| mass(i) >= 1.0;
        let next_large = |from: usize| (from..len).find(|&i| large(i)).unwrap_or(len);
        // `l` is the large position being drained, `l_mass` what is left of
        // it; every position below `l` that started large has become small.
        let mut l = next_large(0);
        let mut l_mass = if l < len { mass(l) } else { 0.0 };
        // The scanner walks the small positions in order; a large position
        // that becomes small behind it is taken next (`pending`), one ahead
        // of it keeps its leftover mass in its slot until the scanner comes.
        let mut scan = 0;
        let mut pending: Option<(usize, f64)> = None;
        loop {
            let next = pending.take().or_else(|| {
                while scan < len {
                    let j = scan;
                    scan += 1;
                    if !large(j) {
                        return Some((j, mass(j)));
                    }
                    if j < l {
                        return Some((j, mass_of(self.slots[j].keep)));
                    }
                }
                None
            });
            let Some((s, s_mass)) = next else {
                break;
            };
            if l >= len {
                // Nothing large left: what remains is full up to rounding.
                self.slots[s] = full(s);
                continue;
            }
            self.slots[s] = Slot {
                keep: keep_of(s_mass),
                alias: l as u32,
            };
            l_mass -= 1.0 - s_mass;
            if l_mass < 1.0 {
                let drained = l;
                l = next_large(l + 1);
                if drained < scan {
                    pending = Some((drained, l_mass));
                } else {
                    self.slots[drained].keep = keep_of(l_mass);
                }
                if l < len {
                    l_mass = mass(l);
                }
            }
        }
        // The large position being drained, and any never reached, keep
        // their full slots.
    }

    /// Fills `out` with positions drawn independently in proportion to
    /// their weights (nothing when the table is empty) and returns them.
    /// Each draw takes 32 random bits, so one `next_u64` makes two. The
    /// draws do not depend on one another, so the processor overlaps their
    /// loads.
    #[inline(always)]
    pub(crate) fn draw_into<'o, R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        out: &'o mut [u32],
    ) -> &'o [u32] {
        let slots = &self.slots[..];
        if slots.is_empty() {
            return &[];
        }
        let len = slots.len() as u64;
        let draw = |bits: u32| -> u32 {
            // Multiply-shift: the high half of `bits × len` is a position
            // below `len`; the low half, what is left over, is the coin,
            // uniform over its 2^32 values to within `len` steps, about as
            // close as the position is to uniform.
            let x = u64::from(bits) * len;
            let i = (x >> 32) as usize;
            let slot = slots[i];
            // The coin decides with a mask, not a branch: it comes out
            // either way about as often, so a branch would be mispredicted
            // about every other draw. `keep − coin − 1` is negative exactly
            // when the coin is at or above `keep`: its sign, spread over 32
            // bits, is the mask.
            let d = u64::from(slot.keep).wrapping_sub(u64::from(x as u32) + 1);
            let to_alias = ((d as i64) >> 63) as u32;
            i as u32 ^ ((i as u32 ^ slot.alias) & to_alias)
        };
        let mut pairs = out.chunks_exact_mut(2);
        for pair in &mut pairs {
            let r = rng.next_u64();
            pair[0] = draw((r >> 32) as u32);
            pair[1] = draw(r as u32);
        }
        if let [last] = pairs.into_remainder() {
            *last = draw((rng.next_u64() >> 32) as u32);
        }
        out
    }

    /// Room for `total` positions in all, exactly.
    pub(crate) fn reserve_total(&mut self, total: usize) {
        self.slots
            .reserve_exact(total.saturating_sub(self.slots.len()));
    }

    /// Gives back unused room.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
    }

    /// How many positions there are room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// The probability of drawing each position, from the slots.
    #[cfg(test)]
    pub(crate) fn probabilities(&self) -> Vec<f64> {
        let n = self.slots.len();
        let mut p = vec![0.0; n];
        for (i, s) in self.slots.iter().enumerate() {
            let keep = if s.keep == u32::MAX {
                1.0
            } else {
                mass_of(s.keep)
            };
            p[i] += keep / n as f64;
            p[s.alias as usize] += (1.0 - keep) / n as f64;
        }
        p
    }

    /// Each position's probability matches its share of the weights.
    #[cfg(test)]
    pub(crate) fn check(&self, weights: impl IntoIterator<Item = u64>) {
        let raw: Vec<u64> = weights.into_iter().collect();
        assert_eq!(raw.len(), self.slots.len());
        let total: f64 = raw.iter().map(|&w| w as f64).sum();
        for (i, (p, &w)) in self.probabilities().iter().zip(&raw).enumerate() {
            let want = if total > 0.0 {
                w as f64 / total
            } else {
                1.0 / raw.len() as f64
            };
            assert!(
                (p - want).abs() < 1e-6,
                "position {i}: drawn with {p}, weight share {want}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn built(weights: &[u64]) -> Alias {
        let mut a = Alias::default();
        a.rebuild(weights.len(), |i| weights[i]);
        a
    }

    #[test]
    fn probabilities_match_weights() {
        let cases: &[&[u64]] = &[
            &[],
            &[5],
            &[1, 1, 1, 1],
            &[3, 0, 5, 1, 0, 7, 2, 2, 9],
            &[1, 1_000_000, 1, 1],
            &[1_000_000, 1, 1, 1, 1, 1, 1, 1],
            &[0, 0, 0],
            &[u64::from(u32::MAX) + 1, 1, 65_536 * 1001],
        ];
        for w in cases {
            built(w).check(w.iter().copied());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for len in [2usize, 7, 75, 512, 10_000] {
            let w: Vec<u64> = (0..len)
                .map(|_| (rng.next_u64() % 65_536 + 1) * (rng.next_u64() % 1_001 + 1))
                .collect();
            built(&w).check(w.iter().copied());
        }
    }

    #[test]
    fn zero_weights_are_never_drawn() {
        let w = [0u64, 4, 0, 1, 0];
        let a = built(&w);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut seen = [0u32; 5];
        let mut out = [0u32; 100];
        for _ in 0..100 {
            for &i in a.draw_into(&mut rng, &mut out) {
                seen[i as usize] += 1;
            }
        }
        assert_eq!((seen[0], seen[2], seen[4]), (0, 0, 0));
        assert!(seen[1] > 3 * seen[3], "{seen:?}");
        assert!(Alias::default().draw_into(&mut rng, &mut out).is_empty());
    }
}
