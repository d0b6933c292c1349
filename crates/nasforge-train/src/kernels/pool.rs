//! Max and average pooling over NCHW tensors, forward and backward, one plane (image × channel) at a time.
//!
//! burn-flex 0.22 pools in 2-D through its 3-D pooling with depth 1, and its max pooling's autodiff keeps the
//! argmax indices as an i64 tensor. Here each output value scans its window once; max pooling records the
//! in-plane offset of the maximum (u32) for the backward pass, which adds each output gradient there;
//! average pooling's backward spreads each output gradient evenly over its window.

use std::sync::Arc;

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::{f32_values, flex_tensor, on_cpu_in_f32, symmetric_padding};

/// The shape of one pooling: input `[batch, channels, height, width]`, window, stride, symmetric padding.
#[derive(Clone, Copy, Debug)]
struct PoolGeometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// Average pooling: divide by the whole window, padding included, rather than by the values inside.
    count_include_pad: bool,
}

impl PoolGeometry {
    fn out_size(&self, axis: usize) -> usize {
        let size = [self.height, self.width][axis];
        (size + 2 * self.padding[axis] - self.kernel[axis]) / self.stride[axis] + 1
    }
    fn out_plane(&self) -> usize {
        self.out_size(0) * self.out_size(1)
    }
    fn in_plane(&self) -> usize {
        self.height * self.width
    }
    fn out_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_size(0), self.out_size(1)]
    }
    fn in_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.height, self.width]
    }
    /// The input rows (or columns) of output index `o` along `axis`: the window clipped to the image.
    fn window(&self, axis: usize, o: usize) -> std::ops::Range<usize> {
        let start = o * self.stride[axis];
        let (pad, size) = (self.padding[axis], [self.height, self.width][axis]);
        start.saturating_sub(pad)..(start + self.kernel[axis]).saturating_sub(pad).min(size)
    }
    /// Calls `visit(output offset, rows, columns)` for every output position of a plane and its window.
    fn for_each_window(&self, mut visit: impl FnMut(usize, std::ops::Range<usize>, std::ops::Range<usize>)) {
        let out_w = self.out_size(1);
        for oh in 0..self.out_size(0) {
            let rows = self.window(0, oh);
            for ow in 0..out_w {
                visit(oh * out_w + ow, rows.clone(), self.window(1, ow));
            }
        }
    }

    /// The geometry of `x` pooled with these settings, when our kernels compute it: f32 on the CPU,
    /// symmetric padding smaller than the window, output sizes that `ceil_mode` does not change.
    fn of(
        x: &Tensor<4>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: &PaddingConfig2d,
        ceil_mode: bool,
    ) -> Option<Self> {
        if !on_cpu_in_f32(x) {
            return None;
        }
        let padding = symmetric_padding(padding)?;
        let [batch, channels, height, width] = x.dims();
        let geometry =
            PoolGeometry { batch, channels, height, width, kernel, stride, padding, count_include_pad: true };
        let fits = (0..2).all(|axis| {
            let padded = [height, width][axis] + 2 * padding[axis];
            padding[axis] < kernel[axis]
                && padded >= kernel[axis]
                && (!ceil_mode || (padded - kernel[axis]).is_multiple_of(stride[axis]))
        });
        fits.then_some(geometry)
    }
}

/// Applies `pool` to `x` with our kernels where they apply (no dilation), with `MaxPool2d::forward` elsewhere.
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    match PoolGeometry::of(&x, pool.kernel_size, pool.stride, &pool.padding, pool.ceil_mode) {
        Some(geometry) if pool.dilation == [1, 1] => Tensor::from_dispatch(
            <burn::backend::Dispatch as PoolBackend>::max_pool2d_nchw(x.into_dispatch(), geometry),
        ),
        _ => pool.forward(x),
    }
}

/// Applies `pool` to `x` with our kernels where they apply, with `AvgPool2d::forward` elsewhere.
pub fn avg_pool2d(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    match PoolGeometry::of(&x, pool.kernel_size, pool.stride, &pool.padding, pool.ceil_mode) {
        Some(geometry) => {
            let geometry = PoolGeometry { count_include_pad: pool.count_include_pad, ..geometry };
            Tensor::from_dispatch(<burn::backend::Dispatch as PoolBackend>::avg_pool2d_nchw(
                x.into_dispatch(),
                geometry,
            ))
        }
        None => pool.forward(x),
    }
}

#[backend_extension(Flex, Autodiff)]
trait PoolBackend: Backend {
    fn max_pool2d_nchw(x: FloatTensor<Self>, geometry: PoolGeometry) -> FloatTensor<Self>;
    fn avg_pool2d_nchw(x: FloatTensor<Self>, geometry: PoolGeometry) -> FloatTensor<Self>;
}

impl PoolBackend for Flex {
    fn max_pool2d_nchw(x: FlexTensor, geometry: PoolGeometry) -> FlexTensor {
        let (output, _) = max_forward(&f32_values(&x), &geometry);
        flex_tensor(output, geometry.out_shape())
    }

