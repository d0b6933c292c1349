//! The MobileNet-style space `mbconv` (ProxylessNAS / once-for-all): stages of inverted-residual blocks
//! whose depth is searched, each block's depthwise kernel, expansion ratio, squeeze-and-excitation and
//! activation searched, and the width multiplier and input resolution searched with them; optionally the
//! deployment too (co-design): the threads the network runs on and its batch size.
//!
//! # The network
//!
//! The input is resized (bilinear) to `resolution × size` when that differs from its side; then the stem
//! (3×3 convolution, stride 1, batch norm, ReLU, `stem_channels × width` channels), the stages in order,
//! the head (1×1 convolution to `head_channels`, batch norm, ReLU), global average pooling and a linear
//! classifier. Stage `s` has between `min_depth` and `max_depth` blocks with `stage_channels[s] × width`
//! output channels; its first block has stride `stage_strides[s]`, the others stride 1. A block (MBConv):
//!
//! 1. expansion: 1×1 convolution to `hidden = in × expansion` channels, batch norm, activation;
//! 2. depthwise k×k convolution (padding k/2, the block's stride), batch norm, activation;
//! 3. squeeze-and-excitation when on: global average pool, linear to `max(1, hidden / 4)` + ReLU, linear back
//!    to `hidden` + sigmoid, the gate multiplying the hidden channels;
//! 4. projection: 1×1 convolution to the output channels, batch norm (no activation);
//! 5. the input added when the stride is 1 and the channel counts agree.
//!
//! Convolutions have no bias. Channel counts after the width multiplier are `round(c × width)`, at least 1.
//! Activations: `relu`, `hswish` (MobileNetV3's h-swish).
//!
//! # Printed form
//!
//! ```text
//! mbconv = "w" width "-r" resolution [ "-t" threads "-b" batch ] ":" stage ( "/" stage )*
//! stage  = block ( "," block )*
//! block  = "k" kernel "e" expansion [ "-se" ] "-" activation
//! ```
//! e.g. `w0.75-r1:k3e3-relu,k5e6-se-hswish/k3e4-relu,k7e6-relu/…`, one stage per entry of
//! `stage_channels`. Width and resolution are decimals in whole percent; threads and batch are there exactly
//! when the space searches the deployment (`w1-r1-t2-b16:…`). The JSON form:
//! `{"width_multiplier":0.75,"resolution":1.0,"stages":[[{"kernel":3,"expansion":3,"se":false,
//! "activation":"relu"},…],…]}`, with `"deployment":{"threads":2,"batch":16}` when searched.
//!
//! # Canonical form
//!
//! The printed form: no two architectures of the space compute the same function (every field changes the
//! network's weights or shapes). In a co-design space one network under two deployments is two candidates
//! (their latency and throughput differ), so the deployment is part of the canonical form.
//!
//! # Decisions
//!
//! Width, resolution, then for each stage its depth (`depth − min_depth`) and, for each of `max_depth` block
//! slots, kernel, expansion, squeeze-and-excitation (0 off, 1 on) and activation; slots beyond the depth are
//! ignored (and encoded as 0); then threads and batch when the space searches the deployment.

mod arch;
mod encoding;
mod network;
mod operators;
mod text;
mod variation;

#[cfg(test)]
mod tests;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::choices::{choice_list, numbers_text, percent_list, percent_text, percents_text, unknown};
use super::{NetworkCost, ParseError, SearchSpace, TaskShape};
pub use arch::{Deployment, MbActivation, MbBlock, MbconvArch, Precision};
pub use network::{BlockPlan, MbconvPlan, SE_REDUCTION};
pub use operators::MbOperator;

/// The settings of an mbconv space, as written in configuration files (every field optional there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MbconvSettings {
    /// Output channels of each stage, before the width multiplier (1 to 65,536).
    pub stage_channels: Vec<usize>,
    /// The stride of each stage's first block (1 or 2), one per stage.
    pub stage_strides: Vec<usize>,
    /// The stem's output channels before the width multiplier (the network scale's `channels` overrides it).
    pub stem_channels: usize,
    /// The head's 1×1 convolution's output channels.
    pub head_channels: usize,
    /// Fewest blocks per stage (at least 1).
    pub min_depth: usize,
    /// Most blocks per stage.
    pub max_depth: usize,
    /// Depthwise kernel choices: among 3, 5, 7.
    pub kernels: Vec<usize>,
    /// Expansion ratio choices, 1 to 8.
    pub expansions: Vec<usize>,
    /// Width multiplier choices, each in (0, 4] and a whole percentage.
    pub width_multipliers: Vec<f64>,
    /// Input resolution choices as fractions of the task's side, each in (0, 2] and a whole percentage.
    pub resolutions: Vec<f64>,
    /// Thread counts to deploy on, searched with the architecture (co-design; 1 to 1,024). Empty, with
    /// `batches` empty too: the deployment is not searched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<usize>,
    /// Batch sizes to deploy at, searched with the architecture (1 to 65,536; empty: 1 when another deployment
    /// list is set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<usize>,
    /// Floating-point formats to deploy in (`f32`, `f16`, `bf16`), searched with the architecture (empty: f32
    /// when another deployment list is set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub precisions: Vec<String>,
}

