//! Training-mode batch norm over NCHW tensors, forward and backward, in two passes each.
//!
//! burn 0.22's generic `batch_norm_train` (flex has no kernel of its own) swaps the batch and channel axes
//! and copies the tensor to take per-channel means, and its backward does so three more times among a dozen
//! element-wise passes. Here the forward reads each channel once for its mean and once for its variance
//! (channels in parallel) and writes the output in one pass (images in parallel); the backward takes both
//! per-channel sums in one read and writes the input gradient in one more.
//!
//! With `M` values per channel, `x̂ = (x − mean) / √(var + ε)`, `y = γ·x̂ + β`:
//! `dβ = Σ dy`, `dγ = Σ dy·x̂`, `dx = γ/√(var + ε) · (dy − dβ/M − x̂·dγ/M)`.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::{f32_values, flex_tensor, on_cpu_in_f32};

/// Applies `norm` to `x`: in training (an autodiff device and a trainable layer) with our kernels on the CPU,
/// updating the running statistics exactly as burn's `BatchNorm` does; otherwise with `BatchNorm::forward`.
pub fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    if !(x.device().is_autodiff() && norm.training.is_enabled() && on_cpu_in_f32(&x)) {
        return norm.forward(x);
    }
    let device = x.device();
    let (output, mean, variance) = batch_norm_with_batch_statistics(norm, x);
    let momentum = norm.momentum;
    let update = |running: Tensor<1>, batch: Tensor<1>| {
        running.to_device(&device).mul_scalar(1.0 - momentum).add(batch.detach().mul_scalar(momentum)).detach()
    };
    norm.running_mean.update(update(norm.running_mean.value_sync(), mean));
    norm.running_var.update(update(norm.running_var.value_sync(), variance));
    output
}

/// `x` normalised by its batch's per-channel statistics with `norm`'s γ and β, returned with those statistics
/// (mean, biased variance); the running statistics are left alone. Our kernels on the CPU, burn's
/// `batch_norm_train` elsewhere.
pub fn batch_norm_with_batch_statistics(norm: &BatchNorm, x: Tensor<4>) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    if !on_cpu_in_f32(&x) {
        let result = burn::tensor::module::batch_norm_train(x, norm.gamma.val(), norm.beta.val(), norm.epsilon);
        return (result.output, result.mean, result.variance);
    }
    let (output, mean, variance) = <burn::backend::Dispatch as BatchNormBackend>::batch_norm_train_nchw(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
    );
    (Tensor::from_dispatch(output), Tensor::from_dispatch(mean), Tensor::from_dispatch(variance))
}

#[backend_extension(Flex, Autodiff)]
trait BatchNormBackend: Backend {
    /// Batch norm of NCHW `x` with the batch's statistics: `(output, mean, biased variance)`.
    fn batch_norm_train_nchw(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl BatchNormBackend for Flex {
    fn batch_norm_train_nchw(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.layout().shape().clone();
        let layout = Layout::of(&shape.dims::<4>());
        let statistics = statistics(&f32_values(&x), &layout);
        let output = normalize(&f32_values(&x), &f32_values(&gamma), &f32_values(&beta), &statistics, epsilon, &layout);
        let channels = layout.channels;
        let (mean, variance): (Vec<f32>, Vec<f32>) = statistics.into_iter().unzip();
        (flex_tensor(output, shape.dims::<4>()), flex_tensor(mean, [channels]), flex_tensor(variance, [channels]))
    }
}

impl<C: CheckpointStrategy> BatchNormBackend for Autodiff<Flex, C> {
    fn batch_norm_train_nchw(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormTrainBackward;

        impl Backward<Flex, 3> for BatchNormTrainBackward {
            /// The input, γ, the batch's mean and variance, ε.
            type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, f64);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [x_node, gamma_node, beta_node] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, gamma, mean, variance, epsilon) = ops.state;
                let shape = x.layout().shape().dims::<4>();
                let layout = Layout::of(&shape);
                let statistics: Vec<(f32, f32)> =
                    f32_values(&mean).iter().copied().zip(f32_values(&variance).iter().copied()).collect();
                let gradients = backward(
                    &f32_values(&x),
                    &f32_values(&gamma),
                    &f32_values(&grad),
                    &statistics,
                    epsilon,
                    &layout,
                    x_node.is_some(),
                );
                if let (Some(node), Some(dx)) = (x_node, gradients.input) {
                    grads.register::<Flex>(node.id, flex_tensor(dx, shape));
                }
                if let Some(node) = gamma_node {
                    grads.register::<Flex>(node.id, flex_tensor(gradients.gamma, [layout.channels]));
                }
                if let Some(node) = beta_node {
                    grads.register::<Flex>(node.id, flex_tensor(gradients.beta, [layout.channels]));
                }
            }
        }

