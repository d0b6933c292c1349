//! Differentiable search on the NAS-Bench-201 supernet: the choice of operation on each edge relaxed into
//! weights computed from architecture parameters α (one row of five per edge, shared by every cell), trained
//! by gradient descent alternately with the supernet's weights: a step on the weights with a training batch,
//! then a step on α with a validation batch (first-order DARTS; α by Adam at 3e-4, β = (0.5, 0.999),
//! weight decay 1e-3, as in the paper). The cell is derived from α at the end ([`Nb201Arch::strongest`]).
//!
//! - DARTS (Liu et al. 2019): each edge outputs the softmax(α)-weighted sum of all its operations.
//! - GDAS (Dong & Yang 2019): each edge runs one operation, drawn by Gumbel-softmax with a temperature
//!   annealed from 10 to 0.1 over the epochs; its one-hot weight carries the softmax's gradient to α
//!   (straight-through), so a step costs one path, as SPOS's does.

use std::path::Path;
use std::time::Instant;

use burn::module::{Module, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasforge_core::SearchSpace;
use nasforge_core::space::nb201::EDGES;
use nasforge_core::space::{Nb201Arch, Nb201Op, Nb201Space};
use nasforge_core::study::EvalError;

use crate::checkpoint;
use crate::data::{Batcher, Dataset, SplitMix64};
use crate::network::{CellTerms, EdgeTerm, Nb201Supernet};
use crate::train::{TrainConfig, learning_rate, optimizer};

/// How the choice of operation is relaxed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relaxation {
    /// DARTS: every operation, weighted by softmax(α).
    Darts,
    /// GDAS: one operation per edge and step, drawn by Gumbel-softmax at a temperature annealed linearly
    /// from `initial_temperature` to `final_temperature`.
    Gdas { initial_temperature: f64, final_temperature: f64 },
}

impl Relaxation {
    /// GDAS with the paper's temperatures (10 to 0.1).
    pub const GDAS: Relaxation = Relaxation::Gdas { initial_temperature: 10.0, final_temperature: 0.1 };

    /// The method's name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Relaxation::Darts => "darts",
            Relaxation::Gdas { .. } => "gdas",
        }
    }
}

/// Operation weights of every edge (`[edge][op]`, operations in [`Nb201Op::ALL`] order): softmax(α).
pub type OpWeights = [[f64; 5]; EDGES];

/// The architecture parameters: α, `[edges, operations]`.
#[derive(Module, Debug)]
pub struct ArchParams {
    pub alpha: Param<Tensor<2>>,
}

impl ArchParams {
    /// α initialised as DARTS does: 10⁻³ times a standard normal draw.
    pub fn new(device: &Device, rng: &mut SplitMix64) -> Self {
        let values: Vec<f32> = (0..EDGES * 5).map(|_| 1e-3 * rng.normal()).collect();
        ArchParams::from_values(&values, device)
    }

    /// α with the given values, row by row.
    pub fn from_values(values: &[f32], device: &Device) -> Self {
        let alpha = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [EDGES, 5]), device);
        ArchParams { alpha: Param::from_tensor(alpha) }
    }

    /// softmax(α) of each edge.
    pub fn op_weights(&self) -> OpWeights {
        let values: Vec<f32> =
            softmax(self.alpha.val().detach(), 1).into_data().try_into_vec::<f32>().expect("f32 weights");
        let mut weights = [[0.0; 5]; EDGES];
        for (row, chunk) in weights.iter_mut().zip(values.chunks_exact(5)) {
            for (w, v) in row.iter_mut().zip(chunk) {
                *w = f64::from(*v);
            }
        }
        weights
    }

    /// Each edge's terms under `relaxation` at `temperature` (GDAS), the Gumbel noise drawn from `rng`.
    fn terms(&self, relaxation: Relaxation, temperature: f64, rng: &mut SplitMix64) -> CellTerms {
        let alpha = self.alpha.val();
        let device = alpha.device();
        let row = |weights: &Tensor<2>, edge: usize, op: usize| -> Tensor<1> {
            weights.clone().slice([edge..edge + 1, op..op + 1]).reshape([1])
        };
        match relaxation {
            Relaxation::Darts => {
                let weights = softmax(alpha, 1);
                std::array::from_fn(|edge| {
                    Nb201Op::ALL
                        .iter()
                        .enumerate()
                        .map(|(i, &op)| EdgeTerm { op, weight: Some(row(&weights, edge, i)) })
                        .collect()
                })
            }
            Relaxation::Gdas { .. } => {
                // Gumbel(0, 1) noise: -ln(-ln u), u uniform in (0, 1).
                let noise: Vec<f32> = (0..EDGES * 5)
                    .map(|_| {
                        let u = rng.unit().clamp(1e-6, 1.0 - 1e-6);
                        -(-u.ln()).ln()
                    })
                    .collect();
                let noise = Tensor::<2>::from_data(TensorData::new(noise, [EDGES, 5]), &device);
                let soft = softmax((alpha + noise).div_scalar(temperature), 1);
                let values: Vec<f32> = soft.clone().into_data().try_into_vec::<f32>().expect("f32 weights");
                std::array::from_fn(|edge| {
                    let chunk = &values[edge * 5..edge * 5 + 5];
                    let chosen = (1..5).fold(0, |best, i| if chunk[i] > chunk[best] { i } else { best });
                    // One in the forward pass, the softmax's gradient in the backward pass.
                    let soft_weight = row(&soft, edge, chosen);
                    let weight = (soft_weight.clone() - soft_weight.detach()).add_scalar(1.0);
                    vec![EdgeTerm { op: Nb201Op::ALL[chosen], weight: Some(weight) }]
                })
            }
        }
    }
}

