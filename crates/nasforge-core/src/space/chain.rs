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

use std::collections::HashSet;
use std::fmt;

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::nb201::NetworkCost;
use super::{ParseError, SearchSpace, TaskShape};

/// An enum of named choices, with its names in declaration order.
macro_rules! named_choices {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name used in the printed and JSON forms.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|choice| choice.name() == name)
            }

            fn index(self) -> usize {
                self as usize
            }

            fn names() -> String {
                Self::ALL.iter().map(|choice| choice.name()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_choices! {
    /// The type of a layer (see the module's table).
    LayerKind {
        Conv3x3 = "conv3x3",
        Conv1x1 = "conv1x1",
        DepthwiseConv3x3 = "depthwise_conv3x3",
        DilatedConv3x3 = "dilated_conv3x3",
        MaxPool3x3 = "maxpool3x3",
        AvgPool3x3 = "avgpool3x3",
        Identity = "identity",
        Bottleneck = "bottleneck",
        InvertedResidual = "inverted_residual",
    }
}

named_choices! {
    /// The activation of a layer with weights.
    Activation {
        Relu = "relu",
        Swish = "swish",
        Hardswish = "hardswish",
        Gelu = "gelu",
    }
}

named_choices! {
    /// The normalisation after each convolution of a layer with weights.
    Norm {
        /// Batch norm.
        Batch = "bn",
        /// Layer norm over the channels at each position.
        Layer = "ln",
        /// Group norm with `gcd(channels, 32)` groups.
        Group = "gn",
    }
}

impl LayerKind {
    /// Whether the layer chooses its output channel count; the others keep their input's.
    pub fn sets_channels(self) -> bool {
        use LayerKind::*;
        matches!(self, Conv3x3 | Conv1x1 | DilatedConv3x3 | Bottleneck | InvertedResidual)
    }

    /// Whether the kernel size is a choice; the others have the kernel their name says.
    pub fn chooses_kernel(self) -> bool {
        matches!(self, LayerKind::Bottleneck | LayerKind::InvertedResidual)
    }

    /// Whether the layer has weights, and with them an activation and a normalisation.
    pub fn has_weights(self) -> bool {
        !matches!(self, LayerKind::MaxPool3x3 | LayerKind::AvgPool3x3 | LayerKind::Identity)
    }

    /// Whether the layer halves the spatial size (the pools, stride 2).
    pub fn downsamples(self) -> bool {
        matches!(self, LayerKind::MaxPool3x3 | LayerKind::AvgPool3x3)
    }
}

/// The channel reduction inside a `bottleneck`: its middle convolution has `c / 4` channels (at least 1).
pub const BOTTLENECK_REDUCTION: usize = 4;

/// The expansion of an `inverted_residual`: its depthwise convolution has 6× the input's channels.
pub const INVERTED_RESIDUAL_EXPANSION: usize = 6;

/// One searched layer. The optional fields are `Some` exactly for the types that take them (`validate`
/// checks it), so every layer has one representation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainLayer {
    pub kind: LayerKind,
    /// Output channels before the width multiplier.
    pub channels: Option<usize>,
    /// Kernel of the middle convolution of `bottleneck` and `inverted_residual`.
    pub kernel: Option<usize>,
    pub activation: Option<Activation>,
    pub norm: Option<Norm>,
    /// Dropout probability in percent; 0 is no dropout.
    pub dropout_percent: u32,
    /// How many nodes back the skip reads: 1 is this layer's input, `i` at layer `i` the stem's output.
    pub skip: Option<usize>,
}

/// One chain: its layers in order and the width multiplier (in percent, so that `Eq` and `Hash` are exact).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainArch {
    pub layers: Vec<ChainLayer>,
    pub width_percent: u32,
}

impl ChainArch {
    pub fn width_multiplier(&self) -> f64 {
        f64::from(self.width_percent) / 100.0
    }

    /// The channels a layer choosing `channels` outputs: `round(channels × multiplier)`, at least 1.
    pub fn scaled_channels(&self, channels: usize) -> usize {
        (channels.saturating_mul(self.width_percent as usize).saturating_add(50) / 100).max(1)
    }
}

/// The JSON form (see the module docs); fields a layer's type does not take are left out.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainJson {
    width_multiplier: f64,
    layers: Vec<LayerJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channels: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    norm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dropout: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skip: Option<usize>,
}

impl Serialize for ChainArch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let layers = self
            .layers
            .iter()
            .map(|layer| LayerJson {
                kind: layer.kind.name().to_string(),
                kernel: layer.kernel,
                channels: layer.channels,
                activation: layer.activation.map(|a| a.name().to_string()),
                norm: layer.norm.map(|n| n.name().to_string()),
                dropout: (layer.dropout_percent > 0).then(|| f64::from(layer.dropout_percent) / 100.0),
                skip: layer.skip,
            })
            .collect();
        ChainJson { width_multiplier: self.width_multiplier(), layers }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChainArch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let json = ChainJson::deserialize(deserializer)?;
        let width_percent = percent_from_f64(json.width_multiplier).ok_or_else(|| {
            D::Error::custom(format!("field `width_multiplier`: {} is not a whole percentage", json.width_multiplier))
        })?;
        let mut layers = Vec::with_capacity(json.layers.len());
        for (i, layer) in json.layers.into_iter().enumerate() {
            let field =
                |name: &str, message: String| D::Error::custom(format!("field `layers[{i}].{name}`: {message}"));
            let kind = LayerKind::from_name(&layer.kind)
                .ok_or_else(|| field("type", unknown("layer type", &layer.kind, &LayerKind::names())))?;
            let activation = match layer.activation {
                Some(name) => Some(
                    Activation::from_name(&name)
                        .ok_or_else(|| field("activation", unknown("activation", &name, &Activation::names())))?,
                ),
                None => None,
            };
            let norm = match layer.norm {
                Some(name) => {
                    Some(Norm::from_name(&name).ok_or_else(|| field("norm", unknown("norm", &name, &Norm::names())))?)
                }
                None => None,
            };
            let dropout_percent = match layer.dropout {
                Some(p) => {
                    percent_from_f64(p).ok_or_else(|| field("dropout", format!("{p} is not a whole percentage")))?
                }
                None => 0,
            };
            layers.push(ChainLayer {
                kind,
                channels: layer.channels,
                kernel: layer.kernel,
                activation,
                norm,
                dropout_percent,
                skip: layer.skip,
            });
        }
        Ok(ChainArch { layers, width_percent })
    }
}

fn unknown(what: &str, name: &str, expected: &str) -> String {
    format!("unknown {what} '{name}' (expected one of {expected})")
}

/// A non-negative decimal that is a whole percentage, in percent.
fn percent_from_f64(value: f64) -> Option<u32> {
    let percent = value * 100.0;
    let rounded = percent.round();
    (value.is_finite() && value >= 0.0 && (percent - rounded).abs() < 1e-6 && rounded <= f64::from(u32::MAX))
        .then_some(rounded as u32)
}

/// Reads a decimal such as `0.75`, `1` or `0.10` exactly, in percent; `None` unless it is a whole percentage.
fn percent_from_text(text: &str) -> Option<u32> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (text, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.bytes().skip(2).any(|b| b != b'0') {
        return None;
    }
    let hundredths: u32 = format!("{fraction:0<2}")[..2].parse().ok()?;
    whole_number(whole)?.try_into().ok().and_then(|w: u32| w.checked_mul(100)).and_then(|p| p.checked_add(hundredths))
}

/// Writes a percentage as the shortest decimal: 100 → `1`, 75 → `0.75`, 10 → `0.1`.
fn percent_text(percent: u32) -> String {
    let (whole, hundredths) = (percent / 100, percent % 100);
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

fn percents_text(percents: &[u32]) -> String {
    percents.iter().map(|&p| percent_text(p)).collect::<Vec<_>>().join(", ")
}

/// A number written in ASCII digits only (no sign), that fits.
fn whole_number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn numbers_text(numbers: &[usize]) -> String {
    numbers.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

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

/// Sorts a choice list, rejecting an empty list, duplicates and values `allowed` refuses (it says why).
fn choice_list<T: Ord + Copy + fmt::Display>(
    field: &str,
    values: impl IntoIterator<Item = T>,
    allowed: impl Fn(T) -> Result<(), String>,
) -> Result<Vec<T>, ParseError> {
    let mut list: Vec<T> = values.into_iter().collect();
    if list.is_empty() {
        return Err(ParseError::new(format!("chain space setting `{field}`: the list is empty")));
    }
    for &value in &list {
        allowed(value).map_err(|why| ParseError::new(format!("chain space setting `{field}`: {why}")))?;
    }
    list.sort_unstable();
    if let Some(pair) = list.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ParseError::new(format!("chain space setting `{field}`: {} is listed twice", pair[0])));
    }
    Ok(list)
}

