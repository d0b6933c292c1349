//! Gaussian process regression with a squared-exponential kernel, `k(x, x') = s² exp(−‖x − x'‖² / 2ℓ²)`,
//! and a noise term. On a one-hot encoding `‖x − x'‖²` is twice the number of decisions that differ, so the
//! kernel is an exponentiated Hamming kernel on the categorical decisions. The length scale ℓ and the noise
//! (as a fraction of the signal variance s²) are picked from a small grid by marginal likelihood; s² is
//! profiled out in closed form. Targets are standardised; the posterior is computed with a Cholesky
//! factorisation.

use serde::{Deserialize, Serialize};

use super::linalg::{Cholesky, dot, gemm, squared_distances};
use super::{Model, Prediction, Predictor, Standardiser, flatten};

/// A Gaussian process family: the grid of hyper-parameters its fit chooses from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianProcess {
    /// Length scales tried, as multiples of the root median squared distance between training points
    /// (so one grid suits one-hot and path encodings alike).
    pub length_scales: Vec<f64>,
    /// Noise variances tried, as fractions of the signal variance.
    pub noises: Vec<f64>,
}

impl Default for GaussianProcess {
    /// Length scales from a quarter of the typical distance (neighbours nearly independent) to twice it
    /// (an almost linear trend), in steps of √2; noise from nearly none (an exact table) to a third of the
    /// signal (a rough landscape the kernel cannot follow): 7 × 4 fits of the marginal likelihood.
    fn default() -> Self {
        GaussianProcess { length_scales: vec![0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0], noises: vec![1e-4, 1e-2, 0.1, 0.3] }
    }
}

/// The hyper-parameters of a fitted process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpHyper {
    /// The kernel's length scale ℓ, in the units of the features.
    pub length_scale: f64,
    /// The noise variance as a fraction of the signal variance.
    pub noise: f64,
}

/// A fitted process: the posterior given the training data.
#[derive(Debug, Clone)]
pub struct GpModel {
    train: Vec<f64>,
    width: usize,
    hyper: GpHyper,
    /// The profiled signal variance (standardised units).
    signal: f64,
    /// `(C + rI)⁻¹ y` and `(C + rI)⁻¹` of the correlation matrix C.
    weights: Vec<f64>,
    inverse: Vec<f64>,
    scale: Standardiser,
    log_marginal_likelihood: f64,
}

/// The Cholesky factorisation of `C + rI` and what the marginal likelihood needs.
struct Factor {
    cholesky: Cholesky,
    weights: Vec<f64>,
    signal: f64,
    log_marginal_likelihood: f64,
}

fn correlations(distances: &[f64], length_scale: f64) -> Vec<f64> {
    let scale = -0.5 / (length_scale * length_scale);
    distances.iter().map(|d| (d * scale).exp()).collect()
}

/// Factorises `C + rI` for standardised targets `y`, adding jitter when rounding makes it indefinite.
fn factor(correlation: &[f64], n: usize, noise: f64, y: &[f64]) -> Factor {
    let mut jitter = 0.0;
    let cholesky = loop {
        let mut matrix = correlation.to_vec();
        for i in 0..n {
            matrix[i * n + i] += noise + jitter;
        }
        if let Some(cholesky) = Cholesky::new(matrix, n) {
            break cholesky;
        }
        jitter = if jitter == 0.0 { 1e-10 } else { jitter * 10.0 };
        assert!(jitter < 1.0, "the kernel matrix stays indefinite with jitter");
    };
    let weights = cholesky.solve(y);
    let signal = (dot(y, &weights) / n as f64).max(1e-12);
    let nf = n as f64;
    let log_marginal_likelihood = -0.5 * nf * signal.ln()
        - 0.5 * cholesky.log_determinant()
        - 0.5 * nf * (1.0 + (2.0 * std::f64::consts::PI).ln());
    Factor { cholesky, weights, signal, log_marginal_likelihood }
}

impl GaussianProcess {
    /// The grid's hyper-parameters of highest marginal likelihood for this data (the first on ties).
    pub fn select(&self, features: &[Vec<f64>], targets: &[f64]) -> GpHyper {
        let (train, width) = flatten(features);
        let n = features.len();
        let y = Standardiser::of(targets).apply(targets);
        let distances = squared_distances(&train, n, &train, n, width);
        let typical = median_off_diagonal(&distances, n).sqrt();
        let mut best: Option<(f64, GpHyper)> = None;
        for &relative in &self.length_scales {
            let length_scale = relative * typical;
            let correlation = correlations(&distances, length_scale);
            for &noise in &self.noises {
                let lml = factor(&correlation, n, noise, &y).log_marginal_likelihood;
                if best.is_none_or(|(b, _)| lml > b) {
                    best = Some((lml, GpHyper { length_scale, noise }));
                }
            }
        }
        best.map_or(GpHyper { length_scale: typical, noise: 1e-2 }, |(_, hyper)| hyper)
    }

    /// The posterior with given hyper-parameters.
    pub fn fit_with(&self, features: &[Vec<f64>], targets: &[f64], hyper: GpHyper) -> GpModel {
        let (train, width) = flatten(features);
        let n = features.len();
        let scale = Standardiser::of(targets);
        let y = scale.apply(targets);
        let distances = squared_distances(&train, n, &train, n, width);
        let factor = factor(&correlations(&distances, hyper.length_scale), n, hyper.noise, &y);
        let inverse = factor.cholesky.inverse();
        GpModel {
            train,
            width,
            hyper,
            signal: factor.signal,
            weights: factor.weights,
            inverse,
            scale,
            log_marginal_likelihood: factor.log_marginal_likelihood,
        }
    }
}

