//! Our own CPU kernels for the operations that dominate training on burn's `flex` backend: 2-D convolution
//! ([`conv2d`], depthwise ones included), training-mode batch norm ([`batch_norm`]) and pooling ([`max_pool2d`], [`avg_pool2d`]),
//! forward and backward.
//!
//! Each reaches burn through its backend-extension mechanism: a trait implemented for `Flex` (the forward
//! kernel) and for `Autodiff<Flex>` (the forward plus a hand-written backward step). The public functions
//! use them for f32 tensors on the CPU and fall back to burn's own operation anywhere else (a GPU device,
//! another dtype, a configuration the kernels do not cover). docs/training-speed.md has the profiles that
//! chose these operations and the figures.

mod batch_norm;
mod conv;
mod depthwise;
mod pool;

pub use batch_norm::{batch_norm, batch_norm_with_batch_statistics};
pub use conv::conv2d;
pub use pool::{avg_pool2d, max_pool2d};

use std::borrow::Cow;

use burn::nn::PaddingConfig2d;
use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::FlexTensor;

/// Whether `x` is an f32 tensor on the CPU (`flex`, with or without autodiff): what our kernels compute.
fn on_cpu_in_f32<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && x.device() == Device::flex()
}

/// `[rows, columns]` of padding on each side, when `padding` is the same on both sides of each axis.
fn symmetric_padding(padding: &PaddingConfig2d) -> Option<[usize; 2]> {
    match *padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => Some([top, left]),
        _ => None,
    }
}

/// The tensor's values in row-major order, borrowed when it is already contiguous.
fn f32_values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(tensor.to_contiguous().as_slice::<f32>().expect("a contiguous copy").to_vec()),
    }
}

/// A CPU tensor of `shape` holding `values` (row-major).
fn flex_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The images of a batch split into one contiguous run per rayon thread.
fn images_per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}
