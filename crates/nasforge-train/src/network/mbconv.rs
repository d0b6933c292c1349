//! The mbconv network builder (see `nasforge_core::space::mbconv`): the input resized to the searched
//! resolution, a stem, inverted-residual blocks with optional squeeze-and-excitation, a head and a classifier;
//! and the [`Buildable`] implementation of `MbconvSpace`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor, activation};

use nasforge_core::space::mbconv::{BlockPlan, MbActivation, MbOperator, MbconvPlan};
use nasforge_core::space::{MbconvArch, MbconvSpace, NetworkCost, TaskShape};

use super::layers::{Act, ConvSpec, ConvUnit, Norm2d, global_pool};
use super::{Buildable, Network, NetworkScale};
use crate::onnx::{OnnxGraph, Value};

impl From<MbActivation> for Act {
    fn from(a: MbActivation) -> Self {
        match a {
            MbActivation::Relu => Act::Relu,
            MbActivation::Hswish => Act::Hardswish,
        }
    }
}

/// Squeeze-and-excitation: a gate per channel from the channels' means.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    reduce: Linear,
    expand: Linear,
}

impl SqueezeExcite {
    fn new(channels: usize, squeeze: usize, device: &Device) -> Self {
        SqueezeExcite {
            reduce: LinearConfig::new(channels, squeeze).init(device),
            expand: LinearConfig::new(squeeze, channels).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, c, _, _] = x.dims();
        let squeezed = activation::relu(self.reduce.forward(global_pool(x.clone())));
        let gate = activation::sigmoid(self.expand.forward(squeezed)).reshape([n, c, 1, 1]);
        x * gate
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let pooled = g.global_pool(&x);
        let reduced = g.linear(&self.reduce, &pooled);
        let squeezed = g.relu(&reduced);
        let expanded = g.linear(&self.expand, &squeezed);
        let gate = g.node("Sigmoid", &[&expanded], Vec::new());
        let axes = g.int64s("axes", &[2, 3]);
        let gate = g.node("Unsqueeze", &[&gate, &axes], Vec::new());
        g.mul(&x, &gate)
    }
}

/// One inverted-residual block: expansion, depthwise, optional squeeze-and-excitation, projection, shortcut.
#[derive(Module, Debug)]
pub struct MbBlockNet {
    expand: ConvUnit,
    depthwise: ConvUnit,
    se: Option<SqueezeExcite>,
    project: ConvUnit,
    #[module(skip)]
    residual: bool,
}

impl MbBlockNet {
    pub fn new(plan: &BlockPlan, device: &Device) -> Self {
        let unit = |spec: ConvSpec, act: Act| ConvUnit::new(spec, Some(Norm2d::batch(spec.c_out, device)), act, device);
        let act = Act::from(plan.activation);
        MbBlockNet {
            expand: unit(ConvSpec::new(plan.in_channels, plan.hidden, 1), act),
            depthwise: unit(ConvSpec::new(plan.hidden, plan.hidden, plan.kernel).stride(plan.stride).depthwise(), act),
            se: plan.squeeze.map(|squeeze| SqueezeExcite::new(plan.hidden, squeeze, device)),
            project: unit(ConvSpec::new(plan.hidden, plan.out_channels, 1), Act::Identity),
            residual: plan.residual(),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self.depthwise.forward(self.expand.forward(x.clone()));
        if let Some(se) = &self.se {
            y = se.forward(y);
        }
        let y = self.project.forward(y);
        if self.residual { y + x } else { y }
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let expanded = self.expand.onnx(g, x.clone());
        let mut y = self.depthwise.onnx(g, expanded);
        if let Some(se) = &self.se {
            y = se.onnx(g, y);
        }
        let y = self.project.onnx(g, y);
        if self.residual { g.add(&y, &x) } else { y }
    }
}

/// The head: 1×1 convolution, batch norm, ReLU, global average pooling, classifier.
#[derive(Module, Debug)]
pub struct MbHead {
    conv: ConvUnit,
    classifier: Linear,
}

impl MbHead {
    fn new(in_channels: usize, out_channels: usize, classes: usize, device: &Device) -> Self {
        MbHead {
            conv: relu_unit(ConvSpec::new(in_channels, out_channels, 1), device),
            classifier: LinearConfig::new(out_channels, classes).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(global_pool(self.conv.forward(x)))
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let x = self.conv.onnx(g, x);
        let pooled = g.global_pool(&x);
        g.linear(&self.classifier, &pooled)
    }
}

/// Convolution, batch norm, ReLU: the stem and the head's convolution.
fn relu_unit(spec: ConvSpec, device: &Device) -> ConvUnit {
    ConvUnit::new(spec, Some(Norm2d::batch(spec.c_out, device)), Act::Relu, device)
}

/// Bilinear resizing to `to`×`to` with half-pixel centres (PyTorch's `align_corners = False`).
fn resize(x: Tensor<4>, to: usize) -> Tensor<4> {
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false).with_output_size([to, to]),
    )
}

