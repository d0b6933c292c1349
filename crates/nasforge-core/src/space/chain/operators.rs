//! The operators of a chain network as a latency look-up table keys them (FBNet's method). A chain's layers
//! combine any input and output width at any side with every type, kernel, activation and normalisation, far
//! too many layers to time one by one, so the table keys primitives instead: each convolution, each
//! normalisation and each activation at its channels and side, pools, a skip's resizing and addition, the stem
//! and the head. A layer is the sum of its primitives.

use std::collections::BTreeSet;
use std::fmt;

use super::{
    Activation, BOTTLENECK_REDUCTION, ChainArch, ChainNetwork, ChainSpace, INVERTED_RESIDUAL_EXPANSION, LayerKind, Norm,
};

/// One operator of a chain network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainOperator {
    /// The stem: 3×3 convolution, batch norm, ReLU.
    Stem {
        in_channels: usize,
        out_channels: usize,
        size: usize,
    },
    /// A convolution without bias, stride 1, padding that keeps the side.
    Conv {
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        dilation: usize,
        depthwise: bool,
        size: usize,
    },
    Norm {
        norm: Norm,
        channels: usize,
        size: usize,
    },
    Activation {
        activation: Activation,
        channels: usize,
        size: usize,
    },
    /// A 3×3 pool of stride 2, at its input's side.
    Pool {
        max: bool,
        channels: usize,
        size: usize,
    },
    /// A skip's adaptive average pooling from one side to another.
    SkipPool {
        channels: usize,
        from: usize,
        to: usize,
    },
    /// A skip's addition.
    Sum {
        channels: usize,
        size: usize,
    },
    /// Global average pooling and the classifier.
    Head {
        channels: usize,
        size: usize,
        classes: usize,
    },
}

/// The key of the operator in a look-up table, e.g. `conv 16>32 k3 d2 @14`.
impl fmt::Display for ChainOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChainOperator::Stem { in_channels, out_channels, size } => {
                write!(f, "stem {in_channels}>{out_channels} @{size}")
            }
            ChainOperator::Conv { in_channels, out_channels, kernel, dilation, depthwise, size } => {
                let depthwise = if depthwise { " depthwise" } else { "" };
                write!(f, "conv {in_channels}>{out_channels} k{kernel} d{dilation}{depthwise} @{size}")
            }
            ChainOperator::Norm { norm, channels, size } => write!(f, "norm {norm} {channels}ch @{size}"),
            ChainOperator::Activation { activation, channels, size } => {
                write!(f, "activation {activation} {channels}ch @{size}")
            }
            ChainOperator::Pool { max, channels, size } => {
                write!(f, "{} {channels}ch @{size}", if max { "maxpool" } else { "avgpool" })
            }
            ChainOperator::SkipPool { channels, from, to } => write!(f, "skip pool {channels}ch @{from}>{to}"),
            ChainOperator::Sum { channels, size } => write!(f, "sum {channels}ch @{size}"),
            ChainOperator::Head { channels, size, classes } => write!(f, "head {channels}ch @{size} >{classes}"),
        }
    }
}

/// A convolution unit's operators: the convolution, its normalisation, its activation (`None`: linear).
fn unit(
    (in_channels, out_channels): (usize, usize),
    (kernel, dilation, depthwise): (usize, usize, bool),
    size: usize,
    norm: Norm,
    activation: Option<Activation>,
) -> Vec<ChainOperator> {
    let channels = out_channels;
    let mut operators = vec![
        ChainOperator::Conv { in_channels, out_channels, kernel, dilation, depthwise, size },
        ChainOperator::Norm { norm, channels, size },
    ];
    operators.extend(activation.map(|activation| ChainOperator::Activation { activation, channels, size }));
    operators
}

/// The operators of one layer's body: `kind` from `in_channels` to `out_channels` at `size` (its input's).
fn body(
    kind: LayerKind,
    (in_channels, out_channels): (usize, usize),
    size: usize,
    (kernel, norm, activation): (usize, Norm, Activation),
) -> Vec<ChainOperator> {
    let plain = |k: usize, dilation: usize| {
        unit((in_channels, out_channels), (k, dilation, false), size, norm, Some(activation))
    };
    match kind {
        LayerKind::Conv3x3 => plain(3, 1),
        LayerKind::Conv1x1 => plain(1, 1),
        LayerKind::DilatedConv3x3 => plain(3, 2),
        LayerKind::DepthwiseConv3x3 => unit((in_channels, in_channels), (3, 1, true), size, norm, Some(activation)),
        LayerKind::MaxPool3x3 | LayerKind::AvgPool3x3 => {
            vec![ChainOperator::Pool { max: kind == LayerKind::MaxPool3x3, channels: in_channels, size }]
        }
        LayerKind::Identity => Vec::new(),
        LayerKind::Bottleneck => {
            let middle = (out_channels / BOTTLENECK_REDUCTION).max(1);
            let mut operators = unit((in_channels, middle), (1, 1, false), size, norm, Some(activation));
            operators.extend(unit((middle, middle), (kernel, 1, false), size, norm, Some(activation)));
            operators.extend(unit((middle, out_channels), (1, 1, false), size, norm, Some(activation)));
            operators
        }
        LayerKind::InvertedResidual => {
            let hidden = in_channels * INVERTED_RESIDUAL_EXPANSION;
            let mut operators = unit((in_channels, hidden), (1, 1, false), size, norm, Some(activation));
            operators.extend(unit((hidden, hidden), (kernel, 1, true), size, norm, Some(activation)));
            operators.extend(unit((hidden, out_channels), (1, 1, false), size, norm, None));
            operators
        }
    }
}

