//! What the model-based strategies (`bo`, `bananas`, `predictor`) share: the observations they were told
//! with their encodings, scalar training targets (ParEGO's augmented Chebyshev scalarisation for several
//! objectives, which TPE uses too, and a penalty for constraint violations), a candidate pool of mutations
//! of the best architectures plus random samples, and acquisition helpers.
//!
//! A model that is cached between asks is always a function of a prefix of the observations (the first
//! `m`, in the order they were told) and of nothing else, so a study replayed from its history rebuilds it.

use std::collections::HashSet;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::Seen;
use crate::objective::Outcome;
use crate::space::SearchSpace;

/// The feature vector a predictor sees for an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// One-hot encoding of the space's decisions.
    Onehot,
    /// The BANANAS path encoding; the one-hot encoding for spaces without one.
    Path,
}

impl Encoding {
    pub(crate) fn encode<S: SearchSpace>(self, space: &S, arch: &S::Arch) -> Vec<f64> {
        match self {
            Encoding::Onehot => space.encode_onehot(arch),
            Encoding::Path => space.encode_path(arch).unwrap_or_else(|| space.encode_onehot(arch)),
        }
    }
}

/// The value a model-based strategy pretends each trial in flight returned (the constant liar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liar {
    /// No lie: the model sees finished trials only (pending architectures are still never proposed twice).
    Off,
    /// The worst result so far (CL-min): pessimistic, spreads concurrent proposals the most.
    Min,
    /// The mean result so far (CL-mean).
    Mean,
    /// The best result so far (CL-max): optimistic, keeps concurrent proposals near the pending ones.
    Max,
}

impl Liar {
    /// Whether a model must be fitted afresh for these trials in flight.
    pub(crate) fn applies<T>(self, pending: &[T]) -> bool {
        self != Liar::Off && !pending.is_empty()
    }
}

/// The architectures a strategy was told about: every one (`seen`), and the distinct ones that have an
/// outcome, in the order they were first told, with their features.
pub(crate) struct Observations<S: SearchSpace> {
    encoding: Encoding,
    pub archs: Vec<S::Arch>,
    pub keys: Vec<String>,
    pub features: Vec<Vec<f64>>,
    pub outcomes: Vec<Outcome>,
    learned: HashSet<String>,
    pub seen: Seen,
    pub told: usize,
}

