//! Our own depthwise 2-D convolution for burn's CPU backend (`flex`), forward and backward.
//!
//! A depthwise convolution (one k×k filter per channel, `groups = channels`) has too little work per output
//! for im2col and a GEMM; burn runs it through its general grouped convolution. Here every channel plane is
//! one task: for each kernel tap, a shifted row of the input is multiplied by the tap's weight and added to
//! the output row (a loop the compiler vectorises at stride 1). The backward pass does the same in reverse:
//! the input gradient scatters each output gradient row back through the taps, and the weight gradient of a
//! tap is the dot product of the output gradient with the shifted input, summed over the batch (tasks are
//! channels, so no two tasks write the same weight).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::{f32_values, flex_tensor, on_cpu_in_f32, symmetric_padding};

/// The shape of one depthwise convolution: input `[batch, channels, height, width]`, weights
/// `[channels, 1, kh, kw]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DepthwiseGeometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl DepthwiseGeometry {
    fn out_height(&self) -> usize {
        (self.height + 2 * self.padding[0] - self.kernel[0]) / self.stride[0] + 1
    }
    fn out_width(&self) -> usize {
        (self.width + 2 * self.padding[1] - self.kernel[1]) / self.stride[1] + 1
    }
    fn in_plane(&self) -> usize {
        self.height * self.width
    }
    fn out_plane(&self) -> usize {
        self.out_height() * self.out_width()
    }
    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }
    fn out_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_height(), self.out_width()]
    }
}

/// The geometry of `conv` applied to `x` when it is a depthwise convolution our kernel computes: f32 on the
/// CPU, one filter per channel, no dilation, symmetric padding.
fn depthwise_geometry(conv: &Conv2d, x: &Tensor<4>) -> Option<DepthwiseGeometry> {
    let [batch, channels, height, width] = x.dims();
    let [c_out, per_group, kh, kw] = conv.weight.dims();
    if conv.groups != channels || c_out != channels || per_group != 1 || conv.dilation != [1, 1] || !on_cpu_in_f32(x) {
        return None;
    }
    let padding = symmetric_padding(&conv.padding)?;
    if height + 2 * padding[0] < kh || width + 2 * padding[1] < kw {
        return None;
    }
    Some(DepthwiseGeometry { batch, channels, height, width, kernel: [kh, kw], stride: conv.stride, padding })
}

/// `conv` applied to `x` with our kernel, when it is a depthwise convolution the kernel covers.
pub(super) fn depthwise_conv2d(conv: &Conv2d, x: &Tensor<4>) -> Option<Tensor<4>> {
    let geometry = depthwise_geometry(conv, x)?;
    let weight = conv.weight.val();
    let output = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as DepthwiseBackend>::depthwise_conv2d(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        geometry,
    ));
    Some(match &conv.bias {
        Some(bias) => output + bias.val().reshape([1, geometry.channels as i32, 1, 1]),
        None => output,
    })
}

#[backend_extension(Flex, Autodiff)]
trait DepthwiseBackend: Backend {
    /// Depthwise convolution of NCHW `x` with `[channels, 1, kh, kw]` weights, no bias.
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: DepthwiseGeometry,
    ) -> FloatTensor<Self>;
}

impl DepthwiseBackend for Flex {
    fn depthwise_conv2d(x: FlexTensor, weight: FlexTensor, geometry: DepthwiseGeometry) -> FlexTensor {
        flex_tensor(forward(&f32_values(&x), &f32_values(&weight), &geometry), geometry.out_shape())
    }
}

impl<C: CheckpointStrategy> DepthwiseBackend for Autodiff<Flex, C> {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: DepthwiseGeometry,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct DepthwiseBackward;

        impl Backward<Flex, 2> for DepthwiseBackward {
            type State = (FlexTensor, FlexTensor, DepthwiseGeometry);

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [x_node, weight_node] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, weight, g) = ops.state;
                let (dx, dw) =
                    backward(&f32_values(&x), &f32_values(&weight), &f32_values(&grad), &g, x_node.is_some());
                if let (Some(node), Some(dx)) = (x_node, dx) {
                    grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch, g.channels, g.height, g.width]));
                }
                if let Some(node) = weight_node {
                    grads.register::<Flex>(node.id, flex_tensor(dw, [g.channels, 1, g.kernel[0], g.kernel[1]]));
                }
            }
        }

        match DepthwiseBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let weight = weight.into_primitive();
                let output = Flex::depthwise_conv2d(x.clone(), weight.clone(), geometry);
                prep.finish((x, weight, geometry), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::depthwise_conv2d(x.into_primitive(), weight.into_primitive(), geometry))
            }
        }
    }
}

