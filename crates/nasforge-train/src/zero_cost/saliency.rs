//! The loss-gradient proxies of Abdelfattah et al. 2021, each from one backward pass of the cross-entropy
//! loss over a minibatch at initialisation (batch norm with the batch's statistics):
//! - `snip` (Lee et al. 2019): `Σ |θ · ∂L/∂θ|` over the convolution and linear weights;
//! - `grad_norm`: `Σ_layers ‖∂L/∂W‖₂`;
//! - `fisher` (Turner et al. 2020): per convolution output `a`, `½ · mean_images Σ_channels (Σ_hw a · ∂L/∂a)²`,
//!   summed over the convolutions.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Gradients};

use super::ProxyNetwork;
use super::weights::{LayerGradient, values, weight_gradients};
use super::{ProxyBatch, ProxyError};
use crate::network::Probe;

/// The cross-entropy loss of `batch` through `model`, backpropagated.
fn loss_gradients<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<Gradients, ProxyError> {
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let loss = loss_fn.forward(model.forward(batch.images(device)), batch.labels(device));
    let value = f64::from(loss.clone().into_scalar::<f32>());
    ProxyError::finite("the loss", value)?;
    Ok(loss.backward())
}

fn layer_gradients<M: ProxyNetwork>(
    model: &M,
    device: &Device,
    batch: &ProxyBatch,
) -> Result<Vec<LayerGradient>, ProxyError> {
    let grads = loss_gradients(model, device, batch)?;
    Ok(weight_gradients(model, &grads))
}

pub(super) fn snip<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let layers = layer_gradients(model, device, batch)?;
    let score = layers.iter().flat_map(|l| l.weight.iter().zip(&l.grad)).map(|(w, g)| (w * g).abs()).sum();
    ProxyError::finite("snip", score)
}

pub(super) fn grad_norm<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let layers = layer_gradients(model, device, batch)?;
    let score = layers.iter().map(|l| l.grad.iter().map(|g| g.powi(2)).sum::<f64>().sqrt()).sum();
    ProxyError::finite("grad_norm", score)
}

pub(super) fn fisher<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let (grads, probe) = Probe::record(|| loss_gradients(model, device, batch));
    let grads = grads?;
    if probe.conv_gates.is_empty() {
        return Err(ProxyError::new("fisher: the network has no convolution"));
    }
    let mut score = 0f64;
    for gate in &probe.conv_gates {
        let [n, _, _, _] = gate.dims();
        let Some(grad) = gate.grad(&grads) else { continue };
        // ∂L/∂gate[i, c] = Σ_hw a · ∂L/∂a of image i, channel c.
        let sum_of_squares: f64 = values(grad).iter().map(|g| g.powi(2)).sum();
        score += 0.5 * sum_of_squares / n as f64;
    }
    ProxyError::finite("fisher", score)
}
