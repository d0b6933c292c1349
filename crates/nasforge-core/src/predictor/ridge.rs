//! Ridge regression: a linear model of the features (centred) on standardised targets, with the penalty
//! chosen from a grid by the exact leave-one-out error (the hat-matrix shortcut, no refits). On a one-hot
//! encoding it is an additive model of the decisions; on a path encoding it weighs operation sequences.

use serde::{Deserialize, Serialize};

use super::linalg::{Cholesky, dot, gemm};
use super::{Model, Prediction, Predictor, Standardiser, flatten};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ridge {
    /// Penalties tried (on standardised targets and raw features).
    pub alphas: Vec<f64>,
}

impl Default for Ridge {
    /// Decades from 10⁻³ (nearly least squares, for data far larger than the encoding) to 10³ (nearly the
    /// mean, for a handful of points).
    fn default() -> Self {
        Ridge { alphas: vec![1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0] }
    }
}

/// A fitted linear model.
#[derive(Debug, Clone)]
pub struct RidgeModel {
    means: Vec<f64>,
    coefficients: Vec<f64>,
    scale: Standardiser,
    alpha: f64,
}

impl RidgeModel {
    /// The chosen penalty.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The coefficients in the targets' units per unit of each feature.
    pub fn coefficients(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c * self.scale.std).collect()
    }
}

