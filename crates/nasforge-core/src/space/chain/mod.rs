//! The layer-wise macro space `chain`: a straight chain of searched layers between a fixed stem and a
//! classifier, with per-layer type, width, kernel, activation, normalisation, dropout and one optional skip.
//!
//! # The network
//!
//! A chain network is: the stem (3×3 convolution + batch norm + ReLU from the input to
//! [`ChainNetwork::stem_channels`], not scaled by the width multiplier), the searched layers 1..=depth in
//! order, then global average pooling and a linear classifier (with bias). Node 0 is the stem's output and
//! node `i` the output of layer `i`; layer `i` reads node `i - 1`.
//!
//! | type                | what it computes                              | `k` | `c` | activation, norm |
//! |---------------------|-----------------------------------------------|-----|-----|------------------|
//! | `conv3x3`           | 3×3 conv → norm → activation                  |     | yes | yes              |
//! | `conv1x1`           | 1×1 conv → norm → activation                  |     | yes | yes              |
//! | `depthwise_conv3x3` | 3×3 depthwise conv → norm → activation        |     |     | yes              |
//! | `dilated_conv3x3`   | 3×3 conv with dilation 2 → norm → activation  |     | yes | yes              |
//! | `maxpool3x3`        | 3×3 max pool, stride 2 (no weights)           |     |     |                  |
//! | `avgpool3x3`        | 3×3 average pool, stride 2 (no weights)       |     |     |                  |
//! | `identity`          | its input (no weights)                        |     |     |                  |
//! | `bottleneck`        | 1×1 conv to c/4, k×k conv, 1×1 conv to c      | yes | yes | yes              |
//! | `inverted_residual` | 1×1 conv to 6× the input, k×k depthwise, 1×1 conv to c | yes | yes | yes     |
//!
//! In `bottleneck` every convolution is followed by norm → activation; in `inverted_residual` by norm, with
//! the activation after the first two only (the last 1×1 is linear, as in MobileNetV2). The kernel is a
//! choice (`k`) only for these two blocks (their middle convolution); every other type has the kernel its
//! name says. Convolutions have no bias. The two blocks are bodies only: their classic shortcut is the
//! layer's skip `s1`.
//! Dropout (any type) applies to the layer's output before the skip is added.
//!
//! # Buildability rules
//!
//! Every chain in the space builds; the training crate resolves shapes with [`ChainNetwork::plan`]:
//! - **Channels.** A type with `c` outputs `round(c × width multiplier)` channels (at least 1) from whatever
//!   it receives; `depthwise_conv3x3`, the pools and `identity` keep their input's channel count.
//! - **Spatial size.** Only the pools downsample: stride 2, padding 1, so the size becomes `ceil(size / 2)`.
//!   Every other layer has stride 1 and "same" padding (the dilated conv: padding 2).
//! - **Skips.** Layer `i` with skip distance `d` (`1 ≤ d ≤ min(i, max_skip_distance)`) adds node `i - d` to
//!   its output: `s1` is a residual around the layer, `s{i}` reads the stem's output. The source is first
//!   resized to the layer's output size by adaptive average pooling when sizes differ, then projected by a
//!   1×1 conv + batch norm when channel counts differ.
//! - **Repair.** Where an operation would leave a skip reaching before the stem (crossover, removing a layer,
//!   a decision vector), it is clamped to the stem's output. Normalisation `gn` uses `gcd(channels, 32)`
//!   groups, which always divides the channel count.
//!
//! # Printed form
//!
//! ```text
//! chain = "w" number ":" layer ( "|" layer )*
//! layer = type [ "-k" kernel ] [ "-c" channels ] [ "-" activation "-" norm ] [ "-d" number ] [ "-s" distance ]
//! ```
//! e.g. `w1:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2`. The `k`, `c` and
//! activation-norm fields are present exactly for the types that take them, in that order; the dropout is
//! written only when above 0 and the skip only when present. Activations: `relu`, `swish`, `hardswish`,
//! `gelu`; norms: `bn` (batch), `ln` (layer norm over the channels at each position), `gn` (group). Numbers
//! (width multiplier, dropout) are decimals in whole percent: `w0.75`, `d0.1`.
//!
//! The JSON form uses the same names: `{"width_multiplier":1.0,"layers":[{"type":"conv3x3","channels":32,
//! "activation":"relu","norm":"bn","dropout":0.1},{"type":"maxpool3x3","skip":2}]}`.
//!
//! # Canonical form
//!
//! The key lists the network actually built: channels after the width multiplier (so `c32` at `w0.5` equals
//! `c16` at `w1`), skip sources as node numbers, no-op layers (`identity` without dropout or skip) removed,
//! and a dropout-only `identity` folded into the layer before it when that layer has neither dropout nor skip
//! and nothing later reads its undropped output.
//!
//! # Decisions
//!
//! The depth, the width multiplier, then for each of `max_depth` layer slots: type, channels, kernel,
//! activation, norm, dropout, skip (0 = none, `d` = distance `d`). Slots beyond the depth and fields the type
//! does not take are ignored (and encoded as 0).

