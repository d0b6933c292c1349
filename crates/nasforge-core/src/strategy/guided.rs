//! Predictor-guided search (the `predictor` strategy): after `initial` random evaluations, fit a
//! predictor (Gaussian process, MLP ensemble or ridge regression) on every result so far, rank a large pool
//! of unevaluated candidates (random samples, the incumbent's neighbours and mutations of the best
//! architectures) by predicted score, propose the best `batch` of them one after another, then refit and
//! rank a new pool. Pure exploitation of the predictor: the random part of each pool and the refits are
//! what keep it exploring. With several objectives there is one predictor per objective, and each batch
//! ranks by a random scalarisation (ParEGO's augmented Chebyshev) of their predictions. While other trials
//! are in flight, the batch's pool is re-ranked by a predictor that takes each of them for a made-up
//! result, by default the mean one (the constant liar).
//!
//! The pool and the ranking of a batch depend only on the results the predictor was fitted on (their
//! generator is seeded from them), so a study resumed in the middle of a batch proposes the rest of it.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::model_based::{
    Encoding, Liar, Observations, PoolSettings, Scale, candidate_pool, chebyshev, fit_rows, history_seed,
    random_weights, ranked, schedule,
};
use super::{Strategy, StrategyRng};
use crate::objective::Outcome;
use crate::predictor::{ModelKind, copula, normal_cdf};
use crate::space::SearchSpace;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictorConfig {
    /// The predictor: gp, mlp or ridge, with its default settings.
    pub model: ModelKind,
    /// The predictor's features.
    pub encoding: Encoding,
    /// Random evaluations before the first fit (T).
    pub initial: usize,
    /// Proposals taken from each ranking before the predictor is refitted (k).
    pub batch: usize,
    /// Random samples in each pool (N, besides mutations).
    pub random_candidates: usize,
    /// Mutations of the best architectures in each pool (besides the best one's neighbours).
    pub mutation_candidates: usize,
    /// How many of the best architectures are mutated.
    pub parents: usize,
    /// Fit the predictor to the normal quantiles of the results' ranks (a Gaussian copula) instead of the
    /// results themselves.
    pub copula: bool,
    /// While other trials are in flight, re-rank the batch's pool with a predictor that takes each of them
    /// for this result (the constant liar), so concurrent proposals do not crowd the pending ones.
    pub constant_liar: Liar,
    /// The most results the predictor is fitted on: the best half of that many (by the batch's
    /// scalarisation) and the most recent others (`0`: every result; a fit's cost grows with the history).
    pub fit_limit: usize,
}

/// The default `fit_limit`: see `PredictorConfig::default`.
const FIT_LIMIT: usize = 200;

impl Default for PredictorConfig {
    /// Ridge regression on the path encoding (the one-hot encoding where a space has no path encoding).
    /// This strategy only exploits the predicted mean, so the predictor must rank *unexplored* candidates,
    /// above the best seen ones when they are better: a linear model of path features extrapolates a trend
    /// ("more of the paths that help") beyond the data, where a stationary Gaussian process reverts to the
    /// mean and an MLP is unconstrained; ridge also fits in microseconds and picks its own penalty. Twenty
    /// random evaluations first (a predictor fitted on fewer ranks poorly), batches of ten (ten refits per
    /// 100 evaluations), and pools of 1,000 random samples plus the incumbent's neighbours and 200
    /// mutations of the ten best: N ≫ T, and the mutations put most of the good candidates near what is
    /// known. Ranks, not raw scores, are fitted (the Gaussian copula), so a few failed networks do not set
    /// the scale. The constant liar lies with the mean
    /// result, so that workers asking at once do not take the top of one ranking, mostly neighbours of one
    /// network: with eight simulated workers on NAS-Bench-201 it did best of the lies. The predictor is
    /// fitted on at most 200 results (the best 100 and the 100 most recent others), as for `bo`: a fit's
    /// cost stops growing with the history (after 1,000 results on the DARTS space 10 ms an ask against 316 ms
    /// for ridge on every result), budgets up to 200 evaluations are unchanged, and on NAS-Bench-201 a
    /// limit of 100 matched fitting on every result (docs/strategies.md, "Scaling with the history").
    fn default() -> Self {
        PredictorConfig {
            model: ModelKind::Ridge,
            encoding: Encoding::Path,
            initial: 20,
            batch: 10,
            random_candidates: 1000,
            mutation_candidates: 200,
            parents: 10,
            copula: true,
            constant_liar: Liar::Mean,
            fit_limit: FIT_LIMIT,
        }
    }
}

