//! Batch-norm recalibration, as SPOS scores a sub-network of a supernet (Guo et al. 2020): the running
//! statistics a supernet keeps mix every path that trained it, so a candidate's batch-norm statistics are
//! re-estimated on a few training batches through its own path, then used to score it.
//!
//! Every network routes its batch norms through [`batch_norm`]. Outside [`BatchNormStatistics::record`] and
//! [`BatchNormStatistics::apply`] it is the layer's own (the kernels' training path, or burn's inference
//! path with the running statistics) at the cost of one thread-local read. Inside `record`, each layer
//! normalises with its batch's statistics and adds them to the layer's sums; inside `apply`, each layer
//! normalises with the averages recorded. Layers are told apart by the order the forward pass reaches
//! them, so `record` and `apply` must run the same path. Nothing in the module is changed: many threads can
//! score paths through one supernet at once.

use std::cell::RefCell;

use burn::nn::BatchNorm;
use burn::tensor::{Tensor, TensorData};

use crate::kernels;

/// Per-channel statistics of each batch norm a forward pass reaches, in order, summed over the batches
/// recorded.
#[derive(Debug, Clone, Default)]
pub struct BatchNormStatistics {
    layers: Vec<LayerSums>,
    batches: usize,
}

#[derive(Debug, Clone)]
struct LayerSums {
    mean: Vec<f64>,
    /// Unbiased variances, as a running estimate keeps them.
    variance: Vec<f64>,
}

enum Mode {
    Record { layers: Vec<LayerSums>, next: usize },
    Apply { means: Vec<Vec<f32>>, variances: Vec<Vec<f32>>, next: usize, mismatch: bool },
}

thread_local! {
    static MODE: RefCell<Option<Mode>> = const { RefCell::new(None) };
}

impl BatchNormStatistics {
    /// Runs `forward` (one batch through one path) with every batch norm normalising by its batch's
    /// statistics, and adds those statistics to the sums.
    pub fn record<T>(&mut self, forward: impl FnOnce() -> T) -> T {
        let layers = std::mem::take(&mut self.layers);
        MODE.with(|mode| *mode.borrow_mut() = Some(Mode::Record { layers, next: 0 }));
        let output = forward();
        if let Some(Mode::Record { layers, .. }) = MODE.with(|mode| mode.borrow_mut().take()) {
            self.layers = layers;
        }
        self.batches += 1;
        output
    }

    /// Runs `forward` with every batch norm normalising by the mean statistics recorded. An error when the
    /// pass reaches more layers than were recorded, or one of another width: a different path.
    pub fn apply<T>(&self, forward: impl FnOnce() -> T) -> Result<T, String> {
        let batches = self.batches.max(1) as f64;
        let average = |sums: &[f64]| sums.iter().map(|s| (s / batches) as f32).collect::<Vec<f32>>();
        let means = self.layers.iter().map(|l| average(&l.mean)).collect();
        let variances = self.layers.iter().map(|l| average(&l.variance)).collect();
        MODE.with(|mode| *mode.borrow_mut() = Some(Mode::Apply { means, variances, next: 0, mismatch: false }));
        let output = forward();
        match MODE.with(|mode| mode.borrow_mut().take()) {
            Some(Mode::Apply { mismatch: false, next, .. }) if next == self.layers.len() => Ok(output),
            _ => Err(format!(
                "the batch-norm statistics recorded ({} layers) are not those of the path scored",
                self.layers.len()
            )),
        }
    }

    /// Batch norms recorded.
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Batches recorded.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// The mean over the batches of layer `layer`'s per-channel means.
    pub fn mean(&self, layer: usize) -> Vec<f64> {
        self.layers[layer].mean.iter().map(|s| s / self.batches.max(1) as f64).collect()
    }

    /// The mean over the batches of layer `layer`'s per-channel unbiased variances.
    pub fn variance(&self, layer: usize) -> Vec<f64> {
        self.layers[layer].variance.iter().map(|s| s / self.batches.max(1) as f64).collect()
    }
}

/// `norm` applied to `x`: the layer's own behaviour, or the recording or recalibrated one (see the module's
/// documentation).
pub(crate) fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    MODE.with(|mode| {
        let mut mode = mode.borrow_mut();
        match mode.as_mut() {
            None => kernels::batch_norm(norm, x),
            Some(Mode::Record { layers, next }) => {
                let [n, _, h, w] = x.dims();
                let (output, mean, variance) = kernels::batch_norm_with_batch_statistics(norm, x.detach());
                let (mean, variance) = (values(mean), values(variance));
                let unbiased = (n * h * w) as f64 / ((n * h * w).max(2) - 1) as f64;
                match layers.get_mut(*next) {
                    Some(sums) if sums.mean.len() == mean.len() => {
                        for (c, (m, v)) in mean.iter().zip(&variance).enumerate() {
                            sums.mean[c] += f64::from(*m);
                            sums.variance[c] += f64::from(*v) * unbiased;
                        }
                    }
                    _ => {
                        layers.truncate(*next);
                        layers.push(LayerSums {
                            mean: mean.iter().map(|m| f64::from(*m)).collect(),
                            variance: variance.iter().map(|v| f64::from(*v) * unbiased).collect(),
                        });
                    }
                }
                *next += 1;
                output
            }
            Some(Mode::Apply { means, variances, next, mismatch }) => {
                let channels = x.dims()[1];
                let layer = *next;
                *next += 1;
                match (means.get(layer), variances.get(layer)) {
                    (Some(mean), Some(variance)) if mean.len() == channels => normalize(norm, x, mean, variance),
                    _ => {
                        *mismatch = true;
                        kernels::batch_norm_with_batch_statistics(norm, x.detach()).0
                    }
                }
            }
        }
    })
}

