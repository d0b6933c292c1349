//! REINFORCE (Williams 1992) over the space's categorical decisions: the policy-gradient controller of Zoph &
//! Le (2017), and the reinforcement-learning baseline of NAS-Bench-201. A policy proposes decision vectors;
//! each told result moves it along `A · ∇ log π(x) + entropy · ∇H(π)` with Adam, where the advantage `A` is
//! the reward minus a moving-average baseline, divided by a moving standard deviation of the rewards.
//!
//! Controllers (`controller`):
//! - `factorized`: one logits vector per decision, decisions drawn independently (NAS-Bench-201's policy).
//! - `autoregressive`: the logits of decision `i` are a bias plus a learned linear function of the one-hot
//!   encoding of decisions `0..i` (`z_i = b_i + W_i · onehot(x_<i)`), and decisions are drawn in order,
//!   so each choice's distribution depends on the earlier choices. This is a linear (single-layer,
//!   no hidden state) stand-in for Zoph & Le's LSTM controller: it can learn pairwise dependencies between
//!   a decision and each earlier one, not higher-order ones. Every parameter starts at 0 (a uniform policy).
//!
//! Rewards: the first objective's oriented score of a feasible result. With `b` the bias-corrected
//! exponential moving average of earlier rewards (decay `baseline_decay`) and `σ²` the same average of
//! squared deviations `(r − b)²` (this one included), the advantage is `(r − b) / σ`: unit-free, so the
//! learning rate and the entropy weight mean the same for accuracies, losses or latencies, and the steps
//! keep their size as rewards concentrate. The first result only sets the baseline. A failed evaluation,
//! an infeasible result or a non-finite score gets the advantage −1 (a reward one deviation below the
//! baseline) and does not enter the baseline or the deviation. The update depends only on the told
//! results, in order, so a study rebuilt from its history rebuilds the same policy. One objective only.
//! Each proposal is drawn from the policy until it is a network not evaluated yet (up to 100 draws, then a
//! uniform sample), so the updates are on-policy restricted to new networks.