        let prepared =
            BatchNormTrainBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (x, gamma, beta) = (x.into_primitive(), gamma.into_primitive(), beta.into_primitive());
        let (output, mean, variance) = Flex::batch_norm_train_nchw(x.clone(), gamma.clone(), beta, epsilon);
        let output = match prepared {
            OpsKind::Tracked(prep) => prep.finish((x, gamma, mean.clone(), variance.clone(), epsilon), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        (output, FloatTensor::<Self>::new(mean), FloatTensor::<Self>::new(variance))
    }
}

/// An NCHW tensor seen as `images` × `channels` planes of `plane` values.
#[derive(Clone, Copy, Debug)]
struct Layout {
    images: usize,
    channels: usize,
    plane: usize,
}

impl Layout {
    fn of(&[images, channels, height, width]: &[usize; 4]) -> Self {
        Layout { images, channels, plane: height * width }
    }
    /// Values per channel.
    fn count(&self) -> f32 {
        (self.images * self.plane) as f32
    }
    /// The planes of channel `c`, one per image.
    fn planes<'a>(&self, values: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        let (channels, plane) = (self.channels, self.plane);
        (0..self.images).map(move |n| &values[(n * channels + c) * plane..][..plane])
    }
}

/// Per channel: (mean, biased variance), the variance from the centred values.
fn statistics(x: &[f32], layout: &Layout) -> Vec<(f32, f32)> {
    (0..layout.channels)
        .into_par_iter()
        .map(|c| {
            let sum: f64 = layout.planes(x, c).map(|plane| lane_sum(plane, plane, |v, _| v) as f64).sum();
            let mean = (sum / layout.count() as f64) as f32;
            let squares: f64 =
                layout.planes(x, c).map(|plane| lane_sum(plane, plane, |v, _| (v - mean) * (v - mean)) as f64).sum();
            (mean, (squares / layout.count() as f64) as f32)
        })
        .collect()
}

/// `Σ f(a[i], b[i])` in eight independent lanes, so that the compiler can vectorise it (a plain
/// floating-point sum must keep its order and cannot be).
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(&x, &y)| f(x, y)).sum();
    let mut lanes = [0.0f32; 8];
    for (a, b) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += f(a[lane], b[lane]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `y = γ·(x − mean)/√(var + ε) + β`, image by image.
fn normalize(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    statistics: &[(f32, f32)],
    epsilon: f64,
    layout: &Layout,
) -> Vec<f32> {
    // Per channel, y = scale·x + shift.
    let affine: Vec<(f32, f32)> = statistics
        .iter()
        .zip(gamma.iter().zip(beta))
        .map(|(&(mean, variance), (&g, &b))| {
            let scale = g / (variance as f64 + epsilon).sqrt() as f32;
            (scale, b - mean * scale)
        })
        .collect();
    let mut output = vec![0.0f32; x.len()];
    let image = layout.channels * layout.plane;
    output.par_chunks_mut(image).zip(x.par_chunks(image)).for_each(|(out, x)| {
        for ((out, x), &(scale, shift)) in out.chunks_mut(layout.plane).zip(x.chunks(layout.plane)).zip(&affine) {
            out.iter_mut().zip(x).for_each(|(o, &v)| *o = v * scale + shift);
        }
    });
    output
}

struct BatchNormGradients {
    input: Option<Vec<f32>>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

fn backward(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    statistics: &[(f32, f32)],
    epsilon: f64,
    layout: &Layout,
    input_grad: bool,
) -> BatchNormGradients {
    let inv_std: Vec<f32> = statistics.iter().map(|&(_, var)| 1.0 / (var as f64 + epsilon).sqrt() as f32).collect();
    // Per channel: (Σ dy, Σ dy·x̂).
    let sums: Vec<(f32, f32)> = (0..layout.channels)
        .into_par_iter()
        .map(|c| {
            let (mean, inv_std) = (statistics[c].0, inv_std[c]);
            let (mut dbeta, mut dgamma) = (0.0f64, 0.0f64);
            for (x, g) in layout.planes(x, c).zip(layout.planes(grad, c)) {
                dbeta += lane_sum(g, g, |d, _| d) as f64;
                dgamma += lane_sum(x, g, |v, d| d * (v - mean) * inv_std) as f64;
            }
            (dbeta as f32, dgamma as f32)
        })
        .collect();
    let input = input_grad.then(|| {
        let count = layout.count();
        let mut dx = vec![0.0f32; x.len()];
        let image = layout.channels * layout.plane;
        dx.par_chunks_mut(image).zip(x.par_chunks(image)).zip(grad.par_chunks(image)).for_each(|((dx, x), g)| {
            for (c, ((dx, x), g)) in
                dx.chunks_mut(layout.plane).zip(x.chunks(layout.plane)).zip(g.chunks(layout.plane)).enumerate()
            {
                let (mean, inv_std) = (statistics[c].0, inv_std[c]);
                let (dbeta, dgamma) = (sums[c].0 / count, sums[c].1 / count);
                let scale = gamma[c] * inv_std;
                for ((out, &v), &d) in dx.iter_mut().zip(x).zip(g) {
                    *out = scale * (d - dbeta - (v - mean) * inv_std * dgamma);
                }
            }
        });
        dx
    });
    let (beta, gamma) = sums.into_iter().unzip();
    BatchNormGradients { input, gamma, beta }
}
