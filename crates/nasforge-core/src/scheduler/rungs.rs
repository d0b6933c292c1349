//! The record of what every trial reported at each rung of its bracket, and the rung decision.

use std::collections::HashMap;

use super::{CurvePrediction, SchedulerConfig, SchedulerKind, extrapolate};
use crate::trial::{Metrics, TrialRecord, TrialState};

/// What the scheduler says after an intermediate result.
#[derive(Debug, Clone, PartialEq)]
pub enum RungDecision {
    /// Not at a rung, or among the best 1/η there.
    Continue,
    /// At rung `rung`, `better` of the `recorded` trials of the bracket there did better.
    Stop { rung: f64, better: usize, recorded: usize },
    /// At `resource`, the extrapolated final value had `probability` to beat the best finished trial.
    Extrapolated { resource: f64, prediction: CurvePrediction, incumbent: f64, probability: f64 },
}

impl RungDecision {
    /// Why a stopped trial stopped, for its record.
    pub fn reason(&self, resource: &str) -> Option<String> {
        match self {
            RungDecision::Continue => None,
            RungDecision::Stop { rung, better, recorded } => Some(format!(
                "stopped by the scheduler at rung {resource} = {rung}: {better} of the {recorded} trials there did better"
            )),
            RungDecision::Extrapolated { resource: at, prediction, incumbent, probability } => Some(format!(
                "stopped by learning-curve extrapolation at {resource} = {at}: predicted final {:.4} ± {:.4}, \
                 chance to beat the best finished trial ({incumbent:.4}) {probability:.3}",
                prediction.mean, prediction.std
            )),
        }
    }
}

/// Each trial's bracket and its values at its bracket's rungs, kept up to date from trial records.
#[derive(Debug, Clone)]
pub struct RungTable {
    config: SchedulerConfig,
    /// The metric compared at the rungs and whether larger is better.
    metric: String,
    maximize: bool,
    /// Trial id → (bracket, value at each rung of the bracket, where it reported one).
    trials: HashMap<u64, (usize, Vec<Option<f64>>)>,
    /// The best final value of a complete trial (learning-curve extrapolation compares with it).
    incumbent: Option<f64>,
}

