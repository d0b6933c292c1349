//! A study's warm start by zero-cost proxies: the best `top` of a seeded pool of `pool` architectures,
//! ranked by the proxies (their mean rank), are evaluated first; then the strategy goes on.

use serde::{Deserialize, Serialize};

use nasforge_train::zero_cost::Proxy;

use super::evaluator::{EvaluatorConfig, ZeroCostConfig};
use crate::error::{EngineError, Result, invalid};

/// The warm start, as stored with a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmStartConfig {
    /// Architectures sampled (seeded by the study) and scored by the proxies.
    pub pool: usize,
    /// How many of the best are evaluated first.
    pub top: usize,
    /// The proxies and what they see (by default, the training evaluator's dataset and network scale).
    pub zero_cost: ZeroCostConfig,
}

/// The warm-start settings a request may give.
#[derive(Debug, Clone, Default)]
pub struct WarmStartFlags {
    /// Comma-separated proxies; `None`: no warm start.
    pub proxies: Option<String>,
    pub pool: Option<usize>,
    pub top: Option<usize>,
}

/// The warm start asked for by the file and the flags (the flags winning), completed for `evaluator`.
pub fn resolve_warm_start(
    from_file: Option<&WarmStartConfig>,
    flags: &WarmStartFlags,
    evaluator: &EvaluatorConfig,
) -> Result<Option<WarmStartConfig>> {
    let proxies = match &flags.proxies {
        Some(list) => Proxy::parse_list(list).map_err(EngineError::Invalid)?,
        None => match from_file {
            Some(config) => config.zero_cost.proxies.clone(),
            None if flags.pool.is_some() || flags.top.is_some() => {
                invalid!("--warm-start-pool and --warm-start-top need --warm-start PROXY[,PROXY…]")
            }
            None => return Ok(None),
        },
    };
    let mut zero_cost = match (from_file, evaluator) {
        (Some(config), _) => config.zero_cost.clone(),
        (None, EvaluatorConfig::Train(settings)) => ZeroCostConfig {
            dataset: Some(settings.dataset.clone()),
            data_dir: settings.data_dir.clone(),
            scale: settings.training.scale,
            ..ZeroCostConfig::default()
        },
        (None, EvaluatorConfig::ZeroCost(config)) => config.clone(),
        (None, EvaluatorConfig::Table { task, .. }) => ZeroCostConfig { task: *task, ..ZeroCostConfig::default() },
        (None, EvaluatorConfig::Supernet(config)) => {
            let manifest = config.manifest()?;
            ZeroCostConfig {
                scale: manifest.scale(),
                dataset: Some(manifest.dataset),
                data_dir: config.data_dir.clone(),
                ..ZeroCostConfig::default()
            }
        }
        (None, EvaluatorConfig::Command { .. } | EvaluatorConfig::Caller) => ZeroCostConfig::default(),
    };
    zero_cost.proxies = proxies;
    zero_cost.check()?;
    let config = WarmStartConfig {
        pool: flags.pool.or(from_file.map(|c| c.pool)).unwrap_or(500),
        top: flags.top.or(from_file.map(|c| c.top)).unwrap_or(10),
        zero_cost,
    };
    if config.top == 0 || config.pool < config.top {
        invalid!("the warm start needs 1 ≤ top ({}) ≤ pool ({})", config.top, config.pool);
    }
    Ok(Some(config))
}
