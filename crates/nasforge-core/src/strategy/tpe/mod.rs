//! The Tree-structured Parzen Estimator (Bergstra et al. 2011) over the space's categorical decisions, built
//! as Optuna's `TPESampler` builds it for categorical parameters. The told results are ranked (Deb's rule:
//! feasible ones by value, then infeasible ones by violation; failed evaluations last) and split into a good
//! group, the best `γ(n) = min(⌈gamma·n⌉, max_good)`, and a bad group, the rest. Each group gives a density
//! over decision vectors: a mixture of one kernel per result (most of its mass on the result's choice of
//! each decision, the rest spread by a prior weight) and a uniform prior kernel, results weighted as
//! Optuna's `default_weights` (equal up to 25, older ones ramped down beyond). `candidates` decision vectors
//! of networks not evaluated yet are drawn from the good density l(x), and the one with the largest
//! l(x)/g(x) is proposed. The first `startup` proposals are random samples.
//!
//! `multivariate` (the default) makes each kernel a joint distribution over all decisions, as Optuna's
//! `multivariate=True`: a candidate is drawn around one good result as a whole, so choices that work together
//! stay together. Without it each decision has its own density (Optuna's default), and a candidate's ratio is
//! the product of the decisions' ratios.
//!
//! Trials in flight (other workers' proposals) are never proposed again; with `constant_liar` they also join
//! the bad group as if they had the worst result (Optuna's option), so the ratio steers away from them.
//!
//! Several objectives are scalarised afresh at each proposal, ParEGO-style, as the model-based strategies
//! do: weights drawn uniformly from the simplex with the proposal's generator, objectives normalised to
//! [0, 1] over the feasible results, and the augmented Chebyshev value
//! `−(max_j w_j (1 − s_j) + 0.05 Σ_j w_j (1 − s_j))` ranks the results.

mod parzen;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::model_based::{Scale, random_weights};
use super::{NOVELTY_ATTEMPTS, Seen, Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::space::SearchSpace;
use parzen::Parzen;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TpeConfig {
    /// Random proposals before the densities are used.
    pub startup: usize,
    /// Candidates (networks not evaluated yet) drawn from the good density; the best ratio is proposed.
    pub candidates: usize,
    /// Fraction of the told results (rounded up) that form the good group…
    pub gamma: f64,
    /// …and the most results the good group may hold.
    pub max_good: usize,
    /// Weight of the uniform prior, as a mixture component and inside every kernel.
    pub prior_weight: f64,
    /// One joint density over all decisions (`true`), or one density per decision (`false`).
    pub multivariate: bool,
    /// Put the trials in flight (other workers' proposals) into the bad group, as if they had returned the
    /// worst result (Optuna's `constant_liar`), so concurrent proposals spread out.
    pub constant_liar: bool,
}

impl Default for TpeConfig {
    /// Optuna's defaults for everything Optuna defines: 10 startup trials, 24 candidates, γ(n) =
    /// min(⌈0.1 n⌉, 25), prior weight 1. These are the settings whose NAS-Bench-201 results we compare
    /// against, and they were chosen by Optuna for general budgets of tens to hundreds of trials, which is
    /// ours. The one change is `multivariate`: network decisions interact (in a cell, what an edge should
    /// carry depends on the other edges), and joint kernels keep the choices of a good network together;
    /// Watanabe (2023, "Tree-structured Parzen estimator: understanding its algorithm components") found the
    /// multivariate kernel the better default. Candidates are drawn among networks not evaluated yet, so a
    /// converged density keeps exploring rather than proposing a network twice. The constant liar is off, as in
    /// Optuna: with eight simulated workers on NAS-Bench-201 (300 seeds) it did slightly worse than
    /// without (regret after 100 evaluations 0.036 ± 0.007 against 0.029 ± 0.007 on CIFAR-10); TPE's
    /// random candidate draws already spread concurrent proposals.
    fn default() -> Self {
        TpeConfig {
            startup: 10,
            candidates: 24,
            gamma: 0.1,
            max_good: 25,
            prior_weight: 1.0,
            multivariate: true,
            constant_liar: false,
        }
    }
}

impl TpeConfig {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if self.candidates == 0 {
            return Err("tpe: candidates must be at least 1".into());
        }
        if !(self.gamma > 0.0 && self.gamma <= 1.0) {
            return Err(format!("tpe: gamma must be in (0, 1], got {}", self.gamma));
        }
        if self.max_good == 0 {
            return Err("tpe: max_good must be at least 1".into());
        }
        if !(self.prior_weight > 0.0 && self.prior_weight.is_finite()) {
            return Err(format!("tpe: prior_weight must be positive, got {}", self.prior_weight));
        }
        Ok(self.clone())
    }
}