impl<S: SearchSpace> Observations<S> {
    pub fn new(encoding: Encoding) -> Self {
        Observations {
            encoding,
            archs: Vec::new(),
            keys: Vec::new(),
            features: Vec::new(),
            outcomes: Vec::new(),
            learned: HashSet::new(),
            seen: Seen::default(),
            told: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    pub fn encode(&self, space: &S, arch: &S::Arch) -> Vec<f64> {
        self.encoding.encode(space, arch)
    }

    /// Records a told result; a repeat of an architecture already learned (a cache hit) adds nothing.
    pub fn tell(&mut self, space: &S, arch: &S::Arch, outcome: Option<&Outcome>) {
        self.told += 1;
        self.seen.insert(space, arch);
        if let Some(outcome) = outcome {
            let key = space.canonical(arch);
            if self.learned.insert(key.clone()) {
                self.features.push(self.encoding.encode(space, arch));
                self.archs.push(arch.clone());
                self.keys.push(key);
                self.outcomes.push(outcome.clone());
            }
        }
    }

    /// Whether a key is neither evaluated nor among `pending`.
    pub fn is_new(&self, key: &str, pending: &[String]) -> bool {
        !self.seen.contains(key) && !pending.iter().any(|p| p == key)
    }

    /// Training data for a model that must also account for the trials in flight: the features of the
    /// observations `rows` (indices into the first `targets.len()` observations, see [`fit_rows`]) with
    /// their targets, then every pending architecture not evaluated yet with the `liar`'s value as its
    /// target (the constant liar: Ginsbourger, Le Riche and Carraro 2010), computed from all of `targets`.
    /// A model fitted on it is no longer uncertain about the pending networks, so concurrent proposals
    /// stop crowding them: the pessimistic lie also makes their neighbourhood unattractive, the optimistic
    /// one keeps it attractive.
    pub fn with_lies(
        &self,
        space: &S,
        rows: &[usize],
        targets: &[f64],
        pending: &[S::Arch],
        liar: Liar,
    ) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut features: Vec<Vec<f64>> = rows.iter().map(|&i| self.features[i].clone()).collect();
        let mut lied: Vec<f64> = rows.iter().map(|&i| targets[i]).collect();
        let lie = match liar {
            Liar::Off => return (features, lied),
            Liar::Min => targets.iter().copied().fold(f64::INFINITY, f64::min),
            Liar::Mean => targets.iter().sum::<f64>() / targets.len().max(1) as f64,
            Liar::Max => targets.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        };
        for arch in pending {
            if !self.seen.contains(&space.canonical(arch)) {
                features.push(self.encode(space, arch));
                lied.push(lie);
            }
        }
        (features, lied)
    }
}

/// The observations a model is fitted on, in the order they were told, when it may be fitted on at most
/// `limit` of them (`0`: no limit, every observation): the best `limit / 2` by `targets` (higher is
/// better, earlier first on ties) and the most recent of the others up to `limit`. The best ones are
/// where the candidate pools are drawn and where the acquisition must be right; the recent ones are where
/// the search has just been. This bounds the cost of a fit, whatever the length of the history.
pub(crate) fn fit_rows(targets: &[f64], limit: usize) -> Vec<usize> {
    let n = targets.len();
    if limit == 0 || n <= limit {
        return (0..n).collect();
    }
    let mut chosen = vec![false; n];
    for i in ranked(targets).into_iter().take(limit / 2) {
        chosen[i] = true;
    }
    let mut missing = limit - limit / 2;
    for i in (0..n).rev() {
        if missing == 0 {
            break;
        }
        if !chosen[i] {
            chosen[i] = true;
            missing -= 1;
        }
    }
    (0..n).filter(|&i| chosen[i]).collect()
}

/// The weight of the sum term of the augmented Chebyshev scalarisation (ParEGO's ρ).
const RHO: f64 = 0.05;

/// Normalises outcomes to training targets, from the range of a set of outcomes: each objective is mapped
/// to [0, 1] over the feasible outcomes (all outcomes when none is feasible). An infeasible outcome gets
/// `−1 − violation / largest violation` as an objective's target and `−2 − violation / largest violation`
/// as a scalarised one: below every feasible value either way.
pub(crate) struct Scale {
    low: Vec<f64>,
    span: Vec<f64>,
    largest_violation: f64,
}

impl Scale {
    pub fn of(outcomes: &[Outcome]) -> Scale {
        let objectives = outcomes.first().map_or(0, |o| o.scores.len());
        let any_feasible = outcomes.iter().any(Outcome::is_feasible);
        let reference = || outcomes.iter().filter(move |o| o.is_feasible() || !any_feasible);
        let mut low = vec![f64::INFINITY; objectives];
        let mut high = vec![f64::NEG_INFINITY; objectives];
        for outcome in reference() {
            for (i, &score) in outcome.scores.iter().enumerate() {
                low[i] = low[i].min(score);
                high[i] = high[i].max(score);
            }
        }
        let span = low.iter().zip(&high).map(|(l, h)| if h - l > 0.0 { h - l } else { 1.0 }).collect();
        let largest_violation = outcomes.iter().map(|o| o.violation).fold(0.0, f64::max);
        Scale { low, span, largest_violation }
    }

    /// The target of objective `i` for a model of that objective alone.
    pub fn objective(&self, outcome: &Outcome, i: usize) -> f64 {
        if outcome.is_feasible() {
            (outcome.scores[i] - self.low[i]) / self.span[i]
        } else {
            -1.0 - outcome.violation / self.largest_violation
        }
    }

