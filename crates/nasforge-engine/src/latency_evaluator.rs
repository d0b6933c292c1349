//! A study's evaluator under a latency model: `latency_ms` known before any training (predicted by the look-up
//! table, the learned predictor or the FLOPs line; or, in a co-design space, the candidate's network measured
//! under its deployment, with its `throughput`), a candidate over a hard `latency_ms <= …` constraint
//! rejected without training, and MnasNet's soft reward `latency_reward = val_accuracy × (latency_ms /
//! target)^w`.

use std::collections::HashMap;
use std::sync::Mutex;

use nasforge_core::space::mbconv::{Deployment, Precision};
use nasforge_core::space::{MbconvArch, MbconvSpace, TaskShape};
use nasforge_core::study::{EvalRequest, Reporter};
use nasforge_core::{Comparison, EvalError, Evaluator, Metrics, SearchSpace};
use nasforge_train::latency::{LatencyModel, LatencyModelKind, measure_deployed};
use nasforge_train::{DeviceChoice, NetworkScale};

use crate::config::StudyConfig;
use crate::error::{EngineError, Result, invalid};
use crate::export::study_network;
use crate::latency::{LatencyModelConfig, LatencyReward, load_latency_model, mbconv_space};

/// The predictions of one model of a model file.
struct Prediction {
    kind: LatencyModelKind,
    model: Box<dyn LatencyModel>,
}

impl Prediction {
    fn of(&self, printed: &str) -> std::result::Result<f64, String> {
        self.model.predict_printed(self.kind, printed)
    }
}

/// Timed runs per deployed measurement (the fastest kept, after three of warm-up).
const DEPLOYED_RUNS: usize = 10;

/// A co-design space's candidates measured under their deployment, on the study's device, with the study's
/// network.
struct Deployed {
    space: MbconvSpace,
    task: TaskShape,
    scale: NetworkScale,
    device: DeviceChoice,
}

impl Deployed {
    /// The milliseconds of one batch of `arch` under its deployment.
    fn measure(&self, arch: &MbconvArch) -> std::result::Result<f64, String> {
        let device = self.device.device()?;
        measure_deployed(&self.space, (&self.task, &self.scale), arch, DEPLOYED_RUNS, &device)
    }
}

/// Where the evaluator's `latency_ms` comes from, when not from the inner evaluator (boxed: a space and a
/// model are large, and there is one per evaluator).
enum Source {
    Model(Box<Prediction>),
    Deployed(Box<Deployed>),
}

