//! The DARTS network builder: the CIFAR evaluation network of normal and reduction cells, their edges and
//! preprocessing, and the [`Buildable`] implementation of `DartsSpace`.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, BatchNormConfig, Identity, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use nasforge_core::space::darts::{DartsOp, DartsOperator, NODES};
use nasforge_core::space::{DartsArch, DartsNetwork, DartsSpace, NetworkCost, TaskShape};

use super::layers::{Act, ConvSpec, ConvUnit, Norm2d, avg_pool, global_pool, max_pool, stem};
use super::{Buildable, Network, NetworkScale, batch_norm_statistics, probe};
use crate::kernels;
use crate::onnx::{OnnxGraph, Value};

/// FactorizedReduce: ReLU, two 1×1 stride-2 convolutions (the second on the input shifted by one pixel),
/// concatenated, BN. Odd sizes are padded at the bottom/right so both halves have `ceil(size / 2)`.
#[derive(Module, Debug)]
pub struct FactorizedReduce {
    conv_1: Conv2d,
    conv_2: Conv2d,
    norm: BatchNorm,
}

impl FactorizedReduce {
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        FactorizedReduce {
            conv_1: ConvSpec::new(c_in, c_out / 2, 1).stride(2).init(device),
            conv_2: ConvSpec::new(c_in, c_out - c_out / 2, 1).stride(2).init(device),
            norm: BatchNormConfig::new(c_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = probe::relu(x);
        let [_, _, h, w] = x.dims();
        let a = probe::conv2d(&self.conv_1, x.clone());
        // x[:, :, 1:, 1:], padded back to h×w (the original code needs even sizes, where the pad is unused).
        let shifted = x.narrow(2, 1, h - 1).narrow(3, 1, w - 1);
        let shifted = shifted.pad([(0, 1), (0, 1)], burn::tensor::ops::PadMode::Constant(0.0));
        let b = probe::conv2d(&self.conv_2, shifted);
        batch_norm_statistics::batch_norm(&self.norm, Tensor::cat(vec![a, b], 1))
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let x = g.relu(&x);
        let a = g.conv(&self.conv_1, &x);
        let cropped = g.crop_top_left(&x, 1);
        let shifted = g.pad_bottom_right(&cropped, 1);
        let b = g.conv(&self.conv_2, &shifted);
        let both = g.concat_channels(&[a, b]);
        g.batch_norm(&self.norm, &both)
    }
}

#[derive(Module, Debug)]
pub enum DartsEdge {
    /// Zero (`none`): contributes nothing to the node's sum.
    Zero(Identity),
    Identity(Identity),
    Reduce(FactorizedReduce),
    MaxPool(MaxPool2d),
    AvgPool(AvgPool2d),
    /// ReLU-conv-BN stacks and separable/dilated convolutions as a sequence of units; units with
    /// `norm: None` are the depthwise halves.
    Convs(Vec<ConvUnit>),
}

impl DartsEdge {
    fn new(op: DartsOp, c: usize, stride: usize, device: &Device) -> Self {
        // ReLU, depthwise k×k (dilation d, stride s), pointwise 1×1, BN.
        let dil_conv = |c: usize, k: usize, s: usize, d: usize| {
            vec![
                ConvUnit {
                    conv: ConvSpec::new(c, c, k).stride(s).dilation(d).depthwise().init(device),
                    norm: None,
                    pre_relu: true,
                    act: Act::Identity,
                },
                ConvUnit::new(ConvSpec::new(c, c, 1), Some(Norm2d::batch(c, device)), Act::Identity, device),
            ]
        };
        match op {
            DartsOp::None => DartsEdge::Zero(Identity),
            DartsOp::SkipConnect if stride == 1 => DartsEdge::Identity(Identity),
            DartsOp::SkipConnect => DartsEdge::Reduce(FactorizedReduce::new(c, c, device)),
            DartsOp::MaxPool3x3 => DartsEdge::MaxPool(max_pool(3, stride, 1)),
            DartsOp::AvgPool3x3 => DartsEdge::AvgPool(avg_pool(3, stride, 1, false)),
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 | DartsOp::SepConv7x7 => {
                let k = match op {
                    DartsOp::SepConv3x3 => 3,
                    DartsOp::SepConv5x5 => 5,
                    _ => 7,
                };
                let mut units = dil_conv(c, k, stride, 1);
                units.extend(dil_conv(c, k, 1, 1));
                DartsEdge::Convs(units)
            }
            DartsOp::DilConv3x3 => DartsEdge::Convs(dil_conv(c, 3, stride, 2)),
            DartsOp::DilConv5x5 => DartsEdge::Convs(dil_conv(c, 5, stride, 2)),
            DartsOp::Conv1x1 => {
                DartsEdge::Convs(vec![ConvUnit::relu_conv_bn(ConvSpec::new(c, c, 1).stride(stride), device)])
            }
            DartsOp::Conv3x3 => {
                DartsEdge::Convs(vec![ConvUnit::relu_conv_bn(ConvSpec::new(c, c, 3).stride(stride), device)])
            }
            DartsOp::Conv7x1_1x7 => {
                let first = ConvSpec { c_in: c, c_out: c, kernel: [1, 7], stride: [1, stride], dilation: 1, groups: 1 };
                let second =
                    ConvSpec { c_in: c, c_out: c, kernel: [7, 1], stride: [stride, 1], dilation: 1, groups: 1 };
                DartsEdge::Convs(vec![
                    ConvUnit { conv: first.init(device), norm: None, pre_relu: true, act: Act::Identity },
                    ConvUnit::new(second, Some(Norm2d::batch(c, device)), Act::Identity, device),
                ])
            }
        }
    }