impl RungTable {
    pub fn new(config: SchedulerConfig, metric: impl Into<String>, maximize: bool) -> Self {
        RungTable { config, metric: metric.into(), maximize, trials: HashMap::new(), incumbent: None }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Reads (again) what a trial reported.
    pub fn record(&mut self, trial: &TrialRecord) {
        let bracket = self.config.bracket_of(trial.seed);
        let values = self.rung_values(bracket, &trial.intermediate);
        self.trials.insert(trial.id, (bracket, values));
        if trial.state == TrialState::Complete
            && let Some(value) = trial.metrics.get(&self.metric).copied().filter(|v| v.is_finite())
            && self.incumbent.is_none_or(|best| self.better(value, best))
        {
            self.incumbent = Some(value);
        }
    }

    fn better(&self, a: f64, b: f64) -> bool {
        if self.maximize { a > b } else { a < b }
    }

    /// Learning-curve extrapolation's decision after the last report of `curve`.
    fn extrapolation_decision(&self, curve: &[Metrics], resource: f64) -> RungDecision {
        let (config, metric) = (&self.config, &self.metric);
        let Some(incumbent) = self.incumbent else { return RungDecision::Continue };
        if resource < config.min_resource * (1.0 - 1e-9) || resource >= config.max_resource * (1.0 - 1e-9) {
            return RungDecision::Continue;
        }
        let points: Vec<(f64, f64)> =
            curve.iter().filter_map(|m| Some((*m.get(&config.resource)?, *m.get(metric)?))).collect();
        let (xs, ys): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
        let Some(prediction) = extrapolate(&xs, &ys, config.max_resource, self.maximize) else {
            return RungDecision::Continue;
        };
        let probability = prediction.probability_to_beat(incumbent, self.maximize);
        if probability < config.stop_probability {
            RungDecision::Extrapolated { resource, prediction, incumbent, probability }
        } else {
            RungDecision::Continue
        }
    }

    /// The value reported at each rung of `bracket`: the first report whose resource reached the rung.
    fn rung_values(&self, bracket: usize, curve: &[Metrics]) -> Vec<Option<f64>> {
        self.config
            .rungs(bracket)
            .iter()
            .map(|&level| {
                curve
                    .iter()
                    .find(|m| m.get(&self.config.resource).is_some_and(|r| *r >= level * (1.0 - 1e-9)))
                    .and_then(|m| m.get(&self.metric).copied())
                    .filter(|v| v.is_finite())
            })
            .collect()
    }

    /// The decision after the last report of `curve`, trial `id` (seeded by `seed`) having reported it.
    /// Records the trial's values. An intermediate result without the resource or the metric is an error
    /// naming it.
    pub fn decide(&mut self, id: u64, seed: u64, curve: &[Metrics]) -> Result<RungDecision, String> {
        let Some(last) = curve.last() else { return Ok(RungDecision::Continue) };
        let resource = *last.get(&self.config.resource).ok_or_else(|| {
            format!("the scheduler needs `{}` in every intermediate result; this one has none", self.config.resource)
        })?;
        if !last.contains_key(&self.metric) {
            return Err(format!("the scheduler compares `{}`, which an intermediate result lacks", self.metric));
        }
        if self.config.kind == SchedulerKind::Curve {
            return Ok(self.extrapolation_decision(curve, resource));
        }
        let bracket = self.config.bracket_of(seed);
        let previous = curve.len().checked_sub(2).and_then(|i| curve[i].get(&self.config.resource).copied());
        let reached = self
            .config
            .rungs(bracket)
            .iter()
            .enumerate()
            .filter(|(_, level)| {
                resource >= **level * (1.0 - 1e-9) && previous.is_none_or(|p| p < **level * (1.0 - 1e-9))
            })
            .map(|(index, level)| (index, *level))
            .next_back();
        let values = self.rung_values(bracket, curve);
        self.trials.insert(id, (bracket, values.clone()));
        let Some((index, level)) = reached else { return Ok(RungDecision::Continue) };
        let Some(mine) = values[index] else { return Ok(RungDecision::Continue) };
        let at_rung: Vec<f64> =
            self.trials.values().filter(|(b, _)| *b == bracket).filter_map(|(_, values)| values[index]).collect();
        let better = at_rung.iter().filter(|v| if self.maximize { **v > mine } else { **v < mine }).count();
        if (better as f64) < at_rung.len() as f64 / self.config.eta {
            Ok(RungDecision::Continue)
        } else {
            Ok(RungDecision::Stop { rung: level, better, recorded: at_rung.len() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asha(min: f64, max: f64, eta: f64) -> SchedulerConfig {
        SchedulerConfig {
            kind: SchedulerKind::Asha,
            resource: "epoch".into(),
            min_resource: min,
            max_resource: max,
            eta,
            stop_probability: 0.05,
        }
    }

    fn curve(values: &[f64]) -> Vec<Metrics> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Metrics::from([("epoch".to_string(), (i + 1) as f64), ("acc".to_string(), *v)]))
            .collect()
    }

    #[test]
    fn rungs_are_geometric_below_the_maximum() {
        assert_eq!(asha(1.0, 27.0, 3.0).rungs(0), vec![1.0, 3.0, 9.0]);
        let hyperband = SchedulerConfig { kind: SchedulerKind::Hyperband, ..asha(1.0, 27.0, 3.0) };
        assert_eq!(hyperband.brackets(), 4);
        assert_eq!(hyperband.rungs(1), vec![3.0, 9.0]);
        assert_eq!(hyperband.rungs(3), Vec::<f64>::new());
    }

    #[test]
    fn a_trial_goes_on_only_within_the_top_third_of_its_rung() {
        // Scripted curves of five trials reporting in turn at epochs 1..3, η = 3, rungs at 1 and 3 (max 9).
        let mut table = RungTable::new(asha(1.0, 9.0, 3.0), "acc", true);
        // Trial 0 alone at rung 1: 0 better < 1/3 → goes on.
        assert_eq!(table.decide(0, 0, &curve(&[0.5])).unwrap(), RungDecision::Continue);
        // Trial 1 worse: 1 better, not < 2/3 → stops at rung 1.
        assert_eq!(
            table.decide(1, 0, &curve(&[0.4])).unwrap(),
            RungDecision::Stop { rung: 1.0, better: 1, recorded: 2 }
        );
        // Trial 2 better than both → goes on; trial 3 second of four: 1 < 4/3 → goes on.
        assert_eq!(table.decide(2, 0, &curve(&[0.7])).unwrap(), RungDecision::Continue);
        assert_eq!(table.decide(3, 0, &curve(&[0.6])).unwrap(), RungDecision::Continue);
        // Trial 4 third of five: 2 better, not < 5/3 → stops.
        assert!(matches!(table.decide(4, 0, &curve(&[0.55])).unwrap(), RungDecision::Stop { better: 2, .. }));
        // Between rungs nothing is decided, even for a poor value.
        assert_eq!(table.decide(0, 0, &curve(&[0.5, 0.1])).unwrap(), RungDecision::Continue);
        // At rung 3, trial 0 is first there → goes on; trial 2 second of two → stops.
        assert_eq!(table.decide(0, 0, &curve(&[0.5, 0.1, 0.8])).unwrap(), RungDecision::Continue);
        assert_eq!(
            table.decide(2, 0, &curve(&[0.7, 0.7, 0.75])).unwrap(),
            RungDecision::Stop { rung: 3.0, better: 1, recorded: 2 }
        );
    }

    #[test]
    fn minimised_metrics_and_missing_values_are_handled() {
        let mut table = RungTable::new(asha(1.0, 9.0, 2.0), "acc", false);
        assert_eq!(table.decide(0, 0, &curve(&[0.5])).unwrap(), RungDecision::Continue);
        assert_eq!(table.decide(1, 0, &curve(&[0.2])).unwrap(), RungDecision::Continue, "lower is better here");
        let no_resource = vec![Metrics::from([("acc".to_string(), 1.0)])];
        assert!(table.decide(2, 0, &no_resource).unwrap_err().contains("`epoch`"));
    }

    #[test]
    fn extrapolation_stops_a_curve_that_cannot_catch_the_best_finished_trial() {
        let config = SchedulerConfig { kind: SchedulerKind::Curve, ..asha(3.0, 30.0, 3.0) };
        let mut table = RungTable::new(config, "acc", true);
        let power =
            |level: f64, n: usize| -> Vec<f64> { (1..=n).map(|x| level - 0.4 * (x as f64).powf(-0.7)).collect() };
        // Without a finished trial there is nothing to beat.
        assert_eq!(table.decide(0, 0, &curve(&power(0.6, 5))).unwrap(), RungDecision::Continue);
        let finished = TrialRecord {
            id: 1,
            arch: String::new(),
            arch_json: String::new(),
            canonical: String::new(),
            state: TrialState::Complete,
            metrics: Metrics::from([("acc".to_string(), 0.85)]),
            intermediate: curve(&power(0.86, 30)),
            cached_from: None,
            seed: 0,
            error: None,
            started_at: 0.0,
            finished_at: None,
            attempts: 1,
            worker: None,
        };
        table.record(&finished);
        // Heading for 0.6: stopped at epoch 3, the first decision point, with its prediction.
        match table.decide(2, 0, &curve(&power(0.6, 3))).unwrap() {
            RungDecision::Extrapolated { resource, prediction, incumbent, probability } => {
                assert_eq!((resource, incumbent), (3.0, 0.85));
                let truth = power(0.6, 30)[29];
                assert!((prediction.mean - truth).abs() < 0.05 && probability < 0.05, "{prediction:?} {probability}");
            }
            other => panic!("expected a stop, got {other:?}"),
        }
        // Heading for 0.95: goes on; before the first decision point nothing is decided.
        assert_eq!(table.decide(3, 0, &curve(&power(0.95, 5))).unwrap(), RungDecision::Continue);
        assert_eq!(table.decide(4, 0, &curve(&power(0.5, 2))).unwrap(), RungDecision::Continue);
    }
}
