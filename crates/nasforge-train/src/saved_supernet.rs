//! A trained supernet on disk, to serve any number of studies: a directory holding `supernet.json` (what the
//! supernet is: its space, network, data and how it was trained) and `weights.bpk` (burn's record of its
//! weights). The data it names is reloaded, split as for its training, to score candidates on the
//! validation images its weights never trained on.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use nasforge_core::space::{Nb201Network, TaskShape};
use serde::{Deserialize, Serialize};

use crate::data::{Batcher, Dataset, load_named};
use crate::network::{Nb201Supernet, NetworkScale};
use crate::train::{TrainConfig, task_of};

/// The description file's name inside a saved supernet's directory.
pub const MANIFEST_FILE: &str = "supernet.json";
/// The weights' file name inside a saved supernet's directory.
pub const WEIGHTS_FILE: &str = "weights.bpk";
/// The version of the directory's layout this build writes and reads.
pub const FORMAT: u32 = 1;

/// What a saved supernet is and how it was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupernetManifest {
    pub format: u32,
    /// The search space whose architectures are paths through it (`nb201`).
    pub space: String,
    /// Its network: width, cells per stage, input shape and classes.
    pub network: Nb201Network,
    /// The dataset it was trained on, by name (`nasforge_train::data::load_named`).
    pub dataset: String,
    /// The share of the training set held out for validation, split by `seed`.
    pub validation_fraction: f64,
    pub seed: u64,
    /// Epochs, batch, optimiser, learning rate, data fraction and resolution of its training.
    pub training: TrainConfig,
    /// Optimisation steps taken, one path each.
    pub steps: usize,
    pub train_seconds: f64,
    /// Mean training loss of the first and the last tenth of the steps.
    pub first_loss: f64,
    pub last_loss: f64,
}

/// The data of a supernet: its training split (and the subset it trained on), its validation split, and
/// how a batch is made.
#[derive(Debug, Clone)]
pub struct SupernetData {
    /// The whole training split (the normalisation's source).
    pub train_split: Dataset,
    /// The share of the training split it trains on (`training.data_fraction`).
    pub train: Dataset,
    pub validation: Dataset,
    pub batcher: Batcher,
    pub task: TaskShape,
}

impl SupernetData {
    /// Loads `dataset` (from `data_dir`, or its usual place) and splits it as a supernet of `seed` is.
    pub fn load(
        dataset: &str,
        data_dir: Option<&Path>,
        validation_fraction: f64,
        config: &TrainConfig,
        seed: u64,
    ) -> Result<SupernetData, String> {
        let source = load_named(dataset, data_dir).map_err(|e| e.to_string())?;
        let (train_split, validation) = source.train.split(validation_fraction, seed);
        let train = train_split.subset(config.data_fraction, seed);
        let batcher = Batcher {
            normalization: train_split.channel_stats(),
            augmentation: config.augmentation,
            resolution: config.resolution,
        };
        let task = task_of(&train_split, config.resolution);
        Ok(SupernetData { train_split, train, validation, batcher, task })
    }
}

impl SupernetManifest {
    /// The input and classes its network was built for.
    pub fn task(&self) -> TaskShape {
        let network = &self.network;
        TaskShape { channels: network.input_channels, size: network.input_size, classes: network.classes }
    }

    /// Its network's width and cells per stage.
    pub fn scale(&self) -> NetworkScale {
        NetworkScale { channels: Some(self.network.channels), cells: Some(self.network.cells_per_stage) }
    }

    /// The data this supernet was trained on, split as it was (from `data_dir` when given). An error when
    /// the data found there is not of the shape the supernet was built for.
    pub fn data(&self, data_dir: Option<&Path>) -> Result<SupernetData, String> {
        let data = SupernetData::load(&self.dataset, data_dir, self.validation_fraction, &self.training, self.seed)?;
        let built_for = self.task();
        if data.task != built_for {
            return Err(format!(
                "the supernet was trained on {} images of {}x{}x{} in {} classes; the data found is {}x{}x{} in {} \
                 classes",
                self.dataset,
                built_for.channels,
                built_for.size,
                built_for.size,
                built_for.classes,
                data.task.channels,
                data.task.size,
                data.task.size,
                data.task.classes
            ));
        }
        Ok(data)
    }
}

/// A supernet and its description.
#[derive(Debug)]
pub struct SavedSupernet {
    pub manifest: SupernetManifest,
    pub supernet: Nb201Supernet,
}

impl SavedSupernet {
    /// Writes the directory `dir` (made if missing; its two files replaced).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let weights = dir.join(WEIGHTS_FILE);
        self.supernet.clone().save_file(&weights).map_err(|e| format!("writing {}: {e:?}", weights.display()))?;
        let manifest = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(&self.manifest).expect("a manifest serialises");
        std::fs::write(&manifest, text + "\n").map_err(|e| format!("writing {}: {e}", manifest.display()))
    }

    /// Reads the directory `dir` onto `device`. Errors name the file: a directory without a description, one
    /// that does not parse (with its line), another format or space, weights that do not fit the network
    /// described.
    pub fn load(dir: &Path, device: &Device) -> Result<SavedSupernet, String> {
        let manifest = SupernetManifest::read(dir)?;
        let weights: PathBuf = dir.join(WEIGHTS_FILE);
        let supernet = Nb201Supernet::new(&manifest.network, device)
            .try_load_file(&weights)
            .map_err(|e| format!("{}: {e:?}", weights.display()))?;
        Ok(SavedSupernet { manifest, supernet })
    }
}

impl SupernetManifest {
    /// The description in the saved supernet directory `dir`, checked as [`SavedSupernet::load`] says.
    pub fn read(dir: &Path) -> Result<SupernetManifest, String> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!("{}: {e} (a supernet is a directory written by `nasforge supernet -o DIR`)", path.display())
        })?;
        let manifest: SupernetManifest = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if manifest.format != FORMAT {
            return Err(format!("{}: format {} (this build reads format {FORMAT})", path.display(), manifest.format));
        }
        if manifest.space != "nb201" {
            return Err(format!(
                "{}: a supernet of space `{}`; only nb201 supernets exist so far",
                path.display(),
                manifest.space
            ));
        }
        Ok(manifest)
    }
}
