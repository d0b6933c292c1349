//! The comparison harness: runs strategies × seeds against one evaluator (a benchmark table) and reports
//! the regret of the cell each search returns (best by the search metric, scored by the report metric)
//! after numbers of paid evaluations and at simulated wall-clock times, with 95% confidence intervals.

mod noise_floor;
mod returned;
mod simulated_workers;

use rayon::prelude::*;
use serde::Serialize;

use crate::objective::{Direction, Objective, Objectives};
use crate::space::SearchSpace;
use crate::strategy::StrategySpec;
use crate::study::{Evaluator, RunLimits, Study, StudyError};

pub use noise_floor::{NoiseFloor, noise_floor};
use returned::RunHistory;
use simulated_workers::{SimulatedWorkers, simulation_lease};

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareSettings {
    /// The search metric: what the strategies see and the returned cell is chosen by.
    pub objective: Objective,
    /// The metric, in the evaluator's answers, that regret is measured on (the same direction as the
    /// objective); never shown to the strategies. It may be the search metric itself.
    pub report_metric: String,
    /// The report metric's best value over the searchable cells, for regret.
    pub optimum: f64,
    /// Numbers of paid evaluations at which to report, ascending; the last one is each run's budget.
    pub checkpoints: Vec<u64>,
    /// Simulated wall-clock times (seconds) at which to report too, ascending.
    pub time_checkpoints: Vec<f64>,
    /// The metric of each answer giving its evaluation's simulated duration in seconds; without it every
    /// evaluation takes one unit.
    pub time_metric: Option<String>,
    /// Seeds 0..seeds are run for every strategy.
    pub seeds: u64,
    /// Simulated asynchronous workers (1: one evaluation after another).
    pub workers: usize,
    /// Re-evaluations spent at each checkpoint of `n` evaluations: the search stops after
    /// `n − reevaluations`, its best `reevaluations` cells are evaluated again with a new seed, and the best
    /// mean is returned. 0: the best single value is returned.
    pub reevaluations: u64,
}

impl CompareSettings {
    /// How far a report value is from the optimum (≥ 0).
    pub fn regret(&self, report: f64) -> f64 {
        match self.objective.direction {
            Direction::Maximize => self.optimum - report,
            Direction::Minimize => report - self.optimum,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub queries: u64,
    /// Mean report value of the returned cell.
    pub mean_best: f64,
    /// Mean search value of the returned cell, as the search saw it (a mean of two draws after
    /// re-evaluation).
    pub mean_search_value: f64,
    /// Mean regret of the report value.
    pub mean_regret: f64,
    /// Half-width of the 95% confidence interval of the mean regret (and of the mean best).
    pub ci95: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeCheckpoint {
    /// Simulated wall-clock seconds since the runs started.
    pub seconds: f64,
    pub mean_best: f64,
    pub mean_regret: f64,
    pub ci95: f64,
    /// Runs with at least one finished evaluation by then (the means are over these).
    pub runs: u64,
    /// Runs whose whole budget had finished by then (they count with the cell they returned).
    pub ended: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StrategyComparison {
    pub name: String,
    pub checkpoints: Vec<Checkpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub time_checkpoints: Vec<TimeCheckpoint>,
    /// Paid evaluations per second over all seeds of this strategy (wall clock, all cores).
    #[serde(skip)]
    pub trials_per_second: f64,
}

/// Runs one strategy on one seed with simulated workers; returns its paid evaluations in finish order.
fn run_history<S: SearchSpace>(
    space: &S,
    spec: &StrategySpec,
    evaluator: &dyn Evaluator<S>,
    settings: &CompareSettings,
    seed: u64,
) -> Result<RunHistory, StudyError> {
    let objectives = Objectives::new(vec![settings.objective.clone()], vec![]).map_err(StudyError::Strategy)?;
    let strategy = spec.build(space, 1).map_err(StudyError::Strategy)?;
    let mut store = SimulatedWorkers::new(settings.workers, settings.time_metric.as_deref());
    let mut study = Study::open(space.clone(), strategy, objectives, seed, &mut store)?;
    let limits = RunLimits { max_paid_trials: settings.checkpoints.last().copied(), ..RunLimits::default() };
    study.run_simulated_workers(evaluator, &mut store, &limits, &simulation_lease(), &mut (), 1)?;
    let trials = store.finish_all().map_err(StudyError::Store)?;
    Ok(RunHistory::new(trials, &settings.objective.metric, &settings.report_metric))
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
        let runs: Vec<RunHistory> = (0..settings.seeds)
            .into_par_iter()
            .map(|seed| run_history(space, spec, evaluator, settings, seed))
            .collect::<Result<_, _>>()?;
        let trials: usize = runs.iter().map(RunHistory::len).sum();
        let checkpoints = (settings.checkpoints.iter())
            .map(|&queries| query_checkpoint(&runs, queries, space, evaluator, settings))
            .collect::<Result<_, _>>()?;
        let time_checkpoints =
            settings.time_checkpoints.iter().map(|&seconds| time_checkpoint(&runs, seconds, settings)).collect();
        results.push(StrategyComparison {
            name: label.clone(),
            checkpoints,
            time_checkpoints,
            trials_per_second: trials as f64 / started.elapsed().as_secs_f64(),
        });
    }
    Ok(results)
}

/// The returned cells' report values and regrets after `queries` paid evaluations (a run that stopped
/// early, the space exhausted, counts with what it returned).
fn query_checkpoint<S: SearchSpace>(
    runs: &[RunHistory],
    queries: u64,
    space: &S,
    evaluator: &dyn Evaluator<S>,
    settings: &CompareSettings,
) -> Result<Checkpoint, StudyError> {
    let returned: Vec<_> = runs
        .par_iter()
        .map(|run| match settings.reevaluations {
            0 => Ok(run.returned(queries as usize, &settings.objective)),
            n => run.returned_after_reevaluation(queries as usize, n as usize, &settings.objective, space, evaluator),
        })
        .collect::<Result<Vec<_>, StudyError>>()?
        .into_iter()
        .flatten()
        .collect();
    let reports: Vec<f64> = returned.iter().map(|r| r.report).collect();
    let searches: Vec<f64> = returned.iter().map(|r| r.search).collect();
    let regrets: Vec<f64> = reports.iter().map(|&r| settings.regret(r)).collect();
    let (mean_regret, ci95) = mean_and_ci95(&regrets);
    Ok(Checkpoint {
        queries,
        mean_best: mean_and_ci95(&reports).0,
        mean_search_value: mean_and_ci95(&searches).0,
        mean_regret,
        ci95,
    })
}

/// The returned cells' report values and regrets at a simulated time: each run returns the best of the
/// evaluations finished by then.
fn time_checkpoint(runs: &[RunHistory], seconds: f64, settings: &CompareSettings) -> TimeCheckpoint {
    let reports: Vec<f64> = (runs.iter())
        .filter_map(|run| run.returned(run.finished_by(seconds), &settings.objective))
        .map(|r| r.report)
        .collect();
    let regrets: Vec<f64> = reports.iter().map(|&r| settings.regret(r)).collect();
    let (mean_regret, ci95) = mean_and_ci95(&regrets);
    TimeCheckpoint {
        seconds,
        mean_best: mean_and_ci95(&reports).0,
        mean_regret,
        ci95,
        runs: reports.len() as u64,
        ended: runs.iter().filter(|run| run.ended_at() <= seconds).count() as u64,
    }
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