/// The median of the off-diagonal entries of a square matrix of squared distances (1 when there are none
/// or when it is 0, e.g. every training point equal).
fn median_off_diagonal(distances: &[f64], n: usize) -> f64 {
    let mut values: Vec<f64> =
        (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| distances[i * n + j]).collect();
    if values.is_empty() {
        return 1.0;
    }
    let middle = values.len() / 2;
    let (_, median, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    if *median > 0.0 { *median } else { 1.0 }
}

impl Predictor for GaussianProcess {
    fn fit(&self, features: &[Vec<f64>], targets: &[f64]) -> Box<dyn Model> {
        let hyper = self.select(features, targets);
        Box::new(self.fit_with(features, targets, hyper))
    }
}

impl GpModel {
    pub fn hyper(&self) -> GpHyper {
        self.hyper
    }

    /// How many points the posterior was fitted on.
    pub fn training_points(&self) -> usize {
        self.weights.len()
    }

    pub fn log_marginal_likelihood(&self) -> f64 {
        self.log_marginal_likelihood
    }
}

impl Model for GpModel {
    fn predict(&self, features: &[Vec<f64>]) -> Vec<Prediction> {
        let (points, width) = flatten(features);
        let (m, n) = (features.len(), self.weights.len());
        if m == 0 {
            return Vec::new();
        }
        if n == 0 {
            return vec![Prediction { mean: self.scale.mean, std: Some(self.scale.std) }; m];
        }
        assert_eq!(width, self.width, "features of another length than the training features");
        let cross = correlations(&squared_distances(&points, m, &self.train, n, width), self.hyper.length_scale);
        let mut projected = vec![0.0; m * n];
        gemm(m, n, n, &cross, false, &self.inverse, false, 0.0, &mut projected);
        (0..m)
            .map(|i| {
                let row = &cross[i * n..(i + 1) * n];
                let mean = dot(row, &self.weights);
                let explained = dot(row, &projected[i * n..(i + 1) * n]);
                let variance = (self.signal * (1.0 - explained)).max(0.0);
                Prediction {
                    mean: self.scale.mean + self.scale.std * mean,
                    std: Some(self.scale.std * variance.sqrt()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Vec<Vec<f64>> {
        (0..n).map(|i| vec![i as f64 / (n - 1) as f64 * 6.0]).collect()
    }

    #[test]
    fn interpolates_training_points_and_is_sure_of_them() {
        let features = grid(12);
        let targets: Vec<f64> = features.iter().map(|x| x[0].sin() * 3.0 + 10.0).collect();
        let gp = GaussianProcess::default();
        let model = gp.fit_with(&features, &targets, gp.select(&features, &targets));
        assert!(model.hyper().noise <= 1e-2, "an exact function needs little noise: {:?}", model.hyper());
        for (p, t) in model.predict(&features).iter().zip(&targets) {
            assert!((p.mean - t).abs() < 0.05, "{} vs {t}", p.mean);
            assert!(p.std.unwrap() < 0.1, "std {:?} at a training point", p.std);
        }
        // Between training points the fit is still close; far away it is unsure and returns to the mean.
        let between = model.predict(&[vec![2.5]])[0];
        assert!((between.mean - (2.5f64.sin() * 3.0 + 10.0)).abs() < 0.3, "{between:?}");
        let far = model.predict(&[vec![60.0]])[0];
        let mean = targets.iter().sum::<f64>() / targets.len() as f64;
        assert!((far.mean - mean).abs() < 0.1 && far.std.unwrap() > 1.5, "{far:?}");
        assert!(far.std.unwrap() > 10.0 * model.predict(&[vec![3.0]])[0].std.unwrap());
    }

    #[test]
    fn noisy_targets_choose_a_noise_term() {
        let features = grid(30);
        // A smooth trend plus a deterministic zig-zag the kernel cannot follow at the trend's scale.
        let targets: Vec<f64> =
            features.iter().enumerate().map(|(i, x)| x[0] + if i % 2 == 0 { 0.8 } else { -0.8 }).collect();
        let hyper = GaussianProcess::default().select(&features, &targets);
        assert!(hyper.noise >= 0.1, "{hyper:?}");
    }

    #[test]
    fn categorical_one_hot_features() {
        // Three decisions of four choices each; the score is additive in the choices with one interaction.
        let (mut train, mut test) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for cell in 0..64 {
            let choices = [cell % 4, cell / 4 % 4, cell / 16];
            let mut x = vec![0.0; 12];
            for (decision, &choice) in choices.iter().enumerate() {
                x[decision * 4 + choice] = 1.0;
            }
            let y = choices[0] as f64 * 2.0 + choices[1] as f64 - choices[2] as f64
                + if choices[0] == choices[2] { 1.5 } else { 0.0 };
            let set = if cell % 3 == 0 { &mut test } else { &mut train };
            set.0.push(x);
            set.1.push(y);
        }
        let model = GaussianProcess::default().fit(&train.0, &train.1);
        let predicted: Vec<f64> = model.predict(&test.0).iter().map(|p| p.mean).collect();
        let tau = crate::predictor::kendall_tau(&predicted, &test.1);
        assert!(tau > 0.8, "Kendall tau {tau} on held-out cells");
    }
}
