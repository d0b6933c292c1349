//! The operators of a NAS-Bench-201 network as a latency look-up table keys them (FBNet's method): each
//! operator with everything that decides its running time, the operators of one network, and every operator
//! any network of the space can contain.

use std::collections::BTreeSet;
use std::fmt;

use super::{Nb201Arch, Nb201Network, Nb201Op};

/// One operator of a NAS-Bench-201 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nb201Operator {
    /// The stem: 3×3 convolution and batch norm.
    Stem { in_channels: usize, out_channels: usize, size: usize },
    /// One edge's operation (a convolution unit or the average pool; `skip_connect` and `none` compute
    /// nothing of their own).
    Edge { op: Nb201Op, channels: usize, size: usize },
    /// One addition of two terms of a node's sum.
    Sum { channels: usize, size: usize },
    /// The zeros of a node that no edge feeds.
    Zeros { channels: usize, size: usize },
    /// The residual reduction between two stages, at its input's side.
    Reduction { in_channels: usize, out_channels: usize, size: usize },
    /// Batch norm, ReLU, global average pooling and the classifier.
    Head { channels: usize, size: usize, classes: usize },
}

/// The key of the operator in a look-up table, e.g. `edge nor_conv_3x3 32ch @14`.
impl fmt::Display for Nb201Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Nb201Operator::Stem { in_channels, out_channels, size } => {
                write!(f, "stem {in_channels}>{out_channels} @{size}")
            }
            Nb201Operator::Edge { op, channels, size } => write!(f, "edge {} {channels}ch @{size}", op.name()),
            Nb201Operator::Sum { channels, size } => write!(f, "sum {channels}ch @{size}"),
            Nb201Operator::Zeros { channels, size } => write!(f, "zeros {channels}ch @{size}"),
            Nb201Operator::Reduction { in_channels, out_channels, size } => {
                write!(f, "reduction {in_channels}>{out_channels} @{size}")
            }
            Nb201Operator::Head { channels, size, classes } => write!(f, "head {channels}ch @{size} >{classes}"),
        }
    }
}

/// The operators of one cell at `channels` × `size`: every edge that computes (whether or not it reaches the
/// output: the network computes every node), the additions of each node's terms, the zeros of a node no edge
/// feeds.
fn cell_operators(arch: &Nb201Arch, channels: usize, size: usize, operators: &mut Vec<Nb201Operator>) {
    for to in 1..=3 {
        let incoming = &arch.ops[to * (to - 1) / 2..to * (to + 1) / 2];
        let terms = incoming.iter().filter(|&&op| op != Nb201Op::None).count();
        for &op in incoming {
            if matches!(op, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3 | Nb201Op::AvgPool3x3) {
                operators.push(Nb201Operator::Edge { op, channels, size });
            }
        }
        if terms == 0 {
            operators.push(Nb201Operator::Zeros { channels, size });
        }
        operators.extend((1..terms).map(|_| Nb201Operator::Sum { channels, size }));
    }
}

impl Nb201Network {
    /// The `(channels, side)` of each of the three stages.
    fn stages(&self) -> [(usize, usize); 3] {
        let mut stage = (self.channels, self.input_size);
        let mut stages = [stage; 3];
        for shape in stages.iter_mut().skip(1) {
            stage = (stage.0 * 2, stage.1.div_ceil(2));
            *shape = stage;
        }
        stages
    }

    /// The network's operators with `arch` in every cell, in the order they run.
    pub fn operators(&self, arch: &Nb201Arch) -> Vec<Nb201Operator> {
        let mut operators = vec![Nb201Operator::Stem {
            in_channels: self.input_channels,
            out_channels: self.channels,
            size: self.input_size,
        }];
        let stages = self.stages();
        for (stage, &(channels, size)) in stages.iter().enumerate() {
            if stage > 0 {
                let (in_channels, in_size) = stages[stage - 1];
                operators.push(Nb201Operator::Reduction { in_channels, out_channels: channels, size: in_size });
            }
            for _ in 0..self.cells_per_stage {
                cell_operators(arch, channels, size, &mut operators);
            }
        }
        let (channels, size) = stages[2];
        operators.push(Nb201Operator::Head { channels, size, classes: self.classes });
        operators
    }

    /// Every operator a network of the space can contain, so that a table of them prices every cell.
    pub fn every_operator(&self) -> BTreeSet<Nb201Operator> {
        let every_edge = Nb201Arch {
            ops: [
                Nb201Op::NorConv1x1,
                Nb201Op::NorConv3x3,
                Nb201Op::AvgPool3x3,
                Nb201Op::None,
                Nb201Op::None,
                Nb201Op::None,
            ],
        };
        self.operators(&every_edge).into_iter().collect()
    }
}
