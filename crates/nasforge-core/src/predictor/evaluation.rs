//! Predictor evaluation in the manner of NASLib (White et al. 2021): fit a predictor on `n` evaluated
//! architectures drawn at random, rank held-out ones, and measure the rank correlation (Kendall τ-b,
//! Spearman ρ) between predicted and true scores, averaged over seeds, for several training sizes.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;

use super::ModelKind;
use crate::compare::mean_and_ci95;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationSettings {
    /// Numbers of training architectures; the sets are nested (each seed's larger set extends its smaller).
    pub train_sizes: Vec<usize>,
    /// Held-out architectures per seed (fewer when the data is too small to leave that many out).
    pub test_size: usize,
    /// Seeds `0..seeds` each draw a split.
    pub seeds: u64,
    /// Fit the predictors to the Gaussian copula of the training targets (as the model-based strategies
    /// do) instead of the targets themselves.
    pub copula: bool,
}

/// The mean correlations at one training size, with the half-widths of their 95% confidence intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationRow {
    pub train_size: usize,
    pub test_size: usize,
    pub kendall: f64,
    pub kendall_ci95: f64,
    pub spearman: f64,
    pub spearman_ci95: f64,
}

/// Evaluates a predictor on `(features[i], targets[i])` pairs: per seed, a random held-out set of
/// `test_size` and nested training sets of each size drawn from the rest; the predictor is seeded with
/// the seed. Seeds run in parallel; the result does not depend on the number of threads.
pub fn evaluate(
    kind: ModelKind,
    features: &[Vec<f64>],
    targets: &[f64],
    settings: &EvaluationSettings,
) -> Result<Vec<EvaluationRow>, String> {
    if features.len() != targets.len() {
        return Err(format!("{} feature rows for {} targets", features.len(), targets.len()));
    }
    let largest = settings.train_sizes.iter().copied().max().unwrap_or(0);
    if settings.train_sizes.contains(&0) || settings.train_sizes.is_empty() {
        return Err("training sizes must be positive".into());
    }
    if settings.seeds == 0 {
        return Err("at least one seed is needed".into());
    }
    let test_size = settings.test_size.min(targets.len().saturating_sub(largest));
    if test_size < 2 {
        return Err(format!(
            "{} architectures leave fewer than 2 to test on after training on {largest}",
            targets.len()
        ));
    }
    let per_seed: Vec<Vec<(f64, f64)>> = (0..settings.seeds)
        .into_par_iter()
        .map(|seed| {
            let mut order: Vec<usize> = (0..targets.len()).collect();
            order.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(crate::study::trial_seed(seed, u64::MAX)));
            let (test, rest) = order.split_at(test_size);
            let test_features: Vec<Vec<f64>> = test.iter().map(|&i| features[i].clone()).collect();
            let test_targets: Vec<f64> = test.iter().map(|&i| targets[i]).collect();
            settings
                .train_sizes
                .iter()
                .map(|&n| {
                    let train = &rest[..n];
                    let train_features: Vec<Vec<f64>> = train.iter().map(|&i| features[i].clone()).collect();
                    let mut train_targets: Vec<f64> = train.iter().map(|&i| targets[i]).collect();
                    if settings.copula {
                        train_targets = super::copula(&train_targets);
                    }
                    let model = kind.predictor(seed).fit(&train_features, &train_targets);
                    let predicted: Vec<f64> = model.predict(&test_features).iter().map(|p| p.mean).collect();
                    (kendall_tau(&predicted, &test_targets), spearman_rho(&predicted, &test_targets))
                })
                .collect()
        })
        .collect();
    Ok(settings
        .train_sizes
        .iter()
        .enumerate()
        .map(|(s, &train_size)| {
            let kendall: Vec<f64> = per_seed.iter().map(|r| r[s].0).collect();
            let spearman: Vec<f64> = per_seed.iter().map(|r| r[s].1).collect();
            let (kendall, kendall_ci95) = mean_and_ci95(&kendall);
            let (spearman, spearman_ci95) = mean_and_ci95(&spearman);
            EvaluationRow { train_size, test_size, kendall, kendall_ci95, spearman, spearman_ci95 }
        })
        .collect())
}

