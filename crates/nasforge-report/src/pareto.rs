//! The trade-offs of a study with several objectives: each pair of its first objectives as a scatter with
//! that pair's Pareto front, and the hypervolume of the study's front as trials finished.

use nasforge_core::pareto::hypervolume;
use nasforge_core::{Objective, Objectives, Outcome, TrialRecord};
use nasforge_engine::{Hypervolume, scored_trials};

use crate::chart::{Chart, MUTED, PALETTE, Series, Style};
use crate::downsample::{evenly_spaced, min_max_downsample};
use crate::markup::{rounded, time_unit};

/// Pairs are drawn among this many first objectives (4 objectives: 6 pairs).
pub const PAIRED_OBJECTIVES: usize = 4;

/// One pair of objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPair {
    pub x: Objective,
    pub y: Objective,
    /// (x, y) of feasible complete trials, downsampled.
    pub feasible: Vec<(f64, f64)>,
    /// (x, y) of complete trials that break a constraint, downsampled.
    pub infeasible: Vec<(f64, f64)>,
    /// The pair's own front among feasible trials: (trial id, x, y), by increasing x.
    pub front: Vec<(u64, f64, f64)>,
}

/// The hypervolume once `trials` trials had finished, `seconds` after the first trial started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HypervolumePoint {
    pub trials: usize,
    pub seconds: f64,
    pub value: f64,
}

/// The Pareto view of a study with at least two objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoView {
    pub pairs: Vec<ParetoPair>,
    /// The hypervolume of the feasible front of the trials finished so far, measured from the study's
    /// reference point (the worst feasible value of each objective, as `nasforge pareto` gives it), at up to
    /// `max_points` moments.
    pub hypervolume: Vec<HypervolumePoint>,
    /// The reference point, raw, with each objective's metric.
    pub reference: Vec<(String, f64)>,
}

impl ParetoView {
    /// The view of `trials` under `objectives` (`None` with a single objective); `reference` is the study's
    /// hypervolume ([`nasforge_engine::ParetoFront::hypervolume`]), `None` without a feasible trial.
    pub fn new(
        trials: &[TrialRecord],
        objectives: &Objectives,
        reference: Option<&Hypervolume>,
        max_points: usize,
    ) -> Option<ParetoView> {
        if objectives.len() < 2 {
            return None;
        }
        let scored = scored_trials(trials, objectives);
        let paired = objectives.len().min(PAIRED_OBJECTIVES);
        let mut pairs = Vec::new();
        for i in 0..paired {
            for j in i + 1..paired {
                pairs.push(pair(&scored, objectives, i, j, max_points));
            }
        }
        let origin = trials.iter().map(|t| t.started_at).fold(f64::INFINITY, f64::min);
        let hypervolume = match reference {
            Some(reference) => hypervolume_over_time(&scored, objectives, reference, origin, max_points),
            None => vec![],
        };
        Some(ParetoView { pairs, hypervolume, reference: reference.map(|r| r.reference.clone()).unwrap_or_default() })
    }
}

fn pair(
    scored: &[(&TrialRecord, Outcome)],
    objectives: &Objectives,
    i: usize,
    j: usize,
    max_points: usize,
) -> ParetoPair {
    let (x, y) = (&objectives.objectives[i], &objectives.objectives[j]);
    let raw = |o: &Outcome| (x.orient(o.scores[i]), y.orient(o.scores[j]));
    let mut feasible: Vec<(f64, f64)> = scored.iter().filter(|(_, o)| o.is_feasible()).map(|(_, o)| raw(o)).collect();
    let mut infeasible: Vec<(f64, f64)> =
        scored.iter().filter(|(_, o)| !o.is_feasible()).map(|(_, o)| raw(o)).collect();
    feasible.sort_by(|a, b| a.0.total_cmp(&b.0));
    infeasible.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The pair's front: by the first score, best first (ties: best second score first), keep each point
    // whose second score beats every point before it.
    let mut candidates: Vec<(&TrialRecord, f64, f64)> =
        scored.iter().filter(|(_, o)| o.is_feasible()).map(|(t, o)| (*t, o.scores[i], o.scores[j])).collect();
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)));
    let mut front = Vec::new();
    let mut best_second = f64::NEG_INFINITY;
    for (trial, first, second) in candidates {
        if second > best_second {
            best_second = second;
            front.push((trial.id, x.orient(first), y.orient(second)));
        }
    }
    front.sort_by(|a, b| a.1.total_cmp(&b.1));
    ParetoPair {
        x: x.clone(),
        y: y.clone(),
        feasible: min_max_downsample(&feasible, max_points, |p| p.1),
        infeasible: min_max_downsample(&infeasible, max_points, |p| p.1),
        front,
    }
}