fn values(tensor: Tensor<1>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 statistics")
}

/// `x` normalised per channel by `mean` and `variance`, then scaled and shifted by the layer's γ and β: one
/// multiply and one add, `x · s + t` with `s = γ / √(variance + ε)` and `t = β − mean · s`.
fn normalize(norm: &BatchNorm, x: Tensor<4>, mean: &[f32], variance: &[f32]) -> Tensor<4> {
    let device = x.device();
    let (gamma, beta) = (values(norm.gamma.val()), values(norm.beta.val()));
    let scale: Vec<f32> = gamma.iter().zip(variance).map(|(g, v)| g / (v + norm.epsilon as f32).sqrt()).collect();
    let shift: Vec<f32> = beta.iter().zip(mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
    let channels = scale.len();
    let per_channel = |values: Vec<f32>| Tensor::<4>::from_data(TensorData::new(values, [1, channels, 1, 1]), &device);
    x * per_channel(scale) + per_channel(shift)
}

#[cfg(test)]
mod tests {
    use burn::nn::BatchNormConfig;
    use burn::tensor::Device;

    use super::*;

    fn cpu() -> Device {
        Device::default()
    }

    #[test]
    fn recording_averages_the_batches_statistics_and_applying_uses_them() {
        let device = cpu();
        let norm = BatchNormConfig::new(2).init(&device);
        // Two images of two channels of 2x1 pixels: channel 0 holds 1, 3, 5, 7; channel 1 holds 2, 2, 2, 2.
        let batch = |values: Vec<f32>| Tensor::<4>::from_data(TensorData::new(values, [2, 2, 2, 1]), &device);
        let mut statistics = BatchNormStatistics::default();
        statistics.record(|| batch_norm(&norm, batch(vec![1.0, 3.0, 2.0, 2.0, 5.0, 7.0, 2.0, 2.0])));
        statistics.record(|| batch_norm(&norm, batch(vec![11.0, 13.0, 4.0, 4.0, 15.0, 17.0, 4.0, 4.0])));
        assert_eq!((statistics.layers(), statistics.batches()), (1, 2));
        // Means 4 and 14 (channel 0), 2 and 4 (channel 1); unbiased variances 20/3 and 20/3, 0 and 0.
        assert_eq!(statistics.mean(0), vec![9.0, 3.0]);
        let variance = statistics.variance(0);
        assert!((variance[0] - 20.0 / 3.0).abs() < 1e-9 && variance[1] == 0.0, "{variance:?}");

        // γ = 1, β = 0: the output is (x − 9) / √(20/3 + ε) on channel 0.
        let out = statistics.apply(|| batch_norm(&norm, batch(vec![9.0, 9.0, 3.0, 3.0, 9.0, 9.0, 3.0, 3.0])));
        let values: Vec<f32> = out.expect("the same layers").into_data().try_into_vec::<f32>().expect("f32");
        assert!(values.iter().all(|v| v.abs() < 1e-5), "{values:?}");
        let out = statistics.apply(|| batch_norm(&norm, batch(vec![9.0 + 20f32.sqrt() / 3f32.sqrt(); 8])));
        let values: Vec<f32> = out.expect("the same layers").into_data().try_into_vec::<f32>().expect("f32");
        assert!((values[0] - 1.0).abs() < 1e-3, "{values:?}");
    }

    #[test]
    fn applying_to_another_path_is_an_error() {
        let device = cpu();
        let norm = BatchNormConfig::new(2).init(&device);
        let x = Tensor::<4>::ones([2, 2, 2, 2], &device);
        let mut statistics = BatchNormStatistics::default();
        statistics.record(|| batch_norm(&norm, x.clone()));
        let two_layers = statistics.apply(|| batch_norm(&norm, batch_norm(&norm, x.clone())));
        assert!(two_layers.unwrap_err().contains("not those of the path"));
        let wider = BatchNormConfig::new(3).init(&device);
        assert!(statistics.apply(|| batch_norm(&wider, Tensor::<4>::ones([2, 3, 2, 2], &device))).is_err());
        assert!(statistics.apply(|| batch_norm(&norm, x.clone())).is_ok());
    }
}
