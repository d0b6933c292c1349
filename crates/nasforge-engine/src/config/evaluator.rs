//! How a study's trials are evaluated, as stored with it: a benchmark table, a training command, or
//! training in process with its data and fidelity; and the training flags every front end shares.

use std::path::{Path, PathBuf};

use nasforge_core::Metrics;
use nasforge_core::space::TaskShape;
use nasforge_eval::table::TableNoise;
use nasforge_train::saved_supernet::SupernetManifest;
use nasforge_train::supernet_evaluator::SupernetScoring;
use nasforge_train::zero_cost::{Proxy, ZeroCostSettings};
use nasforge_train::{Augmentation, NetworkScale, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result, invalid};

/// The evaluators, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum EvaluatorKind {
    /// Look architectures up in a benchmark table.
    Table,
    /// Run a training program per trial.
    Command,
    /// Train every architecture in process (burn) and score it on a validation split.
    Train,
    /// Score every architecture at initialisation, without training, by zero-cost proxies.
    ZeroCost,
    /// Score every architecture with the weights it inherits from a supernet saved by `nasforge supernet`.
    Supernet,
    /// Results come from the program that asks for trials and tells their metrics (ask and tell, Python).
    Caller,
}

impl EvaluatorKind {
    pub const ALL: [EvaluatorKind; 6] = [
        EvaluatorKind::Table,
        EvaluatorKind::Command,
        EvaluatorKind::Train,
        EvaluatorKind::ZeroCost,
        EvaluatorKind::Supernet,
        EvaluatorKind::Caller,
    ];

    pub fn from_name(name: &str) -> Result<EvaluatorKind> {
        match Self::ALL.into_iter().find(|kind| kind.name() == name) {
            Some(kind) => Ok(kind),
            None => {
                let names: Vec<&str> = Self::ALL.iter().map(|kind| kind.name()).collect();
                invalid!("unknown evaluator '{name}' (expected one of {})", names.join(", "))
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EvaluatorKind::Table => "table",
            EvaluatorKind::Command => "command",
            EvaluatorKind::Train => "train",
            EvaluatorKind::ZeroCost => "zero-cost",
            EvaluatorKind::Supernet => "supernet",
            EvaluatorKind::Caller => "caller",
        }
    }
}

/// How trials are evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EvaluatorConfig {
    /// Look architectures up in a benchmark table (CSV with an `arch` column).
    Table {
        table: PathBuf,
        /// Input and classes of the network whose parameters and FLOPs are added to the table's metrics.
        #[serde(default = "cifar10")]
        task: TaskShape,
        /// A table joined on `arch` (e.g. test accuracy beside a validation table) whose `report_metrics`
        /// are recorded with every trial as `report:NAME`, never searched on [default: `table` itself].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_table: Option<PathBuf>,
        /// Columns of the report table recorded with every trial as `report:NAME`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        report_metrics: Vec<String>,
        /// `"seeds"`: every metric with per-seed columns (`NAME_seed0`, …) is answered with one seed's
        /// value, drawn by the trial's seed (the first objective must have such columns).
        #[serde(default, skip_serializing_if = "TableNoise::is_none")]
        noise: TableNoise,
    },
    /// Run a training program per trial (see `nasforge_eval::command` for the protocol).
    Command {
        /// The shell command line, e.g. "python train.py".
        command: String,
        /// Where each trial's working directory is made [default: nasforge-trials/STUDY].
        #[serde(default)]
        workdir: Option<PathBuf>,
        /// Longest a trial may run, e.g. "30m".
        #[serde(default)]
        timeout: Option<String>,
        /// Settings handed to the program (epochs, data fraction…).
        #[serde(default)]
        fidelity: Metrics,
    },
    /// Train every architecture (burn, in process) and score it on a validation split of the training set.
    Train(TrainSettings),
    /// Score every architecture at initialisation by zero-cost proxies.
    #[serde(rename = "zero-cost")]
    ZeroCost(ZeroCostConfig),
    /// Score every architecture with the weights it inherits from a saved supernet.
    Supernet(SupernetConfig),
    /// The program that asks for trials evaluates them and tells their metrics (ask and tell).
    Caller,
}

fn cifar10() -> TaskShape {
    TaskShape::CIFAR10
}

impl EvaluatorConfig {
    pub fn kind(&self) -> EvaluatorKind {
        match self {
            EvaluatorConfig::Table { .. } => EvaluatorKind::Table,
            EvaluatorConfig::Command { .. } => EvaluatorKind::Command,
            EvaluatorConfig::Train(_) => EvaluatorKind::Train,
            EvaluatorConfig::ZeroCost(_) => EvaluatorKind::ZeroCost,
            EvaluatorConfig::Supernet(_) => EvaluatorKind::Supernet,
            EvaluatorConfig::Caller => EvaluatorKind::Caller,
        }
    }
}

