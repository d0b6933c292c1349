//! The view model of a study's report: every section's data, computed once from the study's results,
//! downsampled for plotting. The HTML page and the dashboard render its parts.

use nasforge_core::{Objectives, TrialRecord, TrialState};
use nasforge_engine::{Hypervolume, StudyResults, TrialCounts};

use crate::ReportError;
use crate::architecture::Architecture;
use crate::choices::ChoiceUsage;
use crate::curves::LearningCurves;
use crate::history::History;
use crate::pareto::ParetoView;
use crate::trial_table::metric_columns;

/// How much a report shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportOptions {
    /// Points per cloud of a plot at most (more trials are downsampled, each bucket's extremes kept).
    pub max_points: usize,
    /// Learning curves drawn at most (spread over the study).
    pub max_curves: usize,
    /// The share of complete trials whose choices count as the good cells' (at least one trial).
    pub top_fraction: f64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { max_points: 5000, max_curves: 200, top_fraction: 0.1 }
    }
}

/// The best trial and its architecture, read in the study's space.
#[derive(Debug, Clone, PartialEq)]
pub struct BestTrial {
    pub trial: TrialRecord,
    pub architecture: Architecture,
}

/// Everything a study's report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyReport {
    pub study: String,
    pub space: &'static str,
    pub objectives: Objectives,
    pub counts: TrialCounts,
    /// Pruned paid trials.
    pub pruned: usize,
    /// Every trial, by id (the table pages through them).
    pub trials: Vec<TrialRecord>,
    /// The metric columns of the trial table.
    pub table_metrics: Vec<String>,
    pub history: History,
    /// With two objectives or more.
    pub pareto: Option<ParetoView>,
    /// The front's hypervolume and its reference point, as `nasforge pareto` gives them.
    pub hypervolume: Option<Hypervolume>,
    /// When trials reported intermediate results.
    pub curves: Option<LearningCurves>,
    /// When some trial is complete.
    pub choices: Option<ChoiceUsage>,
    pub best: Option<BestTrial>,
}

impl StudyReport {
    pub fn new(results: &StudyResults, options: &ReportOptions) -> Result<StudyReport, ReportError> {
        let objectives = results.objectives();
        let space = &results.config.space;
        let hypervolume = if objectives.len() > 1 { results.pareto().hypervolume } else { None };
        let best = match results.best() {
            Some(trial) => Some(BestTrial {
                trial: trial.clone(),
                architecture: Architecture::parse(space, trial.id, &trial.arch)?,
            }),
            None => None,
        };
        Ok(StudyReport {
            study: results.name.clone(),
            space: space.name(),
            objectives: objectives.clone(),
            counts: results.counts(),
            pruned: results.trials.iter().filter(|t| t.is_paid() && t.state == TrialState::Pruned).count(),
            table_metrics: metric_columns(&results.config.metrics(), &results.trials),
            history: History::new(&results.trials, objectives, options.max_points),
            pareto: ParetoView::new(&results.trials, objectives, hypervolume.as_ref(), options.max_points),
            hypervolume,
            curves: LearningCurves::new(&results.trials, objectives, options.max_curves),
            choices: ChoiceUsage::new(space, &results.trials, objectives, options.top_fraction)?,
            best,
            trials: results.trials.clone(),
        })
    }

    /// Whether the study has no trial at all.
    pub fn is_empty(&self) -> bool {
        self.trials.is_empty()
    }
}