use std::collections::HashSet;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{NOVELTY_ATTEMPTS, Seen, Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;

/// The policy's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    /// Independent logits per decision.
    #[default]
    Factorized,
    /// Logits of each decision linear in the one-hot of the earlier decisions.
    Autoregressive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReinforceConfig {
    pub controller: Controller,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Decay of the moving averages of the reward (the baseline) and of its squared deviation.
    pub baseline_decay: f64,
    /// Weight of the entropy bonus.
    pub entropy: f64,
}

impl Default for ReinforceConfig {
    /// The factorised policy (NAS-Bench-201's), baseline decay 0.9 (NAS-Bench-201's EMA momentum) and Adam.
    /// NAS-Bench-201 used a learning rate of 0.01 for its raw-accuracy rewards; here 0.05, because Adam moves
    /// a consistently rewarded logit by about one learning rate per update, and a budget of 100–200
    /// evaluations must let a choice go from 1 in 5 to about 0.9 (a logit gap of ln 36 ≈ 3.6) within its
    /// first half or so: 3.6 / 75 ≈ 0.05; at 0.01 the policy would barely leave uniform in that budget.
    /// Entropy weight 0.01: with unit-scale advantages it is a small pull towards exploration that only
    /// matters once rewards stop telling choices apart.
    fn default() -> Self {
        ReinforceConfig { controller: Controller::Factorized, learning_rate: 0.05, baseline_decay: 0.9, entropy: 0.01 }
    }
}

impl ReinforceConfig {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(format!("reinforce: learning_rate must be positive, got {}", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.baseline_decay) {
            return Err(format!("reinforce: baseline_decay must be in [0, 1), got {}", self.baseline_decay));
        }
        if !(self.entropy >= 0.0 && self.entropy.is_finite()) {
            return Err(format!("reinforce: entropy must be non-negative, got {}", self.entropy));
        }
        Ok(self.clone())
    }
}

/// The advantage of a failed evaluation or an infeasible result.
const FAILURE_ADVANTAGE: f64 = -1.0;

pub struct Reinforce<S: SearchSpace> {
    space: S,
    config: ReinforceConfig,
    policy: Policy,
    adam: Adam,
    baseline: MovingAverage,
    spread: MovingAverage,
    seen: Seen,
    /// The told decision vectors, to skip exact repeats without computing their canonical form.
    told: HashSet<Vec<usize>>,
}

impl<S: SearchSpace> Reinforce<S> {
    pub fn new(space: S, config: ReinforceConfig) -> Self {
        let policy = Policy::new(space.decision_sizes(), config.controller == Controller::Autoregressive);
        let adam = Adam::new(policy.params.len(), config.learning_rate);
        let decay = config.baseline_decay;
        Reinforce {
            space,
            config,
            policy,
            adam,
            baseline: MovingAverage::new(decay),
            spread: MovingAverage::new(decay),
            seen: Seen::default(),
            told: HashSet::new(),
        }
    }

    /// The policy's distribution of decision `decision` after the choices `earlier` of the decisions before
    /// it (the factorised controller ignores them).
    pub fn probabilities(&self, decision: usize, earlier: &[usize]) -> Vec<f64> {
        self.policy.probabilities(decision, earlier)
    }

    /// One architecture drawn from the policy as it stands, evaluated before or not: what ENAS trains its
    /// shared weights on.
    pub fn draw(&self, rng: &mut StrategyRng) -> S::Arch {
        self.space.from_decisions(&self.policy.sample(rng))
    }

    /// The advantage of a told result, updating the reward statistics.
    fn advantage(&mut self, outcome: Option<&Outcome>) -> f64 {
        let Some(reward) = outcome.filter(|o| o.is_feasible()).map(|o| o.scores[0]).filter(|r| r.is_finite()) else {
            return FAILURE_ADVANTAGE;
        };
        let advantage = match self.baseline.value() {
            None => 0.0,
            Some(baseline) => {
                let deviation = reward - baseline;
                self.spread.update(deviation * deviation);
                let sigma = self.spread.value().unwrap_or(0.0).sqrt();
                if sigma > 0.0 { deviation / sigma } else { 0.0 }
            }
        };
        self.baseline.update(reward);
        advantage
    }
}

impl<S: SearchSpace> Strategy<S> for Reinforce<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        let pending_keys: Vec<String> = pending.iter().map(|a| self.space.canonical(a)).collect();
        for _ in 0..NOVELTY_ATTEMPTS {
            let decisions = self.policy.sample(rng);
            if self.told.contains(&decisions) {
                continue;
            }
            let arch = self.space.from_decisions(&decisions);
            let key = self.space.canonical(&arch);
            if !self.seen.contains(&key) && !pending_keys.contains(&key) {
                return arch;
            }
        }
        // The policy only reaches evaluated networks: explore instead of repeating one.
        self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng))
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.seen.insert(&self.space, arch);
        let decisions = self.space.to_decisions(arch);
        self.told.insert(decisions.clone());
        let advantage = self.advantage(outcome);
        let gradient = self.policy.gradient(&decisions, advantage, self.config.entropy);
        self.adam.ascend(&mut self.policy.params, &gradient);
    }
}

/// The controller's parameters and the distributions they define.
struct Policy {
    sizes: Vec<usize>,
    /// Start of each decision's block in the one-hot encoding; decision `i` sees the `offsets[i]` features of
    /// the decisions before it.
    offsets: Vec<usize>,
    /// Start of each decision's parameters: `sizes[i]` biases, then (autoregressive) `sizes[i] × offsets[i]`
    /// weights, row by row.
    blocks: Vec<usize>,
    autoregressive: bool,
    params: Vec<f64>,
}

impl Policy {
    fn new(sizes: Vec<usize>, autoregressive: bool) -> Self {
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut blocks = Vec::with_capacity(sizes.len());
        let (mut features, mut count) = (0, 0);
        for &c in &sizes {
            offsets.push(features);
            blocks.push(count);
            count += c + if autoregressive { c * features } else { 0 };
            features += c;
        }
        Policy { sizes, offsets, blocks, autoregressive, params: vec![0.0; count] }
    }

    fn probabilities(&self, i: usize, earlier: &[usize]) -> Vec<f64> {
        let c = self.sizes[i];
        let base = self.blocks[i];
        let mut logits = self.params[base..base + c].to_vec();
        if self.autoregressive {
            let features = self.offsets[i];
            for (j, &x) in earlier.iter().enumerate().take(i) {
                let column = base + c + self.offsets[j] + x;
                for (v, logit) in logits.iter_mut().enumerate() {
                    *logit += self.params[column + v * features];
                }
            }
        }
        softmax(&logits)
    }

