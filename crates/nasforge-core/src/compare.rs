//! The comparison harness: runs strategies × seeds against one evaluator (a benchmark table) and reports,
//! after each number of paid evaluations, the mean best value and mean regret to the known optimum with
//! 95% confidence intervals. Every search-quality claim of the project is made with it.

use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;

use crate::objective::{Direction, Objective, Objectives};
use crate::space::SearchSpace;
use crate::strategy::StrategySpec;
use crate::study::{Evaluator, Lease, MemoryStore, Progress, RunLimits, Study, StudyError, StudyObserver};
use crate::trial::TrialRecord;

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareSettings {
    pub objective: Objective,
    /// The best value the evaluator can give (the table's optimum), for regret.
    pub optimum: f64,
    /// Numbers of paid evaluations at which to report, ascending.
    pub checkpoints: Vec<u64>,
    /// Seeds 0..seeds are run for every strategy.
    pub seeds: u64,
    /// Simulated workers: trials in flight at once, all taking the same time (1: one after another).
    pub workers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub queries: u64,
    pub mean_best: f64,
    pub mean_regret: f64,
    /// Half-width of the 95% confidence interval of the mean regret (and of the mean best).
    pub ci95: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StrategyComparison {
    pub name: String,
    pub checkpoints: Vec<Checkpoint>,
    /// Paid evaluations per second over all seeds of this strategy (wall clock, all cores).
    #[serde(skip)]
    pub trials_per_second: f64,
}

/// Records the best value after each paid evaluation.
struct BestCurve {
    metric: String,
    direction: Direction,
    best: Vec<f64>,
}

impl StudyObserver for BestCurve {
    fn trial_finished(&mut self, trial: &TrialRecord, _progress: &Progress) {
        if trial.is_paid() {
            let value = trial.metrics.get(&self.metric).copied();
            let previous = self.best.last().copied();
            let best = match (previous, value) {
                (Some(p), Some(v)) => match self.direction {
                    Direction::Maximize => p.max(v),
                    Direction::Minimize => p.min(v),
                },
                (p, v) => p.or(v).unwrap_or(f64::NAN),
            };
            self.best.push(best);
        }
    }
}

/// Runs one strategy on one seed and returns the best value after each paid evaluation.
fn best_curve<S: SearchSpace>(
    space: &S,
    spec: &StrategySpec,
    evaluator: &dyn Evaluator<S>,
    settings: &CompareSettings,
    seed: u64,
) -> Result<Vec<f64>, StudyError> {
    let objectives = Objectives::new(vec![settings.objective.clone()], vec![]).expect("one objective");
    let strategy = spec.build(space, 1).map_err(StudyError::Strategy)?;
    let mut store = MemoryStore::default();
    let mut study = Study::open(space.clone(), strategy, objectives, seed, &mut store)?;
    let limits = RunLimits { max_paid_trials: settings.checkpoints.last().copied(), ..RunLimits::default() };
    let mut curve = BestCurve {
        metric: settings.objective.metric.clone(),
        direction: settings.objective.direction,
        best: Vec::new(),
    };
    let lease = Lease { owner: "compare".into(), duration: Duration::from_secs(3600) };
    study.run_simulated_workers(evaluator, &mut store, &limits, &lease, &mut curve, settings.workers)?;
    Ok(curve.best)
}

/// Runs every strategy (with its label) on seeds `0..settings.seeds`, in parallel over seeds.
pub fn compare<S: SearchSpace>(
    space: &S,
    strategies: &[(String, StrategySpec)],
    evaluator: &dyn Evaluator<S>,
    settings: &CompareSettings,
) -> Result<Vec<StrategyComparison>, StudyError> {
    let mut results = Vec::new();
    for (label, spec) in strategies {
        let started = std::time::Instant::now();
        let curves: Vec<Vec<f64>> = (0..settings.seeds)
            .into_par_iter()
            .map(|seed| best_curve(space, spec, evaluator, settings, seed))
            .collect::<Result<_, _>>()?;
        let trials: usize = curves.iter().map(Vec::len).sum();
        let checkpoints = settings
            .checkpoints
            .iter()
            .map(|&queries| {
                // A run that stopped early (space exhausted) keeps its last best value.
                let bests: Vec<f64> =
                    curves.iter().filter_map(|c| c.get(queries as usize - 1).or(c.last()).copied()).collect();
                let regrets: Vec<f64> = bests
                    .iter()
                    .map(|b| match settings.objective.direction {
                        Direction::Maximize => settings.optimum - b,
                        Direction::Minimize => b - settings.optimum,
                    })
                    .collect();
                let (mean_best, _) = mean_and_ci95(&bests);
                let (mean_regret, ci95) = mean_and_ci95(&regrets);
                Checkpoint { queries, mean_best, mean_regret, ci95 }
            })
            .collect();
        results.push(StrategyComparison {
            name: label.clone(),
            checkpoints,
            trials_per_second: trials as f64 / started.elapsed().as_secs_f64(),
        });
    }
    Ok(results)
}

/// The mean and the half-width of its 95% confidence interval (normal approximation, sample deviation).
pub fn mean_and_ci95(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * (variance / n).sqrt())
}
