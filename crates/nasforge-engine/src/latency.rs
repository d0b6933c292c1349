//! Latency models for hardware-aware search (every space): building a model file on a device
//! (`nasforge latency build`), checking its accuracy against networks measured end to end
//! (`nasforge latency check`), and loading it for a study, refused when it was measured for another device,
//! space, input, scale, batch or thread count.

use std::path::{Path, PathBuf};

use nasforge_core::space::{MbconvSpace, Nb201Space, TaskShape};
use nasforge_train::latency::{
    LatencyCheck, LatencyModel, LatencyModelKind, LatencySpace, LatencyTable, LatencyTarget, Repetition, SpaceLatency,
    build_table,
};
use nasforge_train::{DeviceChoice, NetworkScale};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result, invalid};
use crate::latency_evaluator::searches_deployment;
use crate::registry::SpaceConfig;

/// A study's latency model (a `[latency]` table): where `latency_ms` comes from, and MnasNet's soft
/// constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyModelConfig {
    #[serde(default)]
    pub kind: LatencyModelKind,
    /// The file `nasforge latency build` wrote (for the `lut`, `predictor` and `flops` models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// MnasNet's soft constraint: `latency_reward = val_accuracy × (latency_ms / target_ms)^weight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<LatencyReward>,
}

/// The latency settings a request may give.
#[derive(Debug, Clone, Default)]
pub struct LatencyFlags {
    pub model: Option<LatencyModelKind>,
    pub path: Option<PathBuf>,
    pub reward: Option<LatencyReward>,
}

/// The latency model asked for by the file and the flags (the flags winning); `None` for today's measured
/// latency without a reward.
pub fn resolve_latency(
    from_file: Option<&LatencyModelConfig>,
    flags: &LatencyFlags,
    space: &SpaceConfig,
) -> Result<Option<LatencyModelConfig>> {
    let kind = flags.model.or(from_file.map(|c| c.kind)).unwrap_or_default();
    let path = flags.path.clone().or(from_file.and_then(|c| c.path.clone()));
    let reward = flags.reward.or(from_file.and_then(|c| c.reward));
    let codesign = searches_deployment(space);
    match (kind, &path) {
        (LatencyModelKind::Measured, Some(path)) => invalid!(
            "--latency-table {}: the measured latency needs no model; choose --latency-model lut, predictor or flops",
            path.display()
        ),
        (LatencyModelKind::Measured, None) if reward.is_none() && !codesign => return Ok(None),
        (LatencyModelKind::Measured, None) => {}
        (kind, _) if codesign => invalid!("--latency-model {}: {CODESIGN_HAS_NO_MODEL}", kind.name()),
        (kind, None) => invalid!(
            "--latency-model {}: needs --latency-table FILE (written by `nasforge latency build`)",
            kind.name()
        ),
        (_, Some(_)) => {
            with_latency_space(space, Settings)?;
        }
    }
    Ok(Some(LatencyModelConfig { kind, path, reward }))
}

/// The target and exponent of MnasNet's reward (the paper's soft form: the same exponent, −0.07, on both
/// sides of the target).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyReward {
    pub target_ms: f64,
    #[serde(default = "LatencyReward::mnasnet_weight")]
    pub weight: f64,
}

impl LatencyReward {
    pub fn mnasnet_weight() -> f64 {
        -0.07
    }

    /// Reads `TARGET_MS[:WEIGHT]`, e.g. `5` or `5:-0.07`.
    pub fn parse(text: &str) -> std::result::Result<LatencyReward, String> {
        let (target, weight) = text.split_once(':').unwrap_or((text, ""));
        let target_ms =
            target.trim().parse::<f64>().ok().filter(|t| t.is_finite() && *t > 0.0).ok_or_else(|| {
                format!("latency reward '{text}': the target '{target}' must be milliseconds above 0")
            })?;
        let weight = match weight.trim() {
            "" => Self::mnasnet_weight(),
            w => w
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite())
                .ok_or_else(|| format!("latency reward '{text}': the weight '{w}' is not a number"))?,
        };
        Ok(LatencyReward { target_ms, weight })
    }

    pub fn reward(&self, accuracy: f64, latency_ms: f64) -> f64 {
        accuracy * (latency_ms / self.target_ms).powf(self.weight)
    }
}

/// Why a co-design space has no latency model file.
const CODESIGN_HAS_NO_MODEL: &str = "a latency model file holds one thread count and batch (in f32), and \
     this mbconv space searches its deployment (its `threads`, `batches` or `precisions` settings): each \
     candidate is measured under its own deployment instead (--latency-model measured)";

/// Code that runs on a space with latency models.
trait LatencyTask {
    type Output;
    fn run<S: LatencySpace + 'static>(self, space: S) -> Self::Output;
}

/// Runs `task` on the space of `config`, or says why the space has no latency model file (a co-design space).
fn with_latency_space<T: LatencyTask>(config: &SpaceConfig, task: T) -> Result<T::Output> {
    match config {
        SpaceConfig::Nb201 => Ok(task.run(Nb201Space)),
        SpaceConfig::Mbconv(space) if space.searches_deployment() => invalid!("{CODESIGN_HAS_NO_MODEL}"),
        SpaceConfig::Mbconv(space) => Ok(task.run(space.clone())),
        SpaceConfig::Darts(space) => Ok(task.run(space.clone())),
        SpaceConfig::Chain(space) => Ok(task.run(space.clone())),
    }
}

