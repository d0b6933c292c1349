//! Learning curves: the intermediate results of trained trials (one line per trial, against the epoch or
//! the scheduler's resource), pruned trials drawn apart from those that ran to the end.

use nasforge_core::{Metrics, Objectives, TrialRecord, TrialState};

use crate::chart::{Chart, MUTED, PALETTE, Series, Style};
use crate::downsample::evenly_spaced;

/// The intermediate metric that counts the resource spent, when reported.
pub const RESOURCE: &str = "epoch";

/// One trial's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub trial: u64,
    pub pruned: bool,
    /// (resource, value) in the order reported.
    pub points: Vec<(f64, f64)>,
}

/// The learning curves of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningCurves {
    /// The metric drawn: the first objective's when the curves report it, else the first they report.
    pub metric: String,
    /// The x axis: `epoch` when reported, else the report's number (from 1).
    pub resource: String,
    /// At most `max_curves` curves spread over the study's trials, in trial order.
    pub curves: Vec<Curve>,
    /// Trials with a curve, drawn or not.
    pub trials_with_curves: usize,
}

impl LearningCurves {
    /// The curves of `trials`' paid, finished trials; `None` when no trial reported intermediate results.
    pub fn new(trials: &[TrialRecord], objectives: &Objectives, max_curves: usize) -> Option<LearningCurves> {
        let with_curves: Vec<&TrialRecord> =
            trials.iter().filter(|t| t.is_paid() && t.state.is_finished() && !t.intermediate.is_empty()).collect();
        let reported = |name: &str| with_curves.iter().any(|t| t.intermediate.iter().any(|m| m.contains_key(name)));
        let first_objective = &objectives.objectives[0].metric;
        let metric = if reported(first_objective) {
            first_objective.clone()
        } else {
            with_curves
                .iter()
                .flat_map(|t| t.intermediate.iter().flat_map(Metrics::keys))
                .find(|k| *k != RESOURCE)?
                .clone()
        };
        let resource = if reported(RESOURCE) { RESOURCE } else { "report" };
        let curves = evenly_spaced(with_curves.len(), max_curves)
            .into_iter()
            .map(|k| {
                let trial = with_curves[k];
                let points = (trial.intermediate.iter().enumerate())
                    .filter_map(|(i, m)| {
                        let x = m.get(RESOURCE).copied().unwrap_or((i + 1) as f64);
                        Some((x, *m.get(&metric)?))
                    })
                    .collect();
                Curve { trial: trial.id, pruned: trial.state == TrialState::Pruned, points }
            })
            .collect();
        Some(LearningCurves { metric, resource: resource.to_string(), curves, trials_with_curves: with_curves.len() })
    }
}

/// The curves as one `<svg>` chart: complete trials in colour, pruned ones dashed grey.
pub fn curves_svg(curves: &LearningCurves) -> String {
    let mut chart =
        Chart::new(format!("learning curves ({})", curves.metric), curves.resource.as_str(), curves.metric.as_str());
    let (mut complete_named, mut pruned_named) = (false, false);
    for curve in &curves.curves {
        let (name, color, style) = if curve.pruned {
            let name = if pruned_named { "" } else { "pruned" };
            pruned_named = true;
            (name, MUTED, Style::Line { dashed: true })
        } else {
            let name = if complete_named { "" } else { "complete" };
            complete_named = true;
            (name, PALETTE[0], Style::Line { dashed: false })
        };
        chart = chart.with(Series::new(name, color, style, curve.points.clone()));
    }
    chart.to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trials::{objectives, trial};

    fn trained(id: u64, state: TrialState, values: &[f64]) -> TrialRecord {
        let mut t = trial(id, state, &[("acc", values[values.len() - 1])], 0.0);
        t.intermediate = (values.iter().enumerate())
            .map(|(e, &v)| Metrics::from([("epoch".to_string(), (e + 1) as f64), ("acc".to_string(), v)]))
            .collect();
        t
    }

    #[test]
    fn curves_follow_the_epochs_and_mark_pruned_trials() {
        let trials = vec![
            trained(0, TrialState::Complete, &[50.0, 60.0, 70.0]),
            trained(1, TrialState::Pruned, &[40.0]),
            trial(2, TrialState::Complete, &[("acc", 1.0)], 0.0),
        ];
        let curves = LearningCurves::new(&trials, &objectives(&["acc:max"]), 10).unwrap();
        assert_eq!((curves.metric.as_str(), curves.resource.as_str()), ("acc", "epoch"));
        assert_eq!(curves.curves.len(), 2);
        assert_eq!(curves.curves[0].points, vec![(1.0, 50.0), (2.0, 60.0), (3.0, 70.0)]);
        assert!(curves.curves[1].pruned && !curves.curves[0].pruned);
        let svg = curves_svg(&curves);
        assert!(svg.contains("stroke-dasharray") && svg.contains(">pruned</text>"));
    }

    #[test]
    fn a_study_without_curves_has_none_and_many_are_thinned() {
        let plain = vec![trial(0, TrialState::Complete, &[("acc", 1.0)], 0.0)];
        assert!(LearningCurves::new(&plain, &objectives(&["acc:max"]), 10).is_none());
        let many: Vec<TrialRecord> = (0..1000).map(|i| trained(i, TrialState::Complete, &[1.0, 2.0])).collect();
        let curves = LearningCurves::new(&many, &objectives(&["acc:max"]), 50).unwrap();
        assert_eq!((curves.curves.len(), curves.trials_with_curves), (50, 1000));
    }
}