mod arch;
mod canonical;
mod encoding;
mod network;
mod operators;
mod text;
mod validation;
mod variation;

#[cfg(test)]
mod tests;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::choices::{choice_list, percent_list};
use super::{NetworkCost, ParseError, SearchSpace, TaskShape};
pub use arch::{Activation, BOTTLENECK_REDUCTION, ChainArch, ChainLayer, INVERTED_RESIDUAL_EXPANSION, LayerKind, Norm};
pub use network::{ChainNetwork, LayerPlan, SkipPlan};
pub use operators::ChainOperator;

/// The settings of a chain space, as written in configuration files (every field optional there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSettings {
    /// Fewest searched layers (at least 1).
    pub min_depth: usize,
    /// Most searched layers.
    pub max_depth: usize,
    /// Output channel choices of the layers that set them, before the width multiplier (1 to 65,536).
    pub channels: Vec<usize>,
    /// Kernel choices of `bottleneck` and `inverted_residual`: among 1, 3, 5, 7.
    pub kernels: Vec<usize>,
    /// Dropout choices, each in [0, 1) and a whole percentage.
    pub dropouts: Vec<f64>,
    /// Width multiplier choices, each in (0, 4] and a whole percentage.
    pub width_multipliers: Vec<f64>,
    /// The farthest a skip reaches back (0: no skips).
    pub max_skip_distance: usize,
}

impl Default for ChainSettings {
    fn default() -> Self {
        ChainSettings {
            min_depth: 2,
            max_depth: 8,
            channels: vec![16, 32, 64, 128],
            kernels: vec![3, 5, 7],
            dropouts: vec![0.0, 0.1, 0.2, 0.3],
            width_multipliers: vec![0.5, 0.75, 1.0, 1.25],
            max_skip_distance: 3,
        }
    }
}

/// The chain space: validated settings, choice lists sorted ascending. Built by [`ChainSpace::new`]; its serde
/// form is [`ChainSettings`] and is validated on reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChainSettings", into = "ChainSettings")]
pub struct ChainSpace {
    min_depth: usize,
    max_depth: usize,
    channels: Vec<usize>,
    kernels: Vec<usize>,
    dropout_percents: Vec<u32>,
    width_percents: Vec<u32>,
    max_skip_distance: usize,
}

impl Default for ChainSpace {
    fn default() -> Self {
        ChainSpace::new(ChainSettings::default()).expect("the default settings are valid")
    }
}

impl TryFrom<ChainSettings> for ChainSpace {
    type Error = ParseError;

    fn try_from(settings: ChainSettings) -> Result<Self, ParseError> {
        ChainSpace::new(settings)
    }
}

impl From<ChainSpace> for ChainSettings {
    fn from(space: ChainSpace) -> Self {
        space.settings()
    }
}

