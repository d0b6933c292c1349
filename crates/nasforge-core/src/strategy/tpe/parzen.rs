//! TPE's Parzen estimator over decision vectors, as Optuna builds it for categorical parameters: a mixture
//! of one kernel per observation, weighted by recency, and a uniform prior kernel.
//!
//! The density of a candidate is a sum over every observation of the group (up to all told results for
//! the bad group), computed for every candidate of every proposal: it is what a TPE proposal costs. Where
//! the terms stay in floating-point range it is a sum of plain products, and the observations are packed
//! eight decisions to a 64-bit word, one byte each, so that one XOR compares eight decisions of a candidate
//! with an observation and a table gives the product of the matched decisions' gains.

use rand::RngExt;

use super::TpeConfig;
use crate::strategy::StrategyRng;

/// Optuna's `default_weights`: equal weights up to 25 results; beyond, the 25 newest weigh 1 and the older
/// ones ramp linearly from 1/n (the oldest) up to 1.
pub(super) fn recency_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let start = 1.0 / n as f64;
    let mut weights: Vec<f64> = (0..ramp)
        .map(|i| if ramp == 1 { start } else { start + (1.0 - start) * i as f64 / (ramp - 1) as f64 })
        .collect();
    weights.extend(std::iter::repeat_n(1.0, 25));
    weights
}

/// A Parzen estimator over decision vectors: a mixture of one kernel per observation and a uniform prior
/// kernel. An observation's kernel gives decision `d` its observed choice with probability `hit[d]` and
/// every other choice `miss[d]` (Optuna: `prior_weight / kernels` on every choice plus 1 on the observed
/// one, normalised).
pub(super) struct Parzen<'a> {
    sizes: &'a [usize],
    centres: Vec<&'a [usize]>,
    /// Mixture weights of the centres, then of the prior; they sum to 1.
    weights: Vec<f64>,
    hit: Vec<f64>,
    /// Per decision: `ln hit[d] − ln miss[d]`, added for each decision where a vector matches the centre.
    log_gain: Vec<f64>,
    density: Density,
}

/// How [`Parzen::log_density`] sums the mixture.
enum Density {
    /// Univariate: each decision's own categorical density (the mixture's marginal), sampled from, and its
    /// log, summed over the decisions.
    Marginal { probabilities: Vec<Vec<f64>>, logs: Vec<Vec<f64>> },
    /// A sum of plain products over packed centres.
    Linear(LinearTerms),
    /// A log-sum-exp, where plain products would leave the floating-point range (very many decisions after
    /// very many trials): per centre the log of its weight plus `Σ_d ln miss[d]` (its log density at a
    /// vector matching it nowhere), and the log of the prior's weight times its (uniform) density.
    Log { log_base: Vec<f64>, log_prior: f64 },
}