/// Percentages of a list of decimals, each in `range` (percent) and whole.
fn percent_list(
    field: &str,
    values: &[f64],
    range: std::ops::RangeInclusive<u32>,
    bounds: &str,
) -> Result<Vec<u32>, ParseError> {
    let mut percents = Vec::with_capacity(values.len());
    for &value in values {
        match percent_from_f64(value).filter(|p| range.contains(p)) {
            Some(p) => percents.push(p),
            None => {
                return Err(ParseError::new(format!(
                    "chain space setting `{field}`: {value} must be {bounds} and a whole percentage"
                )));
            }
        }
    }
    choice_list(field, percents, |_| Ok(()))
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
        let channels = choice_list("channels", settings.channels, |c| match c {
            1..=65_536 => Ok(()),
            _ => Err(format!("{c} must be between 1 and 65536")),
        })?;
        let kernels = choice_list("kernels", settings.kernels, |k| match k {
            1 | 3 | 5 | 7 => Ok(()),
            _ => Err(format!("{k} is not a kernel size (expected 1, 3, 5 or 7)")),
        })?;
        Ok(ChainSpace {
            min_depth: settings.min_depth,
            max_depth: settings.max_depth,
            channels,
            kernels,
            dropout_percents: percent_list("dropouts", &settings.dropouts, 0..=99, "at least 0 and below 1")?,
            width_percents: percent_list(
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

    /// The skip choices at layer `position` (1-based): none, then distances 1..=min(position, max).
    fn skip_choices(&self, position: usize) -> impl Iterator<Item = Option<usize>> {
        std::iter::once(None).chain((1..=position.min(self.max_skip_distance)).map(Some))
    }

    fn default_kernel(&self) -> usize {
        if self.kernels.contains(&3) { 3 } else { self.kernels[0] }
    }

    /// `layer` turned into a `kind` layer: fields it had are kept, fields it lacked are filled (channels of
    /// the nearest earlier layer that sets them, else the smallest choice; kernel 3; relu; bn).
    fn retyped(&self, layers: &[ChainLayer], index: usize, kind: LayerKind) -> ChainLayer {
        let layer = &layers[index];
        let earlier_channels = layers[..index].iter().rev().find_map(|l| l.channels);
        ChainLayer {
            kind,
            channels: kind.sets_channels().then(|| layer.channels.or(earlier_channels).unwrap_or(self.channels[0])),
            kernel: kind.chooses_kernel().then(|| layer.kernel.unwrap_or_else(|| self.default_kernel())),
            activation: kind.has_weights().then(|| layer.activation.unwrap_or(Activation::Relu)),
            norm: kind.has_weights().then(|| layer.norm.unwrap_or(Norm::Batch)),
            dropout_percent: layer.dropout_percent,
            skip: layer.skip,
        }
    }

    fn random_layer<R: Rng + ?Sized>(&self, position: usize, rng: &mut R) -> ChainLayer {
        let kind = *LayerKind::ALL.choose(rng).expect("nine layer types");
        let weights = kind.has_weights();
        let skip = rng.random_range(0..=position.min(self.max_skip_distance));
        ChainLayer {
            kind,
            channels: kind.sets_channels().then(|| *self.channels.choose(rng).expect("validated non-empty")),
            kernel: kind.chooses_kernel().then(|| *self.kernels.choose(rng).expect("validated non-empty")),
            activation: weights.then(|| *Activation::ALL.choose(rng).expect("four activations")),
            norm: weights.then(|| *Norm::ALL.choose(rng).expect("three norms")),
            dropout_percent: *self.dropout_percents.choose(rng).expect("validated non-empty"),
            skip: (skip > 0).then_some(skip),
        }
    }

    /// The architectures one change of kind `change` away from `arch`, in a fixed order.
    fn changes(&self, arch: &ChainArch, change: Change) -> Vec<ChainArch> {
        let depth = arch.layers.len();
        let with_layers = |layers: Vec<ChainLayer>| ChainArch { layers, width_percent: arch.width_percent };
        match change {
            Change::Width => others(Some(arch.width_percent), &self.width_percents)
                .map(|width_percent| ChainArch { width_percent, ..arch.clone() })
                .collect(),
            // Deepen: a copy of a layer right after it; later skips keep their distances.
            Change::AddLayer if depth < self.max_depth => (0..depth)
                .map(|index| {
                    let mut layers = arch.layers.clone();
                    layers.insert(index + 1, layers[index].clone());
                    with_layers(layers)
                })
                .collect(),
            Change::RemoveLayer if depth > self.min_depth => (0..depth)
                .map(|index| {
                    let mut layers = arch.layers.clone();
                    layers.remove(index);
                    clamp_skips(&mut layers);
                    with_layers(layers)
                })
                .collect(),
            Change::AddLayer | Change::RemoveLayer => Vec::new(),
            _ => (0..depth)
                .flat_map(|index| {
                    self.layer_changes(&arch.layers, index, change).into_iter().map(move |layer| {
                        let mut layers = arch.layers.clone();
                        layers[index] = layer;
                        with_layers(layers)
                    })
                })
                .collect(),
        }
    }

    /// The layers one change of kind `change` away from `layers[index]`, in a fixed order.
    fn layer_changes(&self, layers: &[ChainLayer], index: usize, change: Change) -> Vec<ChainLayer> {
        let layer = &layers[index];
        let with = |edit: &dyn Fn(&mut ChainLayer)| {
            let mut changed = layer.clone();
            edit(&mut changed);
            changed
        };
        match change {
            Change::Type => {
                others(Some(layer.kind), LayerKind::ALL).map(|kind| self.retyped(layers, index, kind)).collect()
            }
            Change::Channels => {
                others(layer.channels, &self.channels).map(|c| with(&|l| l.channels = Some(c))).collect()
            }
            Change::Kernel => others(layer.kernel, &self.kernels).map(|k| with(&|l| l.kernel = Some(k))).collect(),
            Change::Activation => {
                others(layer.activation, Activation::ALL).map(|a| with(&|l| l.activation = Some(a))).collect()
            }
            Change::Norm => others(layer.norm, Norm::ALL).map(|n| with(&|l| l.norm = Some(n))).collect(),
            Change::Dropout => others(Some(layer.dropout_percent), &self.dropout_percents)
                .map(|p| with(&|l| l.dropout_percent = p))
                .collect(),
            Change::Skip => {
                self.skip_choices(index + 1).filter(|&s| s != layer.skip).map(|s| with(&|l| l.skip = s)).collect()
            }
            Change::AddLayer | Change::RemoveLayer | Change::Width => Vec::new(),
        }
    }

    fn check_layer(&self, number: usize, layer: &ChainLayer) -> Result<(), ParseError> {
        let kind = layer.kind;
        let err = |message: String| Err(ParseError::new(format!("chain layer {number}: {message}")));
        let presence = [
            (
                "channels",
                layer.channels.is_some(),
                kind.sets_channels(),
                "a channel count",
                "it keeps its input's channels",
            ),
            ("kernel", layer.kernel.is_some(), kind.chooses_kernel(), "a kernel size", "its type fixes its kernel"),
            ("activation", layer.activation.is_some(), kind.has_weights(), "an activation", "it has no weights"),
            ("norm", layer.norm.is_some(), kind.has_weights(), "a norm", "it has no weights"),
        ];
        for (field, present, takes, needs, why_not) in presence {
            match (present, takes) {
                (true, false) => return err(format!("{kind} takes no {field} ({why_not})")),
                (false, true) => return err(format!("{kind} needs {needs}")),
                _ => {}
            }
        }
        if let Some(c) = layer.channels.filter(|c| !self.channels.contains(c)) {
            return err(format!("channels {c} is not among the choices ({})", numbers_text(&self.channels)));
        }
        if let Some(k) = layer.kernel.filter(|k| !self.kernels.contains(k)) {
            return err(format!("kernel {k} is not among the choices ({})", numbers_text(&self.kernels)));
        }
        if !self.dropout_percents.contains(&layer.dropout_percent) {
            return err(format!(
                "dropout {} is not among the choices ({})",
                percent_text(layer.dropout_percent),
                percents_text(&self.dropout_percents)
            ));
        }
        match layer.skip {
            Some(0) => err("skip distance 0: a skip reads 1 or more nodes back".into()),
            Some(d) if d > number => {
                err(format!("skip distance {d} reaches before the stem (at most {number} at layer {number})"))
            }
            Some(d) if d > self.max_skip_distance => {
                err(format!("skip distance {d} is above the space's maximum {}", self.max_skip_distance))
            }
            _ => Ok(()),
        }
    }
}

/// The kinds of single-step change, in the order `neighbours` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Type,
    Channels,
    Kernel,
    Activation,
    Norm,
    Dropout,
    Skip,
    AddLayer,
    RemoveLayer,
    Width,
}

const CHANGES: [Change; 10] = [
    Change::Type,
    Change::Channels,
    Change::Kernel,
    Change::Activation,
    Change::Norm,
    Change::Dropout,
    Change::Skip,
    Change::AddLayer,
    Change::RemoveLayer,
    Change::Width,
];

/// The choices other than `current`; none when the field is absent.
fn others<T: Copy + PartialEq>(current: Option<T>, choices: &[T]) -> impl Iterator<Item = T> + '_ {
    choices.iter().copied().filter(move |&choice| current.is_some_and(|current| choice != current))
}

/// Clamps skips that reach before the stem to the stem's output.
fn clamp_skips(layers: &mut [ChainLayer]) {
    for (index, layer) in layers.iter_mut().enumerate() {
        layer.skip = layer.skip.map(|d| d.min(index + 1));
    }
}

fn index_of<T: PartialEq>(choices: &[T], value: &T) -> usize {
    choices.iter().position(|c| c == value).unwrap_or(0)
}

/// Reads the fields of one printed layer, in order.
struct LayerReader<'a> {
    number: usize,
    kind: LayerKind,
    fields: std::iter::Peekable<std::str::Split<'a, char>>,
}

