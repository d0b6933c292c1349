//! Training loops: SGD (momentum, Nesterov) with a cosine schedule or AdamW, weight decay, label smoothing,
//! fidelity knobs, early stopping, learning curves through the `Reporter`; the training evaluator of a
//! study, and final training on the whole training set with test accuracy and saved weights.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};

use nasforge_core::space::TaskShape;
use nasforge_core::space::mbconv::Precision;
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter};
use nasforge_core::trial::Metrics;

use crate::checkpoint;
use crate::data::{Augmentation, Batcher, DataSource, Dataset, Normalization, SplitMix64};
use crate::network::{Buildable, DeployedNetwork, Network, NetworkScale};

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with momentum (0: plain SGD), optionally Nesterov.
    Sgd {
        momentum: f64,
        nesterov: bool,
    },
    AdamW {
        beta1: f32,
        beta2: f32,
    },
}

/// Where to train: the CPU (burn's `flex` backend), a CUDA GPU or a wgpu device (with the cargo features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Cuda(usize),
    Wgpu,
}

impl DeviceChoice {
    /// Reads `cpu`, `cuda`, `cuda:N` or `wgpu`, refusing devices this build cannot use or this machine lacks.
    pub fn parse(text: &str) -> Result<DeviceChoice, String> {
        let choice = match text.trim() {
            "cpu" | "flex" => DeviceChoice::Cpu,
            "cuda" => DeviceChoice::Cuda(0),
            "wgpu" => DeviceChoice::Wgpu,
            other => match other.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(index)) => DeviceChoice::Cuda(index),
                _ => return Err(format!("unknown device '{other}' (expected cpu, cuda, cuda:N or wgpu)")),
            },
        };
        choice.check()?;
        choice.check_present()?;
        Ok(choice)
    }

    /// Whether this build can use the device.
    pub fn check(self) -> Result<(), String> {
        match self {
            DeviceChoice::Cpu => Ok(()),
            DeviceChoice::Cuda(_) if cfg!(feature = "cuda") => Ok(()),
            DeviceChoice::Cuda(_) => {
                Err("device cuda: this build has no CUDA support (rebuild with the `cuda` feature)".into())
            }
            DeviceChoice::Wgpu if cfg!(feature = "wgpu") => Ok(()),
            DeviceChoice::Wgpu => {
                Err("device wgpu: this build has no wgpu support (rebuild with the `wgpu` feature)".into())
            }
        }
    }

    /// Whether this machine has the device: a CUDA GPU of that index, a wgpu adapter.
    fn check_present(self) -> Result<(), String> {
        match self {
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda(index) => match Device::enumerate(burn::tensor::DeviceType::Cuda).len() {
                0 => Err("device cuda: this machine has no CUDA device (no NVIDIA GPU or driver found)".into()),
                found if index >= found => Err(format!(
                    "device cuda:{index}: this machine has {found} CUDA device(s), cuda:0 to cuda:{}",
                    found - 1
                )),
                _ => Ok(()),
            },
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu if Device::enumerate(burn::tensor::DeviceType::Wgpu).is_empty() => {
                Err("device wgpu: no graphics adapter (no GPU, and no Vulkan, Metal, DX12 or OpenGL driver)".into())
            }
            _ => Ok(()),
        }
    }

    /// The burn device (without autodiff).
    pub fn device(self) -> Result<Device, String> {
        self.check()?;
        Ok(match self {
            DeviceChoice::Cpu => Device::flex(),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda(index) => Device::cuda(index),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[allow(unreachable_patterns)]
            _ => unreachable!("checked above"),
        })
    }
}

/// `cpu`, `cuda:N` or `wgpu`, as [`DeviceChoice::parse`] reads it.
impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(index) => write!(f, "cuda:{index}"),
            DeviceChoice::Wgpu => f.write_str("wgpu"),
        }
    }
}

