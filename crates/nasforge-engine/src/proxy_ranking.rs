//! How well zero-cost proxies rank architectures: each proxy's score of every (or a seeded sample of the)
//! architectures of a table with a ground-truth column, its rank correlations with that column (Spearman,
//! Kendall) and its time per network; optionally a combination of proxies by their mean rank.

use std::path::PathBuf;

use nasforge_core::predictor::{kendall_tau, ranks, spearman_rho};
use nasforge_core::study::EvalError;
use nasforge_eval::Table;
use nasforge_train::zero_cost::Proxy;
use nasforge_train::{Buildable, DeviceChoice};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::config::ZeroCostConfig;
use crate::error::{Result, invalid};
use crate::evaluators::zero_cost_evaluator;

/// What to rank and against what.
#[derive(Debug, Clone)]
pub struct ProxyRankingRequest {
    /// The ground truth: a table with an `arch` column and `metric`.
    pub table: PathBuf,
    pub metric: String,
    /// The proxies and what they see.
    pub zero_cost: ZeroCostConfig,
    /// Score this many architectures of the table, drawn with `seed` [default: all].
    pub sample: Option<usize>,
    pub seed: u64,
    /// Proxies combined by their mean rank, reported as `mean_rank(a+b+…)` (none: no combination).
    pub combine: Vec<Proxy>,
    pub device: DeviceChoice,
}

/// One proxy's (or combination's) agreement with the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyCorrelation {
    pub name: String,
    pub spearman: f64,
    pub kendall: f64,
    pub seconds_per_network: f64,
}

/// The result of [`rank_proxies`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyRanking {
    pub table: PathBuf,
    pub metric: String,
    /// Architectures scored.
    pub networks: usize,
    /// Architectures the proxies could not score (a cell that computes nothing…): ranked last by every proxy.
    pub unscorable: usize,
    pub proxies: Vec<ProxyCorrelation>,
}

/// Scores the table's architectures with every proxy of `request.zero_cost` (networks initialised with
/// `request.seed`) and correlates each with the ground truth. `progress` sees (done, total).
pub fn rank_proxies<S: Buildable>(
    space: &S,
    request: &ProxyRankingRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProxyRanking> {
    if let Some(missing) = request.combine.iter().find(|p| !request.zero_cost.proxies.contains(p)) {
        invalid!("--combine names `{}`, which is not among the proxies computed", missing.name());
    }
    let evaluator = zero_cost_evaluator(&request.zero_cost, request.device)?;
    let table = Table::load(&request.table, space)?;
    let column = table.column(&request.metric)?;
    let mut rows: Vec<(&str, f64)> =
        table.rows().filter(|(_, values)| values[column].is_finite()).map(|(arch, v)| (arch, v[column])).collect();
    // Sorted by printed form, so that the sample does not depend on the table's hashing.
    rows.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(n) = request.sample {
        rows.shuffle(&mut rand_pcg::Pcg64::seed_from_u64(request.seed));
        rows.truncate(n);
    }
    if rows.len() < 3 {
        invalid!(
            "{}: {} architectures with a `{}` value; rank correlations need at least 3",
            request.table.display(),
            rows.len(),
            request.metric
        );
    }
    let proxies = &request.zero_cost.proxies;
    let mut scores: Vec<Vec<f64>> = vec![Vec::with_capacity(rows.len()); proxies.len()];
    let mut seconds = vec![0f64; proxies.len()];
    let mut unscorable = 0;
    for (done, (printed, _)) in rows.iter().enumerate() {
        let arch = space.parse(printed).map_err(|e| crate::error::EngineError::invalid(e.message))?;
        match evaluator.score(space, &arch, request.seed) {
            Ok(network_scores) => {
                for (i, score) in network_scores.into_iter().enumerate() {
                    scores[i].push(score.value);
                    seconds[i] += score.seconds;
                }
            }
            Err(EvalError::Failed(_) | EvalError::Stopped(_) | EvalError::Paused { .. }) => {
                unscorable += 1;
                scores.iter_mut().for_each(|s| s.push(f64::NEG_INFINITY));
            }
            Err(EvalError::Fatal(reason)) => invalid!("{reason}"),
        }
        progress(done + 1, rows.len());
    }
    let truth: Vec<f64> = rows.iter().map(|(_, v)| *v).collect();
    let scored = (rows.len() - unscorable).max(1) as f64;
    let mut correlations: Vec<ProxyCorrelation> = proxies
        .iter()
        .enumerate()
        .map(|(i, proxy)| ProxyCorrelation {
            name: proxy.name().to_string(),
            spearman: spearman_rho(&scores[i], &truth),
            kendall: kendall_tau(&scores[i], &truth),
            seconds_per_network: seconds[i] / scored,
        })
        .collect();
    if request.combine.len() >= 2 {
        let members: Vec<usize> = request.combine.iter().filter_map(|p| proxies.iter().position(|q| q == p)).collect();
        let member_ranks: Vec<Vec<f64>> = members.iter().map(|&i| ranks(&scores[i])).collect();
        let mean_rank: Vec<f64> =
            (0..rows.len()).map(|r| member_ranks.iter().map(|m| m[r]).sum::<f64>() / members.len() as f64).collect();
        let names: Vec<&str> = request.combine.iter().map(|p| p.name()).collect();
        correlations.push(ProxyCorrelation {
            name: format!("mean_rank({})", names.join("+")),
            spearman: spearman_rho(&mean_rank, &truth),
            kendall: kendall_tau(&mean_rank, &truth),
            seconds_per_network: members.iter().map(|&i| seconds[i]).sum::<f64>() / scored,
        });
    }
    Ok(ProxyRanking {
        table: request.table.clone(),
        metric: request.metric.clone(),
        networks: rows.len(),
        unscorable,
        proxies: correlations,
    })
}
