//! The chain network builder: a stem, the chain's layers (convolutions, pools, blocks) with their optional
//! dropout and skip connections, and the [`Buildable`] implementation of `ChainSpace`.

use burn::module::Module;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{Dropout, DropoutConfig, Identity, Linear, LinearConfig};
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor};

use nasforge_core::space::chain::{self, BOTTLENECK_REDUCTION, ChainOperator, INVERTED_RESIDUAL_EXPANSION, LayerKind};
use nasforge_core::space::{ChainArch, ChainNetwork, ChainSpace, NetworkCost, TaskShape};

use super::layers::{Act, ConvSpec, ConvUnit, Norm2d, avg_pool, global_pool, max_pool, stem};
use super::{Buildable, Network, NetworkScale};
use crate::kernels;
use crate::onnx::{OnnxGraph, Value};

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
        let stem = stem(network.input_channels, network.stem_channels, Act::Relu, device);
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

    /// As `forward`, dropout being the identity at inference.
    pub(crate) fn onnx(&self, g: &mut OnnxGraph, x: Value, input_size: usize) -> Value {
        let mut nodes = vec![(self.stem.onnx(g, x), input_size)];
        for layer in &self.layers {
            let (input, size) = nodes.last().expect("the stem's output").clone();
            let (mut y, size) = match &layer.body {
                ChainBody::Identity(_) => (input, size),
                ChainBody::MaxPool(pool) => (g.max_pool(pool, &input), pooled_size(size)),
                ChainBody::AvgPool(pool) => (g.avg_pool(pool, &input), pooled_size(size)),
                ChainBody::Convs(units) => {
                    let stride: usize = units.iter().map(|unit| unit.conv.stride[0]).product();
                    (units.iter().fold(input, |x, unit| unit.onnx(g, x)), size.div_ceil(stride))
                }
            };
            if let Some(skip) = &layer.skip {
                let (mut s, from_size) = nodes[skip.from_node].clone();
                if skip.pool_to > 0 {
                    s = g.adaptive_avg_pool(&s, from_size, skip.pool_to);
                }
                if let Some(project) = &skip.project {
                    s = project.onnx(g, s);
                }
                y = g.add(&y, &s);
            }
            nodes.push((y, size));
        }
        let (x, _) = nodes.pop().expect("at least the stem");
        let pooled = g.global_pool(&x);
        g.linear(&self.classifier, &pooled)
    }
}

/// The side after the chain's 3×3, stride-2, padding-1 pools.
fn pooled_size(size: usize) -> usize {
    (size + 2 - 3) / 2 + 1
}

/// One operator of a chain network built alone, to be timed for a latency look-up table.
#[derive(Debug)]
pub enum ChainOperatorNet {
    /// The stem, or a convolution alone (no normalisation, no activation).
    Conv(ConvUnit),
    Norm(Norm2d),
    Activation(Act),
    MaxPool(MaxPool2d),
    AvgPool(AvgPool2d),
    /// The side a skip is pooled to.
    SkipPool(usize),
    /// A skip's addition.
    Sum(Identity),
    Head(Linear),
}

impl ChainOperatorNet {
    /// The operator and the shape of its input for a batch of `batch`.
    pub fn new(operator: &ChainOperator, batch: usize, device: &Device) -> (Self, [usize; 4]) {
        let input = |channels: usize, size: usize| [batch, channels, size, size];
        match *operator {
            ChainOperator::Stem { in_channels, out_channels, size } => {
                (ChainOperatorNet::Conv(stem(in_channels, out_channels, Act::Relu, device)), input(in_channels, size))
            }
            ChainOperator::Conv { in_channels, out_channels, kernel, dilation, depthwise, size } => {
                let spec = ConvSpec::new(in_channels, out_channels, kernel).dilation(dilation);
                let spec = if depthwise { spec.depthwise() } else { spec };
                let conv = ConvUnit { conv: spec.init(device), norm: None, pre_relu: false, act: Act::Identity };
                (ChainOperatorNet::Conv(conv), input(in_channels, size))
            }
            ChainOperator::Norm { norm, channels, size } => {
                (ChainOperatorNet::Norm(Norm2d::new(norm, channels, device)), input(channels, size))
            }
            ChainOperator::Activation { activation, channels, size } => {
                (ChainOperatorNet::Activation(Act::from(activation)), input(channels, size))
            }
            ChainOperator::Pool { max: true, channels, size } => {
                (ChainOperatorNet::MaxPool(max_pool(3, 2, 1)), input(channels, size))
            }
            ChainOperator::Pool { max: false, channels, size } => {
                (ChainOperatorNet::AvgPool(avg_pool(3, 2, 1, false)), input(channels, size))
            }
            ChainOperator::SkipPool { channels, from, to } => (ChainOperatorNet::SkipPool(to), input(channels, from)),
            ChainOperator::Sum { channels, size } => (ChainOperatorNet::Sum(Identity), input(channels, size)),
            ChainOperator::Head { channels, size, classes } => {
                (ChainOperatorNet::Head(LinearConfig::new(channels, classes).init(device)), input(channels, size))
            }
        }
    }

    /// Runs the operator and waits for its result.
    pub fn run(&self, x: Tensor<4>) {
        let _ = match self {
            ChainOperatorNet::Conv(unit) => unit.forward(x).into_data(),
            ChainOperatorNet::Norm(norm) => norm.forward(x).into_data(),
            ChainOperatorNet::Activation(act) => act.apply(x).into_data(),
            ChainOperatorNet::MaxPool(pool) => kernels::max_pool2d(pool, x).into_data(),
            ChainOperatorNet::AvgPool(pool) => kernels::avg_pool2d(pool, x).into_data(),
            ChainOperatorNet::SkipPool(to) => adaptive_avg_pool2d(x, [*to, *to]).into_data(),
            ChainOperatorNet::Sum(_) => (x.clone() + x).into_data(),
            ChainOperatorNet::Head(classifier) => classifier.forward(global_pool(x)).into_data(),
        };
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