/// How a network is trained: optimiser, schedule, regularisation and the fidelity knobs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    /// Cosine decay of the learning rate to 0 over the run (otherwise constant).
    pub cosine: bool,
    pub weight_decay: f64,
    pub label_smoothing: f32,
    pub augmentation: Augmentation,
    /// Fraction of the training data used (seeded, class-stratified subset).
    pub data_fraction: f64,
    /// Input resolution (images resized, bilinear); `None` keeps the dataset's.
    pub resolution: Option<usize>,
    /// Network width / cells.
    pub scale: NetworkScale,
    /// Stop when the validation accuracy has not improved for this many epochs.
    pub early_stopping_patience: Option<usize>,
    /// At most this many optimisation steps per epoch (tests, quick proxies).
    pub max_steps_per_epoch: Option<usize>,
    /// Architectures with more parameters than this are rejected before training.
    pub max_params: Option<u64>,
    /// Timed runs of each latency measurement (after warm-up); 0 skips them.
    pub latency_runs: usize,
    /// The batch of the second latency measurement, besides batch 1 (0: none).
    pub latency_batch: usize,
    /// Where to train: machine-local, so never stored with a study (`--device` sets it per run).
    #[serde(skip)]
    pub device: DeviceChoice,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 128,
            optimizer: OptimizerKind::Sgd { momentum: 0.9, nesterov: true },
            learning_rate: 0.05,
            cosine: true,
            weight_decay: 5e-4,
            label_smoothing: 0.0,
            augmentation: Augmentation::NONE,
            data_fraction: 1.0,
            resolution: None,
            scale: NetworkScale::default(),
            early_stopping_patience: None,
            max_steps_per_epoch: None,
            max_params: Some(50_000_000),
            latency_runs: 10,
            latency_batch: 64,
            device: DeviceChoice::Cpu,
        }
    }
}

/// One epoch of a learning curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub learning_rate: f64,
}

impl EpochStats {
    pub fn metrics(&self) -> Metrics {
        Metrics::from([
            ("epoch".to_string(), self.epoch as f64),
            ("train_loss".to_string(), self.train_loss),
            ("val_loss".to_string(), self.val_loss),
            ("val_accuracy".to_string(), self.val_accuracy),
            ("lr".to_string(), self.learning_rate),
        ])
    }
}

/// What a training run gives.
pub struct TrainRun {
    /// The trained network (validation mode, on the plain device).
    pub model: Network,
    pub curve: Vec<EpochStats>,
    /// The epoch with the best validation accuracy.
    pub best: EpochStats,
    /// Mean training loss of the first and last optimisation steps (the first 10 %, the last 10 %).
    pub first_loss: f64,
    pub last_loss: f64,
    pub steps: usize,
    pub train_seconds: f64,
}

/// Accuracy and mean cross-entropy (without smoothing) of a network on a dataset.
pub fn evaluate(model: &Network, data: &Dataset, batcher: &Batcher, device: &Device) -> (f64, f64) {
    let Ok(scores) =
        evaluate_logits(data, data.len(), batcher, device, |x| Ok::<_, std::convert::Infallible>(model.forward(x)));
    scores
}

/// Accuracy and mean cross-entropy (without smoothing) of the logits `forward` gives for the first `images`
/// images of `data`, in batches of 256, without augmentation; the first error of `forward` ends it.
pub fn evaluate_logits<E>(
    data: &Dataset,
    images: usize,
    batcher: &Batcher,
    device: &Device,
    mut forward: impl FnMut(Tensor<4>) -> Result<Tensor<2>, E>,
) -> Result<(f64, f64), E> {
    let batcher = Batcher { augmentation: Augmentation::NONE, ..batcher.clone() };
    let mut rng = SplitMix64::new(0);
    let (mut correct, mut loss_sum) = (0usize, 0f64);
    let indices: Vec<usize> = (0..data.len().min(images)).collect();
    for chunk in indices.chunks(256) {
        let batch = batcher.batch(data, chunk, &mut rng);
        let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), device);
        let (batch_correct, batch_loss) = score_logits(forward(x)?, &batch.labels);
        correct += batch_correct;
        loss_sum += batch_loss;
    }
    let n = indices.len().max(1) as f64;
    Ok((correct as f64 / n, loss_sum / n))
}

