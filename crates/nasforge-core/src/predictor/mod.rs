//! Performance predictors: models fitted on evaluated architectures (a feature vector each, usually the
//! space's one-hot or path encoding) that predict the score of unevaluated ones, with an uncertainty where
//! the model has one. Model-based strategies (`bo`, `bananas`, `predictor`) rank candidates with them;
//! [`evaluation`] measures how well they rank held-out architectures (Kendall τ, Spearman ρ).
//!
//! Every predictor is deterministic: the same features, targets and settings (seed included) give the same
//! model and the same predictions.

pub mod evaluation;
mod gp;
mod linalg;
mod mlp;
mod ridge;
mod transform;

use serde::{Deserialize, Serialize};

pub use evaluation::{EvaluationRow, EvaluationSettings, evaluate, kendall_tau, ranks, spearman_rho};
pub use gp::{GaussianProcess, GpHyper, GpModel};
pub use mlp::{MlpEnsemble, MlpModel};
pub use ridge::{Ridge, RidgeModel};
pub use transform::{copula, normal_cdf, normal_quantile};

/// A model's prediction for one architecture: the mean and, for models that have one, the standard
/// deviation (a Gaussian process's posterior deviation, an ensemble's spread across members).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub mean: f64,
    pub std: Option<f64>,
}

/// A model family with its settings: fits a model on training features (one row per architecture, all
/// of one length) and targets (higher is better, any scale: predictors standardise them).
pub trait Predictor: Send + Sync {
    fn fit(&self, features: &[Vec<f64>], targets: &[f64]) -> Box<dyn Model>;
}

/// A fitted model.
pub trait Model: Send + Sync {
    /// Predictions for rows of features, in order.
    fn predict(&self, features: &[Vec<f64>]) -> Vec<Prediction>;
}

/// The predictors a configuration can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Gaussian process, squared-exponential kernel, hyper-parameters by marginal likelihood.
    Gp,
    /// Ensemble of small multi-layer perceptrons (BANANAS' predictor).
    Mlp,
    /// Ridge regression, regularisation by leave-one-out error.
    Ridge,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::Gp, ModelKind::Mlp, ModelKind::Ridge];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Gp => "gp",
            ModelKind::Mlp => "mlp",
            ModelKind::Ridge => "ridge",
        }
    }

    pub fn from_name(name: &str) -> Result<ModelKind, String> {
        ModelKind::ALL.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            let names: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown predictor '{name}' (expected one of {})", names.join(", "))
        })
    }

    /// The predictor with its default settings; `seed` seeds the models that draw random numbers.
    pub fn predictor(self, seed: u64) -> Box<dyn Predictor> {
        match self {
            ModelKind::Gp => Box::new(GaussianProcess::default()),
            ModelKind::Mlp => Box::new(MlpEnsemble { seed, ..MlpEnsemble::default() }),
            ModelKind::Ridge => Box::new(Ridge::default()),
        }
    }
}

/// Targets shifted and scaled to mean 0 and deviation 1 (deviation 1 when they are all equal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Standardiser {
    pub mean: f64,
    pub std: f64,
}

impl Standardiser {
    pub fn of(values: &[f64]) -> Standardiser {
        if values.is_empty() {
            return Standardiser { mean: 0.0, std: 1.0 };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let std = if variance.sqrt() > 1e-12 * mean.abs().max(1.0) { variance.sqrt() } else { 1.0 };
        Standardiser { mean, std }
    }

    pub fn apply(&self, values: &[f64]) -> Vec<f64> {
        values.iter().map(|v| (v - self.mean) / self.std).collect()
    }
}

/// Rows of features as one row-major buffer; panics when the rows differ in length.
pub(crate) fn flatten(features: &[Vec<f64>]) -> (Vec<f64>, usize) {
    let width = features.first().map_or(0, Vec::len);
    let mut flat = Vec::with_capacity(features.len() * width);
    for row in features {
        assert_eq!(row.len(), width, "predictor features must all have the same length");
        flat.extend_from_slice(row);
    }
    (flat, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_kinds_parse_and_fit() {
        assert_eq!(ModelKind::from_name("mlp"), Ok(ModelKind::Mlp));
        assert!(ModelKind::from_name("svm").unwrap_err().contains("gp, mlp, ridge"));
        let features: Vec<Vec<f64>> = (0..12).map(|i| vec![i as f64 / 12.0, (i % 3) as f64]).collect();
        let targets: Vec<f64> = features.iter().map(|x| x[0] * 2.0 + x[1]).collect();
        for kind in ModelKind::ALL {
            let a = kind.predictor(3).fit(&features, &targets).predict(&features);
            let b = kind.predictor(3).fit(&features, &targets).predict(&features);
            assert_eq!(a, b, "{} is deterministic", kind.name());
            assert!(a.iter().all(|p| p.mean.is_finite()), "{}", kind.name());
        }
    }
}