impl Default for MbconvSettings {
    fn default() -> Self {
        MbconvSettings {
            stage_channels: vec![16, 24, 40, 64],
            stage_strides: vec![1, 2, 2, 2],
            stem_channels: 16,
            head_channels: 128,
            min_depth: 2,
            max_depth: 4,
            kernels: vec![3, 5, 7],
            expansions: vec![3, 4, 6],
            width_multipliers: vec![0.5, 0.75, 1.0],
            resolutions: vec![0.5, 0.75, 1.0],
            threads: Vec::new(),
            batches: Vec::new(),
            precisions: Vec::new(),
        }
    }
}

/// The mbconv space: validated settings, choice lists sorted ascending. Built by [`MbconvSpace::new`]; its
/// serde form is [`MbconvSettings`] and is validated on reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MbconvSettings", into = "MbconvSettings")]
pub struct MbconvSpace {
    stage_channels: Vec<usize>,
    stage_strides: Vec<usize>,
    stem_channels: usize,
    head_channels: usize,
    min_depth: usize,
    max_depth: usize,
    kernels: Vec<usize>,
    expansions: Vec<usize>,
    width_percents: Vec<u32>,
    resolution_percents: Vec<u32>,
    deployment: Option<DeploymentChoices>,
}

/// The deployment settings a co-design space searches, sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeploymentChoices {
    threads: Vec<usize>,
    batches: Vec<usize>,
    /// f32 alone unless the settings list more; searched (a decision) only when they do.
    precisions: Vec<Precision>,
}

impl DeploymentChoices {
    /// None when no list is given; a missing list is `[1]` (`[f32]` for the precisions).
    fn new(
        threads: Vec<usize>,
        batches: Vec<usize>,
        precisions: &[String],
    ) -> Result<Option<DeploymentChoices>, ParseError> {
        if threads.is_empty() && batches.is_empty() && precisions.is_empty() {
            return Ok(None);
        }
        let mut formats = Vec::with_capacity(precisions.len());
        for name in precisions {
            let precision = Precision::from_name(name).ok_or_else(|| {
                ParseError::new(format!(
                    "mbconv setting `precisions`: {}",
                    unknown("precision", name, &Precision::names())
                ))
            })?;
            if formats.contains(&precision) {
                return Err(ParseError::new(format!("mbconv setting `precisions`: '{name}' is listed twice")));
            }
            formats.push(precision);
        }
        formats.sort();
        if formats.is_empty() {
            formats.push(Precision::F32);
        }
        let or_one = |list: Vec<usize>| if list.is_empty() { vec![1] } else { list };
        let within = |what: &'static str, most: usize| {
            move |n: usize| match n {
                n if (1..=most).contains(&n) => Ok(()),
                _ => Err(format!("{n} is not a {what} (expected 1 to {most})")),
            }
        };
        Ok(Some(DeploymentChoices {
            threads: choice_list("mbconv", "threads", or_one(threads), within("thread count", 1024))?,
            batches: choice_list("mbconv", "batches", or_one(batches), within("batch size", 65_536))?,
            precisions: formats,
        }))
    }
}

impl DeploymentChoices {
    /// Whether the precision is a decision: more than f32 alone.
    fn searches_precision(&self) -> bool {
        self.precisions.len() > 1
    }
}

impl Default for MbconvSpace {
    fn default() -> Self {
        MbconvSpace::new(MbconvSettings::default()).expect("the default settings are valid")
    }
}

impl TryFrom<MbconvSettings> for MbconvSpace {
    type Error = ParseError;

    fn try_from(settings: MbconvSettings) -> Result<Self, ParseError> {
        MbconvSpace::new(settings)
    }
}

impl From<MbconvSpace> for MbconvSettings {
    fn from(space: MbconvSpace) -> Self {
        space.settings()
    }
}