/// The correct predictions among a batch's logits `[n, classes]` and the sum of their cross-entropies.
pub(crate) fn score_logits(logits: Tensor<2>, labels: &[i64]) -> (usize, f64) {
    let logits: Vec<f32> = logits.into_data().try_into_vec::<f32>().expect("f32 logits");
    let classes = logits.len() / labels.len().max(1);
    let (mut correct, mut loss_sum) = (0usize, 0f64);
    for (row, &label) in logits.chunks_exact(classes).zip(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = row.iter().map(|v| f64::from(v - max).exp()).sum::<f64>().ln() + f64::from(max);
        loss_sum += log_sum - f64::from(row[label as usize]);
        let predicted = row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best });
        correct += usize::from(predicted == label as usize);
    }
    (correct, loss_sum)
}

pub(crate) fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    match config.optimizer {
        OptimizerKind::Sgd { momentum, nesterov } => {
            let mut sgd = SgdConfig::new();
            if config.weight_decay > 0.0 {
                sgd = sgd.with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)));
            }
            if momentum > 0.0 {
                sgd = sgd.with_momentum(Some(
                    MomentumConfig::new().with_momentum(momentum).with_dampening(0.0).with_nesterov(nesterov),
                ));
            }
            sgd.init()
        }
        OptimizerKind::AdamW { beta1, beta2 } => AdamWConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_weight_decay(config.weight_decay as f32)
            .init(),
    }
}

/// The learning rate of optimisation step `step` of `total_steps`: constant, or cosine-annealed to zero.
pub(crate) fn learning_rate(config: &TrainConfig, step: usize, total_steps: f64) -> f64 {
    if config.cosine {
        config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total_steps).cos())
    } else {
        config.learning_rate
    }
}

/// A training run's state after its last finished epoch, saved when the scheduler pauses it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RunState {
    /// The epochs done, as reported.
    curve: Vec<EpochStats>,
    step: usize,
    rng: SplitMix64,
    /// The data order, shuffled in place every epoch.
    order: Vec<usize>,
    losses: Vec<f64>,
    /// Training seconds so far, over every run that took part.
    seconds: f64,
}

/// Where a training keeps its state, and when it saves it.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    pub dir: &'a Path,
    /// After every epoch (a run that must survive a kill), or only when paused (a trial the scheduler pauses
    /// at a rung).
    pub every_epoch: bool,
}

