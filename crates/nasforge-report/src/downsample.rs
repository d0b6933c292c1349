//! Fewer points that look the same: a plot of 100,000 trials keeps, in each of `max_points / 2` buckets of
//! consecutive points, the lowest and the highest, so that the cloud's envelope and its outliers survive.

/// At most `max_points` of `points` (taken in their order: by x), the lowest and highest y of each bucket
/// of consecutive points, in their original order. Fewer points than `max_points` are kept as they are.
pub fn min_max_downsample<T: Clone>(points: &[T], max_points: usize, y: impl Fn(&T) -> f64) -> Vec<T> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    let buckets = (max_points / 2).max(1);
    let mut kept = Vec::with_capacity(2 * buckets);
    for b in 0..buckets {
        let bucket = &points[b * points.len() / buckets..(b + 1) * points.len() / buckets];
        if bucket.is_empty() {
            continue;
        }
        let (mut low, mut high) = (0, 0);
        for (i, point) in bucket.iter().enumerate() {
            if y(point) < y(&bucket[low]) {
                low = i;
            }
            if y(point) > y(&bucket[high]) {
                high = i;
            }
        }
        if low == high {
            kept.push(bucket[low].clone());
        } else {
            kept.push(bucket[low.min(high)].clone());
            kept.push(bucket[low.max(high)].clone());
        }
    }
    kept
}

/// `count` indices spread evenly over `0..len`, the first and the last included (all of them when
/// `len <= count`).
pub fn evenly_spaced(len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    match count {
        0 => vec![],
        1 => vec![len - 1],
        _ => (0..count).map(|k| k * (len - 1) / (count - 1)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_are_kept_whole() {
        let points = vec![(0.0, 1.0), (1.0, 0.0)];
        assert_eq!(min_max_downsample(&points, 10, |p| p.1), points);
    }

    #[test]
    fn large_sets_keep_each_buckets_extremes() {
        let points: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, ((i * 7919) % 1000) as f64)).collect();
        let kept = min_max_downsample(&points, 200, |p| p.1);
        assert!(kept.len() <= 200 && kept.len() >= 100, "{}", kept.len());
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "order is kept");
        let max = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert!(kept.iter().any(|p| p.1 == max) && kept.iter().any(|p| p.1 == min), "the extremes survive");
    }

    #[test]
    fn evenly_spaced_indices_include_both_ends() {
        assert_eq!(evenly_spaced(3, 10), vec![0, 1, 2]);
        assert_eq!(evenly_spaced(101, 5), vec![0, 25, 50, 75, 100]);
        assert_eq!(evenly_spaced(10, 1), vec![9]);
    }
}
