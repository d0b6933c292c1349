//! The optimisation history: every paid trial's value of the first objective and the best so far, against
//! the trial number and against wall-clock time since the study's first trial started.

use nasforge_core::{Objective, Objectives, Outcome, TrialRecord, TrialState};
use nasforge_engine::scored_trials;

use crate::chart::{Chart, MUTED, PALETTE, Series, Style};
use crate::downsample::min_max_downsample;
use crate::markup::time_unit;

/// The history against one x axis (trial number, or seconds since the first trial started).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistorySeries {
    /// (x, value) of complete trials, downsampled.
    pub complete: Vec<(f64, f64)>,
    /// (x, last reported value) of pruned trials, downsampled.
    pub pruned: Vec<(f64, f64)>,
    /// The best so far (Deb's rules: feasible first) at each trial that improved it, then at the last
    /// complete trial: a staircase.
    pub best_so_far: Vec<(f64, f64)>,
}

/// The history of a study's first objective.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub objective: Objective,
    pub by_trial: HistorySeries,
    pub by_time: HistorySeries,
    /// Seconds from the first trial's start to the last finish.
    pub span_seconds: f64,
}

impl History {
    /// The history of `trials` (in id order); at most `max_points` points per cloud.
    pub fn new(trials: &[TrialRecord], objectives: &Objectives, max_points: usize) -> History {
        let objective = objectives.objectives[0].clone();
        let origin = trials.iter().map(|t| t.started_at).fold(f64::INFINITY, f64::min);
        let seconds = |t: &TrialRecord| t.finished_at.unwrap_or(t.started_at) - origin;
        let scored = scored_trials(trials, objectives);
        let pruned: Vec<&TrialRecord> =
            trials.iter().filter(|t| t.is_paid() && t.state == TrialState::Pruned).collect();
        let value = |t: &TrialRecord| t.metrics.get(&objective.metric).copied();

        let series = |x: &dyn Fn(&TrialRecord) -> f64| {
            let mut scored: Vec<(f64, &Outcome, f64)> =
                scored.iter().filter_map(|(t, o)| Some((x(t), o, value(t)?))).collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            let complete: Vec<(f64, f64)> = scored.iter().map(|&(x, _, v)| (x, v)).collect();
            let mut pruned: Vec<(f64, f64)> = pruned.iter().filter_map(|t| Some((x(t), value(t)?))).collect();
            pruned.sort_by(|a, b| a.0.total_cmp(&b.0));
            HistorySeries {
                complete: min_max_downsample(&complete, max_points, |p| p.1),
                pruned: min_max_downsample(&pruned, max_points, |p| p.1),
                best_so_far: best_so_far(&scored),
            }
        };
        let by_trial = series(&|t| t.id as f64);
        let by_time = series(&seconds);
        let span_seconds = trials.iter().map(seconds).fold(0.0, f64::max);
        History { objective, by_trial, by_time, span_seconds }
    }
}

/// The staircase of the best outcome so far over `(x, outcome, value)` sorted by x.
fn best_so_far(scored: &[(f64, &Outcome, f64)]) -> Vec<(f64, f64)> {
    let mut steps: Vec<(f64, f64)> = Vec::new();
    let mut best: Option<&Outcome> = None;
    for &(x, outcome, value) in scored {
        if best.is_none_or(|b| outcome.better_than(b)) {
            best = Some(outcome);
            steps.push((x, value));
        }
    }
    if let (Some(&(last_x, _, _)), Some(&(best_x, best_value))) = (scored.last(), steps.last())
        && best_x < last_x
    {
        steps.push((last_x, best_value));
    }
    steps
}

/// The history against the trial number and against wall-clock time: two `<svg>` charts.
pub fn history_svg(history: &History) -> String {
    let metric = history.objective.to_string();
    let chart = |series: &HistorySeries, title: &str, x_label: &str, scale: f64| {
        let scaled = |points: &[(f64, f64)]| points.iter().map(|&(x, y)| (x / scale, y)).collect::<Vec<_>>();
        Chart::new(title, x_label, metric.as_str())
            .with(Series::new("pruned", MUTED, Style::Points { hollow: true }, scaled(&series.pruned)))
            .with(Series::new("trial", PALETTE[0], Style::Points { hollow: false }, scaled(&series.complete)))
            .with(Series::new("best so far", PALETTE[1], Style::Step, scaled(&series.best_so_far)))
            .to_svg()
    };
    let (divisor, unit) = time_unit(history.span_seconds);
    format!(
        "{}{}",
        chart(&history.by_trial, &format!("{metric} by trial"), "trial number", 1.0),
        chart(
            &history.by_time,
            &format!("{metric} over time"),
            &format!("{unit} since the first trial started"),
            divisor
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trials::{objectives, trial};

    #[test]
    fn the_best_so_far_only_improves_and_reaches_the_last_trial() {
        let trials = vec![
            trial(0, TrialState::Complete, &[("acc", 50.0)], 0.0),
            trial(1, TrialState::Complete, &[("acc", 70.0)], 10.0),
            trial(2, TrialState::Complete, &[("acc", 60.0)], 20.0),
            trial(3, TrialState::Pruned, &[("acc", 10.0)], 30.0),
            trial(4, TrialState::Complete, &[("acc", 65.0)], 40.0),
        ];
        let history = History::new(&trials, &objectives(&["acc:max"]), 100);
        assert_eq!(history.by_trial.best_so_far, vec![(0.0, 50.0), (1.0, 70.0), (4.0, 70.0)]);
        assert_eq!(history.by_trial.complete.len(), 4);
        assert_eq!(history.by_trial.pruned, vec![(3.0, 10.0)]);
        // Finished 5 s after starting: wall-clock x is the finish time since the first start.
        assert_eq!(history.by_time.best_so_far, vec![(5.0, 50.0), (15.0, 70.0), (45.0, 70.0)]);
        assert_eq!(history.span_seconds, 45.0);
    }

    #[test]
    fn minimised_objectives_improve_downwards() {
        let trials = vec![
            trial(0, TrialState::Complete, &[("loss", 2.0)], 0.0),
            trial(1, TrialState::Complete, &[("loss", 3.0)], 1.0),
            trial(2, TrialState::Complete, &[("loss", 1.0)], 2.0),
        ];
        let history = History::new(&trials, &objectives(&["loss:min"]), 100);
        assert_eq!(history.by_trial.best_so_far, vec![(0.0, 2.0), (2.0, 1.0)]);
    }

    #[test]
    fn many_trials_are_downsampled_but_the_best_is_kept() {
        let trials: Vec<TrialRecord> = (0..20_000)
            .map(|i| trial(i, TrialState::Complete, &[("acc", ((i * 7919) % 10_007) as f64)], i as f64))
            .collect();
        let history = History::new(&trials, &objectives(&["acc:max"]), 500);
        assert!(history.by_trial.complete.len() <= 500);
        assert!(history.by_trial.complete.iter().any(|p| p.1 == 10_006.0));
        assert_eq!(history.by_trial.best_so_far.last().map(|p| p.1), Some(10_006.0));
        assert_eq!(history_svg(&history).matches("<svg").count(), 2);
    }
}