impl LayerReader<'_> {
    fn error(&self, message: String) -> ParseError {
        ParseError::new(format!("chain layer {}: {message}", self.number))
    }

    /// The next field, which the layer's type requires, read by `read`; `wrong` says why a field it refuses
    /// is wrong, unless the field is one the type does not take at all.
    fn required<T>(
        &mut self,
        what: &str,
        read: impl Fn(&str) -> Option<T>,
        wrong: impl Fn(&str) -> String,
    ) -> Result<T, ParseError> {
        let field = self.fields.next().ok_or_else(|| self.error(format!("{} needs {what}", self.kind)))?;
        read(field).ok_or_else(|| self.error(self.misplaced(field).unwrap_or_else(|| wrong(field))))
    }

    /// The next field if it starts with `prefix` (and is not a field the type does not take), read by `read`.
    fn optional<T>(
        &mut self,
        prefix: char,
        read: impl Fn(&str) -> Option<T>,
        form: &str,
    ) -> Result<Option<T>, ParseError> {
        let Some(&field) = self.fields.peek() else { return Ok(None) };
        let Some(value) = field.strip_prefix(prefix).filter(|_| self.misplaced(field).is_none()) else {
            return Ok(None);
        };
        self.fields.next();
        read(value).map(Some).ok_or_else(|| self.error(format!("'{field}' must be {form}")))
    }

    /// Why `field` is wrong when it is a field the layer's type does not take.
    fn misplaced(&self, field: &str) -> Option<String> {
        let kind = self.kind;
        let numbered = |prefix: char| field.strip_prefix(prefix).and_then(whole_number).is_some();
        if numbered('k') && !kind.chooses_kernel() {
            Some(format!("{kind} takes no kernel '{field}' (its type fixes its kernel)"))
        } else if numbered('c') && !kind.sets_channels() {
            Some(format!("{kind} takes no channels '{field}' (it keeps its input's channels)"))
        } else if (Activation::from_name(field).is_some() || Norm::from_name(field).is_some()) && !kind.has_weights() {
            Some(format!("{kind} takes no activation or norm '{field}' (it has no weights)"))
        } else {
            None
        }
    }
}

fn parse_layer(number: usize, text: &str) -> Result<ChainLayer, ParseError> {
    let mut fields = text.split('-');
    let name = fields.next().unwrap_or_default();
    let kind = LayerKind::from_name(name).ok_or_else(|| {
        ParseError::new(format!("chain layer {number}: {}", unknown("layer type", name, &LayerKind::names())))
    })?;
    let mut reader = LayerReader { number, kind, fields: fields.peekable() };
    let numbered = |prefix: char| move |field: &str| field.strip_prefix(prefix).and_then(whole_number);
    let expected = |what: &'static str| move |field: &str| format!("expected the {what} of {kind}, found '{field}'");
    let mut kernel = None;
    if kind.chooses_kernel() {
        kernel = Some(reader.required("a kernel k<size>", numbered('k'), expected("kernel k<size>"))?);
    }
    let mut channels = None;
    if kind.sets_channels() {
        channels = Some(reader.required("channels c<count>", numbered('c'), expected("channels c<count>"))?);
    }
    let (mut activation, mut norm) = (None, None);
    if kind.has_weights() {
        let names = Activation::names();
        activation =
            Some(reader.required("an activation", Activation::from_name, |f| unknown("activation", f, &names))?);
        let names = Norm::names();
        norm = Some(reader.required("a norm", Norm::from_name, |f| unknown("norm", f, &names))?);
    }
    let dropout_percent =
        reader.optional('d', percent_from_text, "a dropout in whole percent, like d0.1")?.unwrap_or(0);
    let skip = reader.optional('s', |v| whole_number(v).filter(|&d| d > 0), "a skip distance of 1 or more, like s1")?;
    if let Some(field) = reader.fields.next() {
        let message = reader.misplaced(field).unwrap_or_else(|| {
            format!(
                "unexpected field '{field}' (after {kind}'s own fields: optional d<dropout>, then s<skip distance>)"
            )
        });
        return Err(reader.error(message));
    }
    Ok(ChainLayer { kind, channels, kernel, activation, norm, dropout_percent, skip })
}

/// One entry of the canonical form: a layer that is built, its channels after the width multiplier, its
/// dropout (with a folded dropout layer's) and the canonical node its skip reads.
struct CanonicalEntry<'a> {
    layer: &'a ChainLayer,
    channels: Option<usize>,
    dropout_percent: u32,
    skip_from: Option<usize>,
}

/// `type[-k<kernel>][-c<channels>][-<activation>-<norm>][-d<dropout>]`: a printed layer without its skip.
fn layer_text(layer: &ChainLayer, channels: Option<usize>, dropout_percent: u32) -> String {
    let mut text = layer.kind.name().to_string();
    if let Some(k) = layer.kernel {
        text.push_str(&format!("-k{k}"));
    }
    if let Some(c) = channels {
        text.push_str(&format!("-c{c}"));
    }
    for name in [layer.activation.map(Activation::name), layer.norm.map(Norm::name)].into_iter().flatten() {
        text.push('-');
        text.push_str(name);
    }
    if dropout_percent > 0 {
        text.push_str(&format!("-d{}", percent_text(dropout_percent)));
    }
    text
}

impl SearchSpace for ChainSpace {
    type Arch = ChainArch;
    const NAME: &'static str = "chain";