/// An mbconv network: resize, stem, blocks, head.
#[derive(Module, Debug)]
pub struct MbconvNet {
    stem: ConvUnit,
    blocks: Vec<MbBlockNet>,
    head: MbHead,
    /// The input's side and the side it is resized to (equal: no resize).
    #[module(skip)]
    resize: (usize, usize),
}

impl MbconvNet {
    pub fn new(plan: &MbconvPlan, device: &Device) -> Self {
        let (last_channels, _) = plan.last();
        MbconvNet {
            stem: relu_unit(ConvSpec::new(plan.input_channels, plan.stem_channels, 3), device),
            blocks: plan.blocks.iter().map(|block| MbBlockNet::new(block, device)).collect(),
            head: MbHead::new(last_channels, plan.head_channels, plan.classes, device),
            resize: (plan.input_size, plan.resolution),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let (from, to) = self.resize;
        let x = if from == to { x } else { resize(x, to) };
        let x = self.blocks.iter().fold(self.stem.forward(x), |x, block| block.forward(x));
        self.head.forward(x)
    }

    pub(crate) fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let (from, to) = self.resize;
        let x = if from == to { x } else { g.resize_bilinear(&x, from, to) };
        let mut x = self.stem.onnx(g, x);
        for block in &self.blocks {
            x = block.onnx(g, x);
        }
        self.head.onnx(g, x)
    }
}

/// One operator of an mbconv network built alone, to be timed for a latency look-up table.
#[derive(Module, Debug)]
pub enum MbOperatorNet {
    /// The side the input is resized to.
    Resize(usize),
    Stem(ConvUnit),
    Block(MbBlockNet),
    Head(MbHead),
}

impl MbOperatorNet {
    /// The operator and the shape of its input for a batch of `batch`.
    pub fn new(operator: &MbOperator, batch: usize, device: &Device) -> (Self, [usize; 4]) {
        match *operator {
            MbOperator::Resize { channels, from, to } => (MbOperatorNet::Resize(to), [batch, channels, from, from]),
            MbOperator::Stem { in_channels, out_channels, size } => (
                MbOperatorNet::Stem(relu_unit(ConvSpec::new(in_channels, out_channels, 3), device)),
                [batch, in_channels, size, size],
            ),
            MbOperator::Block(plan) => (
                MbOperatorNet::Block(MbBlockNet::new(&plan, device)),
                [batch, plan.in_channels, plan.in_size, plan.in_size],
            ),
            MbOperator::Head { in_channels, out_channels, size, classes } => (
                MbOperatorNet::Head(MbHead::new(in_channels, out_channels, classes, device)),
                [batch, in_channels, size, size],
            ),
        }
    }

    /// Runs the operator and waits for its result.
    pub fn run(&self, x: Tensor<4>) {
        let _ = match self {
            MbOperatorNet::Resize(to) => resize(x, *to).into_data(),
            MbOperatorNet::Stem(stem) => stem.forward(x).into_data(),
            MbOperatorNet::Block(block) => block.forward(x).into_data(),
            MbOperatorNet::Head(head) => head.forward(x).into_data(),
        };
    }
}

impl Buildable for MbconvSpace {
    fn build(&self, arch: &MbconvArch, task: &TaskShape, scale: &NetworkScale, device: &Device) -> Network {
        Network::Mbconv(MbconvNet::new(&self.plan(arch, task, scale.channels), device))
    }
    fn network_cost(&self, arch: &MbconvArch, task: &TaskShape, scale: &NetworkScale) -> NetworkCost {
        self.plan(arch, task, scale.channels).cost()
    }
    fn deployed_precision(&self, arch: &MbconvArch) -> Option<nasforge_core::space::mbconv::Precision> {
        arch.deployment.map(|deployment| deployment.precision)
    }
}
