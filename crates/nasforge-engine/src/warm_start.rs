//! The cells a warm-started study evaluates first: a seeded pool of distinct architectures scored by the
//! zero-cost proxies of its [`WarmStartConfig`], the best `top` by their mean rank.

use std::collections::HashSet;

use nasforge_core::predictor::ranks;
use nasforge_core::strategy::StrategyRng;
use nasforge_core::study::EvalError;
use nasforge_train::{Buildable, DeviceChoice};
use rand::SeedableRng;

use crate::config::WarmStartConfig;
use crate::error::{Result, invalid};
use crate::evaluators::zero_cost_evaluator;

/// The best `config.top` architectures of a pool drawn with `seed`, best first.
pub fn warm_start_cells<S: Buildable>(
    space: &S,
    config: &WarmStartConfig,
    seed: u64,
    device: DeviceChoice,
) -> Result<Vec<S::Arch>> {
    let evaluator = zero_cost_evaluator(&config.zero_cost, device)?;
    let mut rng = StrategyRng::seed_from_u64(seed ^ 0x3A7E_5EED);
    let (mut seen, mut pool) = (HashSet::new(), Vec::new());
    for _ in 0..config.pool * 20 {
        if pool.len() == config.pool {
            break;
        }
        let arch = space.sample(&mut rng);
        if space.computes_nothing(&arch) || !seen.insert(space.canonical(&arch)) {
            continue;
        }
        match evaluator.score(space, &arch, seed) {
            Ok(scores) => pool.push((arch, scores.into_iter().map(|s| s.value).collect::<Vec<f64>>())),
            Err(EvalError::Fatal(reason)) => invalid!("warm start: {reason}"),
            Err(_) => {}
        }
    }
    if pool.len() < config.top {
        invalid!(
            "warm start: only {} architectures of the pool could be scored, fewer than top = {}",
            pool.len(),
            config.top
        );
    }
    let proxies = config.zero_cost.proxies.len();
    let per_proxy: Vec<Vec<f64>> =
        (0..proxies).map(|p| ranks(&pool.iter().map(|(_, s)| s[p]).collect::<Vec<f64>>())).collect();
    let mut order: Vec<usize> = (0..pool.len()).collect();
    let mean_rank = |i: usize| per_proxy.iter().map(|r| r[i]).sum::<f64>();
    order.sort_by(|&a, &b| mean_rank(b).total_cmp(&mean_rank(a)));
    Ok(order.into_iter().take(config.top).map(|i| pool[i].0.clone()).collect())
}
