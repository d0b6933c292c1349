//! Final training: one architecture (a string, a file, or a study's best or numbered trial) trained from
//! scratch at full fidelity, scored once on the test set (the only place the test set is used).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use nasforge_train::{Buildable, DeviceChoice, EpochStats, FinalResult, TrainConfig, train_final};

use crate::chosen_arch::{ChosenArch, choose_arch};
use crate::config::{EvaluatorConfig, TrainSettings, TrainingFlags};
use crate::error::{EngineError, Result, invalid};
use crate::registry::{SpaceKind, SpaceTask, with_space};
use crate::study::StudyHandle;

/// What to train and how.
#[derive(Debug, Clone, Default)]
pub struct FinalTrainingRequest {
    /// The architecture: its string, a file holding its string or JSON, or, with `study`, `best` or a
    /// trial id.
    pub arch: String,
    /// The space of `arch` [default: the study's, else nb201].
    pub space: Option<SpaceKind>,
    /// The study (storage URL, name) whose trial is trained and whose training settings are the start.
    pub study: Option<(String, String)>,
    /// Overrides of the training settings; the data fraction is 1 unless said otherwise.
    pub training: TrainingFlags,
    pub device: DeviceChoice,
    /// Seed of the initial weights and data order.
    pub seed: u64,
    /// Where the weights go [default: nasforge-weights/STUDY-trialID.bpk for a study's trial, else
    /// nasforge-weights/SPACE-HASH.bpk, the hash naming the network].
    pub weights: Option<PathBuf>,
    /// Where the training keeps its state after every epoch, so that the same request continues a killed
    /// run; the caller removes it once the result is kept. The caller also makes sure the directory holds the
    /// state of this very request.
    pub checkpoint: Option<PathBuf>,
}

/// A finished final training.
#[derive(Debug, Clone)]
pub struct FinalTraining {
    pub space: &'static str,
    /// The architecture's printed form.
    pub arch: String,
    pub dataset: String,
    /// The study's trial that was trained, when the architecture came from a study.
    pub trial_id: Option<u64>,
    pub result: FinalResult,
}

impl FinalTraining {
    /// `{"space", "arch", "dataset", "trial", "test_accuracy", "test_loss", "params", "flops",
    /// "model_bytes", "latency_ms", "train_seconds", "epochs", "weights"}`: what `train --json` prints and
    /// what is stored with the study.
    pub fn to_json(&self) -> serde_json::Value {
        let r = &self.result;
        serde_json::json!({
            "space": self.space,
            "arch": self.arch,
            "dataset": self.dataset,
            "trial": self.trial_id,
            "test_accuracy": r.test_accuracy,
            "test_loss": r.test_loss,
            "params": r.params,
            "flops": r.flops,
            "model_bytes": r.model_bytes,
            "latency_ms": r.latency_ms,
            "train_seconds": r.train_seconds,
            "epochs": r.epochs,
            "weights": r.weights,
        })
    }
}

/// Trains the architecture `request` names; `on_epoch` sees every epoch and the number of epochs (its
/// test accuracy is shown, never used to choose anything).
pub fn train_final_architecture(
    request: &FinalTrainingRequest,
    on_epoch: &mut dyn FnMut(&EpochStats, usize),
) -> Result<FinalTraining> {
    let handle = match &request.study {
        Some((url, name)) => Some(StudyHandle::open(url, name)?),
        None => None,
    };
    let study = handle.as_ref().map(StudyHandle::results).transpose()?;
    let ChosenArch { space, arch, trial_id } = choose_arch(study.as_ref(), request.space, &request.arch)?;
    let base = match study.as_ref().map(|s| &s.config.evaluator) {
        Some(EvaluatorConfig::Train(settings)) => settings.clone(),
        Some(EvaluatorConfig::Supernet(config)) => config.train_settings()?,
        _ => TrainSettings::default(),
    };
    let full_data = TrainSettings {
        training: TrainConfig { data_fraction: request.training.data_fraction.unwrap_or(1.0), ..base.training.clone() },
        ..base
    };
    let settings = request.training.apply(full_data)?;
    let weights = match (&request.weights, &handle, trial_id) {
        (Some(path), ..) => Some(path.clone()),
        (None, Some(handle), Some(id)) => Some(study_weights_path(handle.name(), id)),
        _ => None,
    };
    let trained = with_space(&space, Training { request, arch, settings, weights, trial_id, on_epoch })?;
    if let (Some(handle), Some(id)) = (&handle, trial_id) {
        handle.record_final_training(id, &trained.to_json())?;
    }
    Ok(trained)
}

/// `nasforge-weights/STUDY-trialID.bpk`, with the study's name made safe for a file name.
fn study_weights_path(study: &str, trial: u64) -> PathBuf {
    let safe: String =
        study.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    PathBuf::from("nasforge-weights").join(format!("{safe}-trial{trial}.bpk"))
}

struct Training<'a> {
    request: &'a FinalTrainingRequest,
    arch: String,
    settings: TrainSettings,
    /// Where the weights go; `None` for the network's default path.
    weights: Option<PathBuf>,
    trial_id: Option<u64>,
    on_epoch: &'a mut dyn FnMut(&EpochStats, usize),
}

impl SpaceTask for Training<'_> {
    type Output = Result<FinalTraining>;

    fn run<S: Buildable>(self, space: S) -> Result<FinalTraining> {
        let Training { request, arch, settings, weights, trial_id, on_epoch } = self;
        let parsed = if arch.starts_with('{') { space.from_json(&arch) } else { space.parse(&arch) };
        let parsed =
            parsed.map_err(|e| EngineError::invalid(format!("--arch is not a {} architecture: {e}", S::NAME)))?;
        if space.computes_nothing(&parsed) {
            invalid!(
                "{} computes nothing (no path from the input to the output): training cannot beat the class \
                 frequencies, so it is not trained",
                space.print(&parsed)
            );
        }
        let weights = weights.unwrap_or_else(|| default_weights_path(S::NAME, &space.canonical(&parsed)));
        let source = nasforge_train::data::load_named(&settings.dataset, settings.data_dir.as_deref())?;
        let config = TrainConfig { device: request.device, ..settings.training };
        let epochs = config.epochs;
        let mut each_epoch = |stats: &EpochStats| on_epoch(stats, epochs);
        let checkpoint = request.checkpoint.as_deref();
        let result =
            train_final(&space, &parsed, &source, &config, request.seed, Some(&weights), checkpoint, &mut each_epoch)
                .map_err(|e| EngineError::Training(e.to_string()))?;
        Ok(FinalTraining { space: S::NAME, arch: space.print(&parsed), dataset: settings.dataset, trial_id, result })
    }
}

/// `nasforge-weights/SPACE-HASH.bpk`, the hash naming the canonical architecture.
fn default_weights_path(space: &str, canonical: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    PathBuf::from("nasforge-weights").join(format!("{space}-{:016x}.bpk", hasher.finish()))
}