/// Trains `model` (built on the autodiff version of `device`) on `train`, validating on `val` after every
/// epoch; `on_epoch` receives each epoch's statistics (and may stop the run with an error). A NaN or
/// infinite loss ends the run as [`EvalError::Failed`]. With a `checkpoint`, a run resumes from the state
/// saved in its directory, and saves its state there after every epoch or when `on_epoch` pauses it
/// ([`EvalError::Paused`]), as it says.
#[allow(clippy::too_many_arguments)] // each is a separate input of the run; a struct would only rename them
pub fn train_network(
    model: Network,
    train: &Dataset,
    val: &Dataset,
    batcher: &Batcher,
    config: &TrainConfig,
    device: &Device,
    seed: u64,
    checkpoint: Option<Checkpoint<'_>>,
    on_epoch: &mut dyn FnMut(&EpochStats) -> Result<(), EvalError>,
) -> Result<TrainRun, EvalError> {
    if train.is_empty() {
        return Err(EvalError::Fatal("the training set is empty".into()));
    }
    let ad_device = device.clone().autodiff();
    let started = Instant::now();
    let (mut model, mut optim) = (model, optimizer(config));
    let mut state = RunState {
        curve: Vec::new(),
        step: 0,
        rng: SplitMix64::new(seed ^ 0xDA7A),
        order: (0..train.len()).collect(),
        losses: Vec::new(),
        seconds: 0.0,
    };
    if let Some(checkpoint) = checkpoint {
        let saved;
        (saved, model, optim) = checkpoint::load(checkpoint.dir, model, optim).map_err(EvalError::Fatal)?;
        state = saved.unwrap_or(state);
    }
    let smoothing = (config.label_smoothing > 0.0).then_some(config.label_smoothing);
    let loss_fn = CrossEntropyLossConfig::new().with_smoothing(smoothing).init(&ad_device);
    let batch_size = config.batch_size.max(1).min(train.len());
    let steps_per_epoch = {
        let full = train.len() / batch_size;
        config.max_steps_per_epoch.map_or(full, |m| full.min(m)).max(1)
    };
    let total_steps = (steps_per_epoch * config.epochs.max(1)) as f64;
    let earlier_seconds = state.seconds;
    let first_epoch = state.curve.len() + 1;
    for epoch in first_epoch..=config.epochs.max(1) {
        let RunState { rng, order, losses, step, .. } = &mut state;
        rng.shuffle(order);
        let mut epoch_loss = 0f64;
        let mut lr = config.learning_rate;
        for chunk in order.chunks_exact(batch_size).take(steps_per_epoch) {
            lr = learning_rate(config, *step, total_steps);
            let batch = batcher.batch(train, chunk, rng);
            let n = batch.labels.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.images, batch.shape), &ad_device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels, [n]), &ad_device);
            let loss = loss_fn.forward(model.forward(x), y);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(EvalError::Failed(format!(
                    "training diverged: loss is {value} at epoch {epoch}, step {} (learning rate {lr:.3e})",
                    *step + 1
                )));
            }
            losses.push(value);
            epoch_loss += value;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            *step += 1;
        }
        let eval_model = model.valid();
        let (val_accuracy, val_loss) = evaluate(&eval_model, val, batcher, device);
        if !val_loss.is_finite() {
            return Err(EvalError::Failed(format!(
                "training diverged: validation loss is {val_loss} at epoch {epoch}"
            )));
        }
        let stats = EpochStats {
            epoch,
            train_loss: epoch_loss / steps_per_epoch as f64,
            val_loss,
            val_accuracy,
            learning_rate: lr,
        };
        state.curve.push(stats.clone());
        state.seconds = earlier_seconds + started.elapsed().as_secs_f64();
        let save = |checkpoint: Checkpoint<'_>| checkpoint::save(checkpoint.dir, &model, &optim, &state);
        if let Some(checkpoint) = checkpoint.filter(|c| c.every_epoch) {
            save(checkpoint).map_err(EvalError::Fatal)?;
        }
        let outcome = on_epoch(&stats);
        if let Some(checkpoint) = checkpoint.filter(|c| !c.every_epoch)
            && matches!(outcome, Err(EvalError::Paused { .. }))
        {
            save(checkpoint).map_err(EvalError::Fatal)?;
        }
        outcome?;
        let best_epoch = best_of(&state.curve).epoch;
        if config.early_stopping_patience.is_some_and(|p| epoch - best_epoch >= p) {
            break;
        }
    }
    let RunState { curve, losses, step, .. } = state;
    let tenth = (losses.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    Ok(TrainRun {
        model: model.valid(),
        best: best_of(&curve).clone(),
        first_loss: mean(&losses[..tenth]),
        last_loss: mean(&losses[losses.len() - tenth..]),
        steps: step,
        train_seconds: earlier_seconds + started.elapsed().as_secs_f64(),
        curve,
    })
}

/// The first epoch with the best validation accuracy of a curve of at least one epoch.
fn best_of(curve: &[EpochStats]) -> &EpochStats {
    curve
        .iter()
        .reduce(|best, e| if e.val_accuracy > best.val_accuracy { e } else { best })
        .expect("at least one epoch")
}

/// Median latency in milliseconds of one forward pass at `batch` images, after warm-up.
pub fn measure_latency(model: &Network, task: &TaskShape, batch: usize, runs: usize, device: &Device) -> f64 {
    let x = Tensor::<4>::zeros([batch, task.channels, task.size, task.size], device);
    crate::latency::median_ms(runs, || {
        let _ = model.forward(x.clone()).into_data();
    })
}

/// Runs `f`, turning a panic inside burn (a shape it refuses, an allocation failure) into a failed trial.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, EvalError>) -> Result<T, EvalError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(EvalError::Failed(format!("{what} failed: {message}")))
        }
    }
}

/// The task a dataset poses at a resolution.
pub fn task_of(data: &Dataset, resolution: Option<usize>) -> TaskShape {
    TaskShape { channels: data.channels, size: resolution.unwrap_or(data.height), classes: data.classes }
}

fn check_size(params: u64, config: &TrainConfig) -> Result<(), EvalError> {
    match config.max_params {
        Some(limit) if params > limit => {
            Err(EvalError::Failed(format!("architecture too large: {params} parameters, above the limit of {limit}")))
        }
        _ => Ok(()),
    }
}