impl Source {
    /// `latency_ms` of the printed candidate, and its throughput (images per second) when measured deployed.
    fn latency(&self, printed: &str) -> std::result::Result<(f64, Option<f64>), String> {
        match self {
            Source::Model(prediction) => Ok((prediction.of(printed)?, None)),
            Source::Deployed(deployed) => {
                let arch = deployed.space.parse(printed).map_err(|e| e.message)?;
                let ms = deployed.measure(&arch)?;
                let batch = arch.deployment.map_or(1, |d| d.batch);
                Ok((ms, Some(batch as f64 * 1000.0 / ms)))
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Source::Model(prediction) => prediction.kind.name(),
            Source::Deployed(_) => "measured (deployed)",
        }
    }
}

/// An evaluator with the study's latency model around it.
pub struct LatencyEvaluator<S: SearchSpace> {
    inner: Box<dyn Evaluator<S> + Send>,
    source: Option<Source>,
    /// The hard constraint `latency_ms <= bound`.
    bound: Option<f64>,
    reward: Option<LatencyReward>,
    /// Deployed measurements made at proposal time (`size_metrics`), by printed architecture, taken by the
    /// evaluation that follows: each candidate is measured once.
    measured: Mutex<HashMap<String, (f64, Option<f64>)>>,
}

impl<S: SearchSpace> LatencyEvaluator<S> {
    /// Wraps `inner` in the study's latency model: loads the model file, checked against the study's
    /// network, or prepares deployed measurements on `device` in a co-design space; refuses a hard bound no
    /// network of the space meets.
    pub fn new(
        config: &StudyConfig,
        latency: &LatencyModelConfig,
        inner: Box<dyn Evaluator<S> + Send>,
        device: DeviceChoice,
    ) -> Result<LatencyEvaluator<S>> {
        let bound = (config.objectives.constraints.iter())
            .filter(|c| c.metric == "latency_ms" && c.comparison == Comparison::AtMost)
            .map(|c| c.bound)
            .reduce(f64::min);
        let source = match &latency.path {
            Some(path) => {
                let model = load_latency_model(path, &config.space, None, study_network(config)?)?;
                Some(Source::Model(Box::new(Prediction { kind: latency.kind, model })))
            }
            None if searches_deployment(&config.space) => {
                let Some((task, scale)) = study_network(config)? else {
                    invalid!(
                        "a co-design search measures its networks: the study's evaluator must give their input shape"
                    )
                };
                Some(Source::Deployed(Box::new(Deployed { space: mbconv_space(&config.space)?, task, scale, device })))
            }
            None => None,
        };
        if let (Some(source), Some(bound)) = (&source, bound) {
            check_reachable(source, bound, config.space.name())?;
        }
        Ok(LatencyEvaluator { inner, source, bound, reward: latency.reward, measured: Mutex::default() })
    }
}

/// Refuses a bound that no network of the space meets. Under a model: neither the network of every first
/// choice nor any of 2,000 random ones. Deployed: the smallest network at the smallest batch on none of the
/// thread counts in none of the precisions (the lists are sorted).
fn check_reachable(source: &Source, bound: f64, space_name: &str) -> Result<()> {
    let candidates: Vec<String> = match source {
        Source::Model(prediction) => prediction.model.probes(2000),
        Source::Deployed(deployed) => {
            let space = &deployed.space;
            let smallest = space.from_decisions(&vec![0; space.decision_sizes().len()]);
            let settings = space.settings();
            let precisions: Vec<Precision> = match settings.precisions.is_empty() {
                true => vec![Precision::F32],
                false => settings.precisions.iter().filter_map(|name| Precision::from_name(name)).collect(),
            };
            let mut candidates = Vec::new();
            for &threads in &settings.threads {
                for &precision in &precisions {
                    let mut arch = smallest.clone();
                    arch.deployment = arch.deployment.map(|d| Deployment { threads, precision, ..d });
                    candidates.push(space.print(&arch));
                }
            }
            candidates
        }
    };
    let mut fastest: Option<(f64, String)> = None;
    for printed in candidates {
        let (ms, _) = source.latency(&printed).map_err(EngineError::Invalid)?;
        if ms <= bound {
            return Ok(());
        }
        if fastest.as_ref().is_none_or(|(best, _)| ms < *best) {
            fastest = Some((ms, printed));
        }
    }
    let (ms, printed) = fastest.expect("at least the smallest network");
    invalid!(
        "no network of the {space_name} space meets latency_ms <= {bound} under the {} latency: the fastest it \
         knows takes {ms:.3} ms ({printed})",
        source.name()
    )
}

/// Whether `space` is a co-design space: mbconv with its deployment (threads, batch, precision) searched.
pub(crate) fn searches_deployment(space: &crate::registry::SpaceConfig) -> bool {
    matches!(space, crate::registry::SpaceConfig::Mbconv(space) if space.searches_deployment())
}

impl<S: SearchSpace> LatencyEvaluator<S> {
    /// `latency_ms` (and the deployed throughput) of the printed candidate: a deployed measurement made at
    /// its proposal, else the source's answer now.
    fn known(&self, printed: &str) -> Option<std::result::Result<(f64, Option<f64>), String>> {
        let source = self.source.as_ref()?;
        let proposed = self.measured.lock().unwrap_or_else(|e| e.into_inner()).remove(printed);
        Some(proposed.map_or_else(|| source.latency(printed), Ok))
    }
}

impl<S: SearchSpace> Evaluator<S> for LatencyEvaluator<S> {
    /// The inner evaluator's, with the latency: known before any training, so a candidate rejected by a hard
    /// constraint keeps it (a deployed measurement is made here, once, and kept for the evaluation).
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let mut metrics = self.inner.size_metrics(space, arch);
        let printed = space.print(arch);
        let known = match &self.source {
            Some(Source::Model(prediction)) => prediction.of(&printed).ok().map(|ms| (ms, None)),
            Some(source @ Source::Deployed(_)) => source.latency(&printed).ok(),
            None => None,
        };
        if let Some((ms, throughput)) = known {
            metrics.insert("latency_ms".to_string(), ms);
            if let Some(throughput) = throughput {
                metrics.insert("throughput".to_string(), throughput);
                self.measured.lock().unwrap_or_else(|e| e.into_inner()).insert(printed, (ms, Some(throughput)));
            }
        }
        metrics
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let known = self.known(request.printed).transpose().map_err(EvalError::Fatal)?;
        if let (Some((ms, _)), Some(bound)) = (known, self.bound)
            && ms > bound
        {
            let source = self.source.as_ref().map_or("", Source::name);
            return Err(EvalError::Failed(format!(
                "rejected before training: the {source} latency is {ms:.3} ms, above latency_ms <= {bound}"
            )));
        }
        let mut metrics = self.inner.evaluate(request, reporter)?;
        if let Some((ms, throughput)) = known {
            if let Some(measured) = metrics.remove("latency_ms") {
                metrics.insert("latency_measured_ms".to_string(), measured);
            }
            metrics.insert("latency_ms".to_string(), ms);
            if let Some(throughput) = throughput {
                metrics.insert("throughput".to_string(), throughput);
            }
        }
        if let (Some(reward), Some(&accuracy), Some(&ms)) =
            (self.reward, metrics.get("val_accuracy"), metrics.get("latency_ms"))
        {
            metrics.insert("latency_reward".to_string(), reward.reward(accuracy, ms));
        }
        Ok(metrics)
    }
}
