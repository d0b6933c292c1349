//! What a search will cost before it runs: its wall time, device-hours, energy and money, from a measured
//! rate of trials rather than from constants. The rate comes from timing a few real trials of the
//! configuration on this machine (in a throw-away in-memory study, with the same workers and device), or
//! from a stored study's own finished trials.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use crate::config::{Budget, ConfigFile, StudyRequest};
use crate::error::{Result, invalid};
use crate::run::RunOptions;
use crate::study::StudyHandle;

/// How the estimate is made and priced.
#[derive(Debug, Clone, Copy)]
pub struct CostRequest {
    /// Trials timed to calibrate (when not calibrating from a study).
    pub calibration_trials: u64,
    /// Workers and device of the search (the calibration runs with the same).
    pub options: RunOptions,
    /// Price of one device-hour (the machine's, or the GPU's), in any currency.
    pub price_per_device_hour: f64,
    /// Power drawn by the device while it works, in watts.
    pub watts: f64,
}

/// Where the rate of trials came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "lowercase")]
pub enum Calibration {
    /// `trials` real trials timed here: `seconds` of search after `setup_seconds` of loading (data, tables).
    Timed { trials: u64, seconds: f64, setup_seconds: f64 },
    /// A stored study's `trials` paid trials, finished over `seconds` of wall clock (first start to last
    /// finish).
    Study { trials: u64, seconds: f64 },
}

/// A search's predicted cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostEstimate {
    pub calibration: Calibration,
    /// Paid trials per second with the search's workers.
    pub trials_per_second: f64,
    /// Paid trials the search will run: its budget, or what fits in its time budget.
    pub trials: Option<u64>,
    /// Whether the trial budget or the time budget ends the search.
    pub limited_by: &'static str,
    pub wall_seconds: f64,
    /// One device (a machine, or one GPU every worker shares) for the wall time.
    pub device_hours: f64,
    pub energy_kwh: f64,
    pub money: f64,
}

/// The cost of the search `file` and `request` describe, calibrated by timing at least
/// `cost.calibration_trials` of its trials here (a study in memory, gone afterwards): ten times more, up to
/// a tenth of the budget, while they take less than [`CALIBRATION_SECONDS`], so that fast evaluators
/// (tables) are timed over enough trials to be measured.
pub fn estimate_by_timing(file: &ConfigFile, request: &StudyRequest, cost: &CostRequest) -> Result<CostEstimate> {
    if cost.calibration_trials == 0 {
        invalid!("calibration needs at least 1 trial");
    }
    let budget = StudyHandle::new(MEMORY, "cost", file, request)?.config().budget.clone();
    let mut timed = cost.calibration_trials;
    loop {
        let calibration = StudyRequest { trials: Some(timed), time_budget: None, ..request.clone() };
        let mut study = StudyHandle::new(MEMORY, "cost-calibration", file, &calibration)?;
        let started = Instant::now();
        let report = study.run(cost.options, &AtomicBool::new(false), &|_| Box::new(()))?;
        let total = started.elapsed().as_secs_f64();
        let seconds = report.elapsed.as_secs_f64();
        let trials = report.results.counts().paid;
        let more = (timed * 10).min(budget.trials.map_or(u64::MAX, |trials| trials / 10));
        if seconds < CALIBRATION_SECONDS && more > timed && trials == timed {
            timed = more;
            continue;
        }
        let calibration = Calibration::Timed { trials, seconds, setup_seconds: total - seconds };
        return project(calibration, trials as f64 / seconds, total - seconds, &budget, cost);
    }
}

/// Calibration runs shorter than this are repeated with ten times the trials.
pub const CALIBRATION_SECONDS: f64 = 1.0;

/// The cost of study `study` with its stored budget, calibrated by its own finished paid trials.
pub fn estimate_from_study(study: &StudyHandle, cost: &CostRequest) -> Result<CostEstimate> {
    let trials = study.trials()?;
    let paid: Vec<_> = trials.iter().filter(|t| t.is_paid() && t.finished_at.is_some()).collect();
    let (Some(first), Some(last)) = (
        paid.iter().map(|t| t.started_at).reduce(f64::min),
        paid.iter().filter_map(|t| t.finished_at).reduce(f64::max),
    ) else {
        invalid!("study '{}' has no finished paid trial to calibrate from", study.name());
    };
    let seconds = (last - first).max(f64::EPSILON);
    let calibration = Calibration::Study { trials: paid.len() as u64, seconds };
    project(calibration, paid.len() as f64 / seconds, 0.0, &study.config().budget, cost)
}

const MEMORY: &str = "sqlite::memory:";

/// The budget's trials at `rate` trials per second after `setup` seconds, priced.
fn project(
    calibration: Calibration,
    rate: f64,
    setup: f64,
    budget: &Budget,
    cost: &CostRequest,
) -> Result<CostEstimate> {
    let by_trials = budget.trials.map(|trials| setup + trials as f64 / rate);
    let by_time = budget.time()?.map(|time| time.as_secs_f64());
    let (wall_seconds, limited_by) = match (by_trials, by_time) {
        (Some(trials), Some(time)) if time < trials => (time, "time"),
        (Some(trials), _) => (trials, "trials"),
        (None, Some(time)) => (time, "time"),
        (None, None) => invalid!("the search has no budget: give it --trials or --time-budget"),
    };
    let trials = match limited_by {
        "trials" => budget.trials,
        _ => Some(((wall_seconds - setup).max(0.0) * rate).floor() as u64),
    };
    let device_hours = wall_seconds / 3600.0;
    Ok(CostEstimate {
        calibration,
        trials_per_second: rate,
        trials,
        limited_by,
        wall_seconds,
        device_hours,
        energy_kwh: device_hours * cost.watts / 1000.0,
        money: device_hours * cost.price_per_device_hour,
    })
}
