//! The evaluator interface: what an evaluator is asked, how it reports a learning curve while it runs,
//! and how it fails.

use crate::space::SearchSpace;
use crate::trial::Metrics;

/// What an evaluator is asked to evaluate.
pub struct EvalRequest<'a, S: SearchSpace> {
    pub space: &'a S,
    pub arch: &'a S::Arch,
    /// The architecture's printed form.
    pub printed: &'a str,
    pub trial_id: u64,
    /// A seed for the evaluation's own randomness (weight initialisation, data order).
    pub seed: u64,
}

/// Receives intermediate results while an evaluation runs.
pub trait Reporter {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError>;
}

/// Discards intermediate results (an evaluation whose learning curve nobody keeps).
impl Reporter for () {
    fn report(&mut self, _metrics: &Metrics) -> Result<(), EvalError> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// This trial failed (diverged, timed out, crashed); the search goes on.
    #[error("{0}")]
    Failed(String),
    /// The evaluator cannot go on (missing data, a table without the architecture): the study stops.
    #[error("{0}")]
    Fatal(String),
    /// The multi-fidelity scheduler stopped this trial at a rung (returned by a [`Reporter`]); the trial
    /// ends as pruned with the metrics it reported last.
    #[error("{0}")]
    Stopped(String),
}

/// Scores architectures: a benchmark table, real training, an external command, a zero-cost proxy.
pub trait Evaluator<S: SearchSpace>: Sync {
    /// Metrics of the architecture as written rather than of the function it computes (parameters, FLOPs,
    /// model bytes): two strings with one canonical form may differ in them (dead edges carry weights).
    /// Known before any evaluation; a cache hit records its own instead of copying them.
    fn size_metrics(&self, _space: &S, _arch: &S::Arch) -> Metrics {
        Metrics::new()
    }

    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError>;
}