impl<'a> Parzen<'a> {
    pub(super) fn new(sizes: &'a [usize], centres: &[&'a [usize]], config: &TpeConfig) -> Self {
        let n = centres.len();
        let mut weights = recency_weights(n);
        weights.push(if centres.is_empty() { 1.0 } else { config.prior_weight });
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let spread = config.prior_weight / (n + 1) as f64;
        let hit: Vec<f64> = sizes.iter().map(|&c| (1.0 + spread) / (1.0 + c as f64 * spread)).collect();
        let miss: Vec<f64> = sizes.iter().map(|&c| spread / (1.0 + c as f64 * spread)).collect();
        let log_gain: Vec<f64> = hit.iter().zip(&miss).map(|(h, m)| h.ln() - m.ln()).collect();
        let marginals: Option<Vec<Vec<f64>>> = (!config.multivariate).then(|| {
            let prior = weights[n];
            let centre_total: f64 = weights[..n].iter().sum();
            (sizes.iter().enumerate())
                .map(|(d, &c)| {
                    let mut p = vec![prior / c as f64 + centre_total * miss[d]; c];
                    for (centre, w) in centres.iter().zip(&weights) {
                        p[centre[d]] += w * (hit[d] - miss[d]);
                    }
                    p
                })
                .collect()
        });
        let log_miss: f64 = miss.iter().map(|p| p.ln()).sum();
        let log_prior = weights[n].ln() - sizes.iter().map(|&c| (c as f64).ln()).sum::<f64>();
        let density = match marginals {
            Some(probabilities) => {
                let logs = probabilities.iter().map(|p| p.iter().map(|q| q.ln()).collect()).collect();
                Density::Marginal { probabilities, logs }
            }
            None => match LinearTerms::new(sizes, centres, &weights[..n], log_miss, &log_gain, log_prior) {
                Some(linear) => Density::Linear(linear),
                None => Density::Log { log_base: weights[..n].iter().map(|w| w.ln() + log_miss).collect(), log_prior },
            },
        };
        Parzen { sizes, centres: centres.to_vec(), weights, hit, log_gain, density }
    }

    pub(super) fn sample(&self, rng: &mut StrategyRng) -> Vec<usize> {
        if let Density::Marginal { probabilities, .. } = &self.density {
            return probabilities.iter().map(|p| draw(p.iter().copied(), rng)).collect();
        }
        let kernel = draw(self.weights.iter().copied(), rng);
        match self.centres.get(kernel) {
            None => self.sizes.iter().map(|&c| rng.random_range(0..c)).collect(),
            Some(centre) => self
                .sizes
                .iter()
                .enumerate()
                .map(|(d, &c)| {
                    if c == 1 || rng.random::<f64>() < self.hit[d] {
                        centre[d]
                    } else {
                        // One of the other choices, uniformly.
                        let other = rng.random_range(0..c - 1);
                        if other >= centre[d] { other + 1 } else { other }
                    }
                })
                .collect(),
        }
    }

    pub(super) fn log_density(&self, x: &[usize]) -> f64 {
        match &self.density {
            Density::Marginal { logs, .. } => logs.iter().zip(x).map(|(p, &v)| p[v]).sum(),
            Density::Linear(linear) => linear.log_density(&self.centres, x),
            Density::Log { log_base, log_prior } => {
                // log Σ_k exp(t_k), accumulated in one pass relative to the largest term so far.
                let (mut max, mut sum) = (*log_prior, 1.0);
                for (centre, base) in self.centres.iter().zip(log_base) {
                    let mut t = *base;
                    for d in 0..x.len() {
                        if centre[d] == x[d] {
                            t += self.log_gain[d];
                        }
                    }
                    if t > max {
                        sum = sum * (max - t).exp() + 1.0;
                        max = t;
                    } else {
                        sum += (t - max).exp();
                    }
                }
                max + sum.ln()
            }
        }
    }
}

/// A Parzen mixture's terms divided by `e^scale`: `base[k]` a centre's density at a vector matching it
/// nowhere, `gain[d]` the factor of each matched decision, `prior` the prior's term.
struct LinearTerms {
    base: Vec<f64>,
    gain: Vec<f64>,
    prior: f64,
    scale: f64,
    /// The centres packed, where every decision has at most 256 choices.
    packed: Option<Packed>,
}

impl LinearTerms {
    /// The terms in linear form, unless a term or a product of them leaves the floating-point range
    /// comfortably (very many decisions after very many trials). A centre's log term is
    /// `ln weights[k] + log_miss`.
    fn new(
        sizes: &[usize],
        centres: &[&[usize]],
        weights: &[f64],
        log_miss: f64,
        log_gain: &[f64],
        log_prior: f64,
    ) -> Option<Self> {
        let (lightest, heaviest) = weights.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &w| (lo.min(w), hi.max(w)));
        let scale = if weights.is_empty() { log_prior } else { log_prior.max(heaviest.ln() + log_miss) };
        let lowest = if weights.is_empty() { log_prior } else { log_prior.min(lightest.ln() + log_miss) };
        let widest_gain: f64 = log_gain.iter().sum();
        if scale - lowest >= 600.0 || widest_gain >= 600.0 {
            return None;
        }
        let unit = (log_miss - scale).exp();
        let gain: Vec<f64> = log_gain.iter().map(|g| g.exp()).collect();
        Some(LinearTerms {
            base: weights.iter().map(|w| w * unit).collect(),
            packed: Packed::new(sizes, centres, &gain),
            gain,
            prior: (log_prior - scale).exp(),
            scale,
        })
    }

    /// `ln(prior + Σ_k base_k · Π_{d matched} gain_d) + scale`.
    fn log_density(&self, centres: &[&[usize]], x: &[usize]) -> f64 {
        let sum = match &self.packed {
            Some(packed) => packed.weighted_sum(&self.base, x),
            None => {
                let mut sum = 0.0;
                for (centre, base) in centres.iter().zip(&self.base) {
                    let mut term = *base;
                    for d in 0..x.len() {
                        if centre[d] == x[d] {
                            term *= self.gain[d];
                        }
                    }
                    sum += term;
                }
                sum
            }
        };
        self.scale + (self.prior + sum).ln()
    }
}

