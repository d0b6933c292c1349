//! The operators of a DARTS network as a latency look-up table keys them (FBNet's method): each operator with
//! everything that decides its running time, the operators of one network, and every operator any network of
//! a space can contain.

use std::collections::BTreeSet;
use std::fmt;

use super::{DartsArch, DartsCell, DartsNetwork, DartsOp, NODES};

/// One operator of a DARTS network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DartsOperator {
    /// The stem: 3×3 convolution and batch norm.
    Stem { in_channels: usize, out_channels: usize, size: usize },
    /// A cell's preprocessing of one input at its side: ReLU-conv 1×1-BN, or FactorizedReduce after a
    /// reduction cell.
    Preprocess { reduce: bool, in_channels: usize, out_channels: usize, size: usize },
    /// One edge's operation on `channels` at its input's side, with its stride (`none`, and `skip_connect`
    /// at stride 1, compute nothing of their own).
    Edge { op: DartsOp, channels: usize, size: usize, stride: usize },
    /// The addition of a node's two terms.
    Sum { channels: usize, size: usize },
    /// The zeros of a node whose two edges are `none`.
    Zeros { channels: usize, size: usize },
    /// The concatenation of a cell's four nodes.
    Concat { channels: usize, size: usize },
    /// Global average pooling and the classifier.
    Head { channels: usize, size: usize, classes: usize },
}

/// The key of the operator in a look-up table, e.g. `edge sep_conv_3x3 32ch @16 s2`.
impl fmt::Display for DartsOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DartsOperator::Stem { in_channels, out_channels, size } => {
                write!(f, "stem {in_channels}>{out_channels} @{size}")
            }
            DartsOperator::Preprocess { reduce, in_channels, out_channels, size } => {
                let kind = if reduce { "factorized_reduce" } else { "relu_conv_bn" };
                write!(f, "preprocess {kind} {in_channels}>{out_channels} @{size}")
            }
            DartsOperator::Edge { op, channels, size, stride } => {
                write!(f, "edge {} {channels}ch @{size} s{stride}", op.name())
            }
            DartsOperator::Sum { channels, size } => write!(f, "sum {channels}ch @{size}"),
            DartsOperator::Zeros { channels, size } => write!(f, "zeros {channels}ch @{size}"),
            DartsOperator::Concat { channels, size } => write!(f, "concat {NODES}x{channels}ch @{size}"),
            DartsOperator::Head { channels, size, classes } => write!(f, "head {channels}ch @{size} >{classes}"),
        }
    }
}

/// The shapes of one cell of the network.
struct CellShape {
    reduction: bool,
    channels: usize,
    /// The side of the cell's inputs (after preprocessing) and of its nodes.
    in_size: usize,
    out_size: usize,
    preprocess: [DartsOperator; 2],
}

impl CellShape {
    /// The edge of `op` reading `input` (0 and 1: the cell's inputs; 2 on: its nodes).
    fn edge(&self, op: DartsOp, input: usize) -> Option<DartsOperator> {
        let (size, stride) = if self.reduction && input < 2 { (self.in_size, 2) } else { (self.out_size, 1) };
        let computes = match op {
            DartsOp::None => false,
            DartsOp::SkipConnect => stride == 2,
            _ => true,
        };
        computes.then_some(DartsOperator::Edge { op, channels: self.channels, size, stride })
    }

    fn node(&self, operator: fn(usize, usize) -> DartsOperator) -> DartsOperator {
        operator(self.channels, self.out_size)
    }

    /// The cell's operators with `cell` as its genotype.
    fn operators(&self, cell: &DartsCell, operators: &mut Vec<DartsOperator>) {
        operators.extend(self.preprocess);
        for node in &cell.nodes {
            operators.extend(node.iter().filter_map(|&(op, input)| self.edge(op, input)));
            match node.iter().filter(|(op, _)| *op != DartsOp::None).count() {
                0 => operators.push(self.node(|channels, size| DartsOperator::Zeros { channels, size })),
                1 => {}
                _ => operators.push(self.node(|channels, size| DartsOperator::Sum { channels, size })),
            }
        }
        operators.push(self.node(|channels, size| DartsOperator::Concat { channels, size }));
    }
}

impl DartsNetwork {
    /// The shapes of every cell, in order, and the channels and side of the last cell's output.
    fn cell_shapes(&self) -> (Vec<CellShape>, (usize, usize)) {
        let stem = 3 * self.channels;
        // Channels and side of the cell's two inputs, c_{k-2} and c_{k-1}.
        let (mut before, mut last) = ((stem, self.input_size), (stem, self.input_size));
        let mut channels = self.channels;
        let mut reduction_prev = false;
        let mut shapes = Vec::with_capacity(self.layers);
        for layer in 0..self.layers {
            let reduction = layer == self.layers / 3 || layer == 2 * self.layers / 3;
            if reduction {
                channels *= 2;
            }
            let in_size = last.1;
            let out_size = if reduction { in_size.div_ceil(2) } else { in_size };
            let preprocess = [
                DartsOperator::Preprocess {
                    reduce: reduction_prev,
                    in_channels: before.0,
                    out_channels: channels,
                    size: before.1,
                },
                DartsOperator::Preprocess { reduce: false, in_channels: last.0, out_channels: channels, size: in_size },
            ];
            shapes.push(CellShape { reduction, channels, in_size, out_size, preprocess });
            reduction_prev = reduction;
            (before, last) = (last, (NODES * channels, out_size));
        }
        (shapes, last)
    }

    fn stem(&self) -> DartsOperator {
        DartsOperator::Stem { in_channels: self.input_channels, out_channels: 3 * self.channels, size: self.input_size }
    }

    /// The network's operators for `arch`, in the order they run.
    pub fn operators(&self, arch: &DartsArch) -> Vec<DartsOperator> {
        let (shapes, (channels, size)) = self.cell_shapes();
        let mut operators = vec![self.stem()];
        for shape in &shapes {
            shape.operators(if shape.reduction { &arch.reduce } else { &arch.normal }, &mut operators);
        }
        operators.push(DartsOperator::Head { channels, size, classes: self.classes });
        operators
    }

    /// Every operator a network whose genotypes use `ops` can contain, so that a table of them prices every
    /// architecture of the space.
    pub fn every_operator(&self, ops: &[DartsOp]) -> BTreeSet<DartsOperator> {
        let (shapes, (channels, size)) = self.cell_shapes();
        let mut every = BTreeSet::from([self.stem(), DartsOperator::Head { channels, size, classes: self.classes }]);
        for shape in &shapes {
            every.extend(shape.preprocess);
            for &op in ops {
                every.extend([0, 2].into_iter().filter_map(|input| shape.edge(op, input)));
            }
            every.insert(shape.node(|channels, size| DartsOperator::Sum { channels, size }));
            every.insert(shape.node(|channels, size| DartsOperator::Concat { channels, size }));
            if ops.contains(&DartsOp::None) {
                every.insert(shape.node(|channels, size| DartsOperator::Zeros { channels, size }));
            }
        }
        every
    }
}
