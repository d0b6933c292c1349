//! The mbconv architecture: the width multiplier, the input resolution and each stage's blocks (kernel,
//! expansion, squeeze-and-excitation, activation), with the deployment it runs under when the space searches
//! one, the JSON form and a located message for every field it rejects.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::super::choices::percent_from_f64;

/// The activation of a block's expansion and depthwise convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MbActivation {
    Relu,
    /// h-swish, `x · ReLU6(x + 3) / 6` (MobileNetV3).
    Hswish,
}

impl MbActivation {
    pub const ALL: [MbActivation; 2] = [MbActivation::Relu, MbActivation::Hswish];

    /// The name used in the printed and JSON forms.
    pub fn name(self) -> &'static str {
        match self {
            MbActivation::Relu => "relu",
            MbActivation::Hswish => "hswish",
        }
    }

    pub fn from_name(name: &str) -> Option<MbActivation> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(super) fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// One inverted-residual block (MobileNetV2's MBConv, with MobileNetV3's optional squeeze-and-excitation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbBlock {
    /// The depthwise convolution's kernel.
    pub kernel: usize,
    /// The expansion ratio: the hidden channels are this many times the block's input channels.
    pub expansion: usize,
    /// Squeeze-and-excitation on the hidden channels.
    pub se: bool,
    pub activation: MbActivation,
}

/// How a network is run where it is deployed, searched with the architecture (co-design) when the space
/// lists deployment choices: the threads it runs on, the images per forward pass and the floating-point
/// format it computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub threads: usize,
    pub batch: usize,
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

/// The floating-point format of a deployed network's weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    F16,
    Bf16,
}

impl Precision {
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Bf16];

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }

    pub fn from_name(name: &str) -> Option<Precision> {
        Precision::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    pub(super) fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// One mbconv network: width multiplier and input resolution (in percent, so that `Eq` and `Hash` are
/// exact), then the blocks of each stage in order (a stage's depth is its number of blocks); its deployment
/// when the space searches one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MbconvArch {
    pub width_percent: u32,
    pub resolution_percent: u32,
    pub stages: Vec<Vec<MbBlock>>,
    pub deployment: Option<Deployment>,
}

impl MbconvArch {
    /// The channels of a layer of `channels` at this width: `round(channels × multiplier)`, at least 1.
    pub fn scaled_channels(&self, channels: usize) -> usize {
        (channels.saturating_mul(self.width_percent as usize).saturating_add(50) / 100).max(1)
    }

    /// The side the input is resized to: `round(size × resolution)`, at least 1.
    pub fn resolution(&self, size: usize) -> usize {
        (size.saturating_mul(self.resolution_percent as usize).saturating_add(50) / 100).max(1)
    }

    /// Every block with its stage and its position in the stage.
    pub fn blocks(&self) -> impl Iterator<Item = (usize, usize, &MbBlock)> {
        self.stages.iter().enumerate().flat_map(|(s, blocks)| blocks.iter().enumerate().map(move |(b, x)| (s, b, x)))
    }
}

/// The JSON form: `{"width_multiplier":1.0,"resolution":0.75,"stages":[[{"kernel":3,"expansion":4,
/// "se":false,"activation":"relu"}, …], …]}`, with `"deployment":{"threads":2,"batch":8}` when searched
/// (and `"precision":"f16"` or `"bf16"` when not f32).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MbconvJson {
    width_multiplier: f64,
    resolution: f64,
    stages: Vec<Vec<MbBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deployment: Option<Deployment>,
}

impl Serialize for MbconvArch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MbconvJson {
            width_multiplier: f64::from(self.width_percent) / 100.0,
            resolution: f64::from(self.resolution_percent) / 100.0,
            stages: self.stages.clone(),
            deployment: self.deployment,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MbconvArch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let json = MbconvJson::deserialize(deserializer)?;
        let percent = |field: &str, value: f64| {
            percent_from_f64(value)
                .ok_or_else(|| D::Error::custom(format!("field `{field}`: {value} is not a whole percentage")))
        };
        Ok(MbconvArch {
            width_percent: percent("width_multiplier", json.width_multiplier)?,
            resolution_percent: percent("resolution", json.resolution)?,
            stages: json.stages,
            deployment: json.deployment,
        })
    }
}