impl PredictorConfig {
    pub(crate) fn validated(&self) -> Result<Self, String> {
        if self.initial < 2 {
            return Err(format!("predictor: initial must be at least 2, got {}", self.initial));
        }
        if self.batch == 0 {
            return Err("predictor: batch must be at least 1".into());
        }
        if self.mutation_candidates + self.random_candidates == 0 {
            return Err(
                "predictor: the candidate pool is empty (mutation_candidates and random_candidates are 0)".into()
            );
        }
        if self.parents == 0 {
            return Err("predictor: parents must be at least 1".into());
        }
        if self.fit_limit == 1 {
            return Err("predictor: fit_limit must be at least 2 (or 0 for every result)".into());
        }
        Ok(self.clone())
    }
}

/// Candidates (key, architecture), best first.
type Ranking<A> = Vec<(String, A)>;

pub struct PredictorSearch<S: SearchSpace> {
    space: S,
    config: PredictorConfig,
    objectives: usize,
    observations: Observations<S>,
    /// Candidates ranked by the predictor fitted on the first `.0` observations, best first.
    ranking: Option<(usize, Ranking<S::Arch>)>,
}

impl<S: SearchSpace> PredictorSearch<S> {
    pub fn new(space: S, config: PredictorConfig, objectives: usize) -> Self {
        let observations = Observations::new(config.encoding);
        PredictorSearch { space, config, objectives: objectives.max(1), observations, ranking: None }
    }

    /// Fits the predictor on the first `n` observations (and the constant liar's `pending` architectures)
    /// and ranks a pool drawn from the observations alone.
    fn rank(&self, n: usize, pending: &[S::Arch]) -> Vec<(String, S::Arch)> {
        let observations = &self.observations;
        let seed = history_seed(&observations.keys[..n], 0x5eed);
        let mut rng = StrategyRng::seed_from_u64(seed);
        let weights = random_weights(self.objectives, &mut rng);
        let outcomes = &observations.outcomes[..n];
        let scale = Scale::of(outcomes);
        let targets: Vec<f64> = outcomes.iter().map(|o| scale.scalar(o, &weights)).collect();
        let known: std::collections::HashSet<&str> = observations.keys[..n].iter().map(String::as_str).collect();
        let settings = PoolSettings {
            mutations: self.config.mutation_candidates,
            parents: self.config.parents,
            random: self.config.random_candidates,
        };
        let pool =
            candidate_pool(&self.space, &observations.archs[..n], &ranked(&targets), settings, &mut rng, |key| {
                !known.contains(key)
            });
        let features: Vec<Vec<f64>> = pool.iter().map(|a| observations.encode(&self.space, a)).collect();
        let rows = fit_rows(&targets, self.config.fit_limit);
        let predictions: Vec<Vec<f64>> = (0..self.objectives)
            .map(|i| {
                let targets: Vec<f64> = outcomes.iter().map(|o| scale.objective(o, i)).collect();
                let targets = if self.config.copula { copula(&targets) } else { targets };
                let (training, targets) =
                    observations.with_lies(&self.space, &rows, &targets, pending, self.config.constant_liar);
                let model = self.config.model.predictor(seed).fit(&training, &targets);
                let predicted = model.predict(&features).into_iter().map(|p| p.mean);
                // Back to a quantile in (0, 1), the range the scalarisation expects.
                predicted.map(|v| if self.config.copula { normal_cdf(v) } else { v }).collect()
            })
            .collect();
        let scores: Vec<f64> = (0..pool.len())
            .map(|c| chebyshev(&weights, &predictions.iter().map(|p| p[c]).collect::<Vec<_>>()))
            .collect();
        let order = ranked(&scores);
        let mut pool: Vec<Option<S::Arch>> = pool.into_iter().map(Some).collect();
        order
            .into_iter()
            .map(|i| {
                let arch = pool[i].take().expect("each index once");
                (self.space.canonical(&arch), arch)
            })
            .collect()
    }
}

impl<S: SearchSpace> Strategy<S> for PredictorSearch<S> {
    fn ask(&mut self, rng: &mut StrategyRng, pending: &[S::Arch]) -> S::Arch {
        let n = self.observations.len();
        if self.observations.told + pending.len() < self.config.initial || n < 2 {
            return self.observations.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng));
        }
        let fitted = schedule(n, self.config.initial, self.config.batch);
        let fresh;
        let ranking = if self.config.constant_liar.applies(pending) {
            fresh = self.rank(fitted, pending);
            &fresh
        } else {
            if self.ranking.as_ref().is_none_or(|(m, _)| *m != fitted) {
                self.ranking = Some((fitted, self.rank(fitted, &[])));
            }
            &self.ranking.as_ref().expect("ranked above").1
        };
        let pending_keys: Vec<String> = pending.iter().map(|a| self.space.canonical(a)).collect();
        match ranking.iter().find(|(key, _)| self.observations.is_new(key, &pending_keys)) {
            Some((_, arch)) => arch.clone(),
            None => self.observations.seen.novel(&self.space, pending, rng, |rng| self.space.sample(rng)),
        }
    }

    fn tell(&mut self, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.observations.tell(&self.space, arch, outcome);
    }
}