impl ChainSpace {
    /// Checks the settings; the error names the field at fault.
    pub fn new(settings: ChainSettings) -> Result<ChainSpace, ParseError> {
        let setting = |field: &str, why: String| ParseError::new(format!("chain space setting `{field}`: {why}"));
        if settings.min_depth == 0 {
            return Err(setting("min_depth", "must be at least 1".into()));
        }
        if settings.max_depth < settings.min_depth {
            return Err(setting(
                "max_depth",
                format!("{} is below min_depth {}", settings.max_depth, settings.min_depth),
            ));
        }
        let channels = choice_list("chain", "channels", settings.channels, |c| match c {
            1..=65_536 => Ok(()),
            _ => Err(format!("{c} must be between 1 and 65536")),
        })?;
        let kernels = choice_list("chain", "kernels", settings.kernels, |k| match k {
            1 | 3 | 5 | 7 => Ok(()),
            _ => Err(format!("{k} is not a kernel size (expected 1, 3, 5 or 7)")),
        })?;
        Ok(ChainSpace {
            min_depth: settings.min_depth,
            max_depth: settings.max_depth,
            channels,
            kernels,
            dropout_percents: percent_list("chain", "dropouts", &settings.dropouts, 0..=99, "at least 0 and below 1")?,
            width_percents: percent_list(
                "chain",
                "width_multipliers",
                &settings.width_multipliers,
                1..=400,
                "above 0 and at most 4",
            )?,
            max_skip_distance: settings.max_skip_distance,
        })
    }

    pub fn settings(&self) -> ChainSettings {
        ChainSettings {
            min_depth: self.min_depth,
            max_depth: self.max_depth,
            channels: self.channels.clone(),
            kernels: self.kernels.clone(),
            dropouts: self.dropout_percents.iter().map(|&p| f64::from(p) / 100.0).collect(),
            width_multipliers: self.width_percents.iter().map(|&p| f64::from(p) / 100.0).collect(),
            max_skip_distance: self.max_skip_distance,
        }
    }
}

impl SearchSpace for ChainSpace {
    type Arch = ChainArch;
    const NAME: &'static str = "chain";

    /// Each decision uniformly: the depth, the width multiplier, then each layer's type and the fields it
    /// takes, dropout and skip (none or a distance reaching at most the stem).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> ChainArch {
        variation::sample(self, rng)
    }

    /// A uniformly chosen kind of change among those possible (type, channels, kernel, activation, norm,
    /// dropout, skip, add or remove a layer, width), then a uniformly chosen change of that kind.
    fn mutate<R: Rng + ?Sized>(&self, arch: &ChainArch, rng: &mut R) -> ChainArch {
        variation::mutate(self, arch, rng)
    }

    /// Single point: the first `p ≥ 1` layers of one parent (chosen at random) followed by the layers of the
    /// other from a cut chosen so the depth stays in range; the width multiplier of either parent; skips that
    /// would reach before the stem are clamped to it.
    fn crossover<R: Rng + ?Sized>(&self, a: &ChainArch, b: &ChainArch, rng: &mut R) -> ChainArch {
        variation::crossover(self, a, b, rng)
    }

    /// By kind of change (type, channels, kernel, activation, norm, dropout, skip, add a copy of a layer after
    /// it, remove a layer, width), each over the layers in order; repeats are listed once.
    fn neighbours(&self, arch: &ChainArch) -> Vec<ChainArch> {
        variation::neighbours(self, arch)
    }

    fn decision_sizes(&self) -> Vec<usize> {
        encoding::decision_sizes(self)
    }

    fn to_decisions(&self, arch: &ChainArch) -> Vec<usize> {
        encoding::to_decisions(self, arch)
    }

    fn from_decisions(&self, decisions: &[usize]) -> ChainArch {
        encoding::from_decisions(self, decisions)
    }

    fn parse(&self, text: &str) -> Result<ChainArch, ParseError> {
        text::parse(self, text)
    }

    fn print(&self, arch: &ChainArch) -> String {
        text::print(arch)
    }

    /// `stem`, then each built layer as `type[-k][-c<scaled channels>][-activation-norm][-d][+<node>]`, where
    /// `+<node>` is the canonical node its skip reads (0: the stem's output). See the module docs.
    fn canonical(&self, arch: &ChainArch) -> String {
        canonical::canonical(arch)
    }

    fn validate(&self, arch: &ChainArch) -> Result<(), ParseError> {
        validation::validate(self, arch)
    }

    /// The default [`ChainNetwork`] (stem of 16 channels) for the task's input and classes.
    fn cost(&self, arch: &ChainArch, task: &TaskShape) -> Option<NetworkCost> {
        Some(ChainNetwork::for_task(task).cost(arch))
    }
}
