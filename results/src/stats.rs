//! Small statistics for repeated runs: a verdict about a kernel is a distribution.

/// Wilson score interval for `successes` out of `n` at 95% confidence (z = 1.96), as
/// fractions. Unlike the normal approximation it stays inside [0, 1] and is sensible
/// for 0/n and n/n, which is what small repetition counts produce.
pub fn wilson_95(successes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (successes as f64, n as f64);
    let p = k / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt() / (1.0 + z2n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Nearest-rank percentile (p in 0..=1) of unsorted values.
pub fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Quantile (p in 0..=1) of values sorted ascending, interpolating linearly between order
/// statistics (Hyndman & Fan type 7, R's and numpy's default). Unlike nearest rank it
/// gives the textbook median of an even count (the mean of the middle two), so medians
/// and quartiles can be checked by hand.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 5e-4 && (a.1 - b.1).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 5/5: centre = (1 + 3.8415/10)/(1 + 0.7683) = 0.78274, half = 1.96*sqrt(0.7683/20)/1.7683 = 0.21726
        assert!(
            close(wilson_95(5, 5).unwrap(), (0.5655, 1.0)),
            "{:?}",
            wilson_95(5, 5)
        );
        // 0/5 mirrors it.
        assert!(close(wilson_95(0, 5).unwrap(), (0.0, 0.4345)));
        // 2/6 (the "livelock in 2/6"): 0.0968 .. 0.7000
        assert!(
            close(wilson_95(2, 6).unwrap(), (0.0968, 0.7000)),
            "{:?}",
            wilson_95(2, 6)
        );
        // 50/100: 0.4038 .. 0.5962
        assert!(close(wilson_95(50, 100).unwrap(), (0.4038, 0.5962)));
        assert_eq!(wilson_95(1, 0), None);
        assert_eq!(wilson_95(3, 2), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=10).rev().collect();
        assert_eq!(percentile(&v, 0.5), Some(5));
        assert_eq!(percentile(&v, 0.9), Some(9));
        assert_eq!(percentile(&v, 1.0), Some(10));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // Median of an even count: mean of the middle two.
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        // h = 3 * 0.25 = 0.75: 1 + 0.75 * (2 - 1).
        assert_eq!(quantile_sorted(&v, 0.25), Some(1.75));
        assert_eq!(quantile_sorted(&v, 0.75), Some(3.25));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        assert_eq!(quantile_sorted(&[7.0], 0.3), Some(7.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }
}
