//! The operators of an mbconv network as a latency look-up table keys them (FBNet's method): each operator
//! with everything that decides its running time, the operators of one network, and every operator any
//! network of the space can contain.

use std::collections::BTreeSet;
use std::fmt;

use super::{BlockPlan, MbActivation, MbBlock, MbconvArch, MbconvPlan, MbconvSpace, SE_REDUCTION, TaskShape};

/// One operator of an mbconv network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MbOperator {
    /// The bilinear resize of the input (absent when the resolution is the input's side).
    Resize {
        channels: usize,
        from: usize,
        to: usize,
    },
    /// The stem: 3×3 convolution, batch norm, ReLU.
    Stem {
        in_channels: usize,
        out_channels: usize,
        size: usize,
    },
    Block(BlockPlan),
    /// The head: 1×1 convolution, batch norm, ReLU, global average pooling, classifier.
    Head {
        in_channels: usize,
        out_channels: usize,
        size: usize,
        classes: usize,
    },
}

/// The key of the operator in a look-up table, e.g. `block 16>24 @28 s2 k5 h96 se24 hswish`.
impl fmt::Display for MbOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MbOperator::Resize { channels, from, to } => write!(f, "resize {channels}ch @{from}>{to}"),
            MbOperator::Stem { in_channels, out_channels, size } => {
                write!(f, "stem {in_channels}>{out_channels} @{size}")
            }
            MbOperator::Block(b) => {
                let se = b.squeeze.map_or(String::new(), |q| format!(" se{q}"));
                write!(
                    f,
                    "block {}>{} @{} s{} k{} h{}{se} {}",
                    b.in_channels,
                    b.out_channels,
                    b.in_size,
                    b.stride,
                    b.kernel,
                    b.hidden,
                    b.activation.name()
                )
            }
            MbOperator::Head { in_channels, out_channels, size, classes } => {
                write!(f, "head {in_channels}>{out_channels} @{size} >{classes}")
            }
        }
    }
}

impl MbconvPlan {
    /// The network's operators in the order they run.
    pub fn operators(&self) -> Vec<MbOperator> {
        let mut operators = Vec::with_capacity(self.blocks.len() + 3);
        if self.resolution != self.input_size {
            operators.push(MbOperator::Resize {
                channels: self.input_channels,
                from: self.input_size,
                to: self.resolution,
            });
        }
        operators.push(MbOperator::Stem {
            in_channels: self.input_channels,
            out_channels: self.stem_channels,
            size: self.resolution,
        });
        operators.extend(self.blocks.iter().copied().map(MbOperator::Block));
        let (channels, size) = self.last();
        operators.push(MbOperator::Head {
            in_channels: channels,
            out_channels: self.head_channels,
            size,
            classes: self.classes,
        });
        operators
    }
}

impl MbconvSpace {
    /// Every operator a network of the space can contain for the task (with the stem `stem_channels`
    /// overriding the space's), so that a table of them prices every architecture.
    pub fn every_operator(&self, task: &TaskShape, stem_channels: Option<usize>) -> BTreeSet<MbOperator> {
        let mut operators = BTreeSet::new();
        let any_block = MbBlock {
            kernel: self.kernels[0],
            expansion: self.expansions[0],
            se: false,
            activation: MbActivation::Relu,
        };
        // A stage's first block and its later blocks are the two shapes a stage has.
        let shapes_per_stage = self.max_depth.min(2);
        for &width_percent in &self.width_percents {
            for &resolution_percent in &self.resolution_percents {
                let probe = MbconvArch {
                    width_percent,
                    resolution_percent,
                    stages: vec![vec![any_block; shapes_per_stage]; self.stage_channels.len()],
                    deployment: None,
                };
                let plan = self.plan(&probe, task, stem_channels);
                // Every depth of the last stage ends the network at the same shape, so the head has one shape.
                for operator in plan.operators() {
                    let MbOperator::Block(shape) = operator else {
                        operators.insert(operator);
                        continue;
                    };
                    for &kernel in &self.kernels {
                        for &expansion in &self.expansions {
                            let hidden = shape.in_channels * expansion;
                            for squeeze in [None, Some((hidden / SE_REDUCTION).max(1))] {
                                for activation in MbActivation::ALL {
                                    operators.insert(MbOperator::Block(BlockPlan {
                                        kernel,
                                        hidden,
                                        squeeze,
                                        activation,
                                        ..shape
                                    }));
                                }
                            }
                        }
                    }
                }
            }
        }
        operators
    }
}
