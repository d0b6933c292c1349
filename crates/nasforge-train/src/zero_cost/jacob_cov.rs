//! `jacob_cov` (Mellor et al. 2020, the first version of NASWOT): the Jacobian of the summed outputs with
//! respect to each input image of a minibatch, the correlation matrix of those Jacobians across images and
//! its eigenvalues `λ`; the score is `−Σ (ln(λ + k) + 1 / (λ + k))` with `k = 10⁻⁵`. Networks whose
//! Jacobians are less correlated across images score higher.

use super::ProxyNetwork;
use super::linalg::{row_correlations, symmetric_eigenvalues};
use super::weights::values;
use super::{ProxyBatch, ProxyError};
use burn::tensor::Device;

const K: f64 = 1e-5;

pub(super) fn jacob_cov<M: ProxyNetwork>(model: &M, device: &Device, batch: &ProxyBatch) -> Result<f64, ProxyError> {
    let x = batch.images(device).require_grad();
    let grads = model.forward(x.clone()).sum().backward();
    let jacobian =
        x.grad(&grads).ok_or_else(|| ProxyError::new("jacob_cov: the output does not depend on the input"))?;
    let n = batch.len();
    let d = jacobian.shape().num_elements() / n;
    let correlations = row_correlations(&values(jacobian), n, d);
    if correlations.iter().any(|c| !c.is_finite()) {
        return Err(ProxyError::new("jacob_cov: an image's Jacobian is constant (the output ignores it)"));
    }
    let score = -symmetric_eigenvalues(&correlations, n).iter().map(|v| (v + K).ln() + 1.0 / (v + K)).sum::<f64>();
    ProxyError::finite("jacob_cov", score)
}
