//! A study's evaluator under a latency model: `latency_ms` predicted before any training (the look-up table,
//! the learned predictor or the FLOPs line), a candidate over a hard `latency_ms <= …` constraint rejected
//! without training, and MnasNet's soft reward `latency_reward = val_accuracy × (latency_ms / target)^w`.

use nasforge_core::space::MbconvSpace;
use nasforge_core::study::{EvalRequest, Reporter};
use nasforge_core::{Comparison, EvalError, Evaluator, Metrics, SearchSpace};
use nasforge_train::latency::{LatencyModelKind, MbconvLatency};

use crate::config::StudyConfig;
use crate::error::{Result, invalid};
use crate::export::study_network;
use crate::latency::{LatencyModelConfig, LatencyReward, load_latency_model, mbconv_space};

/// A model's predictions with the space it reads architectures in.
struct Prediction {
    kind: LatencyModelKind,
    space: MbconvSpace,
    model: MbconvLatency,
}

impl Prediction {
    fn of(&self, printed: &str) -> std::result::Result<f64, String> {
        let arch = self.space.parse(printed).map_err(|e| e.message)?;
        self.model.predict(self.kind, &arch)
    }
}

/// An evaluator with the study's latency model around it.
pub struct LatencyEvaluator<S: SearchSpace> {
    inner: Box<dyn Evaluator<S> + Send>,
    prediction: Option<Prediction>,
    /// The hard constraint `latency_ms <= bound`.
    bound: Option<f64>,
    reward: Option<LatencyReward>,
}

impl<S: SearchSpace> LatencyEvaluator<S> {
    /// Wraps `inner` in the study's latency model: loads the model file, checked against the study's
    /// network, and refuses a hard bound no network of the space meets under the model.
    pub fn new(
        config: &StudyConfig,
        latency: &LatencyModelConfig,
        inner: Box<dyn Evaluator<S> + Send>,
    ) -> Result<LatencyEvaluator<S>> {
        let bound = (config.objectives.constraints.iter())
            .filter(|c| c.metric == "latency_ms" && c.comparison == Comparison::AtMost)
            .map(|c| c.bound)
            .reduce(f64::min);
        let prediction = match &latency.path {
            Some(path) => {
                let model = load_latency_model(path, &config.space, None, study_network(config)?)?;
                Some(Prediction { kind: latency.kind, space: mbconv_space(&config.space)?, model })
            }
            None => None,
        };
        if let (Some(prediction), Some(bound)) = (&prediction, bound) {
            check_reachable(prediction, bound)?;
        }
        Ok(LatencyEvaluator { inner, prediction, bound, reward: latency.reward })
    }
}

/// Refuses a bound that neither the space's smallest network (every first choice: the lists are sorted) nor
/// any of 2,000 random ones meets under the model.
fn check_reachable(prediction: &Prediction, bound: f64) -> Result<()> {
    use rand::SeedableRng;
    let space = &prediction.space;
    let smallest = space.from_decisions(&vec![0; space.decision_sizes().len()]);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0);
    let candidates = std::iter::once(smallest).chain((0..2000).map(|_| space.sample(&mut rng)));
    let mut fastest: Option<(f64, String)> = None;
    for arch in candidates {
        let printed = space.print(&arch);
        let ms = prediction.of(&printed).map_err(crate::error::EngineError::Invalid)?;
        if ms <= bound {
            return Ok(());
        }
        if fastest.as_ref().is_none_or(|(best, _)| ms < *best) {
            fastest = Some((ms, printed));
        }
    }
    let (ms, printed) = fastest.expect("at least the smallest network");
    invalid!(
        "no network of the mbconv space meets latency_ms <= {bound} under the {} latency model: the fastest it \
         knows takes {ms:.3} ms ({printed})",
        prediction.kind.name()
    )
}

impl<S: SearchSpace> Evaluator<S> for LatencyEvaluator<S> {
    /// The inner evaluator's, with the predicted latency: known before any training, so a candidate rejected
    /// by a hard constraint keeps it.
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let mut metrics = self.inner.size_metrics(space, arch);
        if let Some(Ok(ms)) = self.prediction.as_ref().map(|p| p.of(&space.print(arch))) {
            metrics.insert("latency_ms".to_string(), ms);
        }
        metrics
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let predicted = match &self.prediction {
            Some(prediction) => Some(prediction.of(request.printed).map_err(EvalError::Fatal)?),
            None => None,
        };
        if let (Some(ms), Some(bound)) = (predicted, self.bound)
            && ms > bound
        {
            let kind = self.prediction.as_ref().map_or("", |p| p.kind.name());
            return Err(EvalError::Failed(format!(
                "rejected before training: the {kind} latency model predicts {ms:.3} ms, above latency_ms <= {bound}"
            )));
        }
        let mut metrics = self.inner.evaluate(request, reporter)?;
        if let Some(ms) = predicted {
            if let Some(measured) = metrics.remove("latency_ms") {
                metrics.insert("latency_measured_ms".to_string(), measured);
            }
            metrics.insert("latency_ms".to_string(), ms);
        }
        if let (Some(reward), Some(&accuracy), Some(&ms)) =
            (self.reward, metrics.get("val_accuracy"), metrics.get("latency_ms"))
        {
            metrics.insert("latency_reward".to_string(), reward.reward(accuracy, ms));
        }
        Ok(metrics)
    }
}