/// The most canonical forms of candidates [`Tpe`] keeps: every cell of NAS-Bench-201 (15,625); about 10 MB
/// in the DARTS space, whose decision vectors and canonical forms are the longest.
const REMEMBERED_CANONICAL_FORMS: usize = 1 << 14;

struct Observation {
    decisions: Vec<usize>,
    /// `None` for a failed evaluation.
    outcome: Option<Outcome>,
}

pub struct Tpe<S: SearchSpace> {
    space: S,
    config: TpeConfig,
    sizes: Vec<usize>,
    observations: Vec<Observation>,
    seen: Seen,
    /// The told decision vectors, to skip exact repeats without computing their canonical form.
    told: HashSet<Vec<usize>>,
    /// The canonical forms of the decision vectors drawn as candidates so far: the good density keeps
    /// drawing around the same results, and a canonical form costs more than the rest of a candidate.
    /// Cleared when it holds [`REMEMBERED_CANONICAL_FORMS`].
    canonical_forms: HashMap<Vec<usize>, String>,
}

impl<S: SearchSpace> Tpe<S> {
    pub fn new(space: S, config: TpeConfig) -> Self {
        let sizes = space.decision_sizes();
        Tpe {
            space,
            config,
            sizes,
            observations: Vec::new(),
            seen: Seen::default(),
            told: HashSet::new(),
            canonical_forms: HashMap::new(),
        }
    }

    /// The value that ranks each told result (higher is better; NaN for failed ones): the first objective's
    /// score, or for several objectives a random augmented Chebyshev scalarisation drawn from `rng`.
    fn values(&self, rng: &mut StrategyRng) -> Vec<f64> {
        let objectives = self.observations.iter().find_map(|o| o.outcome.as_ref()).map_or(1, |o| o.scores.len());
        if objectives <= 1 {
            return self.observations.iter().map(|o| o.outcome.as_ref().map_or(f64::NAN, |o| o.scores[0])).collect();
        }
        let outcomes: Vec<Outcome> = self.observations.iter().filter_map(|o| o.outcome.clone()).collect();
        let weights = random_weights(objectives, rng);
        let scale = Scale::of(&outcomes);
        self.observations.iter().map(|o| o.outcome.as_ref().map_or(f64::NAN, |o| scale.scalar(o, &weights))).collect()
    }

    /// Indices of the best `count` results that were evaluated (all of them when fewer were), best first:
    /// smaller violation first (feasible ones have none), then higher value (a NaN value ranks last); ties
    /// keep the order of telling. Only the best are sorted: the rest are merely set apart.
    fn best(&self, values: &[f64], count: usize) -> Vec<usize> {
        // (violation, −value, index): compared in this order, a total order whose ties keep the order of telling.
        let mut ranks: Vec<(f64, f64, usize)> = (self.observations.iter().zip(values).enumerate())
            .filter_map(|(i, (o, &value))| {
                let value = if value.is_nan() { f64::NEG_INFINITY } else { value };
                o.outcome.as_ref().map(|o| (o.violation, -value, i))
            })
            .collect();
        let rank = |a: &(f64, f64, usize), b: &(f64, f64, usize)| {
            a.0.total_cmp(&b.0).then_with(|| a.1.total_cmp(&b.1)).then_with(|| a.2.cmp(&b.2))
        };
        if count < ranks.len() {
            ranks.select_nth_unstable_by(count, rank);
            ranks.truncate(count);
        }
        ranks.sort_unstable_by(rank);
        ranks.into_iter().map(|(_, _, i)| i).collect()
    }

    /// A uniformly random network that was not evaluated yet (as far as new ones are easy to find).
    fn random(&self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        self.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng))
    }
}