    /// The scalarised target under `weights` (one per objective).
    pub fn scalar(&self, outcome: &Outcome, weights: &[f64]) -> f64 {
        if outcome.is_feasible() {
            let values: Vec<f64> = (0..weights.len()).map(|i| self.objective(outcome, i)).collect();
            chebyshev(weights, &values)
        } else {
            -2.0 - outcome.violation / self.largest_violation
        }
    }
}

/// ParEGO's augmented Chebyshev scalarisation (Knowles 2006) of values normalised to [0, 1], higher better:
/// minus the weighted distance to the ideal point 1, `−(max_i w_i (1 − v_i) + ρ Σ_i w_i (1 − v_i))`, in
/// [−1 − ρ, 0] for weights on the simplex. With one objective it is `(1 + ρ)(v − 1)`, increasing in `v`.
pub(crate) fn chebyshev(weights: &[f64], values: &[f64]) -> f64 {
    let shortfalls = weights.iter().zip(values).map(|(w, v)| w * (1.0 - v));
    let worst = shortfalls.clone().fold(f64::NEG_INFINITY, f64::max);
    -(worst + RHO * shortfalls.sum::<f64>())
}

/// A weight vector drawn uniformly from the simplex (one draw per objective); `[1]` for one objective,
/// without touching the generator.
pub(crate) fn random_weights<R: Rng + ?Sized>(objectives: usize, rng: &mut R) -> Vec<f64> {
    if objectives <= 1 {
        return vec![1.0];
    }
    let draws: Vec<f64> = (0..objectives).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let total: f64 = draws.iter().sum();
    draws.iter().map(|d| d / total).collect()
}

/// Equal weights, for fitting settings that must not depend on a per-ask draw.
pub(crate) fn equal_weights(objectives: usize) -> Vec<f64> {
    vec![1.0 / objectives.max(1) as f64; objectives.max(1)]
}

/// Indices of `targets`, best first (earlier first on ties).
pub(crate) fn ranked(targets: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[b].total_cmp(&targets[a]).then(a.cmp(&b)));
    order
}

/// How a candidate pool is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    /// Mutations of the best architectures (one or two steps each).
    pub mutations: usize,
    /// Architectures whose mutations are drawn, best first, in turn.
    pub parents: usize,
    /// Uniform random samples.
    pub random: usize,
}

/// Candidates for a model to score: every single-step neighbour of the best architecture, mutations of
/// the `parents` best (in turn), and random samples; distinct, and without architectures for which
/// `is_new` says no. `ranking` orders `archs`, best first.
pub(crate) fn candidate_pool<S: SearchSpace, R: Rng + ?Sized>(
    space: &S,
    archs: &[S::Arch],
    ranking: &[usize],
    settings: PoolSettings,
    rng: &mut R,
    is_new: impl Fn(&str) -> bool,
) -> Vec<S::Arch> {
    let mut pool = Vec::new();
    let mut keys = HashSet::new();
    let mut offer = |arch: S::Arch| {
        let key = space.canonical(&arch);
        if is_new(&key) && keys.insert(key) {
            pool.push(arch);
        }
    };
    let parents: Vec<&S::Arch> = ranking.iter().take(settings.parents.max(1)).map(|&i| &archs[i]).collect();
    if let Some(best) = parents.first() {
        for neighbour in space.neighbours(best) {
            offer(neighbour);
        }
        for i in 0..settings.mutations {
            let mut child = space.mutate(parents[i % parents.len()], rng);
            if rng.random_bool(0.5) {
                child = space.mutate(&child, rng);
            }
            offer(child);
        }
    }
    for _ in 0..settings.random {
        offer(space.sample(rng));
    }
    pool
}

