//! The evaluator interface: what an evaluator is asked, how it reports a learning curve while it runs,
//! and how it fails.

use std::path::Path;

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
    /// Under a scheduler that pauses trials: where the evaluator keeps this trial's checkpoint. It saves its
    /// state there when a report answers [`EvalError::Paused`], resumes from a state found there, and
    /// removes it when the evaluation ends otherwise.
    pub checkpoint: Option<&'a Path>,
    /// How many intermediate results the store holds for this trial (those of earlier rungs, for a
    /// promoted trial): a checkpoint with more puts the missing ones back with [`Reporter::restore`].
    pub reported: usize,
}

/// Receives intermediate results while an evaluation runs.
pub trait Reporter {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError>;

    /// Puts back an intermediate result reported before a pause (kept in the checkpoint) that the store
    /// lost when the trial's worker died; no scheduling decision is taken on it. A reporter that takes no
    /// decision records it as a report.
    fn restore(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.report(metrics)
    }
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
    /// The scheduler paused this trial at rung `at` (returned by a [`Reporter`]): the evaluator saves its
    /// state in the request's checkpoint and returns it; the trial resumes from there when promoted.
    #[error("{reason}")]
    Paused { reason: String, at: f64 },
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
