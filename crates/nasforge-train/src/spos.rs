//! Single-path one-shot search (SPOS, Guo et al. 2020) on the NAS-Bench-201 supernet: the supernet trained
//! on one uniformly sampled path per step (each step updates only the weights of the operations its path
//! runs), then any architecture scored in milliseconds with the weights it inherits.
//!
//! Batch norm: one running mean per layer would mix the statistics of every path, so a candidate is scored
//! with statistics re-estimated through its own path on a few training batches (SPOS's recalibration), or
//! with the statistics of each batch it sees, as NAS-Bench-201's own supernets do ([`Scoring`]).

use std::path::Path;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasforge_core::space::nb201::EDGES;
use nasforge_core::space::{Nb201Arch, Nb201Op};
use nasforge_core::study::EvalError;

use crate::checkpoint;
use crate::data::{Augmentation, Batcher, Dataset, SplitMix64};
use crate::network::{BatchNormStatistics, Nb201Supernet};
use crate::train::{TrainConfig, evaluate_logits, learning_rate, optimizer};

/// A trained supernet and how its training went.
#[derive(Debug)]
pub struct SposRun {
    pub supernet: Nb201Supernet,
    pub steps: usize,
    /// Mean training loss of the first and the last tenth of the steps.
    pub first_loss: f64,
    pub last_loss: f64,
    pub train_seconds: f64,
}

/// A uniformly random architecture: each edge's operation drawn from all five.
pub fn uniform_path(rng: &mut SplitMix64) -> Nb201Arch {
    let mut arch = Nb201Arch { ops: [Nb201Op::None; EDGES] };
    for op in &mut arch.ops {
        *op = Nb201Op::ALL[rng.below(Nb201Op::ALL.len())];
    }
    arch
}

/// Where each training step's path comes from: SPOS draws it uniformly ([`UniformPaths`]), ENAS from a
/// controller it trains between epochs ([`crate::enas::EnasPaths`]).
pub trait PathSampler {
    /// The path of the next training step.
    fn path(&mut self, rng: &mut SplitMix64) -> Nb201Arch;

    /// Runs after each epoch's steps, with the supernet as trained so far (ENAS trains its controller here).
    fn after_epoch(&mut self, _supernet: &Nb201Supernet) -> Result<(), EvalError> {
        Ok(())
    }

    /// What a checkpoint keeps of the sampler…
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// …and how a resumed training restores it.
    fn restore(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}

/// SPOS's paths: each drawn by [`uniform_path`].
pub struct UniformPaths;

impl PathSampler for UniformPaths {
    fn path(&mut self, rng: &mut SplitMix64) -> Nb201Arch {
        uniform_path(rng)
    }
}

/// Trains `supernet` (built on the autodiff version of `device`) on `train` for `config.epochs`, each step on
/// one path drawn by `paths`, with `config`'s optimiser, batch size and learning-rate schedule. A NaN or
/// infinite loss ends the run as [`EvalError::Failed`].
///
/// With `checkpoint`, the training saves its whole state there after every epoch (weights, optimiser,
/// generator, data order, losses, the sampler's state) and, when the directory holds a state already, resumes from it: a killed
/// run continues from its last finished epoch and ends where an uninterrupted one does. The caller keeps the
/// directory for one training (same supernet, data, settings and seed). `on_epoch` sees each finished epoch
/// (its number from 1, its mean loss) once its state is saved; an error from it ends the training with it.
#[allow(clippy::too_many_arguments)]
pub fn train_supernet(
    supernet: Nb201Supernet,
    train: &Dataset,
    batcher: &Batcher,
    config: &TrainConfig,
    device: &Device,
    seed: u64,
    paths: &mut dyn PathSampler,
    checkpoint: Option<&Path>,
    on_epoch: &mut dyn FnMut(usize, f64) -> Result<(), EvalError>,
) -> Result<SposRun, EvalError> {
    if train.is_empty() {
        return Err(EvalError::Fatal("the training set is empty".into()));
    }
    let ad_device = device.clone().autodiff();
    let started = Instant::now();
    let (mut supernet, mut optim) = (supernet, optimizer(config));
    let mut progress = Progress {
        epochs: 0,
        rng: SplitMix64::new(seed ^ 0x5E05),
        order: (0..train.len()).collect(),
        losses: Vec::new(),
        seconds: 0.0,
        sampler: serde_json::Value::Null,
    };
    if let Some(dir) = checkpoint {
        let saved;
        (saved, supernet, optim) = checkpoint::load(dir, supernet, optim).map_err(EvalError::Fatal)?;
        if let Some(saved) = saved {
            progress = saved;
            paths.restore(progress.sampler.clone()).map_err(EvalError::Fatal)?;
        }
    }
    let loss_fn = CrossEntropyLossConfig::new().init(&ad_device);
    let batch_size = config.batch_size.max(1).min(train.len());
    let steps_per_epoch = (train.len() / batch_size).max(1);
    let total_steps = (steps_per_epoch * config.epochs.max(1)) as f64;
    let earlier_seconds = progress.seconds;
    while progress.epochs < config.epochs.max(1) {
        let Progress { rng, order, losses, .. } = &mut progress;
        rng.shuffle(order);
        for chunk in order.chunks_exact(batch_size).take(steps_per_epoch) {
            let path = paths.path(rng);
            let batch = batcher.batch(train, chunk, rng);
            let n = batch.labels.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &ad_device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [n]), &ad_device);
            let loss = loss_fn.forward(supernet.forward(&path, x), y);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(EvalError::Failed(format!(
                    "supernet training diverged: loss {value} at step {}",
                    losses.len() + 1
                )));
            }
            let lr = learning_rate(config, losses.len(), total_steps);
            losses.push(value);
            let grads = GradientsParams::from_grads(loss.backward(), &supernet);
            supernet = optim.step(lr, supernet, grads);
        }
        paths.after_epoch(&supernet)?;
        progress.sampler = paths.state();
        progress.epochs += 1;
        progress.seconds = earlier_seconds + started.elapsed().as_secs_f64();
        if let Some(dir) = checkpoint {
            checkpoint::save(dir, &supernet, &optim, &progress).map_err(EvalError::Fatal)?;
        }
        let epoch_losses = &progress.losses[progress.losses.len().saturating_sub(steps_per_epoch)..];
        on_epoch(progress.epochs, epoch_losses.iter().sum::<f64>() / epoch_losses.len().max(1) as f64)?;
    }
    let losses = &progress.losses;
    let tenth = (losses.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    Ok(SposRun {
        supernet,
        steps: losses.len(),
        first_loss: mean(&losses[..tenth]),
        last_loss: mean(&losses[losses.len() - tenth..]),
        train_seconds: earlier_seconds + started.elapsed().as_secs_f64(),
    })
}

