//! ZiCo (Li et al. 2023, "Zero-Shot NAS via Inverse Coefficient of Variation on Gradients"): the gradients of
//! every weight over several minibatches; per layer, `ln Σ_θ mean|∂L/∂θ| / std(∂L/∂θ)` (weights whose
//! gradient does not vary are left out), summed over the layers. The minibatch is split into two halves.

use super::ProxyNetwork;
use super::weights::weight_gradients;
use super::{ProxyBatch, ProxyError};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Device;

pub(super) fn zico<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let halves = batch.halves().ok_or_else(|| ProxyError::new("zico needs a minibatch of at least 2 images"))?;
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut per_batch = Vec::new();
    for half in &halves {
        let loss = loss_fn.forward(model.forward(half.images(device)), half.labels(device));
        ProxyError::finite("the loss", f64::from(loss.clone().into_scalar::<f32>()))?;
        per_batch.push(weight_gradients(model, &loss.backward()));
    }
    let mut score = 0f64;
    for (first, second) in per_batch[0].iter().zip(&per_batch[1]) {
        let (a, b) = (&first.grad, &second.grad);
        let ratio: f64 = a
            .iter()
            .zip(b)
            .filter_map(|(&a, &b)| {
                let std = (a - b).abs() / 2.0;
                (std > 0.0).then(|| (a.abs() + b.abs()) / 2.0 / std)
            })
            .sum();
        if ratio > 0.0 {
            score += ratio.ln();
        }
    }
    ProxyError::finite("zico", score)
}
