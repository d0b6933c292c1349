//! A study's results as typed values: its trials, the best trial, the Pareto front with its hypervolume,
//! and counts; and the one JSON form of a trial that every front end prints.

use nasforge_core::pareto::{hypervolume, non_dominated_ranks};
use nasforge_core::{Objectives, Outcome, TrialRecord, TrialState};
use serde_json::{Value, json};

use crate::config::StudyConfig;

/// A study's configuration, trials and final trainings, read at one moment.
#[derive(Debug, Clone)]
pub struct StudyResults {
    pub name: String,
    pub config: StudyConfig,
    /// Every trial, by id.
    pub trials: Vec<TrialRecord>,
    /// The final trainings of the study's trials (`nasforge train --study`), in the order they ran.
    pub final_trainings: Vec<FinalTrainingRecord>,
}

/// A final training recorded with its study: the trial, when, and the result (test accuracy, test loss,
/// size, latency, epochs, weights path… as [`crate::FinalTraining::to_json`] writes it).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalTrainingRecord {
    pub trial_id: u64,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    pub result: Value,
}

/// Counts of a study's trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrialCounts {
    /// Finished evaluations that were paid for (complete, failed or pruned).
    pub paid: u64,
    /// Trials answered from the cache (free).
    pub cache_hits: u64,
    /// Paid evaluations that failed.
    pub failed: u64,
    /// Paid trials being evaluated.
    pub running: u64,
}

/// The Pareto front of a study: its trials, best first objective first, and their hypervolume.
#[derive(Debug, Clone)]
pub struct ParetoFront<'a> {
    pub trials: Vec<&'a TrialRecord>,
    /// The dominated hypervolume of the front (`None` without a feasible complete trial).
    pub hypervolume: Option<Hypervolume>,
}

/// A hypervolume and the reference point it was measured from.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypervolume {
    pub value: f64,
    /// The worst feasible value of each objective among the study's complete trials, raw (not oriented),
    /// with the objective's metric.
    pub reference: Vec<(String, f64)>,
}

impl StudyResults {
    pub fn objectives(&self) -> &Objectives {
        &self.config.objectives
    }

    pub fn counts(&self) -> TrialCounts {
        let mut counts = TrialCounts::default();
        for trial in &self.trials {
            match (trial.is_paid(), trial.state) {
                (false, _) => counts.cache_hits += 1,
                (true, TrialState::Running) => counts.running += 1,
                (true, state) => {
                    counts.paid += 1;
                    counts.failed += u64::from(state == TrialState::Failed);
                }
            }
        }
        counts
    }

    /// The final trainings of trial `id`, oldest first.
    pub fn final_trainings_of(&self, id: u64) -> Vec<&FinalTrainingRecord> {
        self.final_trainings.iter().filter(|f| f.trial_id == id).collect()
    }

    /// The trial of id `id`.
    pub fn trial(&self, id: u64) -> Option<&TrialRecord> {
        self.trials.iter().find(|t| t.id == id)
    }

    fn scored(&self) -> Vec<(&TrialRecord, Outcome)> {
        scored_trials(&self.trials, self.objectives())
    }

    /// The best paid, complete trial on the first objective (feasible trials first, Deb's rules).
    pub fn best(&self) -> Option<&TrialRecord> {
        self.scored().into_iter().reduce(|a, b| if b.1.better_than(&a.1) { b } else { a }).map(|(t, _)| t)
    }

    /// The feasible Pareto front, best first objective first, and its hypervolume against the worst
    /// feasible value of each objective.
    pub fn pareto(&self) -> ParetoFront<'_> {
        let feasible: Vec<_> = self.scored().into_iter().filter(|(_, o)| o.is_feasible()).collect();
        let outcomes: Vec<&Outcome> = feasible.iter().map(|(_, o)| o).collect();
        let ranks = non_dominated_ranks(&outcomes);
        let nadir: Option<Vec<f64>> = feasible.first().map(|(_, first)| {
            (0..first.scores.len())
                .map(|m| feasible.iter().map(|(_, o)| o.scores[m]).fold(f64::INFINITY, f64::min))
                .collect()
        });
        let mut front: Vec<_> = feasible.iter().zip(ranks).filter(|(_, rank)| *rank == 0).map(|(s, _)| s).collect();
        front.sort_by(|a, b| b.1.scores[0].total_cmp(&a.1.scores[0]));
        let hypervolume = nadir.map(|nadir| {
            let points: Vec<Vec<f64>> = front.iter().map(|(_, o)| o.scores.clone()).collect();
            let reference = self
                .objectives()
                .objectives
                .iter()
                .zip(&nadir)
                .map(|(o, v)| (o.metric.clone(), o.orient(*v)))
                .collect();
            Hypervolume { value: hypervolume(&points, &nadir), reference }
        });
        ParetoFront { trials: front.into_iter().map(|(t, _)| *t).collect(), hypervolume }
    }
}

/// Paid, complete trials with their outcomes, in the order given (cache hits repeat a paid trial and are
/// left out; so are trials without a metric of `objectives`).
pub fn scored_trials<'a>(trials: &'a [TrialRecord], objectives: &Objectives) -> Vec<(&'a TrialRecord, Outcome)> {
    trials
        .iter()
        .filter(|t| t.is_paid() && t.state == TrialState::Complete)
        .filter_map(|t| objectives.outcome(&t.metrics).ok().map(|o| (t, o)))
        .collect()
}

/// A trial as every JSON output gives it: `{"id", "arch", "arch_json", "state", "metrics", "intermediate",
/// "cached_from", "error", "attempts", "worker", "seed", "started_at", "finished_at"}` (`arch_json` is the
/// architecture's JSON form as an object; times are seconds since the Unix epoch).
pub fn trial_json(trial: &TrialRecord) -> Value {
    json!({
        "id": trial.id,
        "arch": trial.arch,
        "arch_json": serde_json::from_str::<Value>(&trial.arch_json).unwrap_or(Value::Null),
        "state": trial.state.as_str(),
        "metrics": trial.metrics,
        "intermediate": trial.intermediate,
        "cached_from": trial.cached_from,
        "error": trial.error,
        "attempts": trial.attempts,
        "worker": trial.worker,
        "seed": trial.seed,
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
    })
}