/// Kendall's τ-b: concordant minus discordant pairs over the pairs not tied in each list (NaN when one
/// list is constant).
pub fn kendall_tau(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "rank correlation of lists of different lengths");
    let n = a.len();
    let (mut score, mut tied_a, mut tied_b, mut pairs) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let x = (a[i] - a[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            let y = (b[i] - b[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            score += x * y;
            tied_a += i64::from(x == 0);
            tied_b += i64::from(y == 0);
            pairs += 1;
        }
    }
    score as f64 / (((pairs - tied_a) as f64) * ((pairs - tied_b) as f64)).sqrt()
}

/// Ranks from 1, ties sharing their average rank.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's ρ: the Pearson correlation of the ranks (ties averaged; NaN when one list is constant).
pub fn spearman_rho(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "rank correlation of lists of different lengths");
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        var_a += (x - mean) * (x - mean);
        var_b += (y - mean) * (y - mean);
    }
    cov / (var_a * var_b).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_mean_rank() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, f64::NEG_INFINITY]), vec![3.5, 2.0, 3.5, 1.0]);
    }

    #[test]
    fn rank_correlations_of_known_rankings() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(kendall_tau(&a, &a), 1.0);
        assert_eq!(spearman_rho(&a, &[10.0, 20.0, 30.0, 40.0, 50.0]), 1.0);
        let reversed = [5.0, 4.0, 3.0, 2.0, 1.0];
        assert_eq!(kendall_tau(&a, &reversed), -1.0);
        assert_eq!(spearman_rho(&a, &reversed), -1.0);
        // One swapped adjacent pair: 9 concordant, 1 discordant of 10; Spearman 1 − 6·2/(5·24).
        let swapped = [1.0, 2.0, 4.0, 3.0, 5.0];
        assert!((kendall_tau(&a, &swapped) - 0.8).abs() < 1e-12);
        assert!((spearman_rho(&a, &swapped) - 0.9).abs() < 1e-12);
        // Ties: scipy.stats.kendalltau([1,2,2,3],[1,2,3,4]) = 0.9128709291752769, spearmanr = 0.9486832980505138.
        assert!((kendall_tau(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]) - 0.912_870_929_175_276_9).abs() < 1e-12);
        assert!((spearman_rho(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]) - 0.948_683_298_050_513_8).abs() < 1e-12);
        assert!(kendall_tau(&[1.0, 1.0, 1.0], &a[..3]).is_nan());
    }

    #[test]
    fn evaluation_ranks_improve_with_data() {
        // A smooth function of three features with a small interaction.
        let features: Vec<Vec<f64>> =
            (0..400).map(|i| (0..3).map(|j| ((i * (j + 3) * 37 + j * 11) % 101) as f64 / 100.0).collect()).collect();
        let targets: Vec<f64> = features.iter().map(|x| x[0] * 2.0 - x[1] + x[0] * x[2]).collect();
        let settings = EvaluationSettings { train_sizes: vec![5, 50], test_size: 100, seeds: 4, copula: false };
        let rows = evaluate(ModelKind::Ridge, &features, &targets, &settings).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].test_size, 100);
        assert!(rows[1].kendall > 0.85 && rows[1].spearman > 0.95, "{rows:?}");
        assert!(rows[1].kendall >= rows[0].kendall - 1e-9, "{rows:?}");
        assert_eq!(rows, evaluate(ModelKind::Ridge, &features, &targets, &settings).unwrap(), "deterministic");
        let too_big = EvaluationSettings { train_sizes: vec![399], test_size: 100, seeds: 1, copula: false };
        assert!(evaluate(ModelKind::Ridge, &features, &targets, &too_big).unwrap_err().contains("fewer than 2"));
    }
}