    fn sample(&self, rng: &mut StrategyRng) -> Vec<usize> {
        let mut decisions = Vec::with_capacity(self.sizes.len());
        for i in 0..self.sizes.len() {
            let p = self.probabilities(i, &decisions);
            let mut u = rng.random::<f64>();
            let mut choice = p.len() - 1;
            for (v, &pv) in p.iter().enumerate() {
                if u < pv {
                    choice = v;
                    break;
                }
                u -= pv;
            }
            decisions.push(choice);
        }
        decisions
    }

    /// The gradient of `advantage · log π(x) + entropy · Σ_i H(π_i(· | x_<i))` with respect to the parameters.
    fn gradient(&self, x: &[usize], advantage: f64, entropy: f64) -> Vec<f64> {
        let mut gradient = vec![0.0; self.params.len()];
        for i in 0..self.sizes.len() {
            let p = self.probabilities(i, &x[..i]);
            let h: f64 = -p.iter().filter(|&&q| q > 0.0).map(|q| q * q.ln()).sum::<f64>();
            let (c, base, features) = (self.sizes[i], self.blocks[i], self.offsets[i]);
            for v in 0..c {
                let chosen = if v == x[i] { 1.0 } else { 0.0 };
                let d_entropy = if p[v] > 0.0 { -p[v] * (p[v].ln() + h) } else { 0.0 };
                let g = advantage * (chosen - p[v]) + entropy * d_entropy;
                gradient[base + v] += g;
                if self.autoregressive {
                    for (j, &xj) in x[..i].iter().enumerate() {
                        gradient[base + c + v * features + self.offsets[j] + xj] += g;
                    }
                }
            }
        }
        gradient
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / total).collect()
}

/// Adam (Kingma & Ba 2015) with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8, climbing the objective.
struct Adam {
    rate: f64,
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

impl Adam {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPSILON: f64 = 1e-8;

    fn new(len: usize, rate: f64) -> Self {
        Adam { rate, first: vec![0.0; len], second: vec![0.0; len], steps: 0 }
    }

    fn ascend(&mut self, params: &mut [f64], gradient: &[f64]) {
        self.steps += 1;
        let correction1 = 1.0 - Self::BETA1.powi(self.steps);
        let correction2 = 1.0 - Self::BETA2.powi(self.steps);
        for (k, (param, &g)) in params.iter_mut().zip(gradient).enumerate() {
            self.first[k] = Self::BETA1 * self.first[k] + (1.0 - Self::BETA1) * g;
            self.second[k] = Self::BETA2 * self.second[k] + (1.0 - Self::BETA2) * g * g;
            let m = self.first[k] / correction1;
            let v = self.second[k] / correction2;
            *param += self.rate * m / (v.sqrt() + Self::EPSILON);
        }
    }
}

/// A bias-corrected exponential moving average (empty until the first value).
struct MovingAverage {
    decay: f64,
    numerator: f64,
    denominator: f64,
}

impl MovingAverage {
    fn new(decay: f64) -> Self {
        MovingAverage { decay, numerator: 0.0, denominator: 0.0 }
    }

    fn update(&mut self, value: f64) {
        self.numerator = self.decay * self.numerator + (1.0 - self.decay) * value;
        self.denominator = self.decay * self.denominator + (1.0 - self.decay);
    }