impl MbconvSpace {
    /// Checks the settings; the error names the field at fault.
    pub fn new(settings: MbconvSettings) -> Result<MbconvSpace, ParseError> {
        let setting = |field: &str, why: String| ParseError::new(format!("mbconv space setting `{field}`: {why}"));
        if settings.stage_channels.is_empty() {
            return Err(setting("stage_channels", "the list is empty".into()));
        }
        if let Some(&c) = settings.stage_channels.iter().find(|&&c| !(1..=65_536).contains(&c)) {
            return Err(setting("stage_channels", format!("{c} must be between 1 and 65536")));
        }
        if settings.stage_strides.len() != settings.stage_channels.len() {
            return Err(setting(
                "stage_strides",
                format!(
                    "{} strides for {} stages (one per entry of stage_channels)",
                    settings.stage_strides.len(),
                    settings.stage_channels.len()
                ),
            ));
        }
        if let Some(&s) = settings.stage_strides.iter().find(|&&s| s != 1 && s != 2) {
            return Err(setting("stage_strides", format!("{s} is not a stride (expected 1 or 2)")));
        }
        for (field, value) in [("stem_channels", settings.stem_channels), ("head_channels", settings.head_channels)] {
            if !(1..=65_536).contains(&value) {
                return Err(setting(field, format!("{value} must be between 1 and 65536")));
            }
        }
        if settings.min_depth == 0 {
            return Err(setting("min_depth", "must be at least 1".into()));
        }
        if settings.max_depth < settings.min_depth {
            return Err(setting(
                "max_depth",
                format!("{} is below min_depth {}", settings.max_depth, settings.min_depth),
            ));
        }
        Ok(MbconvSpace {
            stage_channels: settings.stage_channels,
            stage_strides: settings.stage_strides,
            stem_channels: settings.stem_channels,
            head_channels: settings.head_channels,
            min_depth: settings.min_depth,
            max_depth: settings.max_depth,
            kernels: choice_list("mbconv", "kernels", settings.kernels, |k| match k {
                3 | 5 | 7 => Ok(()),
                _ => Err(format!("{k} is not a depthwise kernel size (expected 3, 5 or 7)")),
            })?,
            expansions: choice_list("mbconv", "expansions", settings.expansions, |e| match e {
                1..=8 => Ok(()),
                _ => Err(format!("{e} is not an expansion ratio (expected 1 to 8)")),
            })?,
            width_percents: percent_list(
                "mbconv",
                "width_multipliers",
                &settings.width_multipliers,
                1..=400,
                "above 0 and at most 4",
            )?,
            resolution_percents: percent_list(
                "mbconv",
                "resolutions",
                &settings.resolutions,
                1..=200,
                "above 0 and at most 2",
            )?,
            deployment: DeploymentChoices::new(settings.threads, settings.batches, &settings.precisions)?,
        })
    }

    /// Whether the space searches the deployment (threads, batch, precision) with the architecture.
    pub fn searches_deployment(&self) -> bool {
        self.deployment.is_some()
    }

    pub fn settings(&self) -> MbconvSettings {
        MbconvSettings {
            stage_channels: self.stage_channels.clone(),
            stage_strides: self.stage_strides.clone(),
            stem_channels: self.stem_channels,
            head_channels: self.head_channels,
            min_depth: self.min_depth,
            max_depth: self.max_depth,
            kernels: self.kernels.clone(),
            expansions: self.expansions.clone(),
            width_multipliers: self.width_percents.iter().map(|&p| f64::from(p) / 100.0).collect(),
            resolutions: self.resolution_percents.iter().map(|&p| f64::from(p) / 100.0).collect(),
            threads: self.deployment.as_ref().map(|d| d.threads.clone()).unwrap_or_default(),
            batches: self.deployment.as_ref().map(|d| d.batches.clone()).unwrap_or_default(),
            precisions: (self.deployment.iter())
                .filter(|d| d.searches_precision())
                .flat_map(|d| d.precisions.iter().map(|p| p.name().to_string()))
                .collect(),
        }
    }
}

impl SearchSpace for MbconvSpace {
    type Arch = MbconvArch;
    const NAME: &'static str = "mbconv";

