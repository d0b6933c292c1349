//! SynFlow (Tanaka et al. 2020; as a zero-cost proxy, Abdelfattah et al. 2021): data-free. Every parameter
//! is replaced by its absolute value, batch norm uses its (initial) running statistics, an all-ones image
//! goes through, and the score is `Σ θ · ∂R/∂θ` over the convolution and linear weights, `R` the sum of the
//! outputs.
//!
//! `R` grows with depth as a product of weights, and so do the gradients of the first layers: the reference
//! code computes in f64. We compute in f32 (on our fast kernels) and, when anything overflows there, again
//! in f64 (on burn's own operations): about one NAS-Bench-201 network in a hundred needs it.

use burn::tensor::{Device, FloatDType, Tensor};

use super::weights::{linearise, weight_gradients};
use super::{ProxyError, ProxyNetwork};

pub(super) fn synflow<M: ProxyNetwork>(model: M, device: &Device, input_shape: [usize; 4]) -> Result<f64, ProxyError> {
    match synflow_in(model.clone(), device, input_shape, FloatDType::F32) {
        Some(score) => Ok(score),
        None => synflow_in(model, device, input_shape, FloatDType::F64)
            .ok_or_else(|| ProxyError::new("synflow overflows even in f64 on this network")),
    }
}

/// The score computed in `dtype`, or `None` when it is not finite there.
fn synflow_in<M: ProxyNetwork>(model: M, device: &Device, [_, c, h, w]: [usize; 4], dtype: FloatDType) -> Option<f64> {
    let model = linearise(model, dtype);
    let x = Tensor::<4>::ones([1, c, h, w], device).cast(dtype);
    let output = model.forward(x).sum();
    let grads = output.backward();
    let score: f64 = weight_gradients(&model, &grads)
        .iter()
        .flat_map(|layer| layer.weight.iter().zip(&layer.grad))
        .map(|(w, g)| w * g)
        .sum();
    score.is_finite().then_some(score)
}