    fn value(&self) -> Option<f64> {
        (self.denominator > 0.0).then(|| self.numerator / self.denominator)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::strategy::StrategySpec;
    use crate::strategy::tpe::tests::{CHOICES, DECISIONS, Toy, drive, zeros};
    use crate::study::trial_seed;

    fn config(controller: Controller) -> ReinforceConfig {
        ReinforceConfig { controller, ..ReinforceConfig::default() }
    }

    /// The mean probability of choosing 0, each decision after zeros before it.
    fn p_zero(strategy: &Reinforce<Toy>) -> f64 {
        (0..DECISIONS).map(|i| strategy.probabilities(i, &vec![0; i])[0]).sum::<f64>() / DECISIONS as f64
    }

    #[test]
    fn the_best_choice_becomes_more_probable() {
        for controller in [Controller::Factorized, Controller::Autoregressive] {
            let mut strategy = Reinforce::new(Toy, config(controller));
            assert!((p_zero(&strategy) - 1.0 / CHOICES as f64).abs() < 1e-12, "starts uniform");
            let proposals = drive(&mut strategy, 1, 120, |_| false);
            let p = p_zero(&strategy);
            assert!(p > 0.5, "{controller:?}: p(0) = {p}");
            let early = proposals[..30].iter().map(|a| zeros(a)).sum::<f64>() / 30.0;
            let late = proposals[90..].iter().map(|a| zeros(a)).sum::<f64>() / 30.0;
            assert!(late > early + 1.0, "{controller:?}: {early} zeros early, {late} late");
        }
    }

    #[test]
    fn failures_push_the_policy_away() {
        // Every network fails: each update lowers the probability of what was proposed.
        let mut strategy = Reinforce::new(Toy, ReinforceConfig { entropy: 0.0, ..ReinforceConfig::default() });
        let arch = vec![2; DECISIONS];
        for _ in 0..5 {
            strategy.tell(&arch, None);
        }
        assert!(strategy.probabilities(0, &[])[2] < 0.2);
        assert!(strategy.probabilities(0, &[])[1] > 0.25);
        // A non-finite score counts as a failure and leaves the reward statistics alone.
        strategy.tell(&vec![1; DECISIONS], Some(&Outcome { scores: vec![f64::NAN], violation: 0.0 }));
        assert!(strategy.baseline.value().is_none() && strategy.policy.params.iter().all(|p| p.is_finite()));
    }

    #[test]
    fn state_rebuilt_from_tells_proposes_the_same() {
        for controller in [Controller::Factorized, Controller::Autoregressive] {
            let mut first = Reinforce::new(Toy, config(controller));
            let history = drive(&mut first, 4, 50, |a| a[2] == 1);
            let mut rebuilt = Reinforce::new(Toy, config(controller));
            for arch in &history {
                let outcome = (arch[2] != 1).then(|| Outcome { scores: vec![zeros(arch)], violation: 0.0 });
                rebuilt.tell(arch, outcome.as_ref());
            }
            assert_eq!(first.policy.params, rebuilt.policy.params);
            for trial in 0..10 {
                let rng = || StrategyRng::seed_from_u64(trial_seed(17, trial));
                let a = first.ask(&mut rng(), &[]);
                assert_eq!(a, first.ask(&mut rng(), &[]), "ask changed the state");
                assert_eq!(a, rebuilt.ask(&mut rng(), &[]));
                assert!(!history.contains(&a), "proposed an evaluated network");
            }
        }
    }

    #[test]
    fn rewards_are_scaled_by_their_spread() {
        // Rewards 1000× larger give the same policy: the advantage is unit-free.
        let run = |scale: f64| {
            let mut strategy = Reinforce::new(Toy, ReinforceConfig::default());
            for trial in 0..30u64 {
                let arch = strategy.ask(&mut StrategyRng::seed_from_u64(trial), &[]);
                strategy.tell(&arch, Some(&Outcome { scores: vec![scale * zeros(&arch)], violation: 0.0 }));
            }
            strategy.policy.params
        };
        let (small, large) = (run(1.0), run(1000.0));
        assert!(small.iter().zip(&large).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    #[test]
    fn configurations_parse_and_validate() {
        let spec: StrategySpec =
            serde_json::from_str(r#"{"name": "reinforce", "controller": "autoregressive"}"#).unwrap();
        assert_eq!(spec, StrategySpec::Reinforce(config(Controller::Autoregressive)));
        assert!(serde_json::from_str::<StrategySpec>(r#"{"name": "reinforce", "controller": "lstm"}"#).is_err());
        let bad = StrategySpec::Reinforce(ReinforceConfig { learning_rate: 0.0, ..ReinforceConfig::default() });
        assert!(bad.build(&Toy, 1).is_err());
        assert!(StrategySpec::from_name("reinforce").unwrap().build(&Toy, 2).is_err(), "one objective only");
        let tpe = StrategySpec::from_name("tpe").unwrap();
        assert!(tpe.is_multi_objective() && tpe.build(&Toy, 2).is_ok());
    }
}
