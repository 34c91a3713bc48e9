//! Aggregation for the metrics of one scenario: means, percentiles of
//! small counts, shares, and how evenly load falls on the willing servers
//! (maximum over mean, Gini coefficient).

/// Counts of small non-negative integers (candidates per response, hops,
/// messages): a histogram, so percentiles are exact and memory is tiny.
#[derive(Debug, Clone, Default)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u64,
}

impl Histogram {
    /// Records one value.
    pub(crate) fn add(&mut self, value: usize) {
        if self.counts.len() <= value {
            self.counts.resize(value + 1, 0);
        }
        self.counts[value] += 1;
        self.total += 1;
        self.sum += value as u64;
    }

    /// The mean, 0 when empty.
    pub(crate) fn mean(&self) -> f64 {
        ratio(self.sum, self.total)
    }

    /// Share of the values equal to `value`.
    pub(crate) fn share_of(&self, value: usize) -> f64 {
        ratio(self.counts.get(value).copied().unwrap_or(0), self.total)
    }

    /// The nearest-rank `p`-quantile (`p` in `(0, 1]`): the smallest value
    /// with at least `⌈p × len⌉` values at or below it; 0 when empty.
    pub(crate) fn percentile(&self, p: f64) -> usize {
        let rank = ((p * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (value, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value;
            }
        }
        0
    }
}

/// `num / den`, or 0 when `den` is 0.
pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// How evenly `loads` fall over `population` members, the members absent
/// from `loads` having load 0 (`loads.len() ≤ population`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    /// The largest load over the mean load (1 = perfectly even); 0 when
    /// nothing was handed out.
    pub(crate) max_ratio: f64,
    /// The Gini coefficient: 0 when every member carries the same load, 1
    /// when one carries it all.
    pub(crate) gini: f64,
}

/// [`Spread`] of `loads` over `population` members.
pub(crate) fn spread(mut loads: Vec<u64>, population: u64) -> Spread {
    let total: u64 = loads.iter().sum();
    let n = population.max(loads.len() as u64);
    if total == 0 || n == 0 {
        return Spread {
            max_ratio: 0.0,
            gini: 0.0,
        };
    }
    loads.sort_unstable();
    let max = *loads.last().unwrap_or(&0);
    let mean = total as f64 / n as f64;
    // Ascending order, zeros first: G = 2 Σ i·x_i / (n Σ x) − (n + 1) / n,
    // i = 1..n.
    let zeros = n - loads.len() as u64;
    let weighted: f64 = loads
        .iter()
        .enumerate()
        .map(|(i, &x)| (zeros + i as u64 + 1) as f64 * x as f64)
        .sum();
    let nf = n as f64;
    Spread {
        max_ratio: max as f64 / mean,
        gini: 2.0 * weighted / (nf * total as f64) - (nf + 1.0) / nf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_mean_and_percentiles() {
        let mut h = Histogram::default();
        for v in [
            0, 10, 10, 10, 7, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
        ] {
            h.add(v);
        }
        assert_eq!(h.percentile(0.05), 0);
        assert_eq!(h.percentile(0.10), 7);
        assert_eq!(h.percentile(0.5), 10);
        assert!((h.mean() - 9.35).abs() < 1e-12);
        assert!((h.share_of(10) - 0.9).abs() < 1e-12);
        assert_eq!(Histogram::default().percentile(0.05), 0);
    }

    #[test]
    fn gini_and_max_ratio() {
        let even = spread(vec![3, 3, 3, 3], 4);
        assert!(even.gini.abs() < 1e-12);
        assert!((even.max_ratio - 1.0).abs() < 1e-12);
        // One of four carries everything.
        let one = spread(vec![8], 4);
        assert!((one.gini - 0.75).abs() < 1e-12);
        assert!((one.max_ratio - 4.0).abs() < 1e-12);
        // The same with the zeros given explicitly.
        let explicit = spread(vec![0, 0, 8, 0], 4);
        assert_eq!(one, explicit);
        assert_eq!(spread(vec![], 10).gini, 0.0);
    }
}