/// The space's settings as a model file records them.
struct Settings;

impl LatencyTask for Settings {
    type Output = serde_json::Value;
    fn run<S: LatencySpace + 'static>(self, space: S) -> serde_json::Value {
        space.settings_value()
    }
}

/// The mbconv space of `space`, for a co-design search's deployed measurements.
pub(crate) fn mbconv_space(space: &SpaceConfig) -> Result<MbconvSpace> {
    match space {
        SpaceConfig::Mbconv(space) => Ok(space.clone()),
        other => invalid!("only the mbconv space searches a deployment, not {}", other.name()),
    }
}

/// What a model must have been measured for, to serve `space` on `device` for `task` at `scale`, deployed at
/// `batch` images on `threads` threads.
pub fn latency_target(
    space: &SpaceConfig,
    device: DeviceChoice,
    task: TaskShape,
    scale: NetworkScale,
    (batch, threads): (usize, usize),
) -> Result<LatencyTarget> {
    let space_settings = with_latency_space(space, Settings)?;
    Ok(LatencyTarget {
        device: device.to_string(),
        threads,
        space: space.name().to_string(),
        space_settings,
        task,
        scale,
        batch,
    })
}

/// What `nasforge latency build` measures.
#[derive(Debug, Clone)]
pub struct LatencyBuildRequest {
    pub space: SpaceConfig,
    pub device: DeviceChoice,
    pub task: TaskShape,
    pub scale: NetworkScale,
    /// Images per forward pass.
    pub batch: usize,
    /// Threads the networks run on.
    pub threads: usize,
    /// Timed runs per measurement and sweeps over everything measured.
    pub repetition: Repetition,
    /// Random networks measured end to end for the predictor and the FLOPs line.
    pub calibration: usize,
    pub seed: u64,
}

/// Measures a latency model file (`progress` hears `(done, total)` measurements); the caller saves it.
pub fn build_latency_model(
    request: &LatencyBuildRequest,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<LatencyTable> {
    if request.threads == 0 {
        invalid!("a latency model needs at least 1 thread (--threads)");
    }
    let deployment = (request.batch, request.threads);
    let target = latency_target(&request.space, request.device, request.task, request.scale, deployment)?;
    let build = Build { request, target, progress };
    with_latency_space(&request.space, build)?.map_err(EngineError::invalid)
}

/// A model file measured on a device.
struct Build<'a> {
    request: &'a LatencyBuildRequest,
    target: LatencyTarget,
    progress: &'a mut (dyn FnMut(usize, usize) + Send),
}

impl LatencyTask for Build<'_> {
    type Output = std::result::Result<LatencyTable, String>;
    fn run<S: LatencySpace + 'static>(self, space: S) -> Self::Output {
        let request = self.request;
        let device = request.device.device()?;
        build_table(&space, self.target, request.repetition, request.calibration, request.seed, &device, self.progress)
    }
}

/// A model file's models over its space.
struct Models(LatencyTable);

impl LatencyTask for Models {
    type Output = std::result::Result<Box<dyn LatencyModel>, String>;
    fn run<S: LatencySpace + 'static>(self, space: S) -> Self::Output {
        Ok(Box::new(SpaceLatency::new(space, self.0)?))
    }
}

/// Loads the model file `path` for `space`, refused (naming the file and what differs) when it was measured
/// for anything else: another device than `device` (a check measures on it; a search predicts for the file's
/// device, whatever it trains on), or another network than the search's (`network`, or the file's own).
/// The batch and threads are the file's: the deployment it predicts for.
pub fn load_latency_model(
    path: &Path,
    space: &SpaceConfig,
    device: Option<DeviceChoice>,
    network: Option<(TaskShape, NetworkScale)>,
) -> Result<Box<dyn LatencyModel>> {
    let table = LatencyTable::load(path).map_err(EngineError::invalid)?;
    let (task, scale) = network.unwrap_or((table.target.task, table.target.scale));
    let deployment = (table.target.batch, table.target.threads);
    let mut target = latency_target(space, device.unwrap_or_default(), task, scale, deployment)?;
    if device.is_none() {
        target.device.clone_from(&table.target.device);
    }
    let in_file = |e: String| EngineError::invalid(format!("latency model {}: {e}", path.display()));
    table.check_target(&target).map_err(in_file)?;
    with_latency_space(space, Models(table))?.map_err(in_file)
}

/// What `nasforge latency check` measures.
#[derive(Debug, Clone)]
pub struct LatencyCheckRequest {
    pub model: PathBuf,
    pub space: SpaceConfig,
    pub device: DeviceChoice,
    pub samples: usize,
    pub seed: u64,
}

/// Measures `samples` random networks end to end and reports each model's accuracy on them.
pub fn check_latency_model(
    request: &LatencyCheckRequest,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<LatencyCheck> {
    if request.samples < 2 {
        invalid!("a latency check needs at least 2 networks (--samples)");
    }
    let latency = load_latency_model(&request.model, &request.space, Some(request.device), None)?;
    let device = request.device.device().map_err(EngineError::invalid)?;
    latency.check(request.samples, request.seed, &device, progress).map_err(EngineError::invalid)
}
