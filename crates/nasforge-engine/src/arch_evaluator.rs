//! An evaluator outside any study, for front ends that score architectures themselves (the Python
//! package's `nasforge.Evaluator`): a benchmark table, training or zero-cost proxies, as a study would
//! configure them, taking architectures by their printed form.

use nasforge_core::study::EvalRequest;
use nasforge_core::{EvalError, Evaluator, Metrics, Objective, Objectives, StrategySpec};
use nasforge_train::{Buildable, DeviceChoice};

use crate::config::{Budget, EvaluatorConfig, StudyConfig};
use crate::error::{EngineError, Result, invalid};
use crate::evaluators::{build_evaluator, default_metric};
use crate::registry::{SpaceConfig, SpaceTask, with_space};

/// Scores architectures of one space (see the module's documentation).
pub struct ArchEvaluator {
    inner: Box<dyn ScoreArch>,
}

impl std::fmt::Debug for ArchEvaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArchEvaluator")
    }
}

/// An evaluator of some space, taking architectures as strings.
trait ScoreArch: Send + Sync {
    fn evaluate(&self, arch: &str, seed: u64) -> Result<std::result::Result<Metrics, String>>;
    fn size_metrics(&self, arch: &str) -> Result<Metrics>;
}

impl ArchEvaluator {
    /// The evaluator `evaluator` on the space `space`; `seed` splits a training evaluator's data into
    /// training and validation, as a study's seed does. The caller's evaluator has nothing to build.
    pub fn new(space: &SpaceConfig, evaluator: EvaluatorConfig, seed: u64, device: DeviceChoice) -> Result<Self> {
        if evaluator == EvaluatorConfig::Caller {
            invalid!("the caller's evaluator is the program itself: choose table, train, zero-cost or command");
        }
        let metric = default_metric(&evaluator).unwrap_or_else(|_| "score".to_string());
        let config = StudyConfig {
            space: space.clone(),
            strategy: StrategySpec::from_name("random").map_err(EngineError::Invalid)?,
            evaluator,
            objectives: Objectives::new(vec![Objective::maximize(metric)], vec![]).map_err(EngineError::Invalid)?,
            budget: Budget { trials: None, time_budget: None },
            seed,
            scheduler: None,
            warm_start: None,
            latency: None,
        };
        let inner = with_space(space, Build { config: &config, device })?;
        Ok(ArchEvaluator { inner })
    }

    /// The metrics of `arch` (its printed form), evaluated with `seed`; `Ok(Err(reason))` when the
    /// evaluation failed (a cell that computes nothing, a diverged training), `Err` for bad input (an
    /// architecture that does not parse) or an evaluator that cannot go on.
    pub fn evaluate(&self, arch: &str, seed: u64) -> Result<std::result::Result<Metrics, String>> {
        self.inner.evaluate(arch, seed)
    }

    /// What is known of `arch` before any evaluation: its parameters, FLOPs, model bytes where the
    /// evaluator knows them.
    pub fn size_metrics(&self, arch: &str) -> Result<Metrics> {
        self.inner.size_metrics(arch)
    }
}

struct Build<'a> {
    config: &'a StudyConfig,
    device: DeviceChoice,
}

impl SpaceTask for Build<'_> {
    type Output = Result<Box<dyn ScoreArch>>;

    fn run<S: Buildable>(self, space: S) -> Self::Output {
        let evaluator = build_evaluator(self.config, &space, "evaluator", self.device)?;
        Ok(Box::new(SpaceEvaluator { space, evaluator }))
    }
}

struct SpaceEvaluator<S: Buildable> {
    space: S,
    evaluator: Box<dyn Evaluator<S> + Send>,
}

impl<S: Buildable> SpaceEvaluator<S> {
    fn parse(&self, arch: &str) -> Result<S::Arch> {
        self.space.parse(arch).map_err(|e| EngineError::invalid(format!("architecture '{arch}': {}", e.message)))
    }
}

impl<S: Buildable> ScoreArch for SpaceEvaluator<S> {
    fn evaluate(&self, arch: &str, seed: u64) -> Result<std::result::Result<Metrics, String>> {
        let parsed = self.parse(arch)?;
        let request = EvalRequest {
            space: &self.space,
            arch: &parsed,
            printed: arch,
            trial_id: 0,
            seed,
            checkpoint: None,
            reported: 0,
        };
        match self.evaluator.evaluate(&request, &mut ()) {
            Ok(metrics) => Ok(Ok(metrics)),
            Err(EvalError::Failed(reason) | EvalError::Stopped(reason) | EvalError::Paused { reason, .. }) => {
                Ok(Err(reason))
            }
            Err(EvalError::Fatal(message)) => invalid!("{message}"),
        }
    }

    fn size_metrics(&self, arch: &str) -> Result<Metrics> {
        let parsed = self.parse(arch)?;
        Ok(self.evaluator.size_metrics(&self.space, &parsed))
    }
}