    /// Each decision uniformly: width, resolution, each stage's depth, each block's fields.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> MbconvArch {
        variation::sample(self, rng)
    }

    /// A uniformly chosen neighbour.
    fn mutate<R: Rng + ?Sized>(&self, arch: &MbconvArch, rng: &mut R) -> MbconvArch {
        variation::mutate(self, arch, rng)
    }

    /// Each stage whole from either parent; width, resolution and deployment from either.
    fn crossover<R: Rng + ?Sized>(&self, a: &MbconvArch, b: &MbconvArch, rng: &mut R) -> MbconvArch {
        variation::crossover(a, b, rng)
    }

    /// Width, resolution, deployment, then per stage deeper, shallower, and each block's fields (see
    /// `variation.rs`).
    fn neighbours(&self, arch: &MbconvArch) -> Vec<MbconvArch> {
        variation::neighbours(self, arch)
    }

    fn decision_sizes(&self) -> Vec<usize> {
        encoding::decision_sizes(self)
    }

    fn to_decisions(&self, arch: &MbconvArch) -> Vec<usize> {
        encoding::to_decisions(self, arch)
    }

    fn from_decisions(&self, decisions: &[usize]) -> MbconvArch {
        encoding::from_decisions(self, decisions)
    }

    /// The network for the task with the space's stem.
    fn cost(&self, arch: &MbconvArch, task: &TaskShape) -> Option<NetworkCost> {
        Some(self.plan(arch, task, None).cost())
    }

    fn parse(&self, text: &str) -> Result<MbconvArch, ParseError> {
        text::parse(self, text)
    }

    fn print(&self, arch: &MbconvArch) -> String {
        text::print(arch)
    }

    fn canonical(&self, arch: &MbconvArch) -> String {
        text::print(arch)
    }

    fn validate(&self, arch: &MbconvArch) -> Result<(), ParseError> {
        let err = |message: String| Err(ParseError::new(message));
        if !self.width_percents.contains(&arch.width_percent) {
            return err(format!(
                "mbconv width multiplier {} is not among the choices ({})",
                percent_text(arch.width_percent),
                percents_text(&self.width_percents)
            ));
        }
        if !self.resolution_percents.contains(&arch.resolution_percent) {
            return err(format!(
                "mbconv resolution {} is not among the choices ({})",
                percent_text(arch.resolution_percent),
                percents_text(&self.resolution_percents)
            ));
        }
        self.validate_deployment(arch.deployment)?;
        if arch.stages.len() != self.stage_channels.len() {
            return err(format!(
                "mbconv architecture has {} stages; the space has {}",
                arch.stages.len(),
                self.stage_channels.len()
            ));
        }
        for (s, blocks) in arch.stages.iter().enumerate() {
            if !(self.min_depth..=self.max_depth).contains(&blocks.len()) {
                return err(format!(
                    "mbconv stage {}: {} blocks, outside the depth range {}..={}",
                    s + 1,
                    blocks.len(),
                    self.min_depth,
                    self.max_depth
                ));
            }
            for (b, block) in blocks.iter().enumerate() {
                let at = format!("mbconv stage {}, block {}", s + 1, b + 1);
                if !self.kernels.contains(&block.kernel) {
                    return err(format!(
                        "{at}: kernel {} is not among the choices ({})",
                        block.kernel,
                        numbers_text(&self.kernels)
                    ));
                }
                if !self.expansions.contains(&block.expansion) {
                    return err(format!(
                        "{at}: expansion {} is not among the choices ({})",
                        block.expansion,
                        numbers_text(&self.expansions)
                    ));
                }
            }
        }
        Ok(())
    }
}

impl MbconvSpace {
    /// A deployment exactly when the space searches one, with threads and batch among its choices.
    fn validate_deployment(&self, deployment: Option<Deployment>) -> Result<(), ParseError> {
        let err = |message: String| Err(ParseError::new(message));
        match (&self.deployment, deployment) {
            (None, None) => Ok(()),
            (None, Some(_)) => err("mbconv architecture has a deployment (-t…-b…); the space searches none \
                 (its `threads` and `batches` settings are empty)"
                .into()),
            (Some(_), None) => err("mbconv architecture has no deployment; the space searches threads and \
                 batch (add them after the resolution, like w1-r1-t1-b1:…)"
                .into()),
            (Some(choices), Some(deployment)) => {
                if !choices.threads.contains(&deployment.threads) {
                    return err(format!(
                        "mbconv deployment: {} threads is not among the choices ({})",
                        deployment.threads,
                        numbers_text(&choices.threads)
                    ));
                }
                if !choices.batches.contains(&deployment.batch) {
                    return err(format!(
                        "mbconv deployment: batch {} is not among the choices ({})",
                        deployment.batch,
                        numbers_text(&choices.batches)
                    ));
                }
                if !choices.precisions.contains(&deployment.precision) {
                    let names: Vec<&str> = choices.precisions.iter().map(|p| p.name()).collect();
                    return err(format!(
                        "mbconv deployment: precision {} is not among the choices ({})",
                        deployment.precision.name(),
                        names.join(", ")
                    ));
                }
                Ok(())
            }
        }
    }
}
