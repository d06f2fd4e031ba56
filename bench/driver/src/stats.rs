//! Order statistics over samples.

/// Nearest-rank percentile `p` (0..=100) of `xs`; 0 for no samples.
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn median(xs: &[f64]) -> f64 {
    percentile(xs, 50.0)
}

pub fn p99(xs: &[f64]) -> f64 {
    percentile(xs, 99.0)
}

/// The 95% bootstrap interval of `stat(a) / stat(b)`: both sample sets
/// drawn again with replacement, `rounds` times, from a fixed seed (the
/// same samples give the same interval). It covers the sampling error of
/// one run only; what moves between runs (the host's load, where the
/// scheduler puts things) it does not.
pub fn ratio_interval(a: &[f64], b: &[f64], stat: fn(&[f64]) -> f64, rounds: usize) -> (f64, f64) {
    if a.is_empty() || b.is_empty() || rounds == 0 {
        return (f64::NAN, f64::NAN);
    }
    // xorshift64*: plenty for resampling, and no dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut draw = |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    };
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            let ra: Vec<f64> = (0..a.len()).map(|_| a[draw(a.len())]).collect();
            let rb: Vec<f64> = (0..b.len()).map(|_| b[draw(b.len())]).collect();
            stat(&ra) / stat(&rb)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (percentile(&ratios, 2.5), percentile(&ratios, 97.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median(&xs), 50.0);
        assert_eq!(p99(&xs), 99.0);
        assert_eq!(percentile(&xs, 100.0), 100.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(p99(&[]), 0.0);
    }

    #[test]
    fn the_interval_holds_the_ratio_and_narrows_with_more_samples() {
        // Two spreads around 1.0 and 1.1: the ratio of medians is 1.1.
        let spread = |n: usize, at: f64| -> Vec<f64> {
            (0..n).map(|i| at + (i % 50) as f64 * 0.01).collect()
        };
        let (lo, hi) = ratio_interval(&spread(200, 1.1), &spread(200, 1.0), median, 500);
        let (lo2, hi2) = ratio_interval(&spread(5000, 1.1), &spread(5000, 1.0), median, 500);
        let ratio = median(&spread(200, 1.1)) / median(&spread(200, 1.0));
        assert!(lo <= ratio && ratio <= hi, "{lo} {ratio} {hi}");
        assert!(lo < hi, "{lo} {hi}");
        assert!(hi2 - lo2 < hi - lo, "{lo2}-{hi2} vs {lo}-{hi}");
        // The same samples, the same interval.
        assert_eq!(
            ratio_interval(&spread(200, 1.1), &spread(200, 1.0), median, 500),
            (lo, hi)
        );
        assert!(ratio_interval(&[], &[1.0], median, 10).0.is_nan());
    }
}
