//! Our own 2-D convolution for burn's CPU backend (`flex`), forward and backward.
//!
//! burn-flex 0.22 runs a 2-D convolution as a 3-D one: it converts the input NCHW → NHWC and transposes the
//! weights on every call, builds im2col tiles, and computes the input gradient as a transposed convolution
//! (docs/training-speed.md has the profile). Here each image is one im2col + one GEMM straight into NCHW:
//!
//! - forward: `out[n] (C_out × P) = W (C_out × K) · cols(x[n]) (K × P)`, with K = C_in·kh·kw and P the
//!   output pixels; a 1×1 stride-1 unpadded convolution uses the image itself as the column matrix;
//! - weight gradient: `dWᵀ += cols(x[n]) · g[n]ᵀ`, summed over the images of each thread, then over threads;
//! - input gradient: `dcols = Wᵀ · g[n]`, scattered back by col2im (or written straight into `dx[n]` for
//!   1×1 convolutions).
//!
//! Images are split among rayon's threads; every GEMM is single-threaded. [`conv2d`] uses these kernels for
//! ungrouped, undilated, symmetrically padded convolutions, `depthwise.rs`'s kernel for depthwise ones, and
//! leaves dilated and other grouped ones to burn.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use gemm::Parallelism;
use rayon::prelude::*;

use super::depthwise::depthwise_conv2d;
use super::{f32_values, flex_tensor, images_per_task, on_cpu_in_f32, symmetric_padding};

/// The shape of one convolution: input `[batch, c_in, height, width]`, weights `[c_out, c_in, kh, kw]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ConvGeometry {
    batch: usize,
    c_in: usize,
    height: usize,
    width: usize,
    c_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl ConvGeometry {
    fn out_height(&self) -> usize {
        (self.height + 2 * self.padding[0] - self.kernel[0]) / self.stride[0] + 1
    }
    fn out_width(&self) -> usize {
        (self.width + 2 * self.padding[1] - self.kernel[1]) / self.stride[1] + 1
    }
    /// Output pixels per channel (P).
    fn out_pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }
    /// Rows of the column matrix (K): one per input channel and kernel tap.
    fn col_rows(&self) -> usize {
        self.c_in * self.kernel[0] * self.kernel[1]
    }
    fn in_image(&self) -> usize {
        self.c_in * self.height * self.width
    }
    fn out_image(&self) -> usize {
        self.c_out * self.out_pixels()
    }
    /// A 1×1, stride-1, unpadded convolution: the image is its own column matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }
    fn out_shape(&self) -> [usize; 4] {
        [self.batch, self.c_out, self.out_height(), self.out_width()]
    }
}

/// Applies `conv` to `x` with our kernels where they apply (depthwise ones with [`depthwise_conv2d`]), with
/// burn's `Conv2d::forward` elsewhere.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if let Some(output) = depthwise_conv2d(conv, &x) {
        return output;
    }
    let Some(geometry) = own_kernel_geometry(conv, &x) else {
        return conv.forward(x);
    };
    let weight = conv.weight.val();
    let output = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as NchwConvBackend>::conv2d_nchw(
        x.into_dispatch(),
        weight.into_dispatch(),
        geometry,
    ));
    match &conv.bias {
        Some(bias) => output + bias.val().reshape([1, geometry.c_out as i32, 1, 1]),
        None => output,
    }
}

/// The geometry of `conv` applied to `x` when our kernels can compute it: f32 on the CPU, no groups or
/// dilation, symmetric padding.
fn own_kernel_geometry(conv: &Conv2d, x: &Tensor<4>) -> Option<ConvGeometry> {
    if conv.groups != 1 || conv.dilation != [1, 1] || !on_cpu_in_f32(x) {
        return None;
    }
    let padding = symmetric_padding(&conv.padding)?;
    let [batch, c_in, height, width] = x.dims();
    let [c_out, weight_c_in, kh, kw] = conv.weight.dims();
    if weight_c_in != c_in || height + 2 * padding[0] < kh || width + 2 * padding[1] < kw {
        return None;
    }
    Some(ConvGeometry { batch, c_in, height, width, c_out, kernel: [kh, kw], stride: conv.stride, padding })
}

