//! NASWOT (Mellor et al. 2021, "Neural Architecture Search without Training"): the binary code of each
//! image is which ReLU inputs are positive; the kernel `K[i][j]` counts the units where images `i` and `j`
//! agree (`N_A` minus their Hamming distance); the score is `ln |det K|`. Networks whose codes separate the
//! images of a minibatch score high.

use burn::tensor::{Device, Tensor};

use super::ProxyNetwork;
use super::linalg::log_abs_determinant;
use super::weights::values;
use super::{ProxyBatch, ProxyError};
use crate::network::Probe;

pub(super) fn naswot<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let x = batch.images(device);
    let (_, probe) = Probe::record(|| model.forward(x));
    if probe.relu_inputs.is_empty() {
        return Err(ProxyError::new("naswot: the network has no ReLU"));
    }
    let n = batch.len();
    let kernel = relu_code_kernel(&probe.relu_inputs, n);
    ProxyError::finite("naswot", log_abs_determinant(&kernel, n))
        .map_err(|_| ProxyError::new("naswot: two images have the same activation code (singular kernel)"))
}

/// `K = Σ_layers c cᵀ + (1 − c)(1 − c)ᵀ` with `c` the 0/1 codes, row-major `n × n`.
pub fn relu_code_kernel(relu_inputs: &[Tensor<2>], n: usize) -> Vec<f64> {
    let mut kernel = vec![0f64; n * n];
    for input in relu_inputs {
        let codes = input.clone().greater_elem(0.0).float();
        let flipped = codes.clone().neg().add_scalar(1.0);
        let agree = codes.clone().matmul(codes.transpose()) + flipped.clone().matmul(flipped.transpose());
        for (k, v) in kernel.iter_mut().zip(values(agree)) {
            *k += v;
        }
    }
    kernel
}
