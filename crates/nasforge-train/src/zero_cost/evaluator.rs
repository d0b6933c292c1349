//! The zero-cost evaluator: every requested proxy of a freshly initialised network, as trial metrics.

use std::time::Instant;

use nasforge_core::space::TaskShape;
use nasforge_core::study::{EvalError, EvalRequest, Evaluator, Reporter};
use nasforge_core::trial::Metrics;

use super::{Proxy, ProxyBatch, ProxyError, score_network};
use crate::data::{Augmentation, Batcher, Dataset};
use crate::network::{Buildable, NetworkScale};
use crate::train::{DeviceChoice, size_metrics, task_of};

/// What the zero-cost evaluator computes and on what.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroCostSettings {
    pub proxies: Vec<Proxy>,
    /// Images in the minibatch of the data-dependent proxies.
    pub batch_size: usize,
    /// Seeds the minibatch (the same images for every architecture).
    pub batch_seed: u64,
    /// The network's width and cells.
    pub scale: NetworkScale,
    pub device: DeviceChoice,
}

impl Default for ZeroCostSettings {
    fn default() -> Self {
        ZeroCostSettings {
            proxies: vec![Proxy::Synflow],
            batch_size: 64,
            batch_seed: 0,
            scale: NetworkScale::default(),
            device: DeviceChoice::Cpu,
        }
    }
}

/// One proxy's score of one network and the time it took.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyScore {
    pub proxy: Proxy,
    pub value: f64,
    pub seconds: f64,
}

/// Scores architectures by zero-cost proxies. Metrics: each proxy's name, `params`, `flops`, `model_bytes`,
/// `proxy_seconds`.
pub struct ZeroCostEvaluator {
    settings: ZeroCostSettings,
    task: TaskShape,
    batch: Option<ProxyBatch>,
}

impl ZeroCostEvaluator {
    /// Proxies over a minibatch of `data` (the search's training images).
    pub fn new(settings: ZeroCostSettings, data: &Dataset) -> Result<Self, String> {
        if settings.batch_size < 2 {
            return Err(format!("the proxies' minibatch needs at least 2 images, not {}", settings.batch_size));
        }
        let batcher =
            Batcher { normalization: data.channel_stats(), augmentation: Augmentation::NONE, resolution: None };
        let batch = ProxyBatch::sample(data, &batcher, settings.batch_size, settings.batch_seed);
        Ok(ZeroCostEvaluator { task: task_of(data, None), batch: Some(batch), settings })
    }

    /// Data-free proxies only (`synflow`, `params`, `flops`) on networks for inputs of `task`'s shape.
    pub fn data_free(settings: ZeroCostSettings, task: TaskShape) -> Result<Self, String> {
        if let Some(proxy) = settings.proxies.iter().find(|p| p.needs_data()) {
            return Err(format!(
                "zero-cost proxy `{}` needs images: name a dataset (data-free proxies: synflow, params, flops)",
                proxy.name()
            ));
        }
        Ok(ZeroCostEvaluator { settings, task, batch: None })
    }

    pub fn task(&self) -> TaskShape {
        self.task
    }

    /// Every proxy's score of `arch`, its network initialised with `seed`.
    pub fn score<S: Buildable>(&self, space: &S, arch: &S::Arch, seed: u64) -> Result<Vec<ProxyScore>, EvalError> {
        if space.computes_nothing(arch) {
            return Err(EvalError::Failed(
                "the cell computes nothing (no path from the input to the output): zero-cost proxies cannot score it"
                    .into(),
            ));
        }
        let device = self.settings.device.device().map_err(EvalError::Fatal)?;
        let ad_device = device.clone().autodiff();
        let cost = space.network_cost(arch, &self.task, &self.settings.scale);
        let input_shape = [1, self.task.channels, self.task.size, self.task.size];
        let mut scores = Vec::new();
        for &proxy in &self.settings.proxies {
            let start = Instant::now();
            let value = match proxy {
                Proxy::Params => Ok(cost.params as f64),
                Proxy::Flops => Ok(cost.flops as f64),
                _ => {
                    device.seed(seed);
                    let model = space.build(arch, &self.task, &self.settings.scale, &ad_device);
                    if model.params() == 0 {
                        return Err(EvalError::Failed("the network has no trainable parameter".into()));
                    }
                    score_network(proxy, model, &ad_device, input_shape, self.batch.as_ref())
                }
            };
            let value = value.map_err(|ProxyError(reason)| EvalError::Failed(reason))?;
            scores.push(ProxyScore { proxy, value, seconds: start.elapsed().as_secs_f64() });
        }
        Ok(scores)
    }
}

impl<S: Buildable> Evaluator<S> for ZeroCostEvaluator {
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let cost = space.network_cost(arch, &self.task, &self.settings.scale);
        size_metrics(cost.params, cost.flops)
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, _reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let scores = self.score(request.space, request.arch, request.seed)?;
        let mut metrics = <Self as Evaluator<S>>::size_metrics(self, request.space, request.arch);
        let seconds: f64 = scores.iter().map(|s| s.seconds).sum();
        metrics.extend(scores.into_iter().map(|s| (s.proxy.name().to_string(), s.value)));
        metrics.insert("proxy_seconds".to_string(), seconds);
        Ok(metrics)
    }
}