/// Centres packed eight decisions to a word, a byte each, with the product of the gains of every subset
/// of each word's decisions: a centre's factor `Π_{d matched} gain_d` is one table entry per word.
struct Packed {
    words: usize,
    /// `words` words per centre.
    centres: Vec<u64>,
    /// Per word, 256 products: entry `m` multiplies the gains of the word's decisions whose bit is set in `m`.
    products: Vec<f64>,
}

impl Packed {
    fn new(sizes: &[usize], centres: &[&[usize]], gain: &[f64]) -> Option<Packed> {
        if sizes.iter().any(|&c| c > 256) {
            return None;
        }
        let words = sizes.len().div_ceil(8);
        let mut packed = vec![0u64; centres.len() * words];
        for (centre, words) in centres.iter().zip(packed.chunks_exact_mut(words)) {
            pack(centre, words);
        }
        let products = (0..words * 256)
            .map(|entry| {
                let (word, subset) = (entry / 256, entry % 256);
                (0..8).filter(|bit| subset >> bit & 1 == 1).filter_map(|bit| gain.get(word * 8 + bit)).product()
            })
            .collect();
        Some(Packed { words, centres: packed, products })
    }

    /// `Σ_k base_k · Π_{d where x matches centre k} gain_d`.
    fn weighted_sum(&self, base: &[f64], x: &[usize]) -> f64 {
        let mut packed = vec![0u64; self.words];
        pack(x, &mut packed);
        let mut sum = 0.0;
        for (centre, base) in self.centres.chunks_exact(self.words).zip(base) {
            let mut term = *base;
            for (w, (c, x)) in centre.iter().zip(&packed).enumerate() {
                term *= self.products[w * 256 + zero_bytes(c ^ x)];
            }
            sum += term;
        }
        sum
    }
}

/// Writes a decision vector into zeroed `words`, eight bytes to a word (zero past its end, where every
/// vector agrees).
fn pack(decisions: &[usize], words: &mut [u64]) {
    for (d, &choice) in decisions.iter().enumerate() {
        words[d / 8] |= (choice as u64) << (8 * (d % 8));
    }
}