/// Scores architectures by training them: validation accuracy on a seeded split carved from the training
/// set. Metrics: [`TrainEvaluator::METRICS`].
pub struct TrainEvaluator {
    pub train: Arc<Dataset>,
    pub val: Arc<Dataset>,
    pub normalization: Normalization,
    pub config: TrainConfig,
}

impl TrainEvaluator {
    /// The metrics of every trained trial: `val_accuracy` (0–1), `val_loss`, `train_loss`, `params`,
    /// `flops`, `model_bytes`, `activation_bytes` (estimate), `latency_ms` (batch 1, median),
    /// `latency_batch_ms` (batch `latency_batch`), `train_seconds`, `epochs`; `untrained` (1) on a network
    /// whose cell computes nothing, answered without training; in a co-design space,
    /// `deployed_val_accuracy`: the trained network's (last epoch's) validation accuracy in its deployment's
    /// precision.
    pub const METRICS: &'static [&'static str] = &[
        "val_accuracy",
        "val_loss",
        "train_loss",
        "params",
        "flops",
        "model_bytes",
        "activation_bytes",
        "latency_ms",
        "latency_batch_ms",
        "train_seconds",
        "epochs",
        "untrained",
        "deployed_val_accuracy",
    ];

    /// Splits `validation_fraction` of `train` off for validation (seeded by `split_seed`).
    pub fn new(train: &Dataset, validation_fraction: f64, split_seed: u64, config: TrainConfig) -> Self {
        let (train, val) = train.split(validation_fraction, split_seed);
        let normalization = train.channel_stats();
        TrainEvaluator { train: Arc::new(train), val: Arc::new(val), normalization, config }
    }

    pub fn task(&self) -> TaskShape {
        task_of(&self.train, self.config.resolution)
    }

    fn batcher(&self, augmentation: Augmentation) -> Batcher {
        Batcher { normalization: self.normalization.clone(), augmentation, resolution: self.config.resolution }
    }

    /// Trains one architecture and returns its metrics; `reporter` receives every epoch's metrics. With
    /// a `checkpoint` directory, resumes from the state saved there (first putting back, with
    /// [`Reporter::restore`], the saved epochs after the `reported` first that the study holds), saves it
    /// there when the scheduler pauses the trial, and removes it when the training ends otherwise.
    pub fn train_arch<S: Buildable>(
        &self,
        space: &S,
        arch: &S::Arch,
        seed: u64,
        checkpoint: Option<&Path>,
        reported: usize,
        reporter: &mut dyn Reporter,
    ) -> Result<Metrics, EvalError> {
        if let Some(dir) = checkpoint {
            let saved: Option<RunState> = checkpoint::progress(dir).map_err(EvalError::Fatal)?;
            for stats in saved.iter().flat_map(|state| state.curve.iter().skip(reported)) {
                reporter.restore(&stats.metrics())?;
            }
        }
        let result = self.train_from(space, arch, seed, checkpoint, reporter);
        if let Some(dir) = checkpoint
            && !matches!(result, Err(EvalError::Paused { .. }))
        {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }

    fn train_from<S: Buildable>(
        &self,
        space: &S,
        arch: &S::Arch,
        seed: u64,
        checkpoint: Option<&Path>,
        reporter: &mut dyn Reporter,
    ) -> Result<Metrics, EvalError> {
        let config = &self.config;
        let device = config.device.device().map_err(EvalError::Fatal)?;
        let task = self.task();
        let cost = space.network_cost(arch, &task, &config.scale);
        check_size(cost.params, config)?;
        if space.computes_nothing(arch) {
            let mut metrics = self.class_prior_answer(size_metrics(cost.params, cost.flops));
            // Its latency is real: the network runs, it only cannot learn.
            let model = guarded("building", || Ok(space.build(arch, &task, &config.scale, &device)))?;
            metrics.extend(self.latency_metrics(&model, &task, &device));
            return Ok(metrics);
        }
        guarded("training", || {
            let model = seeded_build(space, arch, (&task, &config.scale), seed, &device);
            let params = model.params();
            let train = self.train.subset(config.data_fraction, seed);
            let batcher = self.batcher(config.augmentation);
            let checkpoint = checkpoint.map(|dir| Checkpoint { dir, every_epoch: false });
            let run =
                train_network(model, &train, &self.val, &batcher, config, &device, seed, checkpoint, &mut |stats| {
                    reporter.report(&stats.metrics())
                })?;
            let mut metrics = size_metrics(params, cost.flops);
            metrics.extend([
                ("val_accuracy".to_string(), run.best.val_accuracy),
                ("val_loss".to_string(), run.best.val_loss),
                ("train_loss".to_string(), run.best.train_loss),
                ("activation_bytes".to_string(), space.activation_estimate(arch, &task, &config.scale) as f64),
                ("train_seconds".to_string(), run.train_seconds),
                ("epochs".to_string(), run.curve.len() as f64),
            ]);
            metrics.extend(self.latency_metrics(&run.model, &task, &device));
            if let Some(precision) = space.deployed_precision(arch) {
                let accuracy = self.deployed_accuracy(run.model, &run.curve, precision, &device);
                metrics.insert("deployed_val_accuracy".to_string(), accuracy);
            }
            Ok(metrics)
        })
    }

    /// The validation accuracy of the trained network (its last epoch) deployed in `precision`: the last
    /// epoch's own in f32, else the network cast to the format and evaluated again.
    fn deployed_accuracy(&self, model: Network, curve: &[EpochStats], precision: Precision, device: &Device) -> f64 {
        if precision.is_f32() {
            return curve.last().map_or(f64::NAN, |epoch| epoch.val_accuracy);
        }
        let deployed = DeployedNetwork::new(model, precision);
        let batcher = self.batcher(Augmentation::NONE);
        let Ok((accuracy, _)) = evaluate_logits(&self.val, self.val.len(), &batcher, device, |x| {
            Ok::<_, std::convert::Infallible>(deployed.forward(x))
        });
        accuracy
    }

    /// `latency_ms` (batch 1) and `latency_batch_ms` of a network, as the configuration asks.
    fn latency_metrics(&self, model: &Network, task: &TaskShape, device: &Device) -> Metrics {
        let config = &self.config;
        let mut metrics = Metrics::new();
        if config.latency_runs > 0 {
            let latency = |batch| measure_latency(model, task, batch, config.latency_runs, device);
            metrics.insert("latency_ms".to_string(), latency(1));
            if config.latency_batch > 1 {
                metrics.insert("latency_batch_ms".to_string(), latency(config.latency_batch));
            }
        }
        metrics
    }
}

