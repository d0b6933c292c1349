//! The supernet evaluator: each candidate scored in milliseconds with the weights it inherits from a saved
//! supernet (SPOS), on the validation images the supernet never trained on, after its batch-norm statistics
//! are re-estimated through its own path on a few training images.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use nasforge_core::space::Nb201Space;
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter};
use nasforge_core::{Metrics, SearchSpace};

use crate::network::{Buildable, Nb201Supernet};
use crate::saved_supernet::{SavedSupernet, SupernetData, SupernetManifest};
use crate::spos::{Scoring, inherited_score};
use crate::train::size_metrics;

/// How many images score a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupernetScoring {
    /// Validation images a candidate is scored on (the first ones of the supernet's validation split).
    pub validation_images: usize,
    /// Training images its batch-norm statistics are re-estimated on (0: each validation batch's own).
    pub recalibration_images: usize,
}

impl Default for SupernetScoring {
    fn default() -> Self {
        SupernetScoring { validation_images: 2000, recalibration_images: 512 }
    }
}

/// Scores NAS-Bench-201 cells with a saved supernet's weights. Metrics: [`SupernetEvaluator::METRICS`].
pub struct SupernetEvaluator {
    supernet: Nb201Supernet,
    manifest: SupernetManifest,
    data: SupernetData,
    scoring: SupernetScoring,
    device: Device,
}

impl SupernetEvaluator {
    /// `val_accuracy` and `val_loss` with inherited weights, the architecture's `params`, `flops` and
    /// `model_bytes` at the supernet's scale, and `score_seconds`.
    pub const METRICS: &'static [&'static str] =
        &["val_accuracy", "val_loss", "params", "flops", "model_bytes", "score_seconds"];

    /// The evaluator of `saved` (its weights moved to a plain `device`), its data reloaded from `data_dir`
    /// (or the dataset's usual place).
    pub fn new(
        saved: SavedSupernet,
        data_dir: Option<&std::path::Path>,
        scoring: SupernetScoring,
        device: Device,
    ) -> Result<SupernetEvaluator, String> {
        if scoring.validation_images == 0 {
            return Err("the supernet evaluator needs at least 1 validation image".into());
        }
        let data = saved.manifest.data(data_dir)?;
        let supernet = saved.supernet.for_scoring().to_device(&device);
        Ok(SupernetEvaluator { supernet, manifest: saved.manifest, data, scoring, device })
    }
}

impl<S: Buildable> Evaluator<S> for SupernetEvaluator {
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let cost = space.network_cost(arch, &self.data.task, &self.manifest.scale());
        size_metrics(cost.params, cost.flops)
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, _reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let started = Instant::now();
        let arch = Nb201Space.parse(request.printed).map_err(|e| {
            EvalError::Fatal(format!("the supernet scores nb201 cells; `{}` is not one: {e}", request.printed))
        })?;
        let scoring = Scoring {
            validation: &self.data.validation,
            validation_images: self.scoring.validation_images,
            train: &self.data.train_split,
            recalibration_images: self.scoring.recalibration_images,
            batcher: &self.data.batcher,
        };
        let score = inherited_score(&self.supernet, &arch, &scoring, &self.device).map_err(EvalError::Failed)?;
        let mut metrics = <Self as Evaluator<S>>::size_metrics(self, request.space, request.arch);
        metrics.insert("val_accuracy".into(), score.accuracy);
        metrics.insert("val_loss".into(), score.loss);
        metrics.insert("score_seconds".into(), started.elapsed().as_secs_f64());
        Ok(metrics)
    }
}