impl<S: SearchSpace> Strategy<S> for Tpe<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        let told = self.observations.len();
        if told + pending.len() < self.config.startup || self.observations.iter().all(|o| o.outcome.is_none()) {
            return self.random(rng, pending);
        }
        let values = self.values(rng);
        let wanted = (self.config.gamma * told as f64).ceil() as usize;
        let mut is_good = vec![false; told];
        self.best(&values, wanted.clamp(1, self.config.max_good)).into_iter().for_each(|i| is_good[i] = true);
        // Both groups keep the order of telling, which the weights depend on.
        let group = |good: bool| -> Vec<&[usize]> {
            (0..told).filter(|&i| is_good[i] == good).map(|i| self.observations[i].decisions.as_slice()).collect()
        };
        let lies: Vec<Vec<usize>> = if self.config.constant_liar {
            pending.iter().map(|a| self.space.to_decisions(a)).collect()
        } else {
            Vec::new()
        };
        let mut bad = group(false);
        bad.extend(lies.iter().map(Vec::as_slice));
        let l = Parzen::new(&self.sizes, &group(true), &self.config);
        let g = Parzen::new(&self.sizes, &bad, &self.config);

        let pending_keys: Vec<String> = pending.iter().map(|a| self.space.canonical(a)).collect();
        if self.canonical_forms.len() >= REMEMBERED_CANONICAL_FORMS {
            self.canonical_forms.clear();
        }
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut found = 0;
        for _ in 0..NOVELTY_ATTEMPTS.max(4 * self.config.candidates) {
            if found == self.config.candidates {
                break;
            }
            let decisions = l.sample(rng);
            if self.told.contains(&decisions) {
                continue;
            }
            let key = match self.canonical_forms.get(&decisions) {
                Some(key) => key,
                None => {
                    let key = self.space.canonical(&self.space.from_decisions(&decisions));
                    self.canonical_forms.entry(decisions.clone()).or_insert(key)
                }
            };
            if self.seen.contains(key) || pending_keys.contains(key) {
                continue;
            }
            found += 1;
            let ratio = l.log_density(&decisions) - g.log_density(&decisions);
            if best.as_ref().is_none_or(|(b, _)| ratio > *b) {
                best = Some((ratio, decisions));
            }
        }
        match best {
            Some((_, decisions)) => self.space.from_decisions(&decisions),
            // The good density only reaches evaluated networks: explore instead of repeating one.
            None => self.random(rng, pending),
        }
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.seen.insert(&self.space, arch);
        let decisions = self.space.to_decisions(arch);
        self.told.insert(decisions.clone());
        self.observations.push(Observation { decisions, outcome: outcome.cloned() });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::space::ParseError;
    use crate::study::trial_seed;

    /// A toy space: `DECISIONS` decisions of `CHOICES` choices each, every vector a distinct network.
    #[derive(Clone)]
    pub(crate) struct Toy;

    pub(crate) const DECISIONS: usize = 8;
    pub(crate) const CHOICES: usize = 4;

    impl SearchSpace for Toy {
        type Arch = Vec<usize>;
        const NAME: &'static str = "toy";

        fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Vec<usize> {
            (0..DECISIONS).map(|_| rng.random_range(0..CHOICES)).collect()
        }

        fn mutate<R: rand::Rng + ?Sized>(&self, arch: &Vec<usize>, rng: &mut R) -> Vec<usize> {
            let mut child = arch.clone();
            let d = rng.random_range(0..DECISIONS);
            child[d] = (child[d] + rng.random_range(1..CHOICES)) % CHOICES;
            child
        }

        fn crossover<R: rand::Rng + ?Sized>(&self, a: &Vec<usize>, b: &Vec<usize>, rng: &mut R) -> Vec<usize> {
            a.iter().zip(b).map(|(&x, &y)| if rng.random_bool(0.5) { x } else { y }).collect()
        }

        fn neighbours(&self, arch: &Vec<usize>) -> Vec<Vec<usize>> {
            let mut all = Vec::new();
            for d in 0..DECISIONS {
                for c in (0..CHOICES).filter(|&c| c != arch[d]) {
                    let mut n = arch.clone();
                    n[d] = c;
                    all.push(n);
                }
            }
            all
        }

        fn decision_sizes(&self) -> Vec<usize> {
            vec![CHOICES; DECISIONS]
        }

        fn to_decisions(&self, arch: &Vec<usize>) -> Vec<usize> {
            arch.clone()
        }

        fn from_decisions(&self, decisions: &[usize]) -> Vec<usize> {
            decisions.to_vec()
        }

        fn parse(&self, text: &str) -> Result<Vec<usize>, ParseError> {
            text.split(',').map(|t| t.parse().map_err(|_| ParseError::new(format!("bad decision '{t}'")))).collect()
        }

        fn print(&self, arch: &Vec<usize>) -> String {
            arch.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
        }

        fn canonical(&self, arch: &Vec<usize>) -> String {
            self.print(arch)
        }

        fn validate(&self, _arch: &Vec<usize>) -> Result<(), ParseError> {
            Ok(())
        }
    }

    /// The toy objective: how many decisions chose 0.
    pub(crate) fn zeros(arch: &[usize]) -> f64 {
        arch.iter().filter(|&&d| d == 0).count() as f64
    }

    /// Runs `trials` ask/tell rounds on the toy objective (failing the networks `fails` picks) and returns
    /// the proposals.
    pub(crate) fn drive(
        strategy: &mut dyn Strategy<Toy>,
        seed: u64,
        trials: usize,
        fails: impl Fn(&[usize]) -> bool,
    ) -> Vec<Vec<usize>> {
        let mut proposals = Vec::new();
        for trial in 0..trials {
            let arch = strategy.ask(&mut StrategyRng::seed_from_u64(trial_seed(seed, trial as u64)), &[]);
            let outcome = (!fails(&arch)).then(|| Outcome { scores: vec![zeros(&arch)], violation: 0.0 });
            strategy.tell(&arch, outcome.as_ref());
            proposals.push(arch);
        }
        proposals
    }

    fn mean_zeros(archs: &[Vec<usize>]) -> f64 {
        archs.iter().map(|a| zeros(a)).sum::<f64>() / archs.len() as f64
    }

    #[test]
    fn tpe_concentrates_on_the_good_choices() {
        for multivariate in [true, false] {
            let mut total = 0.0;
            for seed in 0..5 {
                let mut tpe = Tpe::new(Toy, TpeConfig { multivariate, ..TpeConfig::default() });
                let proposals = drive(&mut tpe, seed, 80, |_| false);
                total += mean_zeros(&proposals[60..]);
            }
            // Random proposals have 2 zeros of 8 on average.
            let late = total / 5.0;
            assert!(late > 4.5, "multivariate {multivariate}: {late} zeros per proposal after 60 trials");
        }
    }

    #[test]
    fn failed_trials_count_as_bad() {
        // Networks with a 0 in the first decision fail: TPE learns to avoid it while still finding zeros.
        let mut tpe = Tpe::new(Toy, TpeConfig::default());
        let proposals = drive(&mut tpe, 3, 80, |a| a[0] == 0);
        let late = &proposals[50..];
        let first_zero = late.iter().filter(|a| a[0] == 0).count();
        assert!(first_zero <= 6, "{first_zero} of {} late proposals chose the failing 0", late.len());
        assert!(mean_zeros(late) > 3.0);
    }

    #[test]
    fn state_rebuilt_from_tells_proposes_the_same() {
        for config in [TpeConfig::default(), TpeConfig { multivariate: false, ..TpeConfig::default() }] {
            let mut first = Tpe::new(Toy, config.clone());
            let history = drive(&mut first, 11, 40, |a| a[1] == 3);
            let mut rebuilt = Tpe::new(Toy, config);
            for arch in &history {
                let outcome = (arch[1] != 3).then(|| Outcome { scores: vec![zeros(arch)], violation: 0.0 });
                rebuilt.tell(arch, outcome.as_ref());
            }
            for trial in 0..10 {
                let rng = || StrategyRng::seed_from_u64(trial_seed(99, trial));
                let a = first.ask(&mut rng(), &[]);
                assert_eq!(a, first.ask(&mut rng(), &[]), "ask changed the state");
                assert_eq!(a, rebuilt.ask(&mut rng(), &[]));
                assert!(!history.contains(&a), "proposed an evaluated network");
            }
        }
    }

    #[test]
    fn several_objectives_are_scalarised_per_proposal() {
        // Objectives: zeros (max) and threes (max): good networks trade one for the other.
        let mut tpe = Tpe::new(Toy, TpeConfig::default());
        let mut proposals = Vec::new();
        for trial in 0..80 {
            let arch = tpe.ask(&mut StrategyRng::seed_from_u64(trial_seed(5, trial)), &[]);
            let threes = arch.iter().filter(|&&d| d == 3).count() as f64;
            tpe.tell(&arch, Some(&Outcome { scores: vec![zeros(&arch), threes], violation: 0.0 }));
            proposals.push(arch);
        }
        // Late proposals are mostly made of zeros and threes (random: half of the decisions).
        let late = &proposals[50..];
        let share =
            late.iter().flatten().filter(|&&d| d == 0 || d == 3).count() as f64 / (late.len() * DECISIONS) as f64;
        assert!(share > 0.7, "{share}");
        let rng = || StrategyRng::seed_from_u64(1);
        assert_eq!(tpe.ask(&mut rng(), &[]), tpe.ask(&mut rng(), &[]));
    }

    #[test]
    fn infeasible_results_rank_below_feasible_ones() {
        let mut tpe = Tpe::new(Toy, TpeConfig::default());
        tpe.tell(&vec![0; DECISIONS], Some(&Outcome { scores: vec![8.0], violation: 1.0 }));
        tpe.tell(&vec![1; DECISIONS], Some(&Outcome { scores: vec![0.0], violation: 0.0 }));
        tpe.tell(&vec![2; DECISIONS], None);
        tpe.tell(&vec![3; DECISIONS], Some(&Outcome { scores: vec![1.0], violation: 0.0 }));
        tpe.tell(&vec![0, 1, 2, 3, 0, 1, 2, 3], Some(&Outcome { scores: vec![f64::NAN], violation: 0.0 }));
        let values = tpe.values(&mut StrategyRng::seed_from_u64(0));
        assert_eq!(tpe.best(&values, 9), vec![3, 1, 4, 0]);
        assert_eq!(tpe.best(&values, 2), vec![3, 1]);
    }
}