    fn avg_pool2d_nchw(x: FlexTensor, geometry: PoolGeometry) -> FlexTensor {
        flex_tensor(avg_forward(&f32_values(&x), &geometry), geometry.out_shape())
    }
}

impl<C: CheckpointStrategy> PoolBackend for Autodiff<Flex, C> {
    fn max_pool2d_nchw(x: FloatTensor<Self>, geometry: PoolGeometry) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl Backward<Flex, 1> for MaxPoolBackward {
            /// Where each output's maximum came from, in its plane.
            type State = (Arc<[u32]>, PoolGeometry);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [x_node] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(node) = x_node {
                    let (argmax, geometry) = ops.state;
                    let dx = max_backward(&f32_values(&grad), &argmax, &geometry);
                    grads.register::<Flex>(node.id, flex_tensor(dx, geometry.in_shape()));
                }
            }
        }

        let prepared = MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let (output, argmax) = max_forward(&f32_values(&x.into_primitive()), &geometry);
        let output = flex_tensor(output, geometry.out_shape());
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((argmax.into(), geometry), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn avg_pool2d_nchw(x: FloatTensor<Self>, geometry: PoolGeometry) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AvgPoolBackward;

        impl Backward<Flex, 1> for AvgPoolBackward {
            type State = PoolGeometry;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [x_node] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(node) = x_node {
                    let geometry = ops.state;
                    let dx = avg_backward(&f32_values(&grad), &geometry);
                    grads.register::<Flex>(node.id, flex_tensor(dx, geometry.in_shape()));
                }
            }
        }

        let prepared = AvgPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let output = Flex::avg_pool2d_nchw(x.into_primitive(), geometry);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish(geometry, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// Output values and, for each, the in-plane offset of its maximum.
fn max_forward(x: &[f32], g: &PoolGeometry) -> (Vec<f32>, Vec<u32>) {
    let mut output = vec![0.0f32; g.batch * g.channels * g.out_plane()];
    let mut argmax = vec![0u32; output.len()];
    output
        .par_chunks_mut(g.out_plane())
        .zip(argmax.par_chunks_mut(g.out_plane()))
        .zip(x.par_chunks(g.in_plane()))
        .for_each(|((out, argmax), plane)| {
            g.for_each_window(|o, rows, cols| {
                let (mut best, mut at) = (f32::NEG_INFINITY, rows.start * g.width + cols.start);
                for r in rows {
                    for c in cols.clone() {
                        let v = plane[r * g.width + c];
                        // A NaN is taken and then kept: NaN propagates, as in burn and PyTorch.
                        if (v > best || v.is_nan()) && !best.is_nan() {
                            best = v;
                            at = r * g.width + c;
                        }
                    }
                }
                out[o] = best;
                argmax[o] = at as u32;
            });
        });
    (output, argmax)
}

fn max_backward(grad: &[f32], argmax: &[u32], g: &PoolGeometry) -> Vec<f32> {
    let mut dx = vec![0.0f32; g.batch * g.channels * g.in_plane()];
    dx.par_chunks_mut(g.in_plane()).zip(grad.par_chunks(g.out_plane())).zip(argmax.par_chunks(g.out_plane())).for_each(
        |((dx, grad), argmax)| {
            for (&d, &at) in grad.iter().zip(argmax) {
                dx[at as usize] += d;
            }
        },
    );
    dx
}

/// How many values output `o`'s average divides by.
fn divisor(g: &PoolGeometry, rows: &std::ops::Range<usize>, cols: &std::ops::Range<usize>) -> f32 {
    if g.count_include_pad { (g.kernel[0] * g.kernel[1]) as f32 } else { (rows.len() * cols.len()) as f32 }
}

fn avg_forward(x: &[f32], g: &PoolGeometry) -> Vec<f32> {
    let mut output = vec![0.0f32; g.batch * g.channels * g.out_plane()];
    output.par_chunks_mut(g.out_plane()).zip(x.par_chunks(g.in_plane())).for_each(|(out, plane)| {
        g.for_each_window(|o, rows, cols| {
            let sum: f32 = rows.clone().map(|r| plane[r * g.width..][cols.clone()].iter().sum::<f32>()).sum();
            out[o] = sum / divisor(g, &rows, &cols);
        });
    });
    output
}

fn avg_backward(grad: &[f32], g: &PoolGeometry) -> Vec<f32> {
    let mut dx = vec![0.0f32; g.batch * g.channels * g.in_plane()];
    dx.par_chunks_mut(g.in_plane()).zip(grad.par_chunks(g.out_plane())).for_each(|(dx, grad)| {
        g.for_each_window(|o, rows, cols| {
            let share = grad[o] / divisor(g, &rows, &cols);
            for r in rows {
                dx[r * g.width..][cols.clone()].iter_mut().for_each(|v| *v += share);
            }
        });
    });
    dx
}
