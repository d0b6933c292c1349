//! burn networks built from architectures of the three spaces, matching the core crate's analytic cost
//! models (`Nb201Network`, `ChainNetwork`, `DartsNetwork`) parameter for parameter.

// The enums of modules below hold their layers inline: a network is built once per trial, so their size does
// not matter, and burn's `Module` derive walks plain variants.
#![allow(clippy::large_enum_variant)]

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, GroupNorm, GroupNormConfig, Identity, LayerNorm,
    LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor, activation};

use nasforge_core::SearchSpace;
use nasforge_core::space::chain::{self, BOTTLENECK_REDUCTION, INVERTED_RESIDUAL_EXPANSION, LayerKind};
use nasforge_core::space::darts::DartsOp;
use nasforge_core::space::{
    ChainArch, ChainNetwork, ChainSpace, DartsArch, DartsNetwork, DartsSpace, Nb201Arch, Nb201Network, Nb201Op,
    Nb201Space, NetworkCost, TaskShape,
};

use crate::kernels;

/// The size knobs of a network (the "downscaled model" fidelity): `None` keeps the space's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkScale {
    /// nb201: C; darts: C; chain: the stem's channels.
    pub channels: Option<usize>,
    /// nb201: cells per stage (N); darts: the number of cells; chain: unused.
    pub cells: Option<usize>,
}

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/// An activation function (no weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Identity,
    Relu,
    Swish,
    Hardswish,
    Gelu,
}

impl Act {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Act::Identity => x,
            Act::Relu => activation::relu(x),
            Act::Swish => activation::silu(x),
            Act::Hardswish => activation::hard_swish(x),
            Act::Gelu => activation::gelu(x),
        }
    }
}

impl From<chain::Activation> for Act {
    fn from(a: chain::Activation) -> Self {
        match a {
            chain::Activation::Relu => Act::Relu,
            chain::Activation::Swish => Act::Swish,
            chain::Activation::Hardswish => Act::Hardswish,
            chain::Activation::Gelu => Act::Gelu,
        }
    }
}

/// A normalisation over the channels of an NCHW tensor.
#[derive(Module, Debug)]
pub enum Norm2d {
    Batch(BatchNorm),
    /// Layer norm over the channels at each position.
    Layer(LayerNorm),
    Group(GroupNorm),
}

impl Norm2d {
    fn new(kind: chain::Norm, channels: usize, device: &Device) -> Norm2d {
        match kind {
            chain::Norm::Batch => Norm2d::Batch(BatchNormConfig::new(channels).init(device)),
            chain::Norm::Layer => Norm2d::Layer(LayerNormConfig::new(channels).init(device)),
            chain::Norm::Group => Norm2d::Group(GroupNormConfig::new(gcd(channels, 32), channels).init(device)),
        }
    }

    fn batch(channels: usize, device: &Device) -> Norm2d {
        Norm2d::Batch(BatchNormConfig::new(channels).init(device))
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Norm2d::Batch(n) => kernels::batch_norm(n, x),
            Norm2d::Layer(n) => n.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]),
            Norm2d::Group(n) => n.forward(x),
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Options of one convolution (no bias; padding keeps the size at stride 1).
#[derive(Debug, Clone, Copy)]
struct ConvSpec {
    c_in: usize,
    c_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: usize,
    groups: usize,
}

impl ConvSpec {
    fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        ConvSpec { c_in, c_out, kernel: [kernel, kernel], stride: [1, 1], dilation: 1, groups: 1 }
    }
    fn stride(mut self, stride: usize) -> Self {
        self.stride = [stride, stride];
        self
    }
    fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }
    fn depthwise(mut self) -> Self {
        self.groups = self.c_in;
        self
    }
    fn init(self, device: &Device) -> Conv2d {
        let ph = self.dilation * (self.kernel[0] - 1) / 2;
        let pw = self.dilation * (self.kernel[1] - 1) / 2;
        Conv2dConfig::new([self.c_in, self.c_out], self.kernel)
            .with_stride(self.stride)
            .with_dilation([self.dilation, self.dilation])
            .with_groups(self.groups)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .with_bias(false)
            .init(device)
    }
}

/// `[ReLU] → conv → [norm] → activation`.
#[derive(Module, Debug)]
pub struct ConvUnit {
    conv: Conv2d,
    norm: Option<Norm2d>,
    #[module(skip)]
    pre_relu: bool,
    #[module(skip)]
    act: Act,
}

