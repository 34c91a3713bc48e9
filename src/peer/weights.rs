//! A Fenwick (binary indexed) tree of selection weights, so the
//! load-spreading policy draws a weighted candidate in O(log n) without
//! touching the entries it does not draw.
//!
//! The tree is the only array: the raw weights are not stored, since
//! whoever changes a weight knows the entry it had ([`Weights::update`]
//! takes the old weight with the new). It stays an array of its own, 8
//! bytes a position, rather than a field beside each entry: a draw walks
//! about log2(n) nodes, and packed they share cache lines (at 10,000
//! entries, 80 KB rather than nodes spread over a megabyte of entries).

/// Prefix sums over a growable array of `u64` weights.
#[derive(Debug, Clone, Default)]
pub(crate) struct Weights {
    /// `tree[i]` (0-based) holds the sum of the weights over positions
    /// `(i+1 - lowbit(i+1), i+1]` (1-based).
    tree: Vec<u64>,
}

const fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Weights {
    /// Sum of all weights.
    #[inline]
    pub(crate) fn total(&self) -> u64 {
        self.prefix(self.tree.len())
    }

    /// Sum of the first `len` weights.
    #[inline]
    fn prefix(&self, mut len: usize) -> u64 {
        let mut sum = 0u64;
        while len > 0 {
            sum = sum.saturating_add(self.tree[len - 1]);
            len -= lowbit(len);
        }
        sum
    }

    /// Appends a weight.
    pub(crate) fn push(&mut self, w: u64) {
        let i = self.tree.len() + 1; // 1-based index of the new node
        let covered = self
            .prefix(i - 1)
            .saturating_sub(self.prefix(i - lowbit(i)));
        self.tree.push(covered.saturating_add(w));
    }

    /// Removes the last weight: no other node covers it, so its node just
    /// goes.
    pub(crate) fn pop(&mut self) {
        self.tree.pop();
    }

    /// The weight at `index` goes from `old` to `new`.
    pub(crate) fn update(&mut self, index: usize, old: u64, new: u64) {
        let (add, sub) = if new >= old {
            (new - old, 0)
        } else {
            (0, old - new)
        };
        let mut i = index + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] = self.tree[i - 1].saturating_add(add).saturating_sub(sub);
            i += lowbit(i);
        }
    }

    /// The position whose cumulative range holds `r`, for `r < total()`:
    /// the smallest `i` with `prefix(i + 1) > r`.
    #[inline]
    pub(crate) fn find(&self, mut r: u64) -> Option<usize> {
        let n = self.tree.len();
        if n == 0 {
            return None;
        }
        let mut pos = 0usize;
        let mut step = 1usize << (usize::BITS - 1 - n.leading_zeros());
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next - 1] <= r {
                pos = next;
                r -= self.tree[next - 1];
            }
            step >>= 1;
        }
        (pos < n).then_some(pos)
    }

    /// Room for `additional` more weights, exactly.
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        self.tree.reserve_exact(additional);
    }

    /// Gives back unused room.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.tree.shrink_to_fit();
    }

    /// How many weights there are room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.tree.capacity()
    }

    /// Every node holds the sum of `weights` over its range.
    #[cfg(test)]
    pub(crate) fn check(&self, weights: impl IntoIterator<Item = u64>) {
        let raw: Vec<u64> = weights.into_iter().collect();
        assert_eq!(raw.len(), self.tree.len());
        for (i, &node) in self.tree.iter().enumerate() {
            let end = i + 1;
            let expect = raw[end - lowbit(end)..end]
                .iter()
                .fold(0u64, |a, &w| a.saturating_add(w));
            assert_eq!(node, expect, "node {i}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_linear_scan() {
        let mut w = Weights::default();
        let mut raw = vec![3u64, 0, 5, 1, 0, 7, 2, 2, 9];
        for &x in &raw {
            w.push(x);
        }
        w.check(raw.iter().copied());
        assert_eq!(w.total(), raw.iter().sum::<u64>());
        for r in 0..w.total() {
            let mut acc = 0;
            let expect = raw.iter().position(|&x| {
                acc += x;
                acc > r
            });
            assert_eq!(w.find(r), expect, "r = {r}");
        }
        assert_eq!(w.find(w.total()), None);
        w.update(2, raw[2], 0);
        raw[2] = 0;
        w.update(0, raw[0], 10);
        raw[0] = 10;
        w.check(raw.iter().copied());
        assert_eq!(w.total(), 3 + 5 + 1 + 7 + 2 + 2 + 9 - 5 + 7);
        assert_eq!(w.find(9), Some(0));
        assert_eq!(w.find(10), Some(3));
        w.pop();
        raw.pop();
        w.check(raw.iter().copied());
        assert_eq!(w.total(), raw.iter().sum::<u64>());
        assert_eq!(Weights::default().find(0), None);
    }
}