/// The number of observations the model of a strategy that refits every `every` observations after a
/// start of `start` is fitted on, when `n` are known: all of them up to `start`, then the last multiple.
pub(crate) fn schedule(n: usize, start: usize, every: usize) -> usize {
    if n <= start { n } else { start + (n - start) / every.max(1) * every.max(1) }
}

/// A seed that depends only on the first observations (their canonical keys, in order) and a salt:
/// randomness for cached models that a replayed study draws again identically (FNV-1a, then SplitMix).
pub(crate) fn history_seed(keys: &[String], salt: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for key in keys {
        for byte in key.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    crate::study::trial_seed(hash, salt)
}

/// A standard normal draw (Box–Muller).
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u = 1.0 - rng.random::<f64>();
    let v = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// The standard normal density.
fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Expected improvement over `best` of a Gaussian prediction (higher is better). Far below `best` it uses
/// the asymptotic series of `zΦ(z) + φ(z)`, so that candidates still compare by their tails.
pub(crate) fn expected_improvement(mean: f64, std: f64, best: f64) -> f64 {
    if std <= 1e-12 {
        return (mean - best).max(0.0);
    }
    let z = (mean - best) / std;
    let h = if z < -6.0 {
        let z2 = z * z;
        normal_pdf(z) / z2 * (1.0 - 3.0 / z2 + 15.0 / (z2 * z2))
    } else {
        z * crate::predictor::normal_cdf(z) + normal_pdf(z)
    };
    std * h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_improvement_is_monotone_and_matches_known_values() {
        // EI(0, 1, 0) = φ(0) = 0.3989…; EI(1, 1, 0) = Φ(1) + φ(1) = 1.0833…
        assert!((expected_improvement(0.0, 1.0, 0.0) - 0.398_942_280_4).abs() < 1e-6);
        assert!((expected_improvement(1.0, 1.0, 0.0) - 1.083_315_470_3).abs() < 1e-6);
        let mut last = 0.0;
        for step in 0..200 {
            let ei = expected_improvement(-20.0 + step as f64 * 0.1, 1.0, 0.0);
            assert!(ei > last, "EI grows with the mean ({step}: {ei} <= {last})");
            last = ei;
        }
        assert!(expected_improvement(0.0, 2.0, 1.0) > expected_improvement(0.0, 1.0, 1.0), "and with the deviation");
    }

    #[test]
    fn scalarisation_orders_feasible_before_infeasible() {
        let outcomes = vec![
            Outcome { scores: vec![1.0, -10.0], violation: 0.0 },
            Outcome { scores: vec![3.0, -30.0], violation: 0.0 },
            Outcome { scores: vec![9.0, 0.0], violation: 2.0 },
        ];
        let scale = Scale::of(&outcomes);
        assert_eq!(scale.objective(&outcomes[0], 0), 0.0);
        assert_eq!(scale.objective(&outcomes[1], 1), 0.0);
        assert_eq!(scale.objective(&outcomes[2], 0), -2.0);
        let weights = [0.5, 0.5];
        assert!(
            scale.scalar(&outcomes[2], &weights)
                < scale.scalar(&outcomes[0], &weights).min(scale.scalar(&outcomes[1], &weights))
        );
        // Chebyshev: the larger weighted shortfall decides, plus ρ times their sum.
        assert!((chebyshev(&[0.5, 0.5], &[1.0, 0.0]) + 0.525).abs() < 1e-12);
        assert!((chebyshev(&[0.9, 0.1], &[1.0, 0.0]) + 0.105).abs() < 1e-12, "a heavy weight wants its objective");
        assert!(chebyshev(&[0.9, 0.1], &[1.0, 0.0]) > chebyshev(&[0.9, 0.1], &[0.0, 1.0]));
        assert_eq!(chebyshev(&[1.0], &[1.0]), 0.0);
        let mut rng = <rand_pcg::Pcg64Mcg as rand::SeedableRng>::seed_from_u64(1);
        let w = random_weights(3, &mut rng);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12 && w.iter().all(|&x| x > 0.0));
        assert_eq!(random_weights(1, &mut rng), vec![1.0]);
    }

    #[test]
    fn fit_rows_keep_the_best_half_and_the_most_recent_within_the_limit() {
        let targets = [5.0, 9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 0.0];
        assert_eq!(fit_rows(&targets, 0), (0..8).collect::<Vec<_>>(), "0: no limit");
        assert_eq!(fit_rows(&targets, 8), (0..8).collect::<Vec<_>>(), "a limit the history does not reach");
        // The best two (9 at 1, 8 at 3), then the two most recent others (6 and 7), in the order told.
        assert_eq!(fit_rows(&targets, 4), vec![1, 3, 6, 7]);
        // An odd limit gives the extra row to the recent ones; recent rows that are among the best count once.
        // (The best, 5 at 4, is also the latest: the two recent rows are 3 and 2.)
        assert_eq!(fit_rows(&[1.0, 2.0, 3.0, 4.0, 5.0], 3), vec![2, 3, 4]);
        for limit in 2..=12 {
            let many: Vec<f64> = (0..50).map(|i| ((i * 37) % 23) as f64).collect();
            let rows = fit_rows(&many, limit);
            assert_eq!(rows.len(), limit, "exactly the limit once the history is longer");
            assert!(rows.windows(2).all(|w| w[0] < w[1]), "distinct, in the order told");
            assert!(rows.contains(&ranked(&many)[0]) && rows.contains(&49), "the best and the latest are kept");
        }
    }

    #[test]
    fn the_fit_set_is_the_chosen_rows_and_the_lies_come_from_the_whole_history() {
        use crate::strategy::tpe::tests::Toy;
        let mut observations = Observations::<Toy>::new(Encoding::Onehot);
        let archs: Vec<Vec<usize>> = (0..6).map(|i| vec![i % 4, i / 4, 0, 0, 0, 0, 0, 0]).collect();
        for arch in &archs {
            observations.tell(&Toy, arch, Some(&Outcome { scores: vec![arch[0] as f64], violation: 0.0 }));
        }
        let targets = [0.0, 1.0, 2.0, 3.0, 0.0, 10.0];
        let pending = vec![vec![3, 3, 3, 3, 3, 3, 3, 3], archs[0].clone()];
        let rows = fit_rows(&targets, 2);
        assert_eq!(rows, vec![4, 5]);
        let (features, lied) = observations.with_lies(&Toy, &rows, &targets, &pending, Liar::Mean);
        // Two rows and one lie: the pending network already evaluated is not lied about.
        assert_eq!(features.len(), 3);
        assert_eq!(features[..2], [observations.features[4].clone(), observations.features[5].clone()]);
        assert_eq!(lied, vec![0.0, 10.0, 16.0 / 6.0], "the mean of every target, not of the fitted ones");
        let (features, unlied) = observations.with_lies(&Toy, &fit_rows(&targets, 0), &targets, &pending, Liar::Off);
        assert_eq!((features, unlied), (observations.features.clone(), targets.to_vec()), "no limit, no lie: all");
    }

    #[test]
    fn schedules_refit_on_multiples() {
        let fitted: Vec<usize> = [5, 10, 11, 19, 20, 35].iter().map(|&n| schedule(n, 10, 10)).collect();
        assert_eq!(fitted, vec![5, 10, 10, 10, 20, 30]);
        assert_eq!(schedule(27, 20, 5), 25);
        let keys: Vec<String> = vec!["a".into(), "b".into()];
        assert_eq!(history_seed(&keys, 1), history_seed(&keys.clone(), 1));
        assert_ne!(history_seed(&keys, 1), history_seed(&keys[..1], 1));
        assert_ne!(history_seed(&keys, 1), history_seed(&keys, 2));
    }
}