/// A skip's operators: pooled from `from_size` to `size` when they differ, projected by a 1×1 convolution and
/// batch norm when the channels differ, then added.
fn skip((from_channels, from_size): (usize, usize), (channels, size): (usize, usize)) -> Vec<ChainOperator> {
    let mut operators = Vec::new();
    if from_size != size {
        operators.push(ChainOperator::SkipPool { channels: from_channels, from: from_size, to: size });
    }
    if from_channels != channels {
        operators.extend(unit((from_channels, channels), (1, 1, false), size, Norm::Batch, None));
    }
    operators.push(ChainOperator::Sum { channels, size });
    operators
}

impl ChainNetwork {
    fn stem(&self) -> ChainOperator {
        ChainOperator::Stem {
            in_channels: self.input_channels,
            out_channels: self.stem_channels,
            size: self.input_size,
        }
    }

    /// The network's operators for `arch`, in the order they run (dropout is the identity at inference).
    pub fn operators(&self, arch: &ChainArch) -> Vec<ChainOperator> {
        let mut operators = vec![self.stem()];
        let mut last = (self.stem_channels, self.input_size);
        for (layer, plan) in arch.layers.iter().zip(self.plan(arch)) {
            let settings = (
                layer.kernel.unwrap_or(3),
                layer.norm.unwrap_or(Norm::Batch),
                layer.activation.unwrap_or(Activation::Relu),
            );
            operators.extend(body(layer.kind, (plan.in_channels, plan.out_channels), plan.in_size, settings));
            if let Some(from) = plan.skip {
                operators.extend(skip((from.from_channels, from.from_size), (plan.out_channels, plan.out_size)));
            }
            last = (plan.out_channels, plan.out_size);
        }
        operators.push(ChainOperator::Head { channels: last.0, size: last.1, classes: self.classes });
        operators
    }

    /// The sides a network of at most `max_depth` layers can have: the input's, then each pool's.
    fn sides(&self, max_depth: usize) -> Vec<usize> {
        let mut sides = vec![self.input_size];
        for _ in 0..max_depth {
            let next = sides[sides.len() - 1].div_ceil(2);
            if next == sides[sides.len() - 1] {
                break;
            }
            sides.push(next);
        }
        sides
    }

    /// Every operator a network of `space` can contain, so that a table of them prices every chain: at each
    /// width multiplier, every layer type from any width the network can have (the stem's or a scaled choice)
    /// to any it can output, at every side, with every kernel, normalisation and activation; every skip from
    /// any width and side to any later one.
    pub fn every_operator(&self, space: &ChainSpace) -> BTreeSet<ChainOperator> {
        let sides = self.sides(space.max_depth);
        let mut every = BTreeSet::from([self.stem()]);
        for &width_percent in &space.width_percents {
            let scaled = ChainArch { layers: Vec::new(), width_percent };
            let outputs: BTreeSet<usize> = space.channels.iter().map(|&c| scaled.scaled_channels(c)).collect();
            let mut inputs = outputs.clone();
            inputs.insert(self.stem_channels);
            for &size in &sides {
                for &kind in LayerKind::ALL {
                    for &in_channels in &inputs {
                        let outs: Vec<usize> = match kind.sets_channels() {
                            true => outputs.iter().copied().collect(),
                            false => vec![in_channels],
                        };
                        for out_channels in outs {
                            for &kernel in &space.kernels {
                                for &norm in Norm::ALL {
                                    for &activation in Activation::ALL {
                                        let settings = (kernel, norm, activation);
                                        every.extend(body(kind, (in_channels, out_channels), size, settings));
                                    }
                                }
                            }
                        }
                    }
                }
                for &channels in &inputs {
                    every.insert(ChainOperator::Head { channels, size, classes: self.classes });
                    for &from_size in sides.iter().filter(|&&from| from >= size) {
                        for &from_channels in &inputs {
                            every.extend(skip((from_channels, from_size), (channels, size)));
                        }
                    }
                }
            }
        }
        every
    }
}