    /// Each decision uniformly: the depth, the width multiplier, then each layer's type and the fields it
    /// takes, dropout and skip (none or a distance reaching at most the stem).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> ChainArch {
        let depth = rng.random_range(self.min_depth..=self.max_depth);
        let width_percent = *self.width_percents.choose(rng).expect("validated non-empty");
        ChainArch { layers: (1..=depth).map(|position| self.random_layer(position, rng)).collect(), width_percent }
    }

    /// A uniformly chosen kind of change among those possible (type, channels, kernel, activation, norm,
    /// dropout, skip, add or remove a layer, width), then a uniformly chosen change of that kind.
    fn mutate<R: Rng + ?Sized>(&self, arch: &ChainArch, rng: &mut R) -> ChainArch {
        let options: Vec<Vec<ChainArch>> =
            CHANGES.iter().map(|&change| self.changes(arch, change)).filter(|c| !c.is_empty()).collect();
        match options.choose(rng) {
            Some(changes) => changes.choose(rng).expect("non-empty").clone(),
            None => arch.clone(),
        }
    }

    /// Single point: the first `p ≥ 1` layers of one parent (chosen at random) followed by the layers of the
    /// other from a cut chosen so the depth stays in range; the width multiplier of either parent; skips that
    /// would reach before the stem are clamped to it.
    fn crossover<R: Rng + ?Sized>(&self, a: &ChainArch, b: &ChainArch, rng: &mut R) -> ChainArch {
        let (head, tail) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
        let p = rng.random_range(1..=head.layers.len().max(1)).min(head.layers.len());
        let total = p + tail.layers.len();
        let lowest = total.saturating_sub(self.max_depth).min(tail.layers.len());
        let highest = total.saturating_sub(self.min_depth).clamp(lowest, tail.layers.len());
        let q = rng.random_range(lowest..=highest);
        let mut layers: Vec<ChainLayer> = head.layers[..p].iter().chain(&tail.layers[q..]).cloned().collect();
        layers.truncate(self.max_depth);
        clamp_skips(&mut layers);
        let width_percent = if rng.random_bool(0.5) { a.width_percent } else { b.width_percent };
        ChainArch { layers, width_percent }
    }

    /// By kind of change (type, channels, kernel, activation, norm, dropout, skip, add a copy of a layer after
    /// it, remove a layer, width), each over the layers in order; repeats are listed once.
    fn neighbours(&self, arch: &ChainArch) -> Vec<ChainArch> {
        let mut seen = HashSet::new();
        CHANGES
            .iter()
            .flat_map(|&change| self.changes(arch, change))
            .filter(|neighbour| neighbour != arch && seen.insert(neighbour.clone()))
            .collect()
    }

    fn decision_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.max_depth - self.min_depth + 1, self.width_percents.len()];
        for _ in 0..self.max_depth {
            sizes.extend([
                LayerKind::ALL.len(),
                self.channels.len(),
                self.kernels.len(),
                Activation::ALL.len(),
                Norm::ALL.len(),
                self.dropout_percents.len(),
                self.max_skip_distance + 1,
            ]);
        }
        sizes
    }

    fn to_decisions(&self, arch: &ChainArch) -> Vec<usize> {
        let depth = arch.layers.len();
        let mut decisions = vec![
            depth.clamp(self.min_depth, self.max_depth) - self.min_depth,
            index_of(&self.width_percents, &arch.width_percent),
        ];
        for slot in 0..self.max_depth {
            match arch.layers.get(slot) {
                Some(layer) => decisions.extend([
                    layer.kind.index(),
                    layer.channels.map_or(0, |c| index_of(&self.channels, &c)),
                    layer.kernel.map_or(0, |k| index_of(&self.kernels, &k)),
                    layer.activation.map_or(0, Activation::index),
                    layer.norm.map_or(0, Norm::index),
                    index_of(&self.dropout_percents, &layer.dropout_percent),
                    layer.skip.unwrap_or(0).min(self.max_skip_distance),
                ]),
                None => decisions.extend([0; 7]),
            }
        }
        decisions
    }

    fn from_decisions(&self, decisions: &[usize]) -> ChainArch {
        let sizes = self.decision_sizes();
        let choice = |i: usize| decisions.get(i).copied().unwrap_or(0) % sizes[i];
        let depth = self.min_depth + choice(0);
        let layers = (0..depth)
            .map(|slot| {
                let d = |field: usize| choice(2 + 7 * slot + field);
                let kind = LayerKind::ALL[d(0)];
                let skip = d(6).min(slot + 1);
                ChainLayer {
                    kind,
                    channels: kind.sets_channels().then(|| self.channels[d(1)]),
                    kernel: kind.chooses_kernel().then(|| self.kernels[d(2)]),
                    activation: kind.has_weights().then(|| Activation::ALL[d(3)]),
                    norm: kind.has_weights().then(|| Norm::ALL[d(4)]),
                    dropout_percent: self.dropout_percents[d(5)],
                    skip: (skip > 0).then_some(skip),
                }
            })
            .collect();
        ChainArch { layers, width_percent: self.width_percents[choice(1)] }
    }

    fn parse(&self, text: &str) -> Result<ChainArch, ParseError> {
        let text = text.trim();
        let (header, body) = text.split_once(':').ok_or_else(|| {
            ParseError::new(format!("chain architecture '{text}': expected 'w<width multiplier>:' before the layers"))
        })?;
        let width_percent = header.strip_prefix('w').and_then(percent_from_text).ok_or_else(|| {
            ParseError::new(format!(
                "chain architecture '{text}': width multiplier '{header}' must look like w1 or w0.75 (whole percent)"
            ))
        })?;
        let layers = body
            .split('|')
            .enumerate()
            .map(|(i, layer)| parse_layer(i + 1, layer.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let arch = ChainArch { layers, width_percent };
        self.validate(&arch)?;
        Ok(arch)
    }

    fn print(&self, arch: &ChainArch) -> String {
        let mut out = format!("w{}:", percent_text(arch.width_percent));
        for (i, layer) in arch.layers.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(&layer_text(layer, layer.channels, layer.dropout_percent));
            if let Some(d) = layer.skip {
                out.push_str(&format!("-s{d}"));
            }
        }
        out
    }

    /// `stem`, then each built layer as `type[-k][-c<scaled channels>][-activation-norm][-d][+<node>]`, where
    /// `+<node>` is the canonical node its skip reads (0: the stem's output). See the module docs.
    fn canonical(&self, arch: &ChainArch) -> String {
        // alias[node] = the canonical node holding the same tensor; canonical node k ≥ 1 is entries[k - 1].
        let mut alias: Vec<usize> = vec![0];
        let mut entries: Vec<CanonicalEntry> = Vec::with_capacity(arch.layers.len());
        for (i, layer) in arch.layers.iter().enumerate() {
            let node = i + 1;
            let input = alias[i];
            let skip_from = layer.skip.map(|d| alias[node.saturating_sub(d)]);
            if layer.kind == LayerKind::Identity && skip_from.is_none() {
                if layer.dropout_percent == 0 {
                    alias.push(input);
                    continue;
                }
                let undropped_read_later = arch.layers[node..].iter().enumerate().any(|(j, later)| {
                    let later_node = node + 1 + j;
                    later
                        .skip
                        .and_then(|d| later_node.checked_sub(d))
                        .is_some_and(|from| from < node && alias[from] == input)
                });
                let previous = input
                    .checked_sub(1)
                    .map(|k| &mut entries[k])
                    .filter(|previous| previous.dropout_percent == 0 && previous.skip_from.is_none());
                if let Some(previous) = previous.filter(|_| !undropped_read_later) {
                    previous.dropout_percent = layer.dropout_percent;
                    alias.push(input);
                    continue;
                }
            }
            let channels = layer.channels.map(|c| arch.scaled_channels(c));
            entries.push(CanonicalEntry { layer, channels, dropout_percent: layer.dropout_percent, skip_from });
            alias.push(entries.len());
        }
        let mut key = String::from("stem");
        for entry in &entries {
            key.push('|');
            key.push_str(&layer_text(entry.layer, entry.channels, entry.dropout_percent));
            if let Some(from) = entry.skip_from {
                key.push_str(&format!("+{from}"));
            }
        }
        key
    }

    fn validate(&self, arch: &ChainArch) -> Result<(), ParseError> {
        let depth = arch.layers.len();
        if !(self.min_depth..=self.max_depth).contains(&depth) {
            return Err(ParseError::new(format!(
                "chain architecture: depth {depth} is outside the space's {}..={} layers",
                self.min_depth, self.max_depth
            )));
        }
        if !self.width_percents.contains(&arch.width_percent) {
            return Err(ParseError::new(format!(
                "chain architecture: width multiplier {} is not among the choices ({})",
                percent_text(arch.width_percent),
                percents_text(&self.width_percents)
            )));
        }
        arch.layers.iter().enumerate().try_for_each(|(i, layer)| self.check_layer(i + 1, layer))
    }

    /// The default [`ChainNetwork`] (stem of 16 channels) for the task's input and classes.
    fn cost(&self, arch: &ChainArch, task: &TaskShape) -> Option<NetworkCost> {
        Some(ChainNetwork::for_task(task).cost(arch))
    }
}

/// The network around a chain (see the module docs): its input, classes and stem width. Used for analytic
/// parameter and FLOP counts, and by training through [`ChainNetwork::plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainNetwork {
    pub input_channels: usize,
    pub input_size: usize,
    pub classes: usize,
    /// Output channels of the stem's 3×3 convolution (not scaled by the width multiplier).
    pub stem_channels: usize,
}

impl Default for ChainNetwork {
    /// CIFAR-10 (3×32×32 inputs, 10 classes) with a 16-channel stem.
    fn default() -> Self {
        ChainNetwork { input_channels: 3, input_size: 32, classes: 10, stem_channels: 16 }
    }
}