/// The front's hypervolume after each finished feasible trial (at `max_points` of them at most), the front
/// kept up to date one trial at a time.
fn hypervolume_over_time(
    scored: &[(&TrialRecord, Outcome)],
    objectives: &Objectives,
    reference: &Hypervolume,
    origin: f64,
    max_points: usize,
) -> Vec<HypervolumePoint> {
    let nadir: Vec<f64> =
        objectives.objectives.iter().zip(&reference.reference).map(|(o, (_, value))| o.orient(*value)).collect();
    let mut finished: Vec<(f64, &Outcome)> = scored
        .iter()
        .filter(|(_, o)| o.is_feasible())
        .map(|(t, o)| (t.finished_at.unwrap_or(t.started_at) - origin, o))
        .collect();
    finished.sort_by(|a, b| a.0.total_cmp(&b.0));
    let measured = evenly_spaced(finished.len(), max_points.max(2));
    let mut front: Vec<&Outcome> = Vec::new();
    let mut points = Vec::with_capacity(measured.len());
    let mut next = measured.iter().peekable();
    for (k, &(seconds, outcome)) in finished.iter().enumerate() {
        if !front.iter().any(|f| f.dominates(outcome) || f.scores == outcome.scores) {
            front.retain(|f| !outcome.dominates(f));
            front.push(outcome);
        }
        if next.next_if_eq(&&k).is_some() {
            let scores: Vec<Vec<f64>> = front.iter().map(|o| o.scores.clone()).collect();
            points.push(HypervolumePoint { trials: k + 1, seconds, value: hypervolume(&scores, &nadir) });
        }
    }
    points
}

/// One scatter per pair of objectives, the pair's front drawn as a line: `<svg>` charts.
pub fn pareto_svg(view: &ParetoView) -> String {
    let mut html = String::new();
    for pair in &view.pairs {
        let tooltips =
            pair.front.iter().map(|(id, x, y)| format!("trial {id}: {} {}", rounded(*x), rounded(*y))).collect();
        let front_points = pair.front.iter().map(|&(_, x, y)| (x, y)).collect();
        let chart = Chart::new(format!("{} against {}", pair.y, pair.x), pair.x.to_string(), pair.y.to_string())
            .with(Series::new("infeasible", MUTED, Style::Points { hollow: true }, pair.infeasible.clone()))
            .with(Series::new("trial", PALETTE[0], Style::Points { hollow: true }, pair.feasible.clone()))
            .with(Series::new("front", PALETTE[1], Style::LineAndPoints, front_points).with_tooltips(tooltips));
        html.push_str(&chart.to_svg());
    }
    html
}

/// The hypervolume against wall-clock time: an `<svg>` chart.
pub fn hypervolume_svg(view: &ParetoView) -> String {
    let span = view.hypervolume.last().map_or(0.0, |p| p.seconds);
    let (divisor, unit) = time_unit(span);
    let points = view.hypervolume.iter().map(|p| (p.seconds / divisor, p.value)).collect();
    let tooltips = view.hypervolume.iter().map(|p| format!("{} trials: {:.6e}", p.trials, p.value)).collect();
    Chart::new("hypervolume of the front over time", format!("{unit} since the first trial started"), "hypervolume")
        .with(Series::new("hypervolume", PALETTE[2], Style::Step, points).with_tooltips(tooltips))
        .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trials::{objectives, trial};
    use nasforge_core::TrialState;

    fn study() -> Vec<TrialRecord> {
        [(90.0, 500.0), (80.0, 100.0), (85.0, 600.0), (70.0, 50.0), (95.0, 900.0)]
            .iter()
            .enumerate()
            .map(|(i, &(acc, params))| {
                trial(i as u64, TrialState::Complete, &[("acc", acc), ("params", params)], 10.0 * i as f64)
            })
            .collect()
    }

    #[test]
    fn a_single_objective_has_no_pareto_view() {
        assert!(ParetoView::new(&study(), &objectives(&["acc:max"]), None, 100).is_none());
    }

    #[test]
    fn the_pairs_front_and_the_final_hypervolume_match_the_study() {
        let objectives = objectives(&["acc:max", "params:min"]);
        let trials = study();
        let reference = Hypervolume { value: 0.0, reference: vec![("acc".into(), 70.0), ("params".into(), 900.0)] };
        let view = ParetoView::new(&trials, &objectives, Some(&reference), 100).unwrap();
        assert_eq!(view.pairs.len(), 1);
        let front: Vec<u64> = view.pairs[0].front.iter().map(|p| p.0).collect();
        assert_eq!(front, vec![3, 1, 0, 4], "trial 2 (85, 600) is dominated by trial 0 (90, 500)");
        let scores: Vec<Vec<f64>> =
            [(90.0, 500.0), (80.0, 100.0), (70.0, 50.0), (95.0, 900.0)].iter().map(|&(a, p)| vec![a, -p]).collect();
        let expected = hypervolume(&scores, &[70.0, -900.0]);
        assert_eq!(view.hypervolume.len(), 5);
        assert_eq!(view.hypervolume.last().unwrap().value, expected);
        assert!(view.hypervolume.windows(2).all(|w| w[0].value <= w[1].value), "the hypervolume never drops");
        let svg = pareto_svg(&view) + &hypervolume_svg(&view);
        assert_eq!(svg.matches("<svg").count(), 2);
    }

    #[test]
    fn several_objectives_give_one_chart_per_pair() {
        let objectives = objectives(&["acc:max", "params:min", "flops:min"]);
        let trials: Vec<TrialRecord> = (0..4)
            .map(|i| {
                let v = i as f64;
                trial(i, TrialState::Complete, &[("acc", v), ("params", v), ("flops", 4.0 - v)], v)
            })
            .collect();
        let view = ParetoView::new(&trials, &objectives, None, 100).unwrap();
        assert_eq!(view.pairs.len(), 3);
        assert!(view.hypervolume.is_empty());
    }
}