impl TrainEvaluator {
    /// What training a network whose cell computes zero would reach, without training it: its output is a
    /// constant, so at best it learns the training set's class frequencies. Validation accuracy is then
    /// the share of the validation set's most frequent class, validation loss and training loss the cross
    /// entropy of those frequencies; the trial is marked `untrained` = 1.
    fn class_prior_answer(&self, mut metrics: Metrics) -> Metrics {
        let frequencies = |data: &Dataset| {
            let mut counts = vec![0usize; data.classes];
            for &label in &data.labels {
                counts[usize::from(label)] += 1;
            }
            counts.into_iter().map(|c| c as f64 / data.len().max(1) as f64).collect::<Vec<f64>>()
        };
        let prior = frequencies(&self.train);
        let cross_entropy = |data: &Dataset| {
            let total: f64 = data.labels.iter().map(|&l| -prior[usize::from(l)].max(f64::MIN_POSITIVE).ln()).sum();
            total / data.len().max(1) as f64
        };
        let majority = prior.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(class, _)| class);
        let val_accuracy = frequencies(&self.val).get(majority).copied().unwrap_or(0.0);
        metrics.extend([
            ("val_accuracy".to_string(), val_accuracy),
            ("val_loss".to_string(), cross_entropy(&self.val)),
            ("train_loss".to_string(), cross_entropy(&self.train)),
            ("activation_bytes".to_string(), 0.0),
            ("train_seconds".to_string(), 0.0),
            ("epochs".to_string(), 0.0),
            ("untrained".to_string(), 1.0),
        ]);
        metrics
    }
}

/// The device's generator is one per process: seeding it and drawing a network's initial weights from it
/// happen under this lock, so that trials trained at the same time (worker threads, tests) each get the
/// weights of their own seed.
static SEEDED_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The network of `arch` for training (autodiff), its initial weights drawn from the device's generator
/// seeded with `seed`.
fn seeded_build<S: Buildable>(
    space: &S,
    arch: &S::Arch,
    (task, scale): (&TaskShape, &NetworkScale),
    seed: u64,
    device: &Device,
) -> Network {
    let _seeded = SEEDED_BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    space.build(arch, task, scale, &device.clone().autodiff())
}