/// The resolved shapes of one layer of a chain network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerPlan {
    pub in_channels: usize,
    pub out_channels: usize,
    pub in_size: usize,
    pub out_size: usize,
    pub skip: Option<SkipPlan>,
}

/// How a layer's skip is built: the source node and how it is adapted to the layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipPlan {
    /// The node read: 0 is the stem's output, `i` the output of layer `i`.
    pub from_node: usize,
    pub from_channels: usize,
    pub from_size: usize,
    /// Adaptive average pooling to the layer's output size (the sizes differ).
    pub pool: bool,
    /// A 1×1 conv + batch norm to the layer's output channels (the channel counts differ).
    pub project: bool,
}

impl ChainNetwork {
    /// The default network with the task's input and classes.
    pub fn for_task(task: &TaskShape) -> ChainNetwork {
        ChainNetwork { input_channels: task.channels, input_size: task.size, classes: task.classes, ..Self::default() }
    }

    /// The shapes of every layer of `arch`, by the module's buildability rules.
    pub fn plan(&self, arch: &ChainArch) -> Vec<LayerPlan> {
        // (channels, size) of each node; node 0 is the stem's output.
        let mut nodes = vec![(self.stem_channels, self.input_size)];
        let mut plans = Vec::with_capacity(arch.layers.len());
        for (i, layer) in arch.layers.iter().enumerate() {
            let (in_channels, in_size) = nodes[i];
            let out_channels = layer.channels.map_or(in_channels, |c| arch.scaled_channels(c));
            let out_size = if layer.kind.downsamples() { in_size.div_ceil(2) } else { in_size };
            let skip = layer.skip.map(|d| {
                let from_node = (i + 1).saturating_sub(d);
                let (from_channels, from_size) = nodes[from_node];
                SkipPlan {
                    from_node,
                    from_channels,
                    from_size,
                    pool: from_size != out_size,
                    project: from_channels != out_channels,
                }
            });
            nodes.push((out_channels, out_size));
            plans.push(LayerPlan { in_channels, out_channels, in_size, out_size, skip });
        }
        plans
    }

