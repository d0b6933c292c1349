//! Pareto utilities: non-dominated sorting, crowding distance and hypervolume, on oriented scores
//! (higher is better in every objective).

use crate::objective::Outcome;

/// The non-domination rank of every outcome (0 = the Pareto front), under constrained dominance.
pub fn non_dominated_ranks(outcomes: &[&Outcome]) -> Vec<usize> {
    let n = outcomes.len();
    let mut dominated_by_count = vec![0usize; n];
    let mut dominates: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            if outcomes[i].dominates(outcomes[j]) {
                dominates[i].push(j);
                dominated_by_count[j] += 1;
            } else if outcomes[j].dominates(outcomes[i]) {
                dominates[j].push(i);
                dominated_by_count[i] += 1;
            }
        }
    }
    let mut ranks = vec![0; n];
    let mut front: Vec<usize> = (0..n).filter(|&i| dominated_by_count[i] == 0).collect();
    let mut rank = 0;
    while !front.is_empty() {
        let mut next = Vec::new();
        for &i in &front {
            ranks[i] = rank;
            for &j in &dominates[i] {
                dominated_by_count[j] -= 1;
                if dominated_by_count[j] == 0 {
                    next.push(j);
                }
            }
        }
        front = next;
        rank += 1;
    }
    ranks
}

/// NSGA-II crowding distance of each point of one front (boundary points get infinity).
pub fn crowding_distances(front: &[&[f64]]) -> Vec<f64> {
    let n = front.len();
    let mut distance = vec![0.0; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let objectives = front[0].len();
    let mut order: Vec<usize> = (0..n).collect();
    #[allow(clippy::needless_range_loop)] // `m` indexes each point's objectives, not `front`
    for m in 0..objectives {
        order.sort_by(|&a, &b| front[a][m].total_cmp(&front[b][m]));
        let (low, high) = (front[order[0]][m], front[order[n - 1]][m]);
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        if high > low {
            for neighbours in order.windows(3) {
                let [before, point, after] = [neighbours[0], neighbours[1], neighbours[2]];
                distance[point] += (front[after][m] - front[before][m]) / (high - low);
            }
        }
    }
    distance
}

/// The hypervolume dominated by `points` and bounded below by `reference` (oriented: higher is better).
/// Points that do not exceed the reference in every objective add nothing. Exact, by slicing along the
/// last objective (fast for the 2–4 objectives and few hundred points of a study's front).
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<&[f64]> =
        points.iter().map(Vec::as_slice).filter(|p| p.iter().zip(reference).all(|(v, r)| v > r)).collect();
    slice_volume(&inside, reference)
}

fn slice_volume(points: &[&[f64]], reference: &[f64]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let d = reference.len();
    if d == 1 {
        return points.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max) - reference[0];
    }
    let mut sorted: Vec<&[f64]> = points.to_vec();
    sorted.sort_by(|a, b| b[d - 1].total_cmp(&a[d - 1]));
    let mut volume = 0.0;
    for k in 0..sorted.len() {
        let top = sorted[k][d - 1];
        let bottom = sorted.get(k + 1).map_or(reference[d - 1], |p| p[d - 1]);
        if top > bottom {
            let projected: Vec<&[f64]> = sorted[..=k].iter().map(|p| &p[..d - 1]).collect();
            volume += slice_volume(&projected, &reference[..d - 1]) * (top - bottom);
        }
    }
    volume
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(scores: &[f64]) -> Outcome {
        Outcome { scores: scores.to_vec(), violation: 0.0 }
    }

    #[test]
    fn ranks_fronts() {
        let points = [outcome(&[1.0, 5.0]), outcome(&[2.0, 4.0]), outcome(&[1.0, 4.0]), outcome(&[0.0, 0.0])];
        let refs: Vec<&Outcome> = points.iter().collect();
        assert_eq!(non_dominated_ranks(&refs), vec![0, 0, 1, 2]);
    }

    #[test]
    fn hypervolume_of_known_sets() {
        // Two points in 2-D: union of [0,1]x[0,3] and [0,2]x[0,1] = 3 + 1 = 4.
        assert_eq!(hypervolume(&[vec![1.0, 3.0], vec![2.0, 1.0]], &[0.0, 0.0]), 4.0);
        // A dominated point adds nothing; a point below the reference adds nothing.
        assert_eq!(hypervolume(&[vec![1.0, 3.0], vec![2.0, 1.0], vec![0.5, 0.5], vec![-1.0, 9.0]], &[0.0, 0.0]), 4.0);
        // 3-D unit cubes overlapping: [0,2]x[0,1]x[0,1] ∪ [0,1]x[0,2]x[0,1] = 2 + 2 - 1 = 3.
        assert_eq!(hypervolume(&[vec![2.0, 1.0, 1.0], vec![1.0, 2.0, 1.0]], &[0.0, 0.0, 0.0]), 3.0);
        assert_eq!(hypervolume(&[], &[0.0, 0.0]), 0.0);
    }

    #[test]
    fn crowding_prefers_isolated_points() {
        let front: Vec<Vec<f64>> = vec![vec![0.0, 4.0], vec![1.0, 3.0], vec![1.1, 2.9], vec![4.0, 0.0]];
        let refs: Vec<&[f64]> = front.iter().map(Vec::as_slice).collect();
        let d = crowding_distances(&refs);
        assert!(d[0].is_infinite() && d[3].is_infinite());
        assert!(d[1] > 0.0 && d[2] > 0.0);
    }
}