#[backend_extension(Flex, Autodiff)]
trait NchwConvBackend: Backend {
    /// Convolution of NCHW `x` with `[c_out, c_in, kh, kw]` weights, no bias.
    fn conv2d_nchw(x: FloatTensor<Self>, weight: FloatTensor<Self>, geometry: ConvGeometry) -> FloatTensor<Self>;
}

impl NchwConvBackend for Flex {
    fn conv2d_nchw(x: FlexTensor, weight: FlexTensor, geometry: ConvGeometry) -> FlexTensor {
        let output = forward(&f32_values(&x), &f32_values(&weight), &geometry);
        flex_tensor(output, geometry.out_shape())
    }
}

impl<C: CheckpointStrategy> NchwConvBackend for Autodiff<Flex, C> {
    fn conv2d_nchw(x: FloatTensor<Self>, weight: FloatTensor<Self>, geometry: ConvGeometry) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct NchwConvBackward;

        impl Backward<Flex, 2> for NchwConvBackward {
            type State = (FlexTensor, FlexTensor, ConvGeometry);

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [x_node, weight_node] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, weight, geometry) = ops.state;
                let gradients =
                    backward(&f32_values(&x), &f32_values(&weight), &f32_values(&grad), &geometry, x_node.is_some());
                if let (Some(node), Some(dx)) = (x_node, gradients.input) {
                    let shape = [geometry.batch, geometry.c_in, geometry.height, geometry.width];
                    grads.register::<Flex>(node.id, flex_tensor(dx, shape));
                }
                if let Some(node) = weight_node {
                    let shape = [geometry.c_out, geometry.c_in, geometry.kernel[0], geometry.kernel[1]];
                    let dw = flex_tensor(gradients.weight, shape);
                    grads.register::<Flex>(node.id, dw);
                }
            }
        }

        match NchwConvBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let weight = weight.into_primitive();
                let output = Flex::conv2d_nchw(x.clone(), weight.clone(), geometry);
                prep.finish((x, weight, geometry), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::conv2d_nchw(x.into_primitive(), weight.into_primitive(), geometry))
            }
        }
    }
}

/// The forward pass: `[batch, c_out, out_h, out_w]` values.
fn forward(x: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (k, p) = (g.col_rows(), g.out_pixels());
    let mut output = vec![0.0f32; g.batch * g.out_image()];
    let chunk = images_per_task(g.batch);
    output.par_chunks_mut(chunk * g.out_image()).zip(x.par_chunks(chunk * g.in_image())).for_each(|(out, x)| {
        let mut cols = if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] };
        for (out_n, x_n) in out.chunks_mut(g.out_image()).zip(x.chunks(g.in_image())) {
            let cols = if g.is_pointwise() {
                x_n
            } else {
                im2col(x_n, g, &mut cols);
                &cols
            };
            // out_n (c_out × p) = weight (c_out × k) · cols (k × p)
            matmul(out_n, false, g.c_out, p, k, Operand::row_major(weight, k), Operand::row_major(cols, p));
        }
    });
    output
}

/// Gradients of a convolution.
struct ConvGradients {
    /// `[batch, c_in, height, width]`, when asked for.
    input: Option<Vec<f32>>,
    /// `[c_out, c_in, kh, kw]`.
    weight: Vec<f32>,
}

