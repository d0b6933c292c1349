//! The cell a search returns and what it is worth: the best by the search metric among the evaluations
//! finished so far (or the best mean after re-evaluating the top candidates), scored by the report metric.

use crate::objective::Objective;
use crate::space::SearchSpace;
use crate::study::{EvalRequest, Evaluator, StudyError};
use crate::trial::TrialRecord;

/// A returned cell: its search metric value as the search saw it (a mean after re-evaluation) and its
/// report metric value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Returned {
    pub search: f64,
    pub report: f64,
}

/// One paid evaluation of a run.
struct Query {
    trial: TrialRecord,
    /// The search metric as answered (`None` for a failed evaluation).
    search: Option<f64>,
    report: Option<f64>,
    finished_at: f64,
}

/// A run's paid evaluations in the order they finished.
pub(super) struct RunHistory {
    queries: Vec<Query>,
}

impl RunHistory {
    pub(super) fn new(trials: Vec<TrialRecord>, search_metric: &str, report_metric: &str) -> Self {
        let queries = trials
            .into_iter()
            .map(|trial| Query {
                search: trial.metrics.get(search_metric).copied(),
                report: trial.metrics.get(report_metric).copied(),
                finished_at: trial.finished_at.unwrap_or(f64::INFINITY),
                trial,
            })
            .collect();
        RunHistory { queries }
    }

    pub(super) fn len(&self) -> usize {
        self.queries.len()
    }

    /// When the last evaluation finished (simulated seconds).
    pub(super) fn ended_at(&self) -> f64 {
        self.queries.last().map_or(0.0, |q| q.finished_at)
    }

    /// The number of evaluations finished by `seconds`.
    pub(super) fn finished_by(&self, seconds: f64) -> usize {
        self.queries.partition_point(|q| q.finished_at <= seconds)
    }

    /// The best of the first `n` evaluations by the search metric (the first of equal ones).
    pub(super) fn returned(&self, n: usize, objective: &Objective) -> Option<Returned> {
        let mut best: Option<Returned> = None;
        for query in self.queries.iter().take(n) {
            let (Some(search), Some(report)) = (query.search, query.report) else { continue };
            if best.is_none_or(|b| objective.orient(search) > objective.orient(b.search)) {
                best = Some(Returned { search, report });
            }
        }
        best
    }

    /// The cell returned by a search of `n − reevaluations` evaluations followed by `reevaluations`
    /// re-evaluations: the best `reevaluations` cells by their first value are each evaluated once more
    /// with a new seed (the trial's seed + 1), and the one with the best mean of its two values is returned.
    pub(super) fn returned_after_reevaluation<S: SearchSpace>(
        &self,
        n: usize,
        reevaluations: usize,
        objective: &Objective,
        space: &S,
        evaluator: &dyn Evaluator<S>,
    ) -> Result<Option<Returned>, StudyError> {
        let searched = n.saturating_sub(reevaluations).min(self.queries.len());
        let mut candidates: Vec<(&Query, f64, f64)> =
            (self.queries[..searched].iter()).filter_map(|q| Some((q, q.search?, q.report?))).collect();
        // Stable: equal values keep the order they were found in.
        candidates.sort_by(|a, b| objective.orient(b.1).total_cmp(&objective.orient(a.1)));
        let mut best: Option<Returned> = None;
        for (query, first, report) in candidates.into_iter().take(reevaluations) {
            let mean = (first + reevaluate(query, objective, space, evaluator)?) / 2.0;
            if best.is_none_or(|b| objective.orient(mean) > objective.orient(b.search)) {
                best = Some(Returned { search: mean, report });
            }
        }
        Ok(best)
    }
}

/// The search metric of a query's cell evaluated again with a new seed.
fn reevaluate<S: SearchSpace>(
    query: &Query,
    objective: &Objective,
    space: &S,
    evaluator: &dyn Evaluator<S>,
) -> Result<f64, StudyError> {
    let trial = &query.trial;
    let failed = |message: String| StudyError::Evaluation { id: trial.id, arch: trial.arch.clone(), message };
    let arch = space.parse(&trial.arch).map_err(|e| failed(e.message))?;
    let request = EvalRequest {
        space,
        arch: &arch,
        printed: &trial.arch,
        trial_id: trial.id,
        seed: trial.seed.wrapping_add(1),
        checkpoint: None,
        reported: 0,
    };
    let metrics = evaluator.evaluate(&request, &mut ()).map_err(|e| failed(format!("re-evaluation: {e}")))?;
    metrics
        .get(&objective.metric)
        .copied()
        .ok_or_else(|| failed(format!("re-evaluation: no `{}` in the answer", objective.metric)))
}
