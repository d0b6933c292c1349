//! The record of what every trial reported at each rung of its bracket, the rung decision, and which paused
//! trial a free worker promotes.

use std::collections::HashMap;

use super::{CurvePrediction, PAUSED_AT, SchedulerConfig, SchedulerKind, extrapolate};
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
    /// At rung `rung` of a scheduler that pauses: the trial waits there for a promotion.
    Pause { rung: f64 },
}

impl RungDecision {
    /// Why a stopped or paused trial stopped, for its record.
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
            RungDecision::Pause { rung } => Some(format!(
                "paused by the scheduler at rung {resource} = {rung}: resumes from its checkpoint if promoted"
            )),
        }
    }
}

/// Where a trial stands for the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Running,
    /// Paused at the rung of this index, waiting for a promotion.
    Paused(usize),
    /// Finished for good (complete, failed, stopped): it reaches no further rung.
    Done,
}

/// One trial as the scheduler sees it.
#[derive(Debug, Clone)]
struct Entry {
    bracket: usize,
    /// The value at each rung of the bracket, where it reported one.
    values: Vec<Option<f64>>,
    standing: Standing,
    /// Paid for (a cache hit is not scheduled).
    paid: bool,
}

impl Entry {
    /// Whether the trial may still report at rung `index` (it runs below it, or it is paused below it).
    fn may_reach(&self, index: usize) -> bool {
        self.values[index].is_none() && self.standing != Standing::Done
    }

    fn is_paused_at(&self, index: usize) -> bool {
        self.standing == Standing::Paused(index)
    }
}