/// What a differentiable search runs besides the supernet's own training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DifferentiableConfig {
    pub relaxation: Relaxation,
    /// Adam's learning rate on α (DARTS: 3e-4).
    pub arch_learning_rate: f64,
}

impl DifferentiableConfig {
    /// The α learning rate of the DARTS paper, 3e-4.
    pub const PAPER_ARCH_LEARNING_RATE: f64 = 3e-4;
}

/// The cell derived from operation weights: the strongest operation of each edge
/// ([`Nb201Arch::strongest`]). A cell with no path from its input to its output (every path through a
/// `none`) is an error naming it: it would compute nothing.
pub fn derive_cell(weights: &OpWeights) -> Result<Nb201Arch, EvalError> {
    let arch = Nb201Arch::strongest(weights);
    if Nb201Space.computes_nothing(&arch) {
        return Err(EvalError::Failed(format!(
            "the derived cell {} has no path from its input to its output",
            Nb201Space.print(&arch)
        )));
    }
    Ok(arch)
}

/// A finished differentiable search.
#[derive(Debug)]
pub struct DifferentiableRun {
    pub supernet: Nb201Supernet,
    pub params: ArchParams,
    /// softmax(α) after each epoch.
    pub history: Vec<OpWeights>,
    /// Weight steps (each followed by one step on α).
    pub steps: usize,
    /// Mean training loss of the first and the last tenth of the steps.
    pub first_loss: f64,
    pub last_loss: f64,
    pub train_seconds: f64,
}

/// The weights and α together, as a checkpoint saves them.
#[derive(Module, Debug)]
struct Searched {
    supernet: Nb201Supernet,
    params: ArchParams,
}

/// A differentiable search's state after its last finished epoch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Progress {
    epochs: usize,
    rng: SplitMix64,
    /// The data orders, shuffled in place (the training one every epoch, the validation one when used up),
    /// and the next validation image.
    order: Vec<usize>,
    validation_order: Vec<usize>,
    validation_at: usize,
    losses: Vec<f64>,
    history: Vec<OpWeights>,
    /// Search seconds so far, over every run that took part.
    seconds: f64,
}

