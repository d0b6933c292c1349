//! The NAS-Bench-201 network builder: cells of six edges over four nodes in three stages joined by residual
//! reductions, and the [`Buildable`] implementation of `Nb201Space`.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, BatchNormConfig, Identity, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use nasforge_core::space::nb201::Nb201Operator;
use nasforge_core::space::{Nb201Arch, Nb201Network, Nb201Op, Nb201Space, NetworkCost, TaskShape};

use super::layers::{Act, ConvSpec, ConvUnit, avg_pool, global_pool, stem};
use super::{Buildable, Network, NetworkScale, batch_norm_statistics, probe};
use crate::kernels;
use crate::onnx::{OnnxGraph, Value};

/// One edge of a NAS-Bench-201 cell.
#[derive(Module, Debug)]
pub enum Nb201Edge {
    Zero(Identity),
    Identity(Identity),
    Conv(ConvUnit),
    Pool(AvgPool2d),
}

/// The convolution unit of a `nor_conv_1x1` or `nor_conv_3x3` edge.
fn edge_conv(op: Nb201Op, channels: usize, device: &Device) -> ConvUnit {
    let kernel = if op == Nb201Op::NorConv1x1 { 1 } else { 3 };
    ConvUnit::relu_conv_bn(ConvSpec::new(channels, channels, kernel), device)
}

/// The pool of an `avg_pool_3x3` edge.
fn edge_pool() -> AvgPool2d {
    avg_pool(3, 1, 1, false)
}

/// The network's end: batch norm, ReLU, global average pooling, classifier.
fn head(norm: &BatchNorm, classifier: &Linear, x: Tensor<4>) -> Tensor<2> {
    let x = probe::relu(batch_norm_statistics::batch_norm(norm, x));
    classifier.forward(global_pool(x))
}

#[derive(Module, Debug)]
pub struct Nb201Cell {
    /// In `EDGE_NODES` order: edge `(to, from)` is `edges[to * (to - 1) / 2 + from]`.
    edges: Vec<Nb201Edge>,
}

impl Nb201Cell {
    fn new(arch: &Nb201Arch, channels: usize, device: &Device) -> Self {
        let edges = arch
            .ops
            .iter()
            .map(|op| match op {
                Nb201Op::None => Nb201Edge::Zero(Identity),
                Nb201Op::SkipConnect => Nb201Edge::Identity(Identity),
                Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3 => Nb201Edge::Conv(edge_conv(*op, channels, device)),
                Nb201Op::AvgPool3x3 => Nb201Edge::Pool(edge_pool()),
            })
            .collect();
        Nb201Cell { edges }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut nodes = vec![x];
        for to in 1..=3 {
            let mut sum: Option<Tensor<4>> = None;
            for (from, node) in nodes.iter().enumerate() {
                let term = match &self.edges[to * (to - 1) / 2 + from] {
                    Nb201Edge::Zero(_) => continue,
                    Nb201Edge::Identity(_) => node.clone(),
                    Nb201Edge::Conv(unit) => unit.forward(node.clone()),
                    Nb201Edge::Pool(pool) => kernels::avg_pool2d(pool, node.clone()),
                };
                sum = Some(match sum {
                    Some(s) => s + term,
                    None => term,
                });
            }
            let value = sum.unwrap_or_else(|| nodes[0].zeros_like());
            nodes.push(value);
        }
        nodes.pop().expect("four nodes")
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let mut nodes = vec![x];
        for to in 1..=3 {
            let mut sum: Option<Value> = None;
            for (from, node) in nodes.iter().enumerate() {
                let term = match &self.edges[to * (to - 1) / 2 + from] {
                    Nb201Edge::Zero(_) => continue,
                    Nb201Edge::Identity(_) => node.clone(),
                    Nb201Edge::Conv(unit) => unit.onnx(g, node.clone()),
                    Nb201Edge::Pool(pool) => g.avg_pool(pool, node),
                };
                sum = Some(match sum {
                    Some(s) => g.add(&s, &term),
                    None => term,
                });
            }
            let value = sum.unwrap_or_else(|| g.zeros_like(&nodes[0]));
            nodes.push(value);
        }
        nodes.pop().expect("four nodes")
    }
}

/// NAS-Bench-201's residual reduction block: ReLU-Conv(stride 2)-BN, ReLU-Conv-BN, plus a shortcut of 2×2
/// average pooling and a 1×1 convolution.
#[derive(Module, Debug)]
pub struct ResidualReduction {
    conv_a: ConvUnit,
    conv_b: ConvUnit,
    pool: AvgPool2d,
    shortcut: Conv2d,
}

impl ResidualReduction {
    pub(super) fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        ResidualReduction {
            conv_a: ConvUnit::relu_conv_bn(ConvSpec::new(c_in, c_out, 3).stride(2), device),
            conv_b: ConvUnit::relu_conv_bn(ConvSpec::new(c_out, c_out, 3), device),
            pool: avg_pool(2, 2, 0, true),
            shortcut: ConvSpec::new(c_in, c_out, 1).init(device),
        }
    }

    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = probe::conv2d(&self.shortcut, kernels::avg_pool2d(&self.pool, x.clone()));
        self.conv_b.forward(self.conv_a.forward(x)) + shortcut
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let pooled = g.avg_pool(&self.pool, &x);
        let shortcut = g.conv(&self.shortcut, &pooled);
        let a = self.conv_a.onnx(g, x);
        let b = self.conv_b.onnx(g, a);
        g.add(&b, &shortcut)
    }
}

#[derive(Module, Debug)]
pub enum Nb201Block {
    Cell(Nb201Cell),
    Reduction(ResidualReduction),
}

