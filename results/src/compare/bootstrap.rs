//! Bootstrap confidence interval of a difference in medians, reproducible run to run.
//!
//! The generator is written here rather than taken from a crate so the numbers a report
//! prints depend on nothing but its input: same records, same intervals, on any machine
//! and any dependency version.

use crate::stats::quantile_sorted;
use serde::Serialize;

/// Resamples per interval: enough for stable 2.5% / 97.5% percentiles (50 resamples lie
/// beyond each), cheap for the tens of runs a comparison has.
pub const RESAMPLES: usize = 2000;

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, full period, well mixed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform index in 0..n by multiply-shift (Lemire): no division, and a bias below
    /// 2^-50 for the sample sizes a comparison has.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A seed from a cell's name (FNV-1a), so each cell's interval is fixed by its own data
/// and does not shift when other kernels or configurations join the comparison.
pub fn seed_for(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Median of `candidate` minus median of `baseline`, with its 95% percentile-bootstrap
/// interval: each resample draws both groups anew, with replacement, at their own sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiffCi {
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    /// Two-sided bootstrap p-value of "the difference is beyond the margin": twice the
    /// smaller share of resamples on the margin's near side, each share counted as
    /// (k + 1) / (B + 1) so it is never 0. The smallest it can be is 2 / (B + 1).
    pub p: f64,
}

pub fn median_diff_ci(
    baseline: &[f64],
    candidate: &[f64],
    resamples: usize,
    seed: u64,
    margin: f64,
) -> Option<DiffCi> {
    if baseline.is_empty() || candidate.is_empty() || resamples == 0 {
        return None;
    }
    let estimate = median(&mut candidate.to_vec())? - median(&mut baseline.to_vec())?;
    let mut rng = SplitMix64::new(seed);
    let mut buf = Vec::with_capacity(baseline.len().max(candidate.len()));
    let mut resample = |from: &[f64], rng: &mut SplitMix64| {
        buf.clear();
        buf.extend((0..from.len()).map(|_| from[rng.below(from.len())]));
        median(&mut buf)
    };
    let mut diffs: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let b = resample(baseline, &mut rng)?;
            let c = resample(candidate, &mut rng)?;
            Some(c - b)
        })
        .collect();
    diffs.sort_unstable_by(f64::total_cmp);
    let share = |k: usize| (k + 1) as f64 / (diffs.len() + 1) as f64;
    let not_above = share(diffs.iter().filter(|d| **d <= margin).count());
    let not_below = share(diffs.iter().filter(|d| **d >= -margin).count());
    Some(DiffCi {
        estimate,
        lo: quantile_sorted(&diffs, 0.025)?,
        hi: quantile_sorted(&diffs, 0.975)?,
        p: (2.0 * not_above.min(not_below)).min(1.0),
    })
}

/// Holm's step-down adjustment (1979) of a family of p-values, in their order: a
/// difference counts at level a when its adjusted p is below a, and the chance of any
/// false "better" or "worse" in the whole family stays at most a.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = p.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    quantile_sorted(values, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs for seed 0 of the reference C implementation (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn indices_stay_in_range_and_cover_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0u32; 5];
        for _ in 0..1000 {
            seen[r.below(5)] += 1;
        }
        assert!(seen.iter().all(|&c| c > 150), "{seen:?}");
    }

    #[test]
    fn same_input_and_seed_give_the_same_interval() {
        let b = [2939.0, 3386.0, 2996.0, 2726.0, 2571.0];
        let c = [3692.0, 5551.0, 3025.0, 3282.0, 1990.0];
        let one = median_diff_ci(&b, &c, RESAMPLES, seed_for("x"), 0.0).unwrap();
        let two = median_diff_ci(&b, &c, RESAMPLES, seed_for("x"), 0.0).unwrap();
        assert_eq!(one, two);
        // The point estimate is the plain difference of medians: 3282 - 2939.
        assert_eq!(one.estimate, 343.0);
        // Another seed moves the percentiles a little, not the estimate.
        let other = median_diff_ci(&b, &c, RESAMPLES, seed_for("y"), 0.0).unwrap();
        assert_eq!(other.estimate, 343.0);
        // Each bound is a difference of two resample medians, so within the data's span.
        for ci in [one, other] {
            assert!(
                ci.lo >= 1990.0 - 3386.0 && ci.hi <= 5551.0 - 2571.0,
                "{ci:?}"
            );
            assert!(ci.lo < 0.0 && ci.hi > 0.0, "overlapping samples: {ci:?}");
            assert!(ci.p > 0.05, "overlapping samples: {ci:?}");
        }
    }

    #[test]
    fn disjoint_samples_give_an_interval_that_excludes_zero() {
        // Every candidate value is 2900..3100 above every baseline one, so every resample
        // median difference is too: the interval lies inside [2900, 3100].
        let b = [1000.0, 1020.0, 1040.0, 1060.0, 1080.0, 1100.0];
        let c = [4000.0, 4010.0, 4030.0, 4050.0, 4060.0, 4100.0];
        let ci = median_diff_ci(&b, &c, RESAMPLES, 1, 0.0).unwrap();
        assert_eq!(ci.estimate, 4040.0 - 1050.0);
        assert!(ci.lo >= 2900.0 && ci.hi <= 3100.0, "{ci:?}");
        assert!(ci.lo <= ci.estimate && ci.estimate <= ci.hi);
        // No resample falls at or below 0: p is its floor, 2 / (B + 1).
        assert_eq!(ci.p, 2.0 / (RESAMPLES + 1) as f64);
        // Against a margin wider than every resample difference, nothing is beyond it.
        let wide = median_diff_ci(&b, &c, RESAMPLES, 1, 5000.0).unwrap();
        assert_eq!(wide.p, 1.0);
    }

    #[test]
    fn holm_adjusts_step_down_and_keeps_the_order() {
        // Sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 ->
        // raised to the running maximum 0.06.
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.02]), vec![0.02]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn constant_samples_give_a_point_interval() {
        let ci = median_diff_ci(&[5.0; 4], &[8.0; 3], 100, 3, 0.0).unwrap();
        assert_eq!((ci.estimate, ci.lo, ci.hi), (3.0, 3.0, 3.0));
        assert_eq!(median_diff_ci(&[], &[1.0], 100, 3, 0.0), None);
        let same = median_diff_ci(&[5.0; 4], &[5.0; 3], 100, 3, 0.0).unwrap();
        assert_eq!(same.p, 1.0);
    }
}
