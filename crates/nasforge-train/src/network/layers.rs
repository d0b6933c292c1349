//! The layers and blocks every space's network is made of: activations, channel normalisations, convolution
//! options and units (`[ReLU] → conv → [norm] → activation`), pooling.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, activation};

use nasforge_core::space::chain;

use super::{batch_norm_statistics, probe};
use crate::onnx::{OnnxGraph, Value, onnx_float, onnx_int, onnx_ints};

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
    pub(super) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Act::Identity => x,
            Act::Relu => probe::relu(x),
            Act::Swish => activation::silu(x),
            Act::Hardswish => activation::hard_swish(x),
            Act::Gelu => activation::gelu(x),
        }
    }

    pub(super) fn onnx(self, g: &mut OnnxGraph, x: Value) -> Value {
        match self {
            Act::Identity => x,
            Act::Relu => g.relu(&x),
            Act::Swish => {
                let gate = g.node("Sigmoid", &[&x], Vec::new());
                g.mul(&x, &gate)
            }
            Act::Hardswish => g.node("HardSwish", &[&x], Vec::new()),
            Act::Gelu => {
                // x · ½ (1 + erf(x / √2)), burn's exact GELU.
                let inverse_sqrt2 = g.constant("inverse_sqrt2", &[], &[std::f32::consts::FRAC_1_SQRT_2]);
                let scaled = g.mul(&x, &inverse_sqrt2);
                let erf = g.node("Erf", &[&scaled], Vec::new());
                let one = g.constant("one", &[], &[1.0]);
                let half = g.constant("half", &[], &[0.5]);
                let shifted = g.add(&erf, &one);
                let gate = g.mul(&shifted, &half);
                g.mul(&x, &gate)
            }
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
    pub(super) fn new(kind: chain::Norm, channels: usize, device: &Device) -> Norm2d {
        match kind {
            chain::Norm::Batch => Norm2d::Batch(BatchNormConfig::new(channels).init(device)),
            chain::Norm::Layer => Norm2d::Layer(LayerNormConfig::new(channels).init(device)),
            chain::Norm::Group => Norm2d::Group(GroupNormConfig::new(gcd(channels, 32), channels).init(device)),
        }
    }

    pub(super) fn batch(channels: usize, device: &Device) -> Norm2d {
        Norm2d::Batch(BatchNormConfig::new(channels).init(device))
    }

    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Norm2d::Batch(n) => batch_norm_statistics::batch_norm(n, x),
            Norm2d::Layer(n) => n.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]),
            // burn panics on an input of two elements or fewer (it mistakes their count for the rank; a
            // 1×1 image of one or two channels): a batch of three copies has the same per-image statistics.
            Norm2d::Group(n) if x.shape().num_elements() <= 2 => {
                let batch = x.dims()[0];
                n.forward(Tensor::cat(vec![x; 3], 0)).narrow(0, 0, batch)
            }
            Norm2d::Group(n) => n.forward(x),
        }
    }

    fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        match self {
            Norm2d::Batch(n) => g.batch_norm(n, &x),
            Norm2d::Layer(n) => {
                let channels_last = g.node("Transpose", &[&x], vec![onnx_ints("perm", &[0, 2, 3, 1])]);
                let scale = g.weights("ln_scale", n.gamma.val());
                let mut inputs = vec![&channels_last, &scale];
                let bias = n.beta.as_ref().map(|beta| g.weights("ln_bias", beta.val()));
                inputs.extend(bias.as_ref());
                // burn's LayerNorm keeps its epsilon private; ours are built with the default.
                let epsilon = onnx_float("epsilon", LayerNormConfig::new(1).epsilon);
                let normed = g.node("LayerNormalization", &inputs, vec![onnx_int("axis", -1), epsilon]);
                g.node("Transpose", &[&normed], vec![onnx_ints("perm", &[0, 3, 1, 2])])
            }
            Norm2d::Group(n) => {
                // Instance norm over [n, groups, rest] is group norm without its per-channel affine.
                let grouped_shape = g.int64s("grouped_shape", &[0, n.num_groups as i64, -1]);
                let grouped = g.node("Reshape", &[&x, &grouped_shape], Vec::new());
                let ones = g.constant("ones", &[n.num_groups], &vec![1.0; n.num_groups]);
                let zeros = g.constant("zeros", &[n.num_groups], &vec![0.0; n.num_groups]);
                let epsilon = onnx_float("epsilon", n.epsilon);
                let normed = g.node("InstanceNormalization", &[&grouped, &ones, &zeros], vec![epsilon]);
                let shape = g.node("Shape", &[&x], Vec::new());
                let mut y = g.node("Reshape", &[&normed, &shape], Vec::new());
                let per_channel = [n.num_channels, 1, 1];
                if let Some(gamma) = &n.gamma {
                    let gamma = g.weights("gn_scale", gamma.val().reshape(per_channel));
                    y = g.mul(&y, &gamma);
                }
                if let Some(beta) = &n.beta {
                    let beta = g.weights("gn_bias", beta.val().reshape(per_channel));
                    y = g.add(&y, &beta);
                }
                y
            }
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Options of one convolution (no bias; padding keeps the size at stride 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct ConvSpec {
    pub(super) c_in: usize,
    pub(super) c_out: usize,
    pub(super) kernel: [usize; 2],
    pub(super) stride: [usize; 2],
    pub(super) dilation: usize,
    pub(super) groups: usize,
}

impl ConvSpec {
    pub(super) fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        ConvSpec { c_in, c_out, kernel: [kernel, kernel], stride: [1, 1], dilation: 1, groups: 1 }
    }
    pub(super) fn stride(mut self, stride: usize) -> Self {
        self.stride = [stride, stride];
        self
    }
    pub(super) fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }
    pub(super) fn depthwise(mut self) -> Self {
        self.groups = self.c_in;
        self
    }
    pub(super) fn init(self, device: &Device) -> Conv2d {
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
    pub(super) conv: Conv2d,
    pub(super) norm: Option<Norm2d>,
    #[module(skip)]
    pub(super) pre_relu: bool,
    #[module(skip)]
    pub(super) act: Act,
}

impl ConvUnit {
    pub(super) fn new(spec: ConvSpec, norm: Option<Norm2d>, act: Act, device: &Device) -> Self {
        ConvUnit { conv: spec.init(device), norm, pre_relu: false, act }
    }

    /// ReLU-Conv-BN, as NAS-Bench-201 and DARTS use.
    pub(super) fn relu_conv_bn(spec: ConvSpec, device: &Device) -> Self {
        ConvUnit {
            conv: spec.init(device),
            norm: Some(Norm2d::batch(spec.c_out, device)),
            pre_relu: true,
            act: Act::Identity,
        }
    }

    pub(super) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.pre_relu { probe::relu(x) } else { x };
        let x = probe::conv2d(&self.conv, x);
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        self.act.apply(x)
    }

    pub(super) fn onnx(&self, g: &mut OnnxGraph, x: Value) -> Value {
        let x = if self.pre_relu { g.relu(&x) } else { x };
        let x = g.conv(&self.conv, &x);
        let x = match &self.norm {
            Some(norm) => norm.onnx(g, x),
            None => x,
        };
        self.act.onnx(g, x)
    }
}

/// A network's stem: a 3×3 convolution and batch norm, then `act`.
pub(super) fn stem(in_channels: usize, out_channels: usize, act: Act, device: &Device) -> ConvUnit {
    ConvUnit::new(ConvSpec::new(in_channels, out_channels, 3), Some(Norm2d::batch(out_channels, device)), act, device)
}

pub(super) fn avg_pool(kernel: usize, stride: usize, padding: usize, ceil_mode: bool) -> AvgPool2d {
    AvgPool2dConfig::new([kernel, kernel])
        .with_strides([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .with_count_include_pad(false)
        .with_ceil_mode(ceil_mode)
        .init()
}

pub(super) fn max_pool(kernel: usize, stride: usize, padding: usize) -> MaxPool2d {
    MaxPool2dConfig::new([kernel, kernel])
        .with_strides([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .init()
}

/// Global average pooling to `[n, c]`.
pub(super) fn global_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([n, c])
}