impl ConvUnit {
    fn new(spec: ConvSpec, norm: Option<Norm2d>, act: Act, device: &Device) -> Self {
        ConvUnit { conv: spec.init(device), norm, pre_relu: false, act }
    }

    /// ReLU-Conv-BN, as NAS-Bench-201 and DARTS use.
    fn relu_conv_bn(spec: ConvSpec, device: &Device) -> Self {
        ConvUnit {
            conv: spec.init(device),
            norm: Some(Norm2d::batch(spec.c_out, device)),
            pre_relu: true,
            act: Act::Identity,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.pre_relu { activation::relu(x) } else { x };
        let x = kernels::conv2d(&self.conv, x);
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        self.act.apply(x)
    }
}

fn avg_pool(kernel: usize, stride: usize, padding: usize, ceil_mode: bool) -> AvgPool2d {
    AvgPool2dConfig::new([kernel, kernel])
        .with_strides([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .with_count_include_pad(false)
        .with_ceil_mode(ceil_mode)
        .init()
}

fn max_pool(kernel: usize, stride: usize, padding: usize) -> MaxPool2d {
    MaxPool2dConfig::new([kernel, kernel])
        .with_strides([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .init()
}

/// Global average pooling to `[n, c]`.
fn global_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([n, c])
}

// ---------------------------------------------------------------------------------------------------------
// NAS-Bench-201

/// One edge of a NAS-Bench-201 cell.
#[derive(Module, Debug)]
pub enum Nb201Edge {
    Zero(Identity),
    Identity(Identity),
    Conv(ConvUnit),
    Pool(AvgPool2d),
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
                Nb201Op::NorConv1x1 => {
                    Nb201Edge::Conv(ConvUnit::relu_conv_bn(ConvSpec::new(channels, channels, 1), device))
                }
                Nb201Op::NorConv3x3 => {
                    Nb201Edge::Conv(ConvUnit::relu_conv_bn(ConvSpec::new(channels, channels, 3), device))
                }
                Nb201Op::AvgPool3x3 => Nb201Edge::Pool(avg_pool(3, 1, 1, false)),
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
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        ResidualReduction {
            conv_a: ConvUnit::relu_conv_bn(ConvSpec::new(c_in, c_out, 3).stride(2), device),
            conv_b: ConvUnit::relu_conv_bn(ConvSpec::new(c_out, c_out, 3), device),
            pool: avg_pool(2, 2, 0, true),
            shortcut: ConvSpec::new(c_in, c_out, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = kernels::conv2d(&self.shortcut, kernels::avg_pool2d(&self.pool, x.clone()));
        self.conv_b.forward(self.conv_a.forward(x)) + shortcut
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
        let stem = ConvUnit::new(
            ConvSpec::new(network.input_channels, c, 3),
            Some(Norm2d::batch(c, device)),
            Act::Identity,
            device,
        );
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
        let x = activation::relu(kernels::batch_norm(&self.last_norm, x));
        self.classifier.forward(global_pool(x))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Chain

#[derive(Module, Debug)]
pub enum ChainBody {
    Identity(Identity),
    MaxPool(MaxPool2d),
    AvgPool(AvgPool2d),
    /// Convolution units applied in order.
    Convs(Vec<ConvUnit>),
}

#[derive(Module, Debug)]
pub struct ChainSkip {
    from_node: usize,
    /// Adaptive average pooling to this size, when the sizes differ (0: none).
    pool_to: usize,
    project: Option<ConvUnit>,
}

#[derive(Module, Debug)]
pub struct ChainLayerNet {
    body: ChainBody,
    dropout: Option<Dropout>,
    skip: Option<ChainSkip>,
}

/// A chain network (see `nasforge_core::space::chain`): stem conv + BN + ReLU, the layers, global average
/// pooling, linear classifier.
#[derive(Module, Debug)]
pub struct ChainNet {
    stem: ConvUnit,
    layers: Vec<ChainLayerNet>,
    classifier: Linear,
}

impl ChainNet {
    pub fn new(arch: &ChainArch, network: &ChainNetwork, device: &Device) -> Self {
        let stem = ConvUnit::new(
            ConvSpec::new(network.input_channels, network.stem_channels, 3),
            Some(Norm2d::batch(network.stem_channels, device)),
            Act::Relu,
            device,
        );
        let plans = network.plan(arch);
        let mut layers = Vec::with_capacity(plans.len());
        let mut channels = network.stem_channels;
        for (layer, plan) in arch.layers.iter().zip(&plans) {
            let (c_in, c_out) = (plan.in_channels, plan.out_channels);
            let act = layer.activation.map_or(Act::Relu, Act::from);
            let norm_kind = layer.norm.unwrap_or(chain::Norm::Batch);
            let unit = |spec: ConvSpec, act: Act| {
                ConvUnit::new(spec, Some(Norm2d::new(norm_kind, spec.c_out, device)), act, device)
            };
            let kernel = layer.kernel.unwrap_or(3);
            let body = match layer.kind {
                LayerKind::Conv3x3 => ChainBody::Convs(vec![unit(ConvSpec::new(c_in, c_out, 3), act)]),
                LayerKind::Conv1x1 => ChainBody::Convs(vec![unit(ConvSpec::new(c_in, c_out, 1), act)]),
                LayerKind::DepthwiseConv3x3 => {
                    ChainBody::Convs(vec![unit(ConvSpec::new(c_in, c_in, 3).depthwise(), act)])
                }
                LayerKind::DilatedConv3x3 => {
                    ChainBody::Convs(vec![unit(ConvSpec::new(c_in, c_out, 3).dilation(2), act)])
                }
                LayerKind::MaxPool3x3 => ChainBody::MaxPool(max_pool(3, 2, 1)),
                LayerKind::AvgPool3x3 => ChainBody::AvgPool(avg_pool(3, 2, 1, false)),
                LayerKind::Identity => ChainBody::Identity(Identity),
                LayerKind::Bottleneck => {
                    let middle = (c_out / BOTTLENECK_REDUCTION).max(1);
                    ChainBody::Convs(vec![
                        unit(ConvSpec::new(c_in, middle, 1), act),
                        unit(ConvSpec::new(middle, middle, kernel), act),
                        unit(ConvSpec::new(middle, c_out, 1), act),
                    ])
                }
                LayerKind::InvertedResidual => {
                    let hidden = c_in * INVERTED_RESIDUAL_EXPANSION;
                    ChainBody::Convs(vec![
                        unit(ConvSpec::new(c_in, hidden, 1), act),
                        unit(ConvSpec::new(hidden, hidden, kernel).depthwise(), act),
                        unit(ConvSpec::new(hidden, c_out, 1), Act::Identity),
                    ])
                }
            };
            let dropout = (layer.dropout_percent > 0)
                .then(|| DropoutConfig::new(f64::from(layer.dropout_percent) / 100.0).init());
            let skip = plan.skip.map(|skip| ChainSkip {
                from_node: skip.from_node,
                pool_to: if skip.pool { plan.out_size } else { 0 },
                project: skip.project.then(|| {
                    ConvUnit::new(
                        ConvSpec::new(skip.from_channels, c_out, 1),
                        Some(Norm2d::batch(c_out, device)),
                        Act::Identity,
                        device,
                    )
                }),
            });
            layers.push(ChainLayerNet { body, dropout, skip });
            channels = c_out;
        }
        ChainNet { stem, layers, classifier: LinearConfig::new(channels, network.classes).init(device) }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut nodes = vec![self.stem.forward(x)];
        for layer in &self.layers {
            let input = nodes.last().expect("the stem's output").clone();
            let mut y = match &layer.body {
                ChainBody::Identity(_) => input,
                ChainBody::MaxPool(pool) => kernels::max_pool2d(pool, input),
                ChainBody::AvgPool(pool) => kernels::avg_pool2d(pool, input),
                ChainBody::Convs(units) => units.iter().fold(input, |x, unit| unit.forward(x)),
            };
            if let Some(dropout) = &layer.dropout {
                y = dropout.forward(y);
            }
            if let Some(skip) = &layer.skip {
                let mut s = nodes[skip.from_node].clone();
                if skip.pool_to > 0 {
                    s = adaptive_avg_pool2d(s, [skip.pool_to, skip.pool_to]);
                }
                if let Some(project) = &skip.project {
                    s = project.forward(s);
                }
                y = y + s;
            }
            nodes.push(y);
        }
        let x = nodes.pop().expect("at least the stem");
        self.classifier.forward(global_pool(x))
    }
}

// ---------------------------------------------------------------------------------------------------------
// DARTS

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
        let x = activation::relu(x);
        let [_, _, h, w] = x.dims();
        let a = kernels::conv2d(&self.conv_1, x.clone());
        // x[:, :, 1:, 1:], padded back to h×w (the original code needs even sizes, where the pad is unused).
        let shifted = x.narrow(2, 1, h - 1).narrow(3, 1, w - 1);
        let shifted = shifted.pad([(0, 1), (0, 1)], burn::tensor::ops::PadMode::Constant(0.0));
        let b = kernels::conv2d(&self.conv_2, shifted);
        kernels::batch_norm(&self.norm, Tensor::cat(vec![a, b], 1))
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
}

#[derive(Module, Debug)]
pub enum DartsPre {
    Conv(ConvUnit),
    Reduce(FactorizedReduce),
}

impl DartsPre {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            DartsPre::Conv(u) => u.forward(x),
            DartsPre::Reduce(r) => r.forward(x),
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
        let stem = ConvUnit::new(
            ConvSpec::new(network.input_channels, stem_c, 3),
            Some(Norm2d::batch(stem_c, device)),
            Act::Identity,
            device,
        );
        let (mut c_pp, mut c_p, mut c) = (stem_c, stem_c, network.channels);
        let mut reduction_prev = false;
        let mut cells = Vec::with_capacity(network.layers);
        for layer in 0..network.layers {
            let reduction = layer == network.layers / 3 || layer == 2 * network.layers / 3;
            if reduction {
                c *= 2;
            }
            let pre0 = if reduction_prev {
                DartsPre::Reduce(FactorizedReduce::new(c_pp, c, device))
            } else {
                DartsPre::Conv(ConvUnit::relu_conv_bn(ConvSpec::new(c_pp, c, 1), device))
            };
            let pre1 = DartsPre::Conv(ConvUnit::relu_conv_bn(ConvSpec::new(c_p, c, 1), device));
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
}

// ---------------------------------------------------------------------------------------------------------
// Any space

/// A network of any space.
#[derive(Module, Debug)]
pub enum Network {
    Nb201(Nb201Net),
    Chain(ChainNet),
    Darts(DartsNet),
}

impl Network {
    /// Logits `[n, classes]` of a batch `[n, channels, size, size]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Network::Nb201(n) => n.forward(x),
            Network::Chain(n) => n.forward(x),
            Network::Darts(n) => n.forward(x),
        }
    }
}

/// A search space whose architectures can be built into burn networks.
pub trait Buildable: SearchSpace {
    /// The network around `arch` for a task, at a scale.
    fn build(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network;
    /// The analytic parameter and FLOP counts of the network `build` makes.
    fn network_cost(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost;
    /// A rough upper bound of the activations one image keeps for the backward pass, in floats.
    fn activation_estimate(&self, arch: &Self::Arch, task: &TaskShape, scale: &NetworkScale) -> u64 {
        // Each multiply-accumulate over a weight touches one output; a conservative proxy is FLOPs divided by
        // the average fan-in, bounded below by the input.
        let cost = self.network_cost(arch, task, scale);
        (cost.flops / 9).max((task.channels * task.size * task.size) as u64) * 4
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

impl Buildable for ChainSpace {
    fn build(&self, arch: &ChainArch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network {
        Network::Chain(ChainNet::new(arch, &chain_network(task, scale), device))
    }
    fn network_cost(&self, arch: &ChainArch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost {
        chain_network(task, scale).cost(arch)
    }
}

pub fn chain_network(task: &TaskShape, scale: &NetworkScale) -> ChainNetwork {
    let mut network = ChainNetwork::for_task(task);
    if let Some(c) = scale.channels {
        network.stem_channels = c;
    }
    network
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

/// Counts trainable parameters: every float parameter except batch norm's running statistics (buffers,
/// which burn's `num_params` counts too). This is what the analytic cost models count.
struct TrainableCounter {
    path: Vec<String>,
    count: usize,
}

impl burn::module::ModuleVisitor for TrainableCounter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        if !self.path.last().is_some_and(|name| name.starts_with("running_")) {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

/// The number of trainable parameters of a module (running statistics excluded).
pub fn trainable_params<M: Module>(module: &M) -> u64 {
    let mut counter = TrainableCounter { path: Vec::new(), count: 0 };
    module.visit(&mut counter);
    counter.count as u64
}

impl Network {
    /// Trainable parameters (see [`trainable_params`]).
    pub fn params(&self) -> u64 {
        trainable_params(self)
    }
}