    fn forward(&self, x: Tensor<4>) -> Option<Tensor<4>> {
        Some(match self {
            DartsEdge::Zero(_) => return None,
            DartsEdge::Identity(_) => x,
            DartsEdge::Reduce(r) => r.forward(x),
            DartsEdge::MaxPool(p) => kernels::max_pool2d(p, x),
            DartsEdge::AvgPool(p) => kernels::avg_pool2d(p, x),
            DartsEdge::Convs(units) => units.iter().fold(x, |x, unit| unit.forward(x)),
        })
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Option<Value> {
        Some(match self {
            DartsEdge::Zero(_) => return None,
            DartsEdge::Identity(_) => x,
            DartsEdge::Reduce(r) => r.onnx(g, x),
            DartsEdge::MaxPool(p) => g.max_pool(p, &x),
            DartsEdge::AvgPool(p) => g.avg_pool(p, &x),
            DartsEdge::Convs(units) => units.iter().fold(x, |x, unit| unit.onnx(g, x)),
        })
    }
}

#[derive(Module, Debug)]
pub enum DartsPre {
    Conv(ConvUnit),
    Reduce(FactorizedReduce),
}

impl DartsPre {
    /// FactorizedReduce after a reduction cell (`reduce`), else ReLU-conv 1×1-BN.
    fn new(reduce: bool, c_in: usize, c_out: usize, device: &Device) -> Self {
        if reduce {
            DartsPre::Reduce(FactorizedReduce::new(c_in, c_out, device))
        } else {
            DartsPre::Conv(ConvUnit::relu_conv_bn(ConvSpec::new(c_in, c_out, 1), device))
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            DartsPre::Conv(u) => u.forward(x),
            DartsPre::Reduce(r) => r.forward(x),
        }
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        match self {
            DartsPre::Conv(u) => u.onnx(g, x),
            DartsPre::Reduce(r) => r.onnx(g, x),
        }
    }
}

#[derive(Module, Debug)]
pub struct DartsCellNet {
    pre0: DartsPre,
    pre1: DartsPre,
    /// Two edges per intermediate node, in node order.
    edges: Vec<DartsEdge>,
    #[module(skip)]
    inputs: Vec<usize>,
    reduction: bool,
}

impl DartsCellNet {
    fn forward(&self, s0: Tensor<4>, s1: Tensor<4>) -> Tensor<4> {
        let mut states = vec![self.pre0.forward(s0), self.pre1.forward(s1)];
        for node in 0..self.edges.len() / 2 {
            let mut sum: Option<Tensor<4>> = None;
            for e in 2 * node..2 * node + 2 {
                if let Some(term) = self.edges[e].forward(states[self.inputs[e]].clone()) {
                    sum = Some(match sum {
                        Some(s) => s + term,
                        None => term,
                    });
                }
            }
            let value = sum.unwrap_or_else(|| {
                // Both edges are `none`: a zero node of the cell's output shape.
                let reference = states[1].clone();
                if self.reduction {
                    let [n, c, h, w] = reference.dims();
                    Tensor::zeros([n, c, h.div_ceil(2), w.div_ceil(2)], &reference.device())
                } else {
                    reference.zeros_like()
                }
            });
            states.push(value);
        }
        Tensor::cat(states.split_off(2), 1)
    }