/// The bytes of `v` that are zero, as the bits of a number below 256 (bit `i`: byte `i`).
fn zero_bytes(v: u64) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // 0x80 in every zero byte and nothing elsewhere (no carry crosses a byte: each byte adds at most 0xfe).
    let high = !(((v & LOW7) + LOW7) | v | LOW7);
    // Gathers bit 8i + 7 of each byte into bit 56 + i: the products of the shifts never collide.
    ((high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize
}

/// An index drawn with probability proportional to the (non-negative) weights.
fn draw(weights: impl Iterator<Item = f64> + Clone, rng: &mut StrategyRng) -> usize {
    let total: f64 = weights.clone().sum();
    let mut u = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            last = i;
            if u < w {
                return i;
            }
            u -= w;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    /// The density agrees with a direct log-space sum, also where the products it multiplies overflow.
    #[test]
    fn parzen_density_matches_the_log_space_sum_and_survives_overflow() {
        let config = TpeConfig::default();
        for (decisions, kernels) in [(6, 40), (300, 5_000)] {
            let sizes = vec![3; decisions];
            let centres: Vec<Vec<usize>> =
                (0..kernels).map(|k| (0..decisions).map(|d| (k + d) % 3).collect()).collect();
            let views: Vec<&[usize]> = centres.iter().map(Vec::as_slice).collect();
            let parzen = Parzen::new(&sizes, &views, &config);
            let x = centres[0].clone();
            let direct = {
                let logs: Vec<f64> = (centres.iter().zip(&parzen.weights))
                    .map(|(centre, w)| {
                        w.ln()
                            + (0..decisions)
                                .map(|d| {
                                    if centre[d] == x[d] {
                                        parzen.hit[d].ln()
                                    } else {
                                        parzen.hit[d].ln() - parzen.log_gain[d]
                                    }
                                })
                                .sum::<f64>()
                    })
                    .chain([parzen.weights[kernels].ln() - decisions as f64 * 3f64.ln()])
                    .collect();
                let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                max + logs.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
            };
            let density = parzen.log_density(&x);
            assert!(
                density.is_finite() && (density - direct).abs() < 1e-9 * direct.abs().max(1.0),
                "{density} {direct}"
            );
        }
    }

    #[test]
    fn weights_and_densities_follow_optuna() {
        assert_eq!(recency_weights(3), vec![1.0; 3]);
        let w = recency_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12 && (w[4] - 1.0).abs() < 1e-12 && w[5..].iter().all(|&x| x == 1.0));
        assert!(w[..5].windows(2).all(|p| p[0] < p[1]));
        // Densities sum to 1 over the whole toy space of 3 decisions.
        let sizes = [3, 2, 4];
        let a = [0, 1, 3];
        let b = [2, 1, 0];
        for multivariate in [true, false] {
            let config = TpeConfig { multivariate, ..TpeConfig::default() };
            let parzen = Parzen::new(&sizes, &[&a, &b], &config);
            let mut total = 0.0;
            for x in 0..3 {
                for y in 0..2 {
                    for z in 0..4 {
                        total += parzen.log_density(&[x, y, z]).exp();
                    }
                }
            }
            assert!((total - 1.0).abs() < 1e-9, "{total}");
            // An observed vector is denser than an unobserved one.
            assert!(parzen.log_density(&a) > parzen.log_density(&[1, 0, 1]));
        }
        // One observation and the prior: the kernel puts (1 + 1/2) / (1 + 3/2) on the observed choice.
        let parzen = Parzen::new(&sizes[..1], &[&a[..1]], &TpeConfig::default());
        let expected = 0.5 * (1.5 / 2.5) + 0.5 / 3.0;
        assert!((parzen.log_density(&[0]).exp() - expected).abs() < 1e-12);
    }

    #[test]
    fn zero_bytes_are_the_matching_decisions() {
        assert_eq!(zero_bytes(0), 0xff);
        assert_eq!(zero_bytes(u64::MAX), 0);
        for byte in 0..8 {
            for value in [1u64, 0x80, 0xff, 0x7f] {
                assert_eq!(zero_bytes(value << (8 * byte)), 0xff & !(1 << byte), "byte {byte} value {value:#x}");
            }
        }
        assert_eq!(zero_bytes(0x0100_0000_0000_0001), 0b0111_1110);
    }

    /// The packed sum equals the decision-by-decision one, for spaces of one word, several, and a partial one.
    #[test]
    fn packed_centres_give_the_same_density() {
        let config = TpeConfig::default();
        let mut rng = <StrategyRng as rand::SeedableRng>::seed_from_u64(3);
        for (decisions, choices) in [(6, 5), (8, 2), (19, 7), (33, 256)] {
            let sizes = vec![choices; decisions];
            let centres: Vec<Vec<usize>> =
                (0..300).map(|_| (0..decisions).map(|_| rng.random_range(0..choices)).collect()).collect();
            let views: Vec<&[usize]> = centres.iter().map(Vec::as_slice).collect();
            let parzen = Parzen::new(&sizes, &views, &config);
            let Density::Linear(linear) = &parzen.density else { panic!("{decisions} decisions: not linear") };
            let unpacked =
                LinearTerms { packed: None, base: linear.base.clone(), gain: linear.gain.clone(), ..*linear };
            for x in centres.iter().take(20).cloned().chain((0..20).map(|_| parzen.sample(&mut rng))) {
                let (packed, direct) = (parzen.log_density(&x), unpacked.log_density(&views, &x));
                assert!((packed - direct).abs() < 1e-12 * direct.abs().max(1.0), "{decisions}: {packed} {direct}");
            }
        }
    }
}