/// The training evaluator: which data, how it is split, and how each candidate is trained (its fidelity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// fashion-mnist, mnist, cifar10, cifar100, folder (images in one sub-folder per class) or synthetic.
    pub dataset: String,
    /// Where the dataset's files are; machine-local (workers may say otherwise) [default: the dataset's usual
    /// place: /usr/share/datasets/fashion-mnist for fashion-mnist].
    pub data_dir: Option<PathBuf>,
    /// Share of the training set held out (seeded by the study's seed) to score candidates.
    pub validation_fraction: f64,
    /// How each candidate is trained: epochs, data fraction, optimiser, network scale…
    pub training: TrainConfig,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            dataset: nasforge_train::data::DEFAULT_DATASET.to_string(),
            data_dir: None,
            validation_fraction: 0.1,
            training: TrainConfig::default(),
        }
    }
}

impl TrainSettings {
    /// Refuses settings no training can run with, naming the field.
    pub fn check(&self) -> Result<()> {
        let t = &self.training;
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            invalid!("validation_fraction must be between 0 and 1 (exclusive), not {}", self.validation_fraction);
        }
        if t.epochs == 0 {
            invalid!("epochs must be at least 1");
        }
        if !(t.data_fraction > 0.0 && t.data_fraction <= 1.0) {
            invalid!("data_fraction must be in (0, 1], not {}", t.data_fraction);
        }
        if t.batch_size == 0 {
            invalid!("batch_size must be at least 1");
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            invalid!("learning_rate must be a positive number, not {}", t.learning_rate);
        }
        if t.scale.channels == Some(0) || t.scale.cells == Some(0) || t.resolution == Some(0) {
            invalid!("channels, cells and resolution must be at least 1");
        }
        Ok(())
    }
}

/// The supernet evaluator: which saved supernet, and how many images score a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupernetConfig {
    /// The directory `nasforge supernet -o DIR` wrote; machine-local (workers may say otherwise).
    pub path: PathBuf,
    /// Where the supernet's dataset lies on this machine [default: the dataset's usual place].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Validation images a candidate is scored on (the supernet's validation split).
    #[serde(default = "default_validation_images")]
    pub validation_images: usize,
    /// Training images a candidate's batch-norm statistics are re-estimated on (0: each validation batch's).
    #[serde(default = "default_recalibration_images")]
    pub recalibration_images: usize,
}

fn default_validation_images() -> usize {
    SupernetScoring::default().validation_images
}

fn default_recalibration_images() -> usize {
    SupernetScoring::default().recalibration_images
}

/// The supernet evaluator's flags (each `None` when not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupernetFlags {
    /// The saved supernet's directory.
    pub path: Option<PathBuf>,
    pub validation_images: Option<usize>,
    pub recalibration_images: Option<usize>,
}

impl SupernetConfig {
    /// The supernet saved in `path`, candidates scored on the default numbers of images.
    pub fn new(path: PathBuf) -> SupernetConfig {
        let scoring = SupernetScoring::default();
        SupernetConfig {
            path,
            data_dir: None,
            validation_images: scoring.validation_images,
            recalibration_images: scoring.recalibration_images,
        }
    }

    pub fn scoring(&self) -> SupernetScoring {
        SupernetScoring { validation_images: self.validation_images, recalibration_images: self.recalibration_images }
    }

    /// The saved supernet's description.
    pub fn manifest(&self) -> Result<SupernetManifest> {
        SupernetManifest::read(&self.path).map_err(EngineError::Invalid)
    }

    /// The training evaluator's settings of the supernet's data and network: where a cell it chose is
    /// retrained.
    pub fn train_settings(&self) -> Result<TrainSettings> {
        let manifest = self.manifest()?;
        let scale = manifest.scale();
        Ok(TrainSettings {
            dataset: manifest.dataset,
            data_dir: self.data_dir.clone(),
            validation_fraction: manifest.validation_fraction,
            training: TrainConfig { scale, ..manifest.training },
        })
    }
}