    fn onnx(&self, g: &mut OnnxGraph, s0: Value, s1: Value) -> Value {
        let mut states = vec![self.pre0.onnx(g, s0), self.pre1.onnx(g, s1)];
        for node in 0..self.edges.len() / 2 {
            let mut sum: Option<Value> = None;
            for e in 2 * node..2 * node + 2 {
                if let Some(term) = self.edges[e].onnx(g, states[self.inputs[e]].clone()) {
                    sum = Some(match sum {
                        Some(s) => g.add(&s, &term),
                        None => term,
                    });
                }
            }
            let value = sum.unwrap_or_else(|| {
                let reference = if self.reduction { g.subsample(&states[1]) } else { states[1].clone() };
                g.zeros_like(&reference)
            });
            states.push(value);
        }
        g.concat_channels(&states.split_off(2))
    }
}

/// The DARTS CIFAR evaluation network (`NetworkCIFAR`, no auxiliary head, no drop path): stem conv + BN,
/// cells with reductions at 1/3 and 2/3 of the depth, global average pooling, linear classifier.
#[derive(Module, Debug)]
pub struct DartsNet {
    stem: ConvUnit,
    cells: Vec<DartsCellNet>,
    classifier: Linear,
}

impl DartsNet {
    pub fn new(arch: &DartsArch, network: &DartsNetwork, device: &Device) -> Self {
        let stem_c = 3 * network.channels;
        let stem = stem(network.input_channels, stem_c, Act::Identity, device);
        let (mut c_pp, mut c_p, mut c) = (stem_c, stem_c, network.channels);
        let mut reduction_prev = false;
        let mut cells = Vec::with_capacity(network.layers);
        for layer in 0..network.layers {
            let reduction = layer == network.layers / 3 || layer == 2 * network.layers / 3;
            if reduction {
                c *= 2;
            }
            let pre0 = DartsPre::new(reduction_prev, c_pp, c, device);
            let pre1 = DartsPre::new(false, c_p, c, device);
            let genotype = if reduction { &arch.reduce } else { &arch.normal };
            let mut edges = Vec::new();
            let mut inputs = Vec::new();
            for &(op, input) in genotype.nodes.iter().flatten() {
                let stride = if reduction && input < 2 { 2 } else { 1 };
                edges.push(DartsEdge::new(op, c, stride, device));
                inputs.push(input);
            }
            cells.push(DartsCellNet { pre0, pre1, edges, inputs, reduction });
            reduction_prev = reduction;
            (c_pp, c_p) = (c_p, 4 * c);
        }
        DartsNet { stem, cells, classifier: LinearConfig::new(c_p, network.classes).init(device) }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let s = self.stem.forward(x);
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let out = cell.forward(s0, s1.clone());
            (s0, s1) = (s1, out);
        }
        self.classifier.forward(global_pool(s1))
    }