/// Each trial's bracket and its values at its bracket's rungs, kept up to date from trial records.
#[derive(Debug, Clone)]
pub struct RungTable {
    config: SchedulerConfig,
    /// The metric compared at the rungs and whether larger is better.
    metric: String,
    maximize: bool,
    trials: HashMap<u64, Entry>,
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
        let rungs = self.config.rungs(bracket);
        let paused_at = trial.metrics.get(PAUSED_AT).and_then(|at| rungs.iter().position(|l| (l - at).abs() < 1e-9));
        let standing = match (trial.state, paused_at) {
            (TrialState::Running, _) => Standing::Running,
            (TrialState::Pruned, Some(index)) if trial.is_paid() => Standing::Paused(index),
            _ => Standing::Done,
        };
        self.trials.insert(trial.id, Entry { bracket, values, standing, paid: trial.is_paid() });
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
        let paid = self.trials.get(&id).is_none_or(|entry| entry.paid);
        self.trials.insert(id, Entry { bracket, values: values.clone(), standing: Standing::Running, paid });
        let Some((index, level)) = reached else { return Ok(RungDecision::Continue) };
        let Some(mine) = values[index] else { return Ok(RungDecision::Continue) };
        if self.config.pauses() {
            return Ok(RungDecision::Pause { rung: level });
        }
        let at_rung: Vec<f64> =
            self.trials.values().filter(|e| e.bracket == bracket).filter_map(|e| e.values[index]).collect();
        let better = at_rung.iter().filter(|v| self.better(**v, mine)).count();
        if (better as f64) < at_rung.len() as f64 / self.config.eta {
            Ok(RungDecision::Continue)
        } else {
            Ok(RungDecision::Stop { rung: level, better, recorded: at_rung.len() })
        }
    }

    /// The best `⌊n / η⌋` of the `n` trials (ids, in increasing order) that reported at rung `index`.
    fn top_of_rung(&self, members: &[u64], index: usize) -> Vec<u64> {
        let mut at_rung: Vec<(u64, f64)> =
            members.iter().filter_map(|id| Some((*id, self.trials[id].values[index]?))).collect();
        // Best first; ties go to the older trial.
        at_rung.sort_by(|a, b| {
            let order = a.1.total_cmp(&b.1);
            (if self.maximize { order.reverse() } else { order }).then(a.0.cmp(&b.0))
        });
        let keep = (at_rung.len() as f64 / self.config.eta).floor() as usize;
        at_rung.into_iter().take(keep).map(|(id, _)| id).collect()
    }

    /// The paused trial a free worker should resume, if any (schedulers that pause): for ASHA and
    /// Hyperband, the best paused trial of the highest rung whose top 1/η holds one (Li et al. 2020,
    /// Algorithm 2); for synchronous successive halving, the oldest round's lowest complete rung's best.
    pub fn promotable(&self) -> Option<u64> {
        if !self.config.pauses() {
            return None;
        }
        let mut paid: Vec<u64> = self.trials.iter().filter(|(_, e)| e.paid).map(|(id, _)| *id).collect();
        paid.sort_unstable();
        if self.config.kind == SchedulerKind::Halving {
            return paid
                .chunks(self.config.round_size())
                .filter(|round| round.len() == self.config.round_size())
                .find_map(|round| self.promotable_in_round(round));
        }
        (0..self.config.brackets()).rev().find_map(|bracket| {
            let members: Vec<u64> = paid.iter().copied().filter(|id| self.trials[id].bracket == bracket).collect();
            (0..self.config.rungs(bracket).len()).rev().find_map(|index| {
                self.top_of_rung(&members, index).into_iter().find(|id| self.trials[id].is_paused_at(index))
            })
        })
    }

    /// Synchronous successive halving in one full round: rung `k` is settled when no trial of the round
    /// can still reach it (every trial promoted from rung `k − 1` has reported there or is done); the
    /// lowest settled rung whose top 1/η holds a paused trial promotes its best.
    fn promotable_in_round(&self, round: &[u64]) -> Option<u64> {
        let rungs = self.config.rungs(0).len();
        let mut candidates: Vec<u64> = round.to_vec();
        for index in 0..rungs {
            if candidates.iter().any(|id| self.trials[id].may_reach(index)) {
                return None;
            }
            let top = self.top_of_rung(&candidates, index);
            if let Some(id) = top.iter().find(|id| self.trials[id].is_paused_at(index)) {
                return Some(*id);
            }
            candidates = top;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::SchedulerForm;

    fn asha(min: f64, max: f64, eta: f64) -> SchedulerConfig {
        SchedulerConfig {
            kind: SchedulerKind::Asha,
            resource: "epoch".into(),
            min_resource: min,
            max_resource: max,
            eta,
            stop_probability: 0.05,
            form: None,
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

    /// Trial `id` paused at the end of `values` (one per epoch), or running with them (none: it just began).
    fn trial(id: u64, values: &[f64], paused_at: Option<f64>) -> TrialRecord {
        let mut metrics: Metrics = values.last().map(|v| ("acc".to_string(), *v)).into_iter().collect();
        if let Some(at) = paused_at {
            metrics.insert(PAUSED_AT.to_string(), at);
        }
        TrialRecord {
            id,
            arch: String::new(),
            arch_json: String::new(),
            canonical: String::new(),
            state: if paused_at.is_some() { TrialState::Pruned } else { TrialState::Running },
            metrics,
            intermediate: curve(values),
            cached_from: None,
            seed: 0,
            error: None,
            started_at: 0.0,
            finished_at: None,
            attempts: 1,
            worker: None,
        }
    }

    #[test]
    fn the_promotion_form_pauses_at_every_rung_and_promotes_the_top_third() {
        let config = SchedulerConfig { form: Some(SchedulerForm::Promotion), ..asha(1.0, 9.0, 3.0) };
        let mut table = RungTable::new(config, "acc", true);
        // Even the best trial pauses at a rung; between rungs nothing is decided.
        assert_eq!(table.decide(0, 0, &curve(&[0.5])).unwrap(), RungDecision::Pause { rung: 1.0 });
        assert_eq!(table.decide(0, 0, &curve(&[0.5, 0.6])).unwrap(), RungDecision::Continue);
        table.record(&trial(0, &[0.5], Some(1.0)));
        assert_eq!(table.promotable(), None, "⌊1/3⌋ = 0 trials of rung 1 go on");
        table.record(&trial(1, &[0.4], Some(1.0)));
        table.record(&trial(2, &[0.7], Some(1.0)));
        assert_eq!(table.promotable(), Some(2), "the best of three");
        // Promoted (running again), then paused at rung 3: alone there, nobody goes on.
        table.record(&trial(2, &[0.7], None));
        assert_eq!(table.promotable(), None);
        table.record(&trial(2, &[0.7, 0.72, 0.75], Some(3.0)));
        assert_eq!(table.promotable(), None);
        // Six at rung 1: the top two are 2 (moved on) and 4, which is promoted next.
        for (id, value) in [(3, 0.6), (4, 0.65), (5, 0.3)] {
            table.record(&trial(id, &[value], Some(1.0)));
        }
        assert_eq!(table.promotable(), Some(4));
        // A higher rung first: with three at rung 3, its best (still paused) goes before rung 1's.
        table.record(&trial(4, &[0.65, 0.7, 0.8], Some(3.0)));
        table.record(&trial(0, &[0.5, 0.6, 0.6], Some(3.0)));
        assert_eq!(table.promotable(), Some(4));
    }

    #[test]
    fn hyperband_promotes_within_each_bracket() {
        let config = SchedulerConfig {
            kind: SchedulerKind::Hyperband,
            form: Some(SchedulerForm::Promotion),
            ..asha(1.0, 9.0, 3.0)
        };
        // Bracket 0 pauses at epochs 1 and 3, bracket 1 at epoch 3 only, bracket 2 never.
        let seeds: Vec<u64> = (0..3).map(|b| (0..).find(|s| config.bracket_of(*s) == b).unwrap()).collect();
        let mut table = RungTable::new(config, "acc", true);
        let in_bracket = |bracket: usize, id: u64, values: &[f64], at: f64| TrialRecord {
            seed: seeds[bracket],
            ..trial(id, values, Some(at))
        };
        assert_eq!(table.decide(0, seeds[1], &curve(&[0.5, 0.6])).unwrap(), RungDecision::Continue);
        assert_eq!(table.decide(0, seeds[1], &curve(&[0.5, 0.6, 0.7])).unwrap(), RungDecision::Pause { rung: 3.0 });
        assert_eq!(table.decide(9, seeds[2], &curve(&[0.5, 0.6, 0.7])).unwrap(), RungDecision::Continue);
        // Two of bracket 0 at epoch 1 and three of bracket 1 at epoch 3: only bracket 1 has a top third.
        table.record(&in_bracket(0, 0, &[0.9], 1.0));
        table.record(&in_bracket(0, 1, &[0.8], 1.0));
        assert_eq!(table.promotable(), None, "⌊2/3⌋ = 0 in bracket 0");
        table.record(&in_bracket(1, 2, &[0.1, 0.2, 0.3], 3.0));
        table.record(&in_bracket(1, 3, &[0.1, 0.2, 0.5], 3.0));
        table.record(&in_bracket(1, 4, &[0.1, 0.2, 0.4], 3.0));
        assert_eq!(table.promotable(), Some(3), "the best of bracket 1, not bracket 0's better values");
    }

    #[test]
    fn synchronous_halving_promotes_a_rung_once_its_round_has_reached_it() {
        let config = SchedulerConfig { kind: SchedulerKind::Halving, ..asha(1.0, 9.0, 3.0) };
        assert!(config.pauses() && config.check().is_ok());
        assert_eq!(config.round_size(), 9);
        let mut table = RungTable::new(config, "acc", true);
        let values = [0.50, 0.40, 0.70, 0.60, 0.65, 0.30, 0.55, 0.45, 0.35];
        for (id, value) in values.iter().enumerate().take(8) {
            table.record(&trial(id as u64, &[*value], Some(1.0)));
        }
        assert_eq!(table.promotable(), None, "eight of the round's nine");
        table.record(&trial(8, &[], None));
        assert_eq!(table.promotable(), None, "the ninth has not reached rung 1 yet");
        table.record(&trial(8, &[values[8]], Some(1.0)));
        // The top three of nine (2, 4, 3) go on, best first, all from rung 1 before any from rung 3.
        assert_eq!(table.promotable(), Some(2));
        table.record(&trial(2, &[0.70], None));
        assert_eq!(table.promotable(), Some(4));
        table.record(&trial(4, &[0.65], None));
        table.record(&trial(2, &[0.70, 0.7, 0.9], Some(3.0)));
        assert_eq!(table.promotable(), Some(3), "rung 3 waits for 4 and 3");
        table.record(&trial(3, &[0.60, 0.6, 0.7], Some(3.0)));
        assert_eq!(table.promotable(), None, "4 still runs to rung 3");
        table.record(&trial(4, &[0.65, 0.7, 0.8], Some(3.0)));
        assert_eq!(table.promotable(), Some(2), "the best of rung 3's three");
        let stopping = SchedulerConfig { form: Some(SchedulerForm::Stopping), ..table.config().clone() };
        assert!(stopping.check().unwrap_err().contains("no stopping form"));
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
            state: TrialState::Complete,
            metrics: Metrics::from([("acc".to_string(), 0.85)]),
            ..trial(1, &power(0.86, 30), None)
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