/// The zero-cost evaluator: which proxies, on which images, of which network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZeroCostConfig {
    /// The proxies, each a trial metric (`synflow`, `naswot`, `snip`, `grad_norm`, `fisher`, `jacob_cov`,
    /// `zico`, `params`, `flops`).
    pub proxies: Vec<Proxy>,
    /// The dataset whose training images the data-dependent proxies see; none: data-free proxies only, on
    /// networks for inputs of `task`'s shape.
    pub dataset: Option<String>,
    /// Where the dataset's files are (machine-local).
    pub data_dir: Option<PathBuf>,
    /// The input and classes of data-free networks [default: CIFAR-10's 3×32×32, 10 classes].
    pub task: TaskShape,
    /// Images in the proxies' minibatch.
    pub batch_size: usize,
    /// Seeds the minibatch: the same images for every architecture.
    pub batch_seed: u64,
    /// The network's width and cells [default: the space's].
    pub scale: NetworkScale,
}

impl Default for ZeroCostConfig {
    fn default() -> Self {
        let settings = ZeroCostSettings::default();
        ZeroCostConfig {
            proxies: settings.proxies,
            dataset: None,
            data_dir: None,
            task: TaskShape::CIFAR10,
            batch_size: settings.batch_size,
            batch_seed: settings.batch_seed,
            scale: settings.scale,
        }
    }
}

impl ZeroCostConfig {
    /// Refuses settings no proxy can run with, naming the field.
    pub fn check(&self) -> Result<()> {
        if self.proxies.is_empty() {
            invalid!("name at least one zero-cost proxy (--proxy synflow,naswot,…)");
        }
        if self.batch_size < 2 {
            invalid!("the zero-cost proxies' batch_size must be at least 2, not {}", self.batch_size);
        }
        if self.scale.channels == Some(0) || self.scale.cells == Some(0) {
            invalid!("channels and cells must be at least 1");
        }
        if self.dataset.is_none()
            && let Some(proxy) = self.proxies.iter().find(|p| p.needs_data())
        {
            invalid!(
                "zero-cost proxy `{}` needs images: name a dataset with --dataset (data-free: synflow, params, flops)",
                proxy.name()
            );
        }
        Ok(())
    }

    /// The metrics the zero-cost evaluator records.
    pub fn metrics(&self) -> Vec<String> {
        let mut metrics: Vec<String> = self.proxies.iter().map(|p| p.name().to_string()).collect();
        for extra in ["params", "flops", "model_bytes", "proxy_seconds"] {
            if !metrics.iter().any(|m| m == extra) {
                metrics.push(extra.to_string());
            }
        }
        metrics
    }
}

/// The training settings a front end may override (each `None` when not given): shared by searches with
/// the training evaluator and by final training.
#[derive(Debug, Clone, Default)]
pub struct TrainingFlags {
    pub dataset: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub epochs: Option<usize>,
    pub data_fraction: Option<f64>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
    pub channels: Option<usize>,
    pub cells: Option<usize>,
    pub resolution: Option<usize>,
    pub augment: bool,
}

impl TrainingFlags {
    /// `settings` with what the flags say, checked.
    pub fn apply(&self, mut settings: TrainSettings) -> Result<TrainSettings> {
        if let Some(dataset) = &self.dataset {
            settings.dataset = dataset.clone();
        }
        if self.data_dir.is_some() {
            settings.data_dir = self.data_dir.clone();
        }
        let training = &mut settings.training;
        if let Some(epochs) = self.epochs {
            training.epochs = epochs;
        }
        if let Some(fraction) = self.data_fraction {
            training.data_fraction = fraction;
        }
        if let Some(batch) = self.batch_size {
            training.batch_size = batch;
        }
        if let Some(rate) = self.learning_rate {
            training.learning_rate = rate;
        }
        if self.channels.is_some() {
            training.scale.channels = self.channels;
        }
        if self.cells.is_some() {
            training.scale.cells = self.cells;
        }
        if self.resolution.is_some() {
            training.resolution = self.resolution;
        }
        if self.augment {
            training.augmentation = Augmentation::STANDARD;
        }
        settings.check()?;
        Ok(settings)
    }
}

/// The NAS-Bench-201 table used when none is named: `$NASFORGE_NB201_TABLE`, else the shared benchmark
/// folder beside the checkout (`../shared/benchmarks/nb201/`), looked for from the working directory.
pub fn default_nb201_table() -> PathBuf {
    if let Some(path) = std::env::var_os("NASFORGE_NB201_TABLE") {
        return PathBuf::from(path);
    }
    let relative = Path::new("shared/benchmarks/nb201/nb201_test_accuracy.csv");
    for prefix in ["..", "."] {
        let candidate = Path::new(prefix).join(relative);
        if candidate.exists() {
            return candidate;
        }
    }
    Path::new("..").join(relative)
}