/// A supernet training's state after its last finished epoch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Progress {
    epochs: usize,
    rng: SplitMix64,
    /// The data order, shuffled in place every epoch.
    order: Vec<usize>,
    losses: Vec<f64>,
    /// Training seconds so far, over every run that took part.
    seconds: f64,
    /// The path sampler's state ([`PathSampler::state`]).
    #[serde(default)]
    sampler: serde_json::Value,
}

/// How a candidate is scored with the weights it inherits from a supernet.
#[derive(Debug, Clone, Copy)]
pub struct Scoring<'a> {
    /// Scored on the first `validation_images` images of `validation`.
    pub validation: &'a Dataset,
    pub validation_images: usize,
    /// Its batch-norm statistics re-estimated through its own path on the first `recalibration_images`
    /// images of `train` (0: each validation batch normalised by its own statistics instead, as
    /// NAS-Bench-201's supernets do).
    pub train: &'a Dataset,
    pub recalibration_images: usize,
    /// Normalisation and resolution (augmentation is never applied).
    pub batcher: &'a Batcher,
}

/// A candidate's validation accuracy and mean cross-entropy with inherited weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InheritedScore {
    pub accuracy: f64,
    pub loss: f64,
}

/// Scores `arch` with the weights it inherits from `supernet` (on `device`; [`Nb201Supernet::for_scoring`]
/// of a trained supernet is the fast one), as `scoring` says.
pub fn inherited_score(
    supernet: &Nb201Supernet,
    arch: &Nb201Arch,
    scoring: &Scoring<'_>,
    device: &Device,
) -> Result<InheritedScore, String> {
    let batcher = Batcher { augmentation: Augmentation::NONE, ..scoring.batcher.clone() };
    let mut statistics = BatchNormStatistics::default();
    let mut rng = SplitMix64::new(0);
    let recalibration: Vec<usize> = (0..scoring.train.len().min(scoring.recalibration_images)).collect();
    for chunk in recalibration.chunks(256) {
        let batch = batcher.batch(scoring.train, chunk, &mut rng);
        let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), device);
        statistics.record(|| supernet.forward(arch, x));
    }
    let (accuracy, loss) = evaluate_logits(scoring.validation, scoring.validation_images, &batcher, device, |x| {
        match recalibration.len() {
            0 => Ok(BatchNormStatistics::default().record(|| supernet.forward(arch, x))),
            _ => statistics.apply(|| supernet.forward(arch, x)),
        }
    })?;
    Ok(InheritedScore { accuracy, loss })
}
