//! A Fenwick (binary indexed) tree of selection weights, so the
//! load-spreading policy draws a weighted candidate in O(log n) without
//! touching the entries it does not draw.

/// Prefix sums over a growable array of `u64` weights.
#[derive(Debug, Clone, Default)]
pub(crate) struct Weights {
    /// The raw weights, one per table position.
    raw: Vec<u64>,
    /// `tree[i]` (0-based) holds the sum of `raw` over `(i+1 - lowbit(i+1), i+1]`.
    tree: Vec<u64>,
}

const fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Weights {
    /// Sum of all weights.
    pub(crate) fn total(&self) -> u64 {
        self.prefix(self.raw.len())
    }

    /// Sum of the first `len` weights.
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
        let i = self.raw.len() + 1; // 1-based index of the new node
        let covered = self
            .prefix(i - 1)
            .saturating_sub(self.prefix(i - lowbit(i)));
        self.raw.push(w);
        self.tree.push(covered.saturating_add(w));
    }

    /// Removes the last weight.
    pub(crate) fn pop(&mut self) {
        self.raw.pop();
        self.tree.pop();
    }

    /// Replaces the weight at `index`.
    pub(crate) fn set(&mut self, index: usize, w: u64) {
        let Some(old) = self.raw.get_mut(index) else {
            return;
        };
        let (add, sub) = if w >= *old {
            (w - *old, 0)
        } else {
            (0, *old - w)
        };
        *old = w;
        let mut i = index + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] = self.tree[i - 1].saturating_add(add).saturating_sub(sub);
            i += lowbit(i);
        }
    }

    /// The position whose cumulative range holds `r`, for `r < total()`:
    /// the smallest `i` with `prefix(i + 1) > r`.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_linear_scan() {
        let mut w = Weights::default();
        let raw = [3u64, 0, 5, 1, 0, 7, 2, 2, 9];
        for &x in &raw {
            w.push(x);
        }
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
        w.set(2, 0);
        w.set(0, 10);
        assert_eq!(w.total(), raw.iter().sum::<u64>() - 5 + 7);
        assert_eq!(w.find(9), Some(0));
        assert_eq!(w.find(10), Some(3));
        w.pop();
        assert_eq!(w.total(), raw.iter().sum::<u64>() - 5 + 7 - 9);
    }
}