/// The backward pass from the output gradient `grad` (`[batch, c_out, out_h, out_w]`).
fn backward(x: &[f32], weight: &[f32], grad: &[f32], g: &ConvGeometry, input_grad: bool) -> ConvGradients {
    let (k, p) = (g.col_rows(), g.out_pixels());
    let chunk = images_per_task(g.batch);
    let mut dx = if input_grad { vec![0.0f32; g.batch * g.in_image()] } else { Vec::new() };
    let mut dx_chunks: Vec<Option<&mut [f32]>> = if input_grad {
        dx.chunks_mut(chunk * g.in_image()).map(Some).collect()
    } else {
        (0..g.batch.div_ceil(chunk)).map(|_| None).collect()
    };
    let transposed_weight_grads: Vec<Vec<f32>> = dx_chunks
        .par_iter_mut()
        .zip(x.par_chunks(chunk * g.in_image()))
        .zip(grad.par_chunks(chunk * g.out_image()))
        .map(|((dx, x), grad)| {
            let mut dw_t = vec![0.0f32; k * g.c_out];
            let mut cols = if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] };
            let mut dcols = if g.is_pointwise() || dx.is_none() { Vec::new() } else { vec![0.0f32; k * p] };
            for (n, (x_n, g_n)) in x.chunks(g.in_image()).zip(grad.chunks(g.out_image())).enumerate() {
                let cols_n = if g.is_pointwise() {
                    x_n
                } else {
                    im2col(x_n, g, &mut cols);
                    &cols
                };
                // dwᵀ (k × c_out) += cols_n (k × p) · g_nᵀ (p × c_out). Accumulating the transpose keeps the
                // column matrix's rows contiguous for the GEMM's packing: 2-8× faster than `g_n · cols_nᵀ`.
                matmul(&mut dw_t, true, k, g.c_out, p, Operand::row_major(cols_n, p), Operand::transposed(g_n, p));
                if let Some(dx) = dx.as_deref_mut() {
                    let dx_n = &mut dx[n * g.in_image()..(n + 1) * g.in_image()];
                    // dcols (k × p) = weightᵀ (k × c_out) · g_n (c_out × p)
                    let target = if g.is_pointwise() { dx_n as &mut [f32] } else { &mut dcols[..] };
                    matmul(target, false, k, p, g.c_out, Operand::transposed(weight, k), Operand::row_major(g_n, p));
                    if !g.is_pointwise() {
                        col2im_add(&dcols, g, dx_n);
                    }
                }
            }
            dw_t
        })
        .collect();
    let mut weight_grad = vec![0.0f32; g.c_out * k];
    for dw_t in transposed_weight_grads {
        for (row, values) in dw_t.chunks(g.c_out).enumerate() {
            for (c_out, value) in values.iter().enumerate() {
                weight_grad[c_out * k + row] += value;
            }
        }
    }
    ConvGradients { input: input_grad.then_some(dx), weight: weight_grad }
}