    pub(crate) fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let s = self.stem.onnx(g, x);
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let out = cell.onnx(g, s0, s1.clone());
            (s0, s1) = (s1, out);
        }
        let pooled = g.global_pool(&s1);
        g.linear(&self.classifier, &pooled)
    }
}

/// One operator of a DARTS network built alone, to be timed for a latency look-up table.
#[derive(Module, Debug)]
pub enum DartsOperatorNet {
    Stem(ConvUnit),
    Preprocess(DartsPre),
    Edge(DartsEdge),
    /// The addition of a node's two terms.
    Sum(Identity),
    /// The zeros of a node whose edges are both `none`.
    Zeros(Identity),
    /// The concatenation of a cell's nodes.
    Concat(Identity),
    Head(Linear),
}

impl DartsOperatorNet {
    /// The operator and the shape of its input for a batch of `batch`.
    pub fn new(operator: &DartsOperator, batch: usize, device: &Device) -> (Self, [usize; 4]) {
        let input = |channels: usize, size: usize| [batch, channels, size, size];
        match *operator {
            DartsOperator::Stem { in_channels, out_channels, size } => (
                DartsOperatorNet::Stem(stem(in_channels, out_channels, Act::Identity, device)),
                input(in_channels, size),
            ),
            DartsOperator::Preprocess { reduce, in_channels, out_channels, size } => (
                DartsOperatorNet::Preprocess(DartsPre::new(reduce, in_channels, out_channels, device)),
                input(in_channels, size),
            ),
            DartsOperator::Edge { op, channels, size, stride } => {
                (DartsOperatorNet::Edge(DartsEdge::new(op, channels, stride, device)), input(channels, size))
            }
            DartsOperator::Sum { channels, size } => (DartsOperatorNet::Sum(Identity), input(channels, size)),
            DartsOperator::Zeros { channels, size } => (DartsOperatorNet::Zeros(Identity), input(channels, size)),
            DartsOperator::Concat { channels, size } => (DartsOperatorNet::Concat(Identity), input(channels, size)),
            DartsOperator::Head { channels, size, classes } => {
                (DartsOperatorNet::Head(LinearConfig::new(channels, classes).init(device)), input(channels, size))
            }
        }
    }

    /// Runs the operator and waits for its result.
    pub fn run(&self, x: Tensor<4>) {
        let _ = match self {
            DartsOperatorNet::Stem(unit) => unit.forward(x).into_data(),
            DartsOperatorNet::Preprocess(pre) => pre.forward(x).into_data(),
            DartsOperatorNet::Edge(edge) => match edge.forward(x) {
                Some(y) => y.into_data(),
                None => return,
            },
            DartsOperatorNet::Sum(_) => (x.clone() + x).into_data(),
            DartsOperatorNet::Zeros(_) => x.zeros_like().into_data(),
            DartsOperatorNet::Concat(_) => Tensor::cat(vec![x; NODES], 1).into_data(),
            DartsOperatorNet::Head(classifier) => classifier.forward(global_pool(x)).into_data(),
        };
    }
}

impl Buildable for DartsSpace {
    fn build(&self, arch: &DartsArch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network {
        Network::Darts(DartsNet::new(arch, &darts_network(task, scale), device))
    }
    fn network_cost(&self, arch: &DartsArch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost {
        darts_network(task, scale).cost(arch)
    }
}

pub fn darts_network(task: &TaskShape, scale: &NetworkScale) -> DartsNetwork {
    let d = DartsNetwork::default();
    DartsNetwork {
        channels: scale.channels.unwrap_or(d.channels),
        layers: scale.cells.unwrap_or(d.layers),
        input_channels: task.channels,
        input_size: task.size,
        classes: task.classes,
    }
}