/// The NAS-Bench-201 network: stem conv + BN, 3 stages of N cells joined by residual reductions,
/// BN + ReLU, global average pooling, linear classifier.
#[derive(Module, Debug)]
pub struct Nb201Net {
    stem: ConvUnit,
    blocks: Vec<Nb201Block>,
    last_norm: BatchNorm,
    classifier: Linear,
}

impl Nb201Net {
    pub fn new(arch: &Nb201Arch, network: &Nb201Network, device: &Device) -> Self {
        let mut c = network.channels;
        let stem = stem(network.input_channels, c, Act::Identity, device);
        let mut blocks = Vec::new();
        for stage in 0..3 {
            if stage > 0 {
                blocks.push(Nb201Block::Reduction(ResidualReduction::new(c, 2 * c, device)));
                c *= 2;
            }
            for _ in 0..network.cells_per_stage {
                blocks.push(Nb201Block::Cell(Nb201Cell::new(arch, c, device)));
            }
        }
        Nb201Net {
            stem,
            blocks,
            last_norm: BatchNormConfig::new(c).init(device),
            classifier: LinearConfig::new(c, network.classes).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(x);
        for block in &self.blocks {
            x = match block {
                Nb201Block::Cell(cell) => cell.forward(x),
                Nb201Block::Reduction(r) => r.forward(x),
            };
        }
        head(&self.last_norm, &self.classifier, x)
    }

    pub(crate) fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let mut x = self.stem.onnx(g, x);
        for block in &self.blocks {
            x = match block {
                Nb201Block::Cell(cell) => cell.onnx(g, x),
                Nb201Block::Reduction(r) => r.onnx(g, x),
            };
        }
        let normed = g.batch_norm(&self.last_norm, &x);
        let x = g.relu(&normed);
        let pooled = g.global_pool(&x);
        g.linear(&self.classifier, &pooled)
    }
}

/// One operator of a NAS-Bench-201 network built alone, to be timed for a latency look-up table.
#[derive(Module, Debug)]
pub enum Nb201OperatorNet {
    Stem(ConvUnit),
    Conv(ConvUnit),
    Pool(AvgPool2d),
    /// The addition of two of a node's terms.
    Sum(Identity),
    /// The zeros of a node no edge feeds.
    Zeros(Identity),
    Reduction(ResidualReduction),
    Head(Nb201Head),
}

/// The network's end alone (its parts are fields of [`Nb201Net`], whose saved weights name them).
#[derive(Module, Debug)]
pub struct Nb201Head {
    norm: BatchNorm,
    classifier: Linear,
}

impl Nb201OperatorNet {
    /// The operator and the shape of its input for a batch of `batch`.
    pub fn new(operator: &Nb201Operator, batch: usize, device: &Device) -> (Self, [usize; 4]) {
        match *operator {
            Nb201Operator::Stem { in_channels, out_channels, size } => (
                Nb201OperatorNet::Stem(stem(in_channels, out_channels, Act::Identity, device)),
                [batch, in_channels, size, size],
            ),
            Nb201Operator::Edge { op, channels, size } => {
                let net = match op {
                    Nb201Op::AvgPool3x3 => Nb201OperatorNet::Pool(edge_pool()),
                    conv => Nb201OperatorNet::Conv(edge_conv(conv, channels, device)),
                };
                (net, [batch, channels, size, size])
            }
            Nb201Operator::Sum { channels, size } => (Nb201OperatorNet::Sum(Identity), [batch, channels, size, size]),
            Nb201Operator::Zeros { channels, size } => {
                (Nb201OperatorNet::Zeros(Identity), [batch, channels, size, size])
            }
            Nb201Operator::Reduction { in_channels, out_channels, size } => (
                Nb201OperatorNet::Reduction(ResidualReduction::new(in_channels, out_channels, device)),
                [batch, in_channels, size, size],
            ),
            Nb201Operator::Head { channels, size, classes } => (
                Nb201OperatorNet::Head(Nb201Head {
                    norm: BatchNormConfig::new(channels).init(device),
                    classifier: LinearConfig::new(channels, classes).init(device),
                }),
                [batch, channels, size, size],
            ),
        }
    }

    /// Runs the operator and waits for its result.
    pub fn run(&self, x: Tensor<4>) {
        let _ = match self {
            Nb201OperatorNet::Stem(unit) | Nb201OperatorNet::Conv(unit) => unit.forward(x).into_data(),
            Nb201OperatorNet::Pool(pool) => kernels::avg_pool2d(pool, x).into_data(),
            Nb201OperatorNet::Sum(_) => (x.clone() + x).into_data(),
            Nb201OperatorNet::Zeros(_) => x.zeros_like().into_data(),
            Nb201OperatorNet::Reduction(reduction) => reduction.forward(x).into_data(),
            Nb201OperatorNet::Head(end) => head(&end.norm, &end.classifier, x).into_data(),
        };
    }
}

impl Buildable for Nb201Space {
    fn build(&self, arch: &Nb201Arch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network {
        Network::Nb201(Nb201Net::new(arch, &nb201_network(task, scale), device))
    }
    fn network_cost(&self, arch: &Nb201Arch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost {
        nb201_network(task, scale).cost(arch)
    }
}

pub fn nb201_network(task: &TaskShape, scale: &NetworkScale) -> Nb201Network {
    let d = Nb201Network::default();
    Nb201Network {
        channels: scale.channels.unwrap_or(d.channels),
        cells_per_stage: scale.cells.unwrap_or(d.cells_per_stage),
        input_channels: task.channels,
        input_size: task.size,
        classes: task.classes,
    }
}
