//! `nasforge supernet`: an SPOS supernet trained once on a dataset and saved, for any number of studies to
//! search with the supernet evaluator (`--evaluator supernet --supernet DIR`).

use std::path::{Path, PathBuf};

use nasforge_core::space::Nb201Network;
use nasforge_train::DeviceChoice;
use nasforge_train::memory::{available_bytes, check_fits};
use nasforge_train::network::{Nb201Supernet, nb201_network};
use nasforge_train::saved_supernet::{FORMAT, MANIFEST_FILE, SavedSupernet, SupernetData, SupernetManifest};
use nasforge_train::spos::{PathSampler, SposRun, UniformPaths, train_supernet};

use crate::config::{TrainSettings, TrainingFlags};
use crate::error::{EngineError, Result, invalid};
use crate::oneshot_state::remove_if_it_holds_only;

/// What `nasforge supernet` asks for.
#[derive(Debug, Clone)]
pub struct SupernetRequest {
    /// The data, training and network (channels, cells), as the training flags of `search` give them.
    pub training: TrainingFlags,
    /// The directory to write (it must not hold a supernet already).
    pub output: PathBuf,
    pub device: DeviceChoice,
    /// Seeds the validation split, the initial weights and the paths.
    pub seed: u64,
}

/// The data of a supernet trained with `settings` and `seed`: the dataset loaded and split.
pub(crate) fn supernet_data(settings: &TrainSettings, seed: u64) -> Result<SupernetData> {
    let TrainSettings { dataset, data_dir, validation_fraction, training } = settings;
    SupernetData::load(dataset, data_dir.as_deref(), *validation_fraction, training, seed).map_err(EngineError::invalid)
}

/// A supernet trained on `data` with `settings`' training, each step on a path from `paths` (SPOS: uniform;
/// ENAS: its controller's), on `device` (seeded by `seed`); with `checkpoint`, saved there after every epoch
/// and resumed from there (see `train_supernet`). `on_epoch` sees each finished epoch, the number of epochs
/// and the epoch's mean loss.
pub(crate) fn train_shared_supernet(
    settings: &TrainSettings,
    data: &SupernetData,
    device: DeviceChoice,
    seed: u64,
    paths: &mut dyn PathSampler,
    checkpoint: Option<&Path>,
    on_epoch: &mut dyn FnMut(usize, usize, f64),
) -> Result<(SposRun, SupernetManifest)> {
    let device = device.device().map_err(EngineError::invalid)?;
    device.seed(seed);
    let network = nb201_network(&data.task, &settings.training.scale);
    check_supernet_memory(&network, settings.training.batch_size, false)?;
    let supernet = Nb201Supernet::new(&network, &device.clone().autodiff());
    let epochs = settings.training.epochs;
    let mut report = |epoch: usize, loss: f64| {
        on_epoch(epoch, epochs, loss);
        Ok(())
    };
    let run = train_supernet(
        supernet,
        &data.train,
        &data.batcher,
        &settings.training,
        &device,
        seed,
        paths,
        checkpoint,
        &mut report,
    )
    .map_err(|e| EngineError::invalid(format!("supernet training: {e}")))?;
    let manifest = SupernetManifest {
        format: FORMAT,
        space: "nb201".into(),
        network,
        dataset: settings.dataset.clone(),
        validation_fraction: settings.validation_fraction,
        seed,
        training: settings.training.clone(),
        steps: run.steps,
        train_seconds: run.train_seconds,
        first_loss: run.first_loss,
        last_loss: run.last_loss,
    };
    Ok((run, manifest))
}

/// Removes what a training that failed before its first epoch ended wrote (the settings it was asked for),
/// and the output directory when that leaves it empty, so that a corrected command is not refused.
fn forget_if_unstarted(output: &Path, checkpoint: &Path) {
    if remove_if_it_holds_only(checkpoint, SETTINGS_FILE) {
        // Only when empty: the directory may be the user's.
        let _ = std::fs::remove_dir(output);
    }
}

/// Refuses, before it is built, a supernet of `network` whose training on batches of `batch` (each step on
/// one path, or with `every_operation` on all of them) would not fit in the memory this machine has
/// available ([`Nb201Supernet::training_bytes`]).
pub(crate) fn check_supernet_memory(network: &Nb201Network, batch: usize, every_operation: bool) -> Result<()> {
    let needed = Nb201Supernet::training_bytes(network, batch, every_operation);
    check_fits("training this supernet", needed, available_bytes())
        .map_err(|e| EngineError::invalid(format!("{e}: lower --channels, --cells or --batch-size")))
}

/// Where an unfinished training keeps its state inside the output directory.
const CHECKPOINT_DIR: &str = "checkpoint";
/// What the unfinished training was asked for, to refuse resuming it with other settings.
const SETTINGS_FILE: &str = "settings.json";

/// Trains the supernet `request` describes and saves it; returns its description. The training's state is
/// kept in `OUTPUT/checkpoint` after every epoch: the same command continues a killed run from its last
/// epoch (and refuses to continue it with other settings). `on_epoch` sees each finished epoch, the number
/// of epochs and the epoch's mean loss.
pub fn train_saved_supernet(
    request: &SupernetRequest,
    on_epoch: &mut dyn FnMut(usize, usize, f64),
) -> Result<SupernetManifest> {
    let manifest_path = request.output.join(MANIFEST_FILE);
    if manifest_path.exists() {
        invalid!(
            "{} already holds a supernet ({}); choose another directory or remove it",
            request.output.display(),
            manifest_path.display()
        );
    }
    let settings = request.training.apply(TrainSettings::default())?;
    settings.check()?;
    let checkpoint = request.output.join(CHECKPOINT_DIR);
    // A directory that cannot be written is found before the training, not after it.
    std::fs::create_dir_all(&checkpoint)
        .map_err(|e| EngineError::invalid(format!("creating {}: {e}", checkpoint.display())))?;
    let asked = serde_json::json!({ "settings": settings, "seed": request.seed });
    let settings_path = checkpoint.join(SETTINGS_FILE);
    match std::fs::read_to_string(&settings_path) {
        Ok(text) if serde_json::from_str::<serde_json::Value>(&text).ok().as_ref() != Some(&asked) => invalid!(
            "{} holds an unfinished supernet training with other settings ({}); run it with those, or remove {} \
             to start over",
            request.output.display(),
            settings_path.display(),
            checkpoint.display()
        ),
        Ok(_) => {}
        Err(_) => std::fs::write(&settings_path, asked.to_string())
            .map_err(|e| EngineError::invalid(format!("writing {}: {e}", settings_path.display())))?,
    }
    let trained = supernet_data(&settings, request.seed).and_then(|data| {
        let seed = request.seed;
        train_shared_supernet(&settings, &data, request.device, seed, &mut UniformPaths, Some(&checkpoint), on_epoch)
    });
    let (run, manifest) = match trained {
        Ok(trained) => trained,
        Err(error) => {
            forget_if_unstarted(&request.output, &checkpoint);
            return Err(error);
        }
    };
    SavedSupernet { manifest: manifest.clone(), supernet: run.supernet }
        .save(&request.output)
        .map_err(EngineError::invalid)?;
    std::fs::remove_dir_all(&checkpoint)
        .map_err(|e| EngineError::invalid(format!("removing {}: {e}", checkpoint.display())))?;
    Ok(manifest)
}