/// Searches with `search`'s relaxation for `config.epochs`: every step trains `supernet` (built, like `params`, on the
/// autodiff version of `device`) on a batch of `train` with `config`'s optimiser and learning-rate schedule,
/// then α on a batch of `validation` (cycled). A NaN or infinite loss ends the run as [`EvalError::Failed`].
///
/// With `checkpoint`, the search saves its whole state there after every epoch (weights, α, both optimisers,
/// generator, data orders, losses, α's history) and, when the directory holds a state already, resumes from
/// it: a killed search continues from its last finished epoch and ends where an uninterrupted one does.
/// `on_epoch` sees each finished epoch (its number from 1, its mean training loss) once its state is saved;
/// an error from it ends the search with it.
#[allow(clippy::too_many_arguments)] // each is a separate input of the run; a struct would only rename them
pub fn search_differentiable(
    supernet: Nb201Supernet,
    params: ArchParams,
    search: &DifferentiableConfig,
    train: &Dataset,
    validation: &Dataset,
    batcher: &Batcher,
    config: &TrainConfig,
    device: &Device,
    seed: u64,
    checkpoint: Option<&Path>,
    on_epoch: &mut dyn FnMut(usize, f64) -> Result<(), EvalError>,
) -> Result<DifferentiableRun, EvalError> {
    if train.is_empty() || validation.is_empty() {
        return Err(EvalError::Fatal("the training or the validation split is empty".into()));
    }
    let relaxation = search.relaxation;
    let ad_device = device.clone().autodiff();
    let started = Instant::now();
    let (mut supernet, mut params) = (supernet, params);
    let mut optims = (
        optimizer(config),
        AdamConfig::new()
            .with_beta_1(0.5)
            .with_beta_2(0.999)
            .with_weight_decay(Some(WeightDecayConfig::new(1e-3)))
            .init(),
    );
    let loss_fn = CrossEntropyLossConfig::new().init(&ad_device);
    let batch_size = config.batch_size.max(1).min(train.len());
    let epochs = config.epochs.max(1);
    let steps_per_epoch = (train.len() / batch_size).max(1);
    let total_steps = (steps_per_epoch * epochs) as f64;
    let mut progress = Progress {
        epochs: 0,
        rng: SplitMix64::new(seed ^ 0xDA27),
        order: (0..train.len()).collect(),
        validation_order: (0..validation.len()).collect(),
        validation_at: validation.len(),
        losses: Vec::new(),
        history: Vec::with_capacity(epochs),
        seconds: 0.0,
    };
    if let Some(dir) = checkpoint {
        let (saved, searched);
        (saved, searched, optims) =
            checkpoint::load(dir, Searched { supernet, params }, optims).map_err(EvalError::Fatal)?;
        (supernet, params) = (searched.supernet, searched.params);
        progress = saved.unwrap_or(progress);
    }
    let earlier_seconds = progress.seconds;
    let validation_batch = batch_size.min(validation.len());
    let loss_of =
        |supernet: &Nb201Supernet, terms: &CellTerms, data: &Dataset, chunk: &[usize], rng: &mut SplitMix64| {
            let batch = batcher.batch(data, chunk, rng);
            let n = batch.labels.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &ad_device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [n]), &ad_device);
            loss_fn.forward(supernet.forward_terms(terms, x), y)
        };
    while progress.epochs < epochs {
        let epoch = progress.epochs;
        let Progress { rng, order, validation_order, validation_at, losses, history, .. } = &mut progress;
        let temperature = match relaxation {
            Relaxation::Darts => 1.0,
            Relaxation::Gdas { initial_temperature, final_temperature } => {
                let progress = if epochs > 1 { epoch as f64 / (epochs - 1) as f64 } else { 1.0 };
                initial_temperature + (final_temperature - initial_temperature) * progress
            }
        };
        rng.shuffle(order);
        for chunk in order.chunks_exact(batch_size).take(steps_per_epoch) {
            // The weights' step, α held fixed.
            let terms = params.clone().no_grad().terms(relaxation, temperature, rng);
            let loss = loss_of(&supernet, &terms, train, chunk, rng);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(EvalError::Failed(format!(
                    "{} search diverged: loss {value} at step {}",
                    relaxation.name(),
                    losses.len() + 1
                )));
            }
            let lr = learning_rate(config, losses.len(), total_steps);
            losses.push(value);
            let grads = GradientsParams::from_grads(loss.backward(), &supernet);
            supernet = optims.0.step(lr, supernet, grads);

            // α's step on a validation batch.
            if *validation_at + validation_batch > validation.len() {
                rng.shuffle(validation_order);
                *validation_at = 0;
            }
            let val_chunk = &validation_order[*validation_at..*validation_at + validation_batch];
            *validation_at += validation_batch;
            let terms = params.terms(relaxation, temperature, rng);
            let loss = loss_of(&supernet, &terms, validation, val_chunk, rng);
            let grads = GradientsParams::from_grads(loss.backward(), &params);
            params = optims.1.step(search.arch_learning_rate, params, grads);
        }
        history.push(params.op_weights());
        progress.epochs += 1;
        progress.seconds = earlier_seconds + started.elapsed().as_secs_f64();
        if let Some(dir) = checkpoint {
            let searched = Searched { supernet: supernet.clone(), params: params.clone() };
            checkpoint::save(dir, &searched, &optims, &progress).map_err(EvalError::Fatal)?;
        }
        let epoch_losses = &progress.losses[progress.losses.len().saturating_sub(steps_per_epoch)..];
        on_epoch(progress.epochs, epoch_losses.iter().sum::<f64>() / epoch_losses.len().max(1) as f64)?;
    }
    let Progress { losses, history, seconds, .. } = progress;
    let tenth = (losses.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    Ok(DifferentiableRun {
        supernet,
        params,
        history,
        steps: losses.len(),
        first_loss: mean(&losses[..tenth]),
        last_loss: mean(&losses[losses.len() - tenth..]),
        train_seconds: seconds,
    })
}
