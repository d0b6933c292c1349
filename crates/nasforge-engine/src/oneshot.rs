//! One-shot search (`nasforge oneshot`): a supernet trained once, candidate architectures scored with the
//! weights they inherit from it (milliseconds each instead of a training each), and the best candidate
//! retrained stand-alone and scored once on the test set, as the main job ends. SPOS on NAS-Bench-201 cells
//! is the method built so far (`nasforge_train::spos`).

use std::collections::HashSet;
use std::time::Instant;

use nasforge_core::SearchSpace;
use nasforge_core::space::Nb201Space;
use nasforge_train::data::{SplitMix64, load_named};
use nasforge_train::network::{Nb201Supernet, nb201_network};
use nasforge_train::spos::{inherited_accuracy, train_supernet, uniform_path};
use nasforge_train::{Batcher, DeviceChoice, EpochStats, task_of};
use serde_json::{Value, json};

use crate::config::{TrainSettings, TrainingFlags};
use crate::error::{EngineError, Result, invalid};
use crate::final_training::{FinalTraining, FinalTrainingRequest, train_final_architecture};
use crate::registry::SpaceKind;

/// What `nasforge oneshot` asks for.
#[derive(Debug, Clone)]
pub struct OneShotRequest {
    /// The supernet's data and training (dataset, epochs, data fraction, batch, learning rate) and its network
    /// (channels, cells), as the training flags of `search` give them.
    pub training: TrainingFlags,
    /// Distinct architectures drawn uniformly and scored with inherited weights.
    pub candidates: usize,
    /// Validation images each candidate is scored on (the first ones of the validation split).
    pub validation_images: usize,
    /// The stand-alone training of the chosen architecture (the data fraction is 1 unless said otherwise).
    pub final_training: TrainingFlags,
    pub device: DeviceChoice,
    pub seed: u64,
}

/// A finished one-shot search.
#[derive(Debug, Clone)]
pub struct OneShotSearch {
    /// The chosen architecture's printed form.
    pub arch: String,
    /// Its accuracy on the scoring images with inherited weights.
    pub inherited_accuracy: f64,
    pub candidates: usize,
    pub supernet_steps: usize,
    pub supernet_seconds: f64,
    pub scoring_seconds: f64,
    /// Supernet training and scoring: the search, without the final training.
    pub search_seconds: f64,
    pub final_training: FinalTraining,
}

impl OneShotSearch {
    /// `{"method", "space", "arch", "inherited_accuracy", "candidates", "supernet_steps", "supernet_seconds",
    /// "scoring_seconds", "search_seconds", "test_accuracy", "final": {what `train --json` prints}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "method": "spos",
            "space": "nb201",
            "arch": self.arch,
            "inherited_accuracy": self.inherited_accuracy,
            "candidates": self.candidates,
            "supernet_steps": self.supernet_steps,
            "supernet_seconds": self.supernet_seconds,
            "scoring_seconds": self.scoring_seconds,
            "search_seconds": self.search_seconds,
            "test_accuracy": self.final_training.result.test_accuracy,
            "final": self.final_training.to_json(),
        })
    }
}

/// Runs the one-shot search `request` describes; `on_epoch` sees the final training's epochs.
pub fn one_shot_search(
    request: &OneShotRequest,
    on_epoch: &mut dyn FnMut(&EpochStats, usize),
) -> Result<OneShotSearch> {
    if request.candidates == 0 || request.validation_images == 0 {
        invalid!("--candidates and --validation-images must be at least 1");
    }
    let settings = request.training.apply(TrainSettings::default())?;
    let started = Instant::now();
    let source = load_named(&settings.dataset, settings.data_dir.as_deref())?;
    let (train_split, validation) = source.train.split(settings.validation_fraction, request.seed);
    let train = train_split.subset(settings.training.data_fraction, request.seed);
    let config = &settings.training;
    let batcher = Batcher {
        normalization: train_split.channel_stats(),
        augmentation: config.augmentation,
        resolution: config.resolution,
    };
    let device = request.device.device().map_err(EngineError::invalid)?;
    device.seed(request.seed);
    let network = nb201_network(&task_of(&train_split, config.resolution), &config.scale);
    let supernet = Nb201Supernet::new(&network, &device.clone().autodiff());
    let run = train_supernet(supernet, &train, &batcher, config, &device, request.seed)
        .map_err(|e| EngineError::invalid(format!("supernet training: {e}")))?;

    let scoring = Instant::now();
    let space = Nb201Space;
    let mut rng = SplitMix64::new(request.seed ^ 0xCA4D);
    let mut seen = HashSet::new();
    let mut best: Option<(f64, String)> = None;
    let mut candidates = 0;
    // The space has 15,625 cells (6,466 distinct): stop drawing when new ones stop coming.
    for _ in 0..request.candidates.saturating_mul(20) {
        if candidates == request.candidates {
            break;
        }
        let arch = uniform_path(&mut rng);
        if space.computes_nothing(&arch) || !seen.insert(space.canonical(&arch)) {
            continue;
        }
        candidates += 1;
        let accuracy =
            inherited_accuracy(&run.supernet, &arch, &validation, &batcher, request.validation_images, &device);
        if best.as_ref().is_none_or(|(b, _)| accuracy > *b) {
            best = Some((accuracy, space.print(&arch)));
        }
    }
    let (inherited, arch) = best.ok_or_else(|| EngineError::invalid("no candidate was scored"))?;
    let scoring_seconds = scoring.elapsed().as_secs_f64();
    let search_seconds = started.elapsed().as_secs_f64();

    let final_request = FinalTrainingRequest {
        arch: arch.clone(),
        space: Some(SpaceKind::Nb201),
        study: None,
        training: TrainingFlags {
            dataset: Some(settings.dataset.clone()),
            data_dir: settings.data_dir.clone(),
            ..request.final_training.clone()
        },
        device: request.device,
        seed: request.seed,
        weights: None,
    };
    let final_training = train_final_architecture(&final_request, on_epoch)?;
    Ok(OneShotSearch {
        arch,
        inherited_accuracy: inherited,
        candidates,
        supernet_steps: run.steps,
        supernet_seconds: run.train_seconds,
        scoring_seconds,
        search_seconds,
        final_training,
    })
}