/// `params`, `flops` and `model_bytes` (32-bit weights) of a network.
pub(crate) fn size_metrics(params: u64, flops: u64) -> Metrics {
    Metrics::from([
        ("params".to_string(), params as f64),
        ("flops".to_string(), flops as f64),
        ("model_bytes".to_string(), (params * 4) as f64),
    ])
}

impl<S: Buildable> Evaluator<S> for TrainEvaluator {
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let cost = space.network_cost(arch, &self.task(), &self.config.scale);
        size_metrics(cost.params, cost.flops)
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        self.train_arch(request.space, request.arch, request.seed, request.checkpoint, request.reported, reporter)
    }
}

/// The result of final training.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FinalResult {
    pub test_accuracy: f64,
    pub test_loss: f64,
    pub params: u64,
    pub flops: u64,
    pub model_bytes: u64,
    pub latency_ms: f64,
    pub train_seconds: f64,
    pub epochs: usize,
    /// Where the weights were saved (burn's burnpack record format).
    pub weights: Option<PathBuf>,
}

/// Final training: trains `arch` on the whole training set of `source`, reports test accuracy (the only place
/// the test set is used) and saves the weights to `weights` when given. `on_epoch` sees the per-epoch
/// statistics, measured on the test set. With a `checkpoint` directory, the training saves its state there
/// after every epoch and resumes from what it holds (the caller removes it once the result is kept).
#[allow(clippy::too_many_arguments)] // each is a separate input of the run; a struct would only rename them
pub fn train_final<S: Buildable>(
    space: &S,
    arch: &S::Arch,
    source: &DataSource,
    config: &TrainConfig,
    seed: u64,
    weights: Option<&Path>,
    checkpoint: Option<&Path>,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<FinalResult, EvalError> {
    let device = config.device.device().map_err(EvalError::Fatal)?;
    let task = task_of(&source.train, config.resolution);
    let cost = space.network_cost(arch, &task, &config.scale);
    check_size(cost.params, config)?;
    let normalization = source.train.channel_stats();
    let batcher = Batcher { normalization, augmentation: config.augmentation, resolution: config.resolution };
    guarded("final training", || {
        let model = seeded_build(space, arch, (&task, &config.scale), seed, &device);
        let params = model.params();
        let train = source.train.subset(config.data_fraction, seed);
        let final_config = TrainConfig { early_stopping_patience: None, ..config.clone() };
        let checkpoint = checkpoint.map(|dir| Checkpoint { dir, every_epoch: true });
        let run =
            train_network(model, &train, &source.test, &batcher, &final_config, &device, seed, checkpoint, &mut |s| {
                on_epoch(s);
                Ok(())
            })?;
        let last = run.curve.last().expect("at least one epoch").clone();
        let latency = measure_latency(&run.model, &task, 1, config.latency_runs.max(1), &device);
        let saved = match weights {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| EvalError::Fatal(format!("creating {}: {e}", parent.display())))?;
                }
                run.model
                    .clone()
                    .save_file(path)
                    .map_err(|e| EvalError::Fatal(format!("saving the weights to {}: {e:?}", path.display())))?;
                Some(path.to_path_buf())
            }
            None => None,
        };
        Ok(FinalResult {
            test_accuracy: last.val_accuracy,
            test_loss: last.val_loss,
            params,
            flops: cost.flops,
            model_bytes: params * 4,
            latency_ms: latency,
            train_seconds: run.train_seconds,
            epochs: run.curve.len(),
            weights: saved,
        })
    })
}

/// Loads weights saved by [`train_final`] into a freshly built network of the same architecture.
pub fn load_weights<S: Buildable>(
    space: &S,
    arch: &S::Arch,
    task: &TaskShape,
    scale: &NetworkScale,
    path: &Path,
    device: &Device,
) -> Result<Network, String> {
    space
        .build(arch, task, scale, device)
        .try_load_file(path)
        .map_err(|e| format!("loading weights from {}: {e:?}", path.display()))
}