/// A matrix operand: its values with row and column strides.
#[derive(Clone, Copy)]
struct Operand<'a> {
    values: &'a [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Operand<'a> {
    /// A row-major matrix with `cols` columns.
    fn row_major(values: &'a [f32], cols: usize) -> Self {
        Operand { values, row_stride: cols as isize, col_stride: 1 }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    fn transposed(values: &'a [f32], cols: usize) -> Self {
        Operand { values, row_stride: 1, col_stride: cols as isize }
    }
}

/// `dst (m × n, row-major) = [dst +] lhs (m × k) · rhs (k × n)`, single-threaded.
fn matmul(dst: &mut [f32], accumulate: bool, m: usize, n: usize, k: usize, lhs: Operand, rhs: Operand) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    let last = |o: &Operand, rows: usize, cols: usize| {
        (rows.max(1) - 1) as isize * o.row_stride + (cols.max(1) - 1) as isize * o.col_stride
    };
    assert!(last(&lhs, m, k) < lhs.values.len() as isize, "matmul: left operand too small");
    assert!(last(&rhs, k, n) < rhs.values.len() as isize, "matmul: right operand too small");
    // SAFETY: the asserts above keep every index the GEMM touches inside the three slices, and `dst` is
    // borrowed mutably, so it does not alias the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.values.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// For output column `o` along one axis and kernel tap `tap`: the input index, if inside the image.
fn input_index(o: usize, tap: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    (o * stride + tap).checked_sub(pad).filter(|&i| i < size)
}

/// The range of output columns whose input column (`o + tap - pad`, stride 1) lies inside `0..size`.
fn valid_range(tap: usize, pad: usize, size: usize, out: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(tap).min(out);
    let hi = (size + pad).saturating_sub(tap).min(out).max(lo);
    (lo, hi)
}

/// Fills the column matrix (`K × P`) of one image (`c_in × height × width`).
fn im2col(x: &[f32], g: &ConvGeometry, cols: &mut [f32]) {
    let (oh, ow, p) = (g.out_height(), g.out_width(), g.out_pixels());
    let [kh, kw] = g.kernel;
    let same_width = g.stride == [1, 1] && ow == g.width;
    for (row_index, row) in cols.chunks_mut(p).enumerate() {
        let (c, ki, kj) = (row_index / (kh * kw), row_index / kw % kh, row_index % kw);
        let plane = &x[c * g.height * g.width..(c + 1) * g.height * g.width];
        if same_width {
            shifted_plane(plane, g, ki, kj, row);
            continue;
        }
        for (o_row, dst) in row.chunks_mut(ow).enumerate().take(oh) {
            let Some(ih) = input_index(o_row, ki, g.stride[0], g.padding[0], g.height) else {
                dst.fill(0.0);
                continue;
            };
            let src = &plane[ih * g.width..(ih + 1) * g.width];
            if g.stride[1] == 1 {
                let (lo, hi) = valid_range(kj, g.padding[1], g.width, ow);
                dst[..lo].fill(0.0);
                dst[hi..].fill(0.0);
                if lo < hi {
                    dst[lo..hi].copy_from_slice(&src[lo + kj - g.padding[1]..hi + kj - g.padding[1]]);
                }
            } else {
                for (o_col, value) in dst.iter_mut().enumerate() {
                    *value = input_index(o_col, kj, g.stride[1], g.padding[1], g.width).map_or(0.0, |iw| src[iw]);
                }
            }
        }
    }
}

/// One column-matrix row of a stride-1 convolution whose output is as wide as its input: the plane shifted by
/// the kernel tap, copied as one block, then the rows and columns that fall into the padding zeroed.
fn shifted_plane(plane: &[f32], g: &ConvGeometry, ki: usize, kj: usize, dst: &mut [f32]) {
    let (w, len) = (g.width, dst.len());
    let (row_lo, row_hi) = valid_range(ki, g.padding[0], g.height, g.out_height());
    // dst[i] = plane[i + offset] inside the valid rows, where the columns do not wrap around.
    let offset = (ki as isize - g.padding[0] as isize) * w as isize + (kj as isize - g.padding[1] as isize);
    // A tap that reaches past the whole plane (a kernel wider than a tiny plane) reads nothing: all padding.
    let start = (row_lo * w).max((-offset).max(0) as usize).min(len);
    let end = (row_hi * w).min((plane.len() as isize - offset).max(0) as usize).max(start);
    dst[..start].fill(0.0);
    dst[end..len].fill(0.0);
    if end > start {
        let source = (start as isize + offset) as usize;
        dst[start..end].copy_from_slice(&plane[source..source + (end - start)]);
    }
    let (col_lo, col_hi) = valid_range(kj, g.padding[1], w, w);
    for r in row_lo..row_hi {
        dst[r * w..r * w + col_lo].fill(0.0);
        dst[r * w + col_hi..(r + 1) * w].fill(0.0);
    }
}

/// Adds the column-matrix gradient (`K × P`) back onto one image's gradient (`c_in × height × width`).
fn col2im_add(cols: &[f32], g: &ConvGeometry, dx: &mut [f32]) {
    let (oh, ow, p) = (g.out_height(), g.out_width(), g.out_pixels());
    let [kh, kw] = g.kernel;
    for (row_index, row) in cols.chunks(p).enumerate() {
        let (c, ki, kj) = (row_index / (kh * kw), row_index / kw % kh, row_index % kw);
        let plane = &mut dx[c * g.height * g.width..(c + 1) * g.height * g.width];
        for (o_row, src) in row.chunks(ow).enumerate().take(oh) {
            let Some(ih) = input_index(o_row, ki, g.stride[0], g.padding[0], g.height) else {
                continue;
            };
            let dst = &mut plane[ih * g.width..(ih + 1) * g.width];
            if g.stride[1] == 1 {
                let (lo, hi) = valid_range(kj, g.padding[1], g.width, ow);
                // Empty when the tap only ever reads padding (a kernel wider than a tiny plane).
                if lo < hi {
                    let shifted = &mut dst[lo + kj - g.padding[1]..hi + kj - g.padding[1]];
                    shifted.iter_mut().zip(&src[lo..hi]).for_each(|(d, s)| *d += s);
                }
            } else {
                for (o_col, value) in src.iter().enumerate() {
                    if let Some(iw) = input_index(o_col, kj, g.stride[1], g.padding[1], g.width) {
                        dst[iw] += value;
                    }
                }
            }
        }
    }
}
