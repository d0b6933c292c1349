//! SynFlow (Tanaka et al. 2020; as a zero-cost proxy, Abdelfattah et al. 2021): data-free. Every parameter
//! is replaced by its absolute value, batch norm uses its (initial) running statistics, an all-ones image
//! goes through, and the score is `Σ θ · ∂R/∂θ` over the convolution and linear weights, `R` the sum of the
//! outputs.
//!
//! The reference code computes in f64 because `R` grows with depth as a product of weights. We compute in
//! f32 and use the network's homogeneity instead: with non-negative weights and input, every activation is
//! linear in the input's scale `s`, so every gradient of a weight is too; when `R` overflows at `s = 1`
//! the input is scaled down and the score divided by `s`.

use burn::tensor::{Device, Tensor};

use super::ProxyError;
use super::ProxyNetwork;
use super::weights::{linearise, weight_gradients};

pub(super) fn synflow<M: ProxyNetwork>(model: M, device: &Device, input_shape: [usize; 4]) -> Result<f64, ProxyError> {
    let model = linearise(model);
    let [_, c, h, w] = input_shape;
    let mut scale = 1.0f64;
    for _ in 0..4 {
        let x = Tensor::<4>::ones([1, c, h, w], device).mul_scalar(scale);
        let output = model.forward(x).sum();
        let value = f64::from(output.clone().into_scalar::<f32>());
        if value.is_finite() {
            let grads = output.backward();
            let score: f64 = weight_gradients(&model, &grads)
                .iter()
                .flat_map(|layer| layer.weight.iter().zip(&layer.grad))
                .map(|(w, g)| f64::from(*w) * f64::from(*g))
                .sum();
            return ProxyError::finite("synflow", score / scale);
        }
        scale *= 1e-12;
    }
    Err(ProxyError::new("synflow overflows: the network's output is infinite even for a tiny input"))
}
