//! The chain architecture: its layers, their named choices (type, activation, norm) and the JSON form,
//! with a located message for every field it rejects.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::super::choices::{percent_from_f64, unknown};

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

            pub(super) fn index(self) -> usize {
                self as usize
            }

            pub(super) fn names() -> String {
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
