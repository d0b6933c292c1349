//! Zero-cost proxies: scores of a network at initialisation, without training, that rank architectures
//! (Abdelfattah et al. 2021 collect them; NASLib and NAS-Bench-Suite-Zero benchmark them). Each proxy is
//! one file; [`ZeroCostEvaluator`] makes them trial metrics of any search.

mod evaluator;
mod jacob_cov;
mod linalg;
mod naswot;
mod saliency;
mod synflow;
mod weights;
mod zico;

pub use evaluator::{ProxyScore, ZeroCostEvaluator, ZeroCostSettings};
pub use naswot::relu_code_kernel;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{Batcher, Dataset, SplitMix64};
use crate::network::Network;

/// A zero-cost proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proxy {
    Synflow,
    Naswot,
    Snip,
    GradNorm,
    Fisher,
    JacobCov,
    Zico,
    Params,
    Flops,
}

impl Proxy {
    pub const ALL: [Proxy; 9] = [
        Proxy::Synflow,
        Proxy::Naswot,
        Proxy::Snip,
        Proxy::GradNorm,
        Proxy::Fisher,
        Proxy::JacobCov,
        Proxy::Zico,
        Proxy::Params,
        Proxy::Flops,
    ];

    /// The proxy's name, also its trial metric.
    pub fn name(self) -> &'static str {
        match self {
            Proxy::Synflow => "synflow",
            Proxy::Naswot => "naswot",
            Proxy::Snip => "snip",
            Proxy::GradNorm => "grad_norm",
            Proxy::Fisher => "fisher",
            Proxy::JacobCov => "jacob_cov",
            Proxy::Zico => "zico",
            Proxy::Params => "params",
            Proxy::Flops => "flops",
        }
    }

    pub fn parse(text: &str) -> Result<Proxy, String> {
        Proxy::ALL.into_iter().find(|p| p.name() == text.trim()).ok_or_else(|| {
            let names: Vec<&str> = Proxy::ALL.iter().map(|p| p.name()).collect();
            format!("unknown zero-cost proxy `{}` (proxies: {})", text.trim(), names.join(", "))
        })
    }

    /// A comma-separated list of proxies, each once.
    pub fn parse_list(text: &str) -> Result<Vec<Proxy>, String> {
        let mut proxies = Vec::new();
        for name in text.split(',').filter(|n| !n.trim().is_empty()) {
            let proxy = Proxy::parse(name)?;
            if proxies.contains(&proxy) {
                return Err(format!("zero-cost proxy `{}` is named twice", proxy.name()));
            }
            proxies.push(proxy);
        }
        if proxies.is_empty() {
            return Err("no zero-cost proxy named".into());
        }
        Ok(proxies)
    }

    /// Whether the proxy looks at a minibatch of real images (all but SynFlow and the analytic counts).
    pub fn needs_data(self) -> bool {
        !matches!(self, Proxy::Synflow | Proxy::Params | Proxy::Flops)
    }
}

/// Why a proxy could not score a network (the trial fails with this reason).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProxyError(String);

impl ProxyError {
    fn new(message: impl Into<String>) -> Self {
        ProxyError(message.into())
    }

    /// `value`, or an error naming `what` when it is NaN or infinite.
    fn finite(what: &str, value: f64) -> Result<f64, ProxyError> {
        if value.is_finite() { Ok(value) } else { Err(ProxyError(format!("{what} is {value} on this network"))) }
    }
}

/// The fixed minibatch the data-dependent proxies see: the same images for every architecture.
#[derive(Debug, Clone)]
pub struct ProxyBatch {
    images: Vec<f32>,
    labels: Vec<i64>,
    shape: [usize; 4],
}

impl ProxyBatch {
    /// `size` distinct images of `data` drawn with `seed` (normalised as `batcher` does, not augmented).
    pub fn sample(data: &Dataset, batcher: &Batcher, size: usize, seed: u64) -> ProxyBatch {
        let mut rng = SplitMix64::new(seed);
        let mut indices: Vec<usize> = (0..data.len()).collect();
        rng.shuffle(&mut indices);
        indices.truncate(size);
        let batch = batcher.batch(data, &indices, &mut rng);
        ProxyBatch { images: batch.images, labels: batch.labels, shape: batch.shape }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn images(&self, device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(self.images.clone(), self.shape), device)
    }

    fn labels(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(self.labels.clone(), [self.len()]), device)
    }

    /// The two halves of the batch (ZiCo's two minibatches).
    fn halves(&self) -> Option<[ProxyBatch; 2]> {
        let half = self.len() / 2;
        if half == 0 {
            return None;
        }
        let per_image = self.images.len() / self.len();
        let part = |range: std::ops::Range<usize>| ProxyBatch {
            images: self.images[range.start * per_image..range.end * per_image].to_vec(),
            labels: self.labels[range.clone()].to_vec(),
            shape: [range.len(), self.shape[1], self.shape[2], self.shape[3]],
        };
        Some([part(0..half), part(half..2 * half)])
    }
}

/// A network the proxies can score: a burn module from images `[n, c, h, w]` to logits `[n, classes]`.
pub trait ProxyNetwork: Module {
    fn forward(&self, x: Tensor<4>) -> Tensor<2>;
}

impl ProxyNetwork for Network {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        Network::forward(self, x)
    }
}

/// Scores a freshly initialised `model` (built on the autodiff `device`) with a proxy that needs no analytic
/// count. `input_shape` is one image's `[1, c, h, w]`.
pub fn score_network<M: ProxyNetwork>(
    proxy: Proxy,
    model: M,
    device: &Device,
    input_shape: [usize; 4],
    batch: Option<&ProxyBatch>,
) -> Result<f64, ProxyError> {
    let needs_batch = || batch.ok_or_else(|| ProxyError::new(format!("{} needs a minibatch of images", proxy.name())));
    match proxy {
        Proxy::Synflow => synflow::synflow(model, device, input_shape),
        Proxy::Naswot => naswot::naswot(&model, device, needs_batch()?),
        Proxy::Snip => saliency::snip(&model, device, needs_batch()?),
        Proxy::GradNorm => saliency::grad_norm(&model, device, needs_batch()?),
        Proxy::Fisher => saliency::fisher(&model, device, needs_batch()?),
        Proxy::JacobCov => jacob_cov::jacob_cov(&model, device, needs_batch()?),
        Proxy::Zico => zico::zico(&model, device, needs_batch()?),
        Proxy::Params | Proxy::Flops => {
            Err(ProxyError::new(format!("{} is an analytic count, not a network score", proxy.name())))
        }
    }
}