/// For each output row of one tap row `ki`: the input row it reads, if inside the image.
fn input_row(o_row: usize, ki: usize, g: &DepthwiseGeometry) -> Option<usize> {
    (o_row * g.stride[0] + ki).checked_sub(g.padding[0]).filter(|&i| i < g.height)
}

/// The output columns `lo..hi` whose input column `o·stride + kj − pad` lies inside the row.
fn valid_columns(kj: usize, g: &DepthwiseGeometry) -> (usize, usize) {
    let (stride, pad, ow) = (g.stride[1], g.padding[1], g.out_width());
    let lo = pad.saturating_sub(kj).div_ceil(stride).min(ow);
    // The last o with o·stride + kj − pad ≤ width − 1.
    let hi = match (g.width + pad).checked_sub(kj + 1) {
        Some(last) => (last / stride + 1).min(ow),
        None => 0,
    };
    (lo, hi.max(lo))
}

/// `out[n, c] = Σ_taps w[c, tap] · shifted x[n, c]`, one task per plane.
fn forward(x: &[f32], weight: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
    let (ow, taps) = (g.out_width(), g.taps());
    let mut output = vec![0.0f32; g.batch * g.channels * g.out_plane()];
    output.par_chunks_mut(g.out_plane()).zip(x.par_chunks(g.in_plane())).enumerate().for_each(|(plane, (out, x))| {
        let w = &weight[(plane % g.channels) * taps..][..taps];
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                let tap = w[ki * g.kernel[1] + kj];
                let (lo, hi) = valid_columns(kj, g);
                if lo == hi {
                    continue;
                }
                for (o_row, out_row) in out.chunks_mut(ow).enumerate() {
                    let Some(ih) = input_row(o_row, ki, g) else { continue };
                    let row = &x[ih * g.width..(ih + 1) * g.width];
                    let first = lo * g.stride[1] + kj - g.padding[1];
                    if g.stride[1] == 1 {
                        let source = &row[first..first + (hi - lo)];
                        out_row[lo..hi].iter_mut().zip(source).for_each(|(o, v)| *o += tap * v);
                    } else {
                        for (i, o) in out_row[lo..hi].iter_mut().enumerate() {
                            *o += tap * row[first + i * g.stride[1]];
                        }
                    }
                }
            }
        }
    });
    output
}

/// The input gradient (when asked for) and the weight gradient from the output gradient `grad`. One task
/// per channel, looping over the images, so each task owns its channel's weights.
fn backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    g: &DepthwiseGeometry,
    input_grad: bool,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let (ow, taps, (in_plane, out_plane)) = (g.out_width(), g.taps(), (g.in_plane(), g.out_plane()));
    let per_channel: Vec<(Vec<f32>, Vec<f32>)> = (0..g.channels)
        .into_par_iter()
        .map(|c| {
            let w = &weight[c * taps..][..taps];
            let mut dw = vec![0.0f32; taps];
            let mut dx = if input_grad { vec![0.0f32; g.batch * in_plane] } else { Vec::new() };
            for n in 0..g.batch {
                let plane = n * g.channels + c;
                let (x, gr) = (&x[plane * in_plane..][..in_plane], &grad[plane * out_plane..][..out_plane]);
                for ki in 0..g.kernel[0] {
                    for kj in 0..g.kernel[1] {
                        let t = ki * g.kernel[1] + kj;
                        let (lo, hi) = valid_columns(kj, g);
                        if lo == hi {
                            continue;
                        }
                        let first = lo * g.stride[1] + kj - g.padding[1];
                        for (o_row, g_row) in gr.chunks(ow).enumerate() {
                            let Some(ih) = input_row(o_row, ki, g) else { continue };
                            let columns = (lo..hi).map(|o| first + (o - lo) * g.stride[1]);
                            let row = &x[ih * g.width..(ih + 1) * g.width];
                            dw[t] += columns.clone().zip(&g_row[lo..hi]).map(|(i, gv)| row[i] * gv).sum::<f32>();
                            if input_grad {
                                let dx_row = &mut dx[n * in_plane + ih * g.width..][..g.width];
                                for (i, gv) in columns.zip(&g_row[lo..hi]) {
                                    dx_row[i] += w[t] * gv;
                                }
                            }
                        }
                    }
                }
            }
            (dx, dw)
        })
        .collect();
    let mut dw = Vec::with_capacity(g.channels * taps);
    let mut dx = if input_grad { vec![0.0f32; g.batch * g.channels * in_plane] } else { Vec::new() };
    for (c, (dx_c, dw_c)) in per_channel.into_iter().enumerate() {
        dw.extend(dw_c);
        if input_grad {
            for n in 0..g.batch {
                dx[(n * g.channels + c) * in_plane..][..in_plane].copy_from_slice(&dx_c[n * in_plane..][..in_plane]);
            }
        }
    }
    (input_grad.then_some(dx), dw)
}