    /// Parameters (convolutions without bias, every norm's scale and shift, the classifier with bias) and
    /// multiply-accumulates (convolutions, skip projections and the classifier; pools are not counted).
    pub fn cost(&self, arch: &ChainArch) -> NetworkCost {
        let mut cost = NetworkCost::default();
        cost.conv(self.input_channels, self.stem_channels, 3, self.input_size, true);
        let mut channels = self.stem_channels;
        for (layer, plan) in arch.layers.iter().zip(self.plan(arch)) {
            let (c_in, c_out, size) = (plan.in_channels, plan.out_channels, plan.out_size);
            let kernel = layer.kernel.unwrap_or(3);
            // Every norm has a scale and a shift per channel, so all count as batch norm's. A depthwise
            // convolution over C channels has the weights of a convolution from 1 channel to C.
            match layer.kind {
                LayerKind::Conv3x3 | LayerKind::DilatedConv3x3 => cost.conv(c_in, c_out, 3, size, true),
                LayerKind::Conv1x1 => cost.conv(c_in, c_out, 1, size, true),
                LayerKind::DepthwiseConv3x3 => cost.conv(1, c_in, 3, size, true),
                LayerKind::Bottleneck => {
                    let middle = (c_out / BOTTLENECK_REDUCTION).max(1);
                    cost.conv(c_in, middle, 1, size, true);
                    cost.conv(middle, middle, kernel, size, true);
                    cost.conv(middle, c_out, 1, size, true);
                }
                LayerKind::InvertedResidual => {
                    let hidden = c_in * INVERTED_RESIDUAL_EXPANSION;
                    cost.conv(c_in, hidden, 1, size, true);
                    cost.conv(1, hidden, kernel, size, true);
                    cost.conv(hidden, c_out, 1, size, true);
                }
                LayerKind::MaxPool3x3 | LayerKind::AvgPool3x3 | LayerKind::Identity => {}
            }
            if let Some(skip) = plan.skip.filter(|skip| skip.project) {
                cost.conv(skip.from_channels, c_out, 1, size, true);
            }
            channels = c_out;
        }
        let classifier = (channels * self.classes) as u64;
        cost.params += classifier + self.classes as u64;
        cost.flops += classifier;
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;
    use std::collections::HashMap;

    const EXAMPLE: &str = "w0.75:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn-s1|maxpool3x3-s2|\
                           inverted_residual-k3-c16-hardswish-ln|depthwise_conv3x3-gelu-bn-d0.2-s3";

    fn space() -> ChainSpace {
        ChainSpace::default()
    }

    fn arch(text: &str) -> ChainArch {
        space().parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message))
    }

    fn canonical(text: &str) -> String {
        space().canonical(&arch(text))
    }

    fn samples(count: usize, seed: u64) -> Vec<ChainArch> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        (0..count).map(|_| space().sample(&mut rng)).collect()
    }

    #[test]
    fn parses_and_prints_the_example() {
        let a = arch(EXAMPLE);
        assert_eq!(a.width_percent, 75);
        assert_eq!(a.layers.len(), 5);
        assert_eq!(
            a.layers[0],
            ChainLayer {
                kind: LayerKind::Conv3x3,
                channels: Some(32),
                kernel: None,
                activation: Some(Activation::Relu),
                norm: Some(Norm::Batch),
                dropout_percent: 10,
                skip: None,
            }
        );
        assert_eq!((a.layers[1].kernel, a.layers[1].norm, a.layers[1].skip), (Some(5), Some(Norm::Group), Some(1)));
        assert_eq!((a.layers[2].channels, a.layers[2].activation, a.layers[2].skip), (None, None, Some(2)));
        assert_eq!(a.layers[4].dropout_percent, 20);
        assert_eq!(space().print(&a), EXAMPLE);
        // A zero dropout may be written; it is not printed.
        assert_eq!(arch("w1:identity-d0|maxpool3x3"), arch("w1:identity|maxpool3x3"));
        assert_eq!(space().print(&arch(" w1.00:identity-d0 | maxpool3x3 ")), "w1:identity|maxpool3x3");
    }

    #[test]
    fn random_chains_round_trip_through_text_json_and_decisions() {
        let space = space();
        let sizes = space.decision_sizes();
        assert_eq!(sizes.len(), 2 + 7 * 8);
        let mut kinds = HashSet::new();
        let mut depths = HashSet::new();
        let mut skips = 0;
        for a in samples(1000, 1) {
            space.validate(&a).unwrap_or_else(|e| panic!("{a:?}: {}", e.message));
            assert_eq!(space.parse(&space.print(&a)).as_ref(), Ok(&a), "{}", space.print(&a));
            assert_eq!(space.from_json(&space.to_json(&a)).as_ref(), Ok(&a), "{}", space.to_json(&a));
            let decisions = space.to_decisions(&a);
            assert!(decisions.iter().zip(&sizes).all(|(d, size)| d < size), "{decisions:?}");
            assert_eq!(space.from_decisions(&decisions), a);
            let onehot = space.encode_onehot(&a);
            assert_eq!(onehot.len(), sizes.iter().sum::<usize>());
            assert_eq!(onehot.iter().sum::<f64>(), sizes.len() as f64);
            assert_eq!(space.encode_path(&a), None);
            kinds.extend(a.layers.iter().map(|l| l.kind));
            depths.insert(a.layers.len());
            skips += a.layers.iter().filter(|l| l.skip.is_some()).count();
        }
        assert_eq!(kinds.len(), 9, "every layer type is sampled");
        assert_eq!(depths, (2..=8).collect(), "every depth is sampled");
        assert!(skips > 1000, "skips are sampled: {skips}");
    }

    #[test]
    fn json_form_is_readable_and_errors_name_the_field() {
        let a = arch("w1:conv3x3-c32-relu-bn-d0.1|bottleneck-k5-c64-swish-gn|maxpool3x3-s2");
        assert_eq!(
            space().to_json(&a),
            concat!(
                r#"{"width_multiplier":1.0,"layers":["#,
                r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"bn","dropout":0.1},"#,
                r#"{"type":"bottleneck","kernel":5,"channels":64,"activation":"swish","norm":"gn"},"#,
                r#"{"type":"maxpool3x3","skip":2}]}"#
            )
        );
        let conv = r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"bn"}"#;
        let cases = [
            (
                r#"{"type":"conv3x3","channels":32,"activation":"tanh","norm":"bn"}"#,
                "field `layers[1].activation`: unknown activation 'tanh' (expected one of relu, swish, hardswish, \
                 gelu)",
            ),
            (
                r#"{"type":"conv3x3","channels":32,"activation":"relu","norm":"batchnorm"}"#,
                "field `layers[1].norm`: unknown norm 'batchnorm' (expected one of bn, ln, gn)",
            ),
            (r#"{"type":"conv"}"#, "field `layers[1].type`: unknown layer type 'conv'"),
            (r#"{"type":"identity","dropout":0.125}"#, "field `layers[1].dropout`: 0.125 is not a whole percentage"),
            (r#"{"type":"identity","activaton":"relu"}"#, "unknown field `activaton`"),
            (
                r#"{"type":"maxpool3x3","channels":32}"#,
                "chain layer 2: maxpool3x3 takes no channels (it keeps its input's channels)",
            ),
            (
                r#"{"type":"conv3x3","kernel":5,"channels":32,"activation":"relu","norm":"bn"}"#,
                "chain layer 2: conv3x3 takes no kernel",
            ),
            (r#"{"type":"conv3x3","channels":32,"activation":"relu"}"#, "chain layer 2: conv3x3 needs a norm"),
            (
                r#"{"type":"conv3x3","channels":48,"activation":"relu","norm":"bn"}"#,
                "chain layer 2: channels 48 is not among the choices (16, 32, 64, 128)",
            ),
            (r#"{"type":"identity","skip":0}"#, "chain layer 2: skip distance 0"),
            (r#"{"type":"identity","skip":3}"#, "chain layer 2: skip distance 3 reaches before the stem"),
        ];
        for (layer, expected) in cases {
            let json = format!(r#"{{"width_multiplier":1.0,"layers":[{conv},{layer}]}}"#);
            let err = space().from_json(&json).unwrap_err();
            assert!(err.message.contains(expected), "{layer}: {}", err.message);
        }
        let err = space().from_json(&format!(r#"{{"width_multiplier":0.333,"layers":[{conv},{conv}]}}"#)).unwrap_err();
        assert!(err.message.contains("field `width_multiplier`: 0.333 is not a whole percentage"), "{}", err.message);
        let err = space().from_json(&format!(r#"{{"width_multiplier":2,"layers":[{conv},{conv}]}}"#)).unwrap_err();
        assert!(
            err.message.contains("width multiplier 2 is not among the choices (0.5, 0.75, 1, 1.25)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn rejects_malformed_strings_with_the_reason() {
        let cases = [
            ("", "chain architecture '': expected 'w<width multiplier>:' before the layers"),
            ("conv3x3-c32-relu-bn|identity", "expected 'w<width multiplier>:'"),
            ("x1:identity|identity", "width multiplier 'x1' must look like w1 or w0.75"),
            ("w0.333:identity|identity", "width multiplier 'w0.333'"),
            ("w0.6:identity|identity", "width multiplier 0.6 is not among the choices (0.5, 0.75, 1, 1.25)"),
            ("w1:identity", "depth 1 is outside the space's 2..=8 layers"),
            (
                "w1:identity|conv3x3-c32-tanh-bn",
                "chain layer 2: unknown activation 'tanh' (expected one of relu, swish, hardswish, gelu)",
            ),
            (
                "w1:conv3x3-c32-relu-batchnorm|identity",
                "chain layer 1: unknown norm 'batchnorm' (expected one of bn, ln, gn)",
            ),
            (
                "w1:identity|conv5x5-c32-relu-bn",
                "chain layer 2: unknown layer type 'conv5x5' (expected one of conv3x3, ",
            ),
            ("w1:identity||identity", "chain layer 2: unknown layer type ''"),
            (
                "w1:bottleneck-c64-relu-bn|identity",
                "chain layer 1: expected the kernel k<size> of bottleneck, found 'c64'",
            ),
            ("w1:conv3x3-relu-bn|identity", "chain layer 1: expected the channels c<count> of conv3x3, found 'relu'"),
            ("w1:conv3x3-c-1-relu-bn|identity", "chain layer 1: expected the channels c<count> of conv3x3, found 'c'"),
            ("w1:conv3x3-c32-relu|identity", "chain layer 1: conv3x3 needs a norm"),
            ("w1:conv3x3|identity", "chain layer 1: conv3x3 needs channels c<count>"),
            (
                "w1:conv3x3-k5-c32-relu-bn|identity",
                "chain layer 1: conv3x3 takes no kernel 'k5' (its type fixes its kernel)",
            ),
            ("w1:maxpool3x3-c32|identity", "chain layer 1: maxpool3x3 takes no channels 'c32'"),
            ("w1:identity|identity-swish", "chain layer 2: identity takes no activation or norm 'swish'"),
            (
                "w1:conv3x3-c48-relu-bn|identity",
                "chain layer 1: channels 48 is not among the choices (16, 32, 64, 128)",
            ),
            ("w1:bottleneck-k9-c32-relu-bn|identity", "chain layer 1: kernel 9 is not among the choices (3, 5, 7)"),
            ("w1:identity-d0.5|identity", "chain layer 1: dropout 0.5 is not among the choices (0, 0.1, 0.2, 0.3)"),
            ("w1:identity-d0.125|identity", "chain layer 1: 'd0.125' must be a dropout in whole percent"),
            (
                "w1:identity|identity-s3",
                "chain layer 2: skip distance 3 reaches before the stem (at most 2 at layer 2)",
            ),
            (
                "w1:identity|identity|identity|identity|identity-s4",
                "chain layer 5: skip distance 4 is above the space's maximum 3",
            ),
            ("w1:identity-s0|identity", "chain layer 1: 's0' must be a skip distance of 1 or more"),
            ("w1:identity|identity-s1-d0.1", "chain layer 2: unexpected field 'd0.1'"),
            ("w1:conv3x3-c32-relu-bn-x|identity", "chain layer 1: unexpected field 'x'"),
        ];
        for (text, expected) in cases {
            let err = space().parse(text).unwrap_err();
            assert!(err.message.contains(expected), "{text}: {}", err.message);
        }
    }

    #[test]
    fn canonical_form_merges_equivalent_chains() {
        assert_eq!(
            canonical("w0.5:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s2"),
            "stem|conv3x3-c16-relu-bn-d0.1|maxpool3x3+0"
        );
        // The width multiplier only matters through the channels it gives.
        assert_eq!(canonical("w0.5:conv3x3-c32-relu-bn|maxpool3x3"), canonical("w1:conv3x3-c16-relu-bn|maxpool3x3"));
        assert_eq!(
            canonical("w0.5:maxpool3x3|depthwise_conv3x3-relu-bn"),
            canonical("w1.25:maxpool3x3|depthwise_conv3x3-relu-bn")
        );
        // An identity without dropout or skip is no layer; skips read the same tensor through it.
        assert_eq!(
            canonical("w1:conv3x3-c32-relu-bn|identity|conv1x1-c64-relu-bn-s2"),
            canonical("w1:conv3x3-c32-relu-bn|conv1x1-c64-relu-bn-s1")
        );
        assert_eq!(canonical("w1:identity|conv3x3-c32-relu-bn|identity"), canonical("w1:conv3x3-c32-relu-bn|identity"));
        assert_eq!(canonical("w1:identity|identity|conv3x3-c32-relu-bn-s3"), "stem|conv3x3-c32-relu-bn+0");
        assert_eq!(canonical("w1:identity|identity|conv3x3-c32-relu-bn-s1"), "stem|conv3x3-c32-relu-bn+0");
        assert_eq!(canonical("w1:identity|identity"), "stem");
        // A dropout-only identity is the dropout of the layer before it.
        assert_eq!(
            canonical("w1:conv3x3-c32-relu-bn|identity-d0.1|maxpool3x3"),
            canonical("w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3")
        );
        assert_eq!(
            canonical("w1:conv3x3-c32-relu-bn|identity|identity-d0.1|maxpool3x3-s1"),
            canonical("w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s1")
        );
    }

    #[test]
    fn canonical_form_keeps_different_chains_apart() {
        let different = [
            ("w0.75:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-relu-bn|identity"),
            ("w1:bottleneck-k3-c32-relu-bn|identity", "w1:bottleneck-k5-c32-relu-bn|identity"),
            ("w1:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-gelu-bn|identity"),
            ("w1:conv3x3-c32-relu-bn|identity", "w1:conv3x3-c32-relu-ln|identity"),
            ("w1:conv3x3-c32-relu-bn|identity", "w1:dilated_conv3x3-c32-relu-bn|identity"),
            ("w1:maxpool3x3|identity", "w1:avgpool3x3|identity"),
            ("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s1", "w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s2"),
            ("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s1", "w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn"),
            // x + x is not x.
            ("w1:conv3x3-c32-relu-bn|identity-s1", "w1:conv3x3-c32-relu-bn|identity"),
            ("w1:conv3x3-c32-relu-bn-d0.1|identity", "w1:conv3x3-c32-relu-bn-d0.2|identity"),
            // Dropout before a skip is added is not dropout after it.
            ("w1:conv3x3-c32-relu-bn-s1|identity-d0.1", "w1:conv3x3-c32-relu-bn-d0.1-s1|identity"),
            // A later skip reads the conv's output without the dropout.
            ("w1:conv3x3-c32-relu-bn|identity-d0.1|maxpool3x3-s2", "w1:conv3x3-c32-relu-bn-d0.1|maxpool3x3-s1"),
            // The stem has no dropout to fold into.
            ("w1:identity-d0.1|identity", "w1:identity|identity"),
            ("w1:maxpool3x3|conv1x1-c16-relu-bn", "w1:conv1x1-c16-relu-bn|maxpool3x3"),
        ];
        for (a, b) in different {
            assert_ne!(canonical(a), canonical(b), "{a} vs {b}");
        }
    }

    #[test]
    fn chains_sharing_a_key_build_the_same_network() {
        let space = space();
        let network = ChainNetwork::default();
        let mut costs: HashMap<String, NetworkCost> = HashMap::new();
        let mut merged = 0;
        for a in samples(300, 2) {
            for b in std::iter::once(a.clone()).chain(space.neighbours(&a)) {
                let cost = network.cost(&b);
                if let Some(&seen) = costs.get(&space.canonical(&b)) {
                    assert_eq!(seen, cost, "{}", space.print(&b));
                    merged += 1;
                }
                costs.insert(space.canonical(&b), cost);
            }
        }
        assert!(merged > 100, "equivalent chains are found: {merged}");
    }

    #[test]
    fn neighbours_are_valid_distinct_single_steps() {
        let space = space();
        let a = arch("w1:conv3x3-c32-relu-bn|maxpool3x3-s2");
        let neighbours = space.neighbours(&a);
        // Types 2×8, channels 3, activation 3, norm 2, dropout 2×3, skip 1 + 2, two deeper copies, width 3.
        assert_eq!(neighbours.len(), 38);
        assert_eq!(space.print(&neighbours[0]), "w1:conv1x1-c32-relu-bn|maxpool3x3-s2");
        assert!(neighbours.contains(&arch("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn-s2")), "retyped with defaults");
        assert!(neighbours.contains(&arch("w1:conv3x3-c32-relu-bn|conv3x3-c32-relu-bn|maxpool3x3-s2")));
        assert!(neighbours.contains(&arch("w0.5:conv3x3-c32-relu-bn|maxpool3x3-s2")));
        let removed = space.neighbours(&arch("w1:identity|conv3x3-c32-relu-bn|maxpool3x3-s3"));
        assert!(removed.contains(&arch("w1:conv3x3-c32-relu-bn|maxpool3x3-s2")), "skip clamped to the stem");
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for a in samples(300, 3) {
            let neighbours = space.neighbours(&a);
            assert_eq!(neighbours.iter().collect::<HashSet<_>>().len(), neighbours.len());
            for n in &neighbours {
                assert_ne!(n, &a);
                let valid = space.validate(n);
                assert!(valid.is_ok(), "{} → {}: {valid:?}", space.print(&a), space.print(n));
            }
            for _ in 0..5 {
                assert!(neighbours.contains(&space.mutate(&a, &mut rng)));
            }
        }
    }

    #[test]
    fn mutation_changes_every_kind_of_decision() {
        let space = space();
        let a = arch(EXAMPLE);
        let mut rng = Pcg64Mcg::seed_from_u64(4);
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let m = space.mutate(&a, &mut rng);
            space.validate(&m).unwrap();
            if m.layers.len() != a.layers.len() {
                seen.insert(if m.layers.len() > a.layers.len() { "add" } else { "remove" });
                continue;
            }
            if m.width_percent != a.width_percent {
                seen.insert("width");
            }
            for (x, y) in a.layers.iter().zip(&m.layers) {
                for (name, changed) in [
                    ("type", x.kind != y.kind),
                    ("channels", x.kind == y.kind && x.channels != y.channels),
                    ("kernel", x.kernel != y.kernel && x.kind == y.kind),
                    ("activation", x.kind == y.kind && x.activation != y.activation),
                    ("norm", x.kind == y.kind && x.norm != y.norm),
                    ("dropout", x.dropout_percent != y.dropout_percent),
                    ("skip", x.skip != y.skip),
                ] {
                    if changed {
                        seen.insert(name);
                    }
                }
            }
        }
        assert_eq!(seen.len(), 10, "{seen:?}");
    }

    #[test]
    fn crossover_is_single_point_on_layers_and_repaired() {
        let space = space();
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        let parents = samples(600, 5);
        let mut new_depths = 0;
        for pair in parents.chunks(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let child = space.crossover(a, b, &mut rng);
            space.validate(&child).unwrap_or_else(|e| panic!("{}: {}", space.print(&child), e.message));
            assert!(child.width_percent == a.width_percent || child.width_percent == b.width_percent);
            let splices = [(a, b), (b, a)].into_iter().any(|(head, tail)| {
                (1..=head.layers.len()).any(|p| {
                    (0..=tail.layers.len()).any(|q| {
                        let mut layers: Vec<_> = head.layers[..p].iter().chain(&tail.layers[q..]).cloned().collect();
                        clamp_skips(&mut layers);
                        layers == child.layers
                    })
                })
            });
            assert!(splices, "{} × {} → {}", space.print(a), space.print(b), space.print(&child));
            if child.layers.len() != a.layers.len() && child.layers.len() != b.layers.len() {
                new_depths += 1;
            }
        }
        assert!(new_depths > 30, "crossover mixes depths: {new_depths}");
        // A tail layer whose skip would reach before the stem reads the stem instead.
        let a = arch("w1:identity|identity");
        let b = arch("w1:identity|identity|identity|identity|identity|identity-s3");
        let children: HashSet<_> = (0..200).map(|_| space.crossover(&a, &b, &mut rng)).collect();
        assert!(children.contains(&arch("w1:identity|identity-s2")));
    }

    #[test]
    fn any_decision_vector_gives_a_valid_chain() {
        let space = space();
        let sizes = space.decision_sizes();
        let mut rng = Pcg64Mcg::seed_from_u64(6);
        for _ in 0..1000 {
            let decisions: Vec<usize> = sizes.iter().map(|&size| rng.random_range(0..size)).collect();
            let a = space.from_decisions(&decisions);
            space.validate(&a).unwrap_or_else(|e| panic!("{decisions:?}: {}", e.message));
            assert_eq!(space.from_decisions(&space.to_decisions(&a)), a);
        }
        // Depth 2 (decision 0), first layer identity with skip distance 3: clamped to the stem (distance 1).
        let mut decisions = vec![0; sizes.len()];
        decisions[2] = LayerKind::Identity.index();
        decisions[2 + 6] = 3;
        let a = space.from_decisions(&decisions);
        assert_eq!(space.print(&a), "w0.5:identity-s1|conv3x3-c16-relu-bn");
    }

    #[test]
    fn settings_are_checked_and_read_from_json() {
        type Edit = fn(&mut ChainSettings);
        let cases: [(Edit, &str); 9] = [
            (|s| s.min_depth = 0, "`min_depth`: must be at least 1"),
            (|s| s.max_depth = 1, "`max_depth`: 1 is below min_depth 2"),
            (|s| s.channels.clear(), "`channels`: the list is empty"),
            (|s| s.channels = vec![16, 0], "`channels`: 0 must be between 1 and 65536"),
            (|s| s.channels = vec![16, 32, 16], "`channels`: 16 is listed twice"),
            (|s| s.kernels = vec![3, 4], "`kernels`: 4 is not a kernel size (expected 1, 3, 5 or 7)"),
            (|s| s.dropouts = vec![0.0, 1.0], "`dropouts`: 1 must be at least 0 and below 1"),
            (|s| s.dropouts = vec![0.125], "`dropouts`: 0.125 must be at least 0 and below 1 and a whole percentage"),
            (|s| s.width_multipliers = vec![0.0], "`width_multipliers`: 0 must be above 0 and at most 4"),
        ];
        for (edit, expected) in cases {
            let mut settings = ChainSettings::default();
            edit(&mut settings);
            let err = ChainSpace::new(settings).unwrap_err();
            assert!(err.message.contains(expected), "{expected}: {}", err.message);
        }
        let space: ChainSpace =
            serde_json::from_str(r#"{"max_depth": 12, "channels": [64, 16], "kernels": [1, 3]}"#).unwrap();
        let settings = space.settings();
        assert_eq!((settings.min_depth, settings.max_depth, settings.max_skip_distance), (2, 12, 3));
        assert_eq!((settings.channels, settings.kernels), (vec![16, 64], vec![1, 3]));
        assert_eq!(serde_json::from_str::<ChainSpace>(&serde_json::to_string(&space).unwrap()).unwrap(), space);
        assert!(space.parse("w1:bottleneck-k1-c64-relu-bn|identity").is_ok());
        let err = serde_json::from_str::<ChainSpace>(r#"{"kernels": [2]}"#).unwrap_err().to_string();
        assert!(err.contains("`kernels`: 2 is not a kernel size"), "{err}");
        let err = serde_json::from_str::<ChainSpace>(r#"{"depth": 3}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `depth`"), "{err}");
        // No skips at all.
        let flat = ChainSpace::new(ChainSettings { max_skip_distance: 0, ..ChainSettings::default() }).unwrap();
        let mut rng = Pcg64Mcg::seed_from_u64(8);
        assert!((0..200).all(|_| flat.sample(&mut rng).layers.iter().all(|l| l.skip.is_none())));
        assert!(flat.parse("w1:identity|identity-s1").unwrap_err().message.contains("above the space's maximum 0"));
    }

    #[test]
    fn plan_resolves_channels_sizes_and_skips() {
        let network = ChainNetwork { input_channels: 3, input_size: 9, classes: 10, stem_channels: 8 };
        let a = arch("w0.5:conv3x3-c32-relu-bn|maxpool3x3|depthwise_conv3x3-relu-gn-s3|avgpool3x3-s3");
        let shapes: Vec<_> =
            network.plan(&a).iter().map(|p| (p.in_channels, p.out_channels, p.in_size, p.out_size)).collect();
        assert_eq!(shapes, [(8, 16, 9, 9), (16, 16, 9, 5), (16, 16, 5, 5), (16, 16, 5, 3)]);
        let skips: Vec<_> = network.plan(&a).iter().map(|p| p.skip).collect();
        assert_eq!(skips[..2], [None, None]);
        let skip = |from_node, from_channels, from_size, pool, project| {
            Some(SkipPlan { from_node, from_channels, from_size, pool, project })
        };
        assert_eq!(skips[2], skip(0, 8, 9, true, true));
        assert_eq!(skips[3], skip(1, 16, 9, true, false));
    }

    #[test]
    fn network_cost_of_small_chains_by_hand() {
        let space = ChainSpace::new(ChainSettings { channels: vec![8, 16], ..ChainSettings::default() }).unwrap();
        // Stem 3→4 on 8×8: 108 weights + 8 norm; layer 1 conv 4→8: 288 + 16; layer 2 pools to 4×4; layer 3
        // 1×1 conv 8→16: 128 + 32, and its skip from node 1 is pooled and projected 8→16: 128 + 32; the
        // classifier 16×10 + 10.
        let network = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 4 };
        let a = space.parse("w1:conv3x3-c8-relu-bn|maxpool3x3|conv1x1-c16-relu-gn-s2").unwrap();
        assert_eq!(network.cost(&a).params, 116 + 304 + 160 + 160 + 170);
        assert_eq!(network.cost(&a).flops, 108 * 64 + 288 * 64 + 128 * 16 + 128 * 16 + 160);
        // On 4×4 with a 4-channel stem: an inverted residual 4→24→8 with a 5×5 depthwise (96 + 48, 600 + 48,
        // 192 + 16), a depthwise 3×3 on 8 (72 + 16), a bottleneck 8→4→16 with a 3×3 middle (32 + 8,
        // 144 + 8, 64 + 32) plus its residual projected 8→16 (128 + 32), a classifier 16×2 + 2.
        let network = ChainNetwork { input_channels: 3, input_size: 4, classes: 2, stem_channels: 4 };
        let a = space
            .parse("w1:inverted_residual-k5-c8-swish-bn|depthwise_conv3x3-relu-ln|bottleneck-k3-c16-gelu-bn-s1")
            .unwrap();
        assert_eq!(network.cost(&a).params, 116 + 1000 + 88 + 288 + 160 + 34);
        assert_eq!(network.cost(&a).flops, 16 * (108 + 888 + 72 + 240 + 128) + 32);
        // The width multiplier scales the layers, not the stem: 16 × 0.5 = 8 channels, so the 1×1 conv is
        // 8→8 (64 + 16) and the skip needs no projection; the classifier 8×10 + 10.
        let half = space.parse("w0.5:conv3x3-c16-relu-bn|maxpool3x3|conv1x1-c16-relu-gn-s2").unwrap();
        let network = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 4 };
        assert_eq!(network.cost(&half).params, 116 + 304 + 80 + 90);
        // The space's cost is the default network's for the task.
        let task = TaskShape { channels: 3, size: 8, classes: 10 };
        let expected = ChainNetwork { input_channels: 3, input_size: 8, classes: 10, stem_channels: 16 }.cost(&half);
        assert_eq!(space.cost(&half, &task), Some(expected));
    }

    /// Parsing never panics, and what parses is valid and prints back to itself.
    fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
        let space = space();
        if let Ok(a) = space.parse(text) {
            prop_assert!(space.validate(&a).is_ok());
            prop_assert_eq!(space.parse(&space.print(&a)), Ok(a.clone()));
            prop_assert_eq!(space.from_json(&space.to_json(&a)), Ok(a));
        }
        Ok(())
    }

    fn token() -> impl Strategy<Value = String> {
        let words: Vec<String> = LayerKind::ALL
            .iter()
            .map(|k| k.name())
            .chain(Activation::ALL.iter().map(|a| a.name()))
            .chain(Norm::ALL.iter().map(|n| n.name()))
            .chain(["w1:", "w0.5:", "|", "-", ":", "."])
            .map(String::from)
            .collect();
        prop_oneof![3 => prop::sample::select(words), 2 => "[kcdsw][0-9.]{0,4}", 1 => "[a-z0-9|:. -]{1,3}"]
    }

    /// A printed chain cut into fields and the separators between them.
    fn pieces(text: &str) -> Vec<String> {
        let mut pieces = vec![String::new()];
        for c in text.chars() {
            if matches!(c, '-' | '|' | ':') {
                pieces.extend([c.to_string(), String::new()]);
            } else {
                pieces.last_mut().expect("never empty").push(c);
            }
        }
        pieces
    }

    const FIELDS: [&str; 22] = [
        "conv1x1",
        "identity",
        "bottleneck",
        "maxpool3x3",
        "k1",
        "k5",
        "k9",
        "c16",
        "c48",
        "c",
        "gelu",
        "swish",
        "ln",
        "gn",
        "d0.2",
        "d0.5",
        "d0.05",
        "s1",
        "s3",
        "s9",
        "w0.5",
        "",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn parse_of_chains_with_a_replaced_field_never_panics(
            seed in any::<u64>(),
            at in any::<usize>(),
            field in prop::sample::select(FIELDS.to_vec()),
        ) {
            let mut pieces = pieces(&space().print(&space().sample(&mut Pcg64Mcg::seed_from_u64(seed))));
            // Fields sit at even places, separators between them.
            let at = 2 * (at % pieces.len().div_ceil(2));
            pieces[at] = field.to_string();
            parses_consistently(&pieces.concat())?;
        }

        #[test]
        fn parse_of_arbitrary_text_never_panics(text in any::<String>()) {
            parses_consistently(&text)?;
        }

        #[test]
        fn parse_of_token_soup_never_panics(tokens in prop::collection::vec(token(), 0..30)) {
            parses_consistently(&tokens.concat())?;
        }

        #[test]
        fn parse_of_damaged_chains_never_panics(
            seed in any::<u64>(),
            at in any::<usize>(),
            edit in 0..3u8,
            c in any::<char>(),
        ) {
            let text = space().print(&space().sample(&mut Pcg64Mcg::seed_from_u64(seed)));
            let mut chars: Vec<char> = text.chars().collect();
            let at = at % (chars.len() + 1);
            match edit {
                0 if at < chars.len() => { chars.remove(at); }
                1 => chars.insert(at, c),
                _ if at < chars.len() => chars[at] = c,
                _ => {}
            }
            parses_consistently(&chars.into_iter().collect::<String>())?;
        }
    }
}