impl Ridge {
    pub fn train(&self, features: &[Vec<f64>], targets: &[f64]) -> RidgeModel {
        let (mut x, d) = flatten(features);
        let n = features.len();
        let scale = Standardiser::of(targets);
        let y = scale.apply(targets);
        let means: Vec<f64> =
            (0..d).map(|j| if n == 0 { 0.0 } else { (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64 }).collect();
        for row in x.chunks_exact_mut(d.max(1)) {
            for (v, m) in row.iter_mut().zip(&means) {
                *v -= m;
            }
        }
        if n == 0 || d == 0 {
            return RidgeModel { means, coefficients: vec![0.0; d], scale, alpha: f64::NAN };
        }
        // Leave-one-out error and coefficients for each penalty, from a d×d system (primal) or, when the
        // encoding is longer than the data, an n×n one (dual: w = Xᵀ(XXᵀ + αI)⁻¹y); the same model.
        let mut best: Option<(f64, f64, Vec<f64>)> = None;
        let mut consider = |loo: f64, alpha: f64, coefficients: Vec<f64>| {
            if best.as_ref().is_none_or(|(b, _, _)| loo < *b) {
                best = Some((loo, alpha, coefficients));
            }
        };
        if d <= n {
            let mut gram = vec![0.0; d * d];
            gemm(d, n, d, &x, true, &x, false, 0.0, &mut gram);
            let mut moment = vec![0.0; d];
            gemm(d, n, 1, &x, true, &y, false, 0.0, &mut moment);
            for &alpha in &self.alphas {
                let mut matrix = gram.clone();
                for j in 0..d {
                    matrix[j * d + j] += alpha;
                }
                let Some(cholesky) = Cholesky::new(matrix, d) else { continue };
                let coefficients = cholesky.solve(&moment);
                let inverse = cholesky.inverse();
                let mut projected = vec![0.0; n * d];
                gemm(n, d, d, &x, false, &inverse, false, 0.0, &mut projected);
                let mut loo = 0.0;
                for i in 0..n {
                    let row = &x[i * d..(i + 1) * d];
                    let fitted = dot(row, &coefficients);
                    let leverage = dot(row, &projected[i * d..(i + 1) * d]);
                    let residual = (y[i] - fitted) / (1.0 - leverage).max(1e-9);
                    loo += residual * residual;
                }
                consider(loo, alpha, coefficients);
            }
        } else {
            let mut kernel = vec![0.0; n * n];
            gemm(n, d, n, &x, false, &x, true, 0.0, &mut kernel);
            for &alpha in &self.alphas {
                let mut matrix = kernel.clone();
                for i in 0..n {
                    matrix[i * n + i] += alpha;
                }
                let Some(cholesky) = Cholesky::new(matrix, n) else { continue };
                let dual = cholesky.solve(&y);
                let inverse = cholesky.inverse();
                // The residual of point i is α·dual_i and 1 − H_ii = α·(A⁻¹)_ii.
                let loo: f64 = (0..n).map(|i| (dual[i] / inverse[i * n + i]).powi(2)).sum();
                let mut coefficients = vec![0.0; d];
                gemm(d, n, 1, &x, true, &dual, false, 0.0, &mut coefficients);
                consider(loo, alpha, coefficients);
            }
        }
        let (_, alpha, coefficients) = best.unwrap_or((f64::NAN, f64::NAN, vec![0.0; d]));
        RidgeModel { means, coefficients, scale, alpha }
    }
}

impl Predictor for Ridge {
    fn fit(&self, features: &[Vec<f64>], targets: &[f64]) -> Box<dyn Model> {
        Box::new(self.train(features, targets))
    }
}

impl Model for RidgeModel {
    fn predict(&self, features: &[Vec<f64>]) -> Vec<Prediction> {
        features
            .iter()
            .map(|row| {
                assert_eq!(row.len(), self.means.len(), "features of another length than the training features");
                let value: f64 =
                    row.iter().zip(&self.means).zip(&self.coefficients).map(|((x, m), c)| (x - m) * c).sum();
                Prediction { mean: self.scale.mean + self.scale.std * value, std: None }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_linear_function() {
        let truth = [2.0, -1.0, 0.5, 0.0, 3.0];
        let features: Vec<Vec<f64>> = (0..40)
            .map(|i| (0..5).map(|j| ((i * 7 + j * 13) % 11) as f64 / 10.0 + (i * j) as f64 * 0.01).collect())
            .collect();
        let targets: Vec<f64> =
            features.iter().map(|x| 4.0 + x.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>()).collect();
        let model = Ridge::default().train(&features, &targets);
        assert_eq!(model.alpha(), 1e-3, "exact data wants the least penalty");
        for (c, t) in model.coefficients().iter().zip(&truth) {
            assert!((c - t).abs() < 0.01, "{:?}", model.coefficients());
        }
        let x = vec![1.0, 1.0, 1.0, 1.0, 1.0];
        assert!((model.predict(&[x])[0].mean - 8.5).abs() < 0.02);
    }

    #[test]
    fn long_encodings_give_the_same_model_in_dual_form() {
        // 12 points of 20 features take the dual path; its coefficients must solve ridge's normal equations.
        let features: Vec<Vec<f64>> =
            (0..12).map(|i| (0..20).map(|j| (((i * 5 + j * 3) % 7) as f64 - 3.0) / 3.0).collect()).collect();
        let targets: Vec<f64> = features.iter().map(|x| x[0] - 2.0 * x[3] + 0.5 * x[7]).collect();
        let model = Ridge { alphas: vec![0.5] }.train(&features, &targets);
        let predictions = model.predict(&features);
        // Normal equations of ridge on centred data: (XᵀX + αI)w = Xᵀy, checked directly.
        let n = features.len() as f64;
        let means: Vec<f64> = (0..20).map(|j| features.iter().map(|x| x[j]).sum::<f64>() / n).collect();
        let y_mean = targets.iter().sum::<f64>() / n;
        let y_std = (targets.iter().map(|t| (t - y_mean).powi(2)).sum::<f64>() / n).sqrt();
        let w: Vec<f64> = model.coefficients().iter().map(|c| c / y_std).collect();
        for j in 0..20 {
            let mut lhs = 0.5 * w[j];
            let mut rhs = 0.0;
            for (x, t) in features.iter().zip(&targets) {
                let fitted: f64 = (0..20).map(|k| (x[k] - means[k]) * w[k]).sum();
                lhs += (x[j] - means[j]) * fitted;
                rhs += (x[j] - means[j]) * (t - y_mean) / y_std;
            }
            assert!((lhs - rhs).abs() < 1e-9, "normal equation {j}: {lhs} vs {rhs}");
        }
        let tau = crate::predictor::kendall_tau(&predictions.iter().map(|p| p.mean).collect::<Vec<_>>(), &targets);
        assert!(tau > 0.8, "{tau}");
    }

    #[test]
    fn pure_noise_chooses_a_strong_penalty() {
        let features: Vec<Vec<f64>> =
            (0..30).map(|i| (0..8).map(|j| ((i * 31 + j * 17) % 7) as f64).collect()).collect();
        let targets: Vec<f64> = (0..30).map(|i| ((i * 2_654_435_761u64 as usize) % 97) as f64).collect();
        let model = Ridge::default().train(&features, &targets);
        assert!(model.alpha() >= 10.0, "alpha {}", model.alpha());
    }
}
