//! What a study is: its stored configuration (space, strategy, evaluator with its fidelity, objectives,
//! budget, seed), how a file and a request merge into one, and the checks that keep a study what it was.

mod evaluator;
mod request;
mod scheduler;
mod warm_start;

use std::time::Duration;

use nasforge_core::scheduler::SchedulerConfig;
use nasforge_core::{Objectives, StrategySpec};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::latency::LatencyModelConfig;
use crate::registry::SpaceConfig;

pub use evaluator::{
    EvaluatorConfig, EvaluatorKind, SupernetConfig, SupernetFlags, TrainSettings, TrainingFlags, ZeroCostConfig,
    default_nb201_table,
};
pub use request::{ConfigFile, StudyRequest, continued_study_config, new_study_config};
pub use scheduler::{SchedulerFlags, resolve_scheduler};
pub use warm_start::{WarmStartConfig, WarmStartFlags, resolve_warm_start};

/// Where studies are stored when no URL is given.
pub const DEFAULT_STORAGE: &str = "sqlite:nasforge.db";
/// The study's name when none is given.
pub const DEFAULT_STUDY: &str = "default";
/// The budget of paid trials of a new study when none is given.
pub const DEFAULT_TRIALS: u64 = 100;

/// How much a study may spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Paid evaluations in the whole study (repeats answered from the cache are free).
    pub trials: Option<u64>,
    /// Wall-clock limit of one run, e.g. "90s", "10m", "2h".
    pub time_budget: Option<String>,
}

impl Budget {
    pub fn time(&self) -> Result<Option<Duration>> {
        self.time_budget.as_deref().map(|text| parse_duration("time budget", text)).transpose()
    }
}

/// Reads a duration: seconds as a number, or `90s`, `10m`, `1h30m`; `what` names it in the error.
pub fn parse_duration(what: &str, text: &str) -> Result<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Ok(Duration::from_secs_f64(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|_| EngineError::invalid(format!("{what} '{text}' is not a duration (examples: 90s, 10m, 1h30m)")))
}

/// Everything a study needs to run; stored as JSON with the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    pub space: SpaceConfig,
    pub strategy: StrategySpec,
    pub evaluator: EvaluatorConfig,
    pub objectives: Objectives,
    pub budget: Budget,
    pub seed: u64,
    /// The multi-fidelity scheduler, when trials are stopped early at rungs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<SchedulerConfig>,
    /// Architectures evaluated first, the best of a pool by zero-cost proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<WarmStartConfig>,
    /// Where `latency_ms` comes from (a latency model of the mbconv space) and MnasNet's reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyModelConfig>,
}

impl StudyConfig {
    /// The configuration as stored (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("configurations serialise")
    }

    /// Reads a stored configuration; `study` names it in the error.
    pub fn from_json(json: &str, study: &str) -> Result<StudyConfig> {
        serde_json::from_str(json)
            .map_err(|e| EngineError::invalid(format!("study '{study}': unreadable configuration: {e}")))
    }

    /// Every metric the study reads: its objectives', then its constraints'.
    pub fn metrics(&self) -> Vec<&str> {
        let objectives = self.objectives.objectives.iter().map(|o| o.metric.as_str());
        let mut metrics: Vec<&str> = objectives.collect();
        for constraint in &self.objectives.constraints {
            if !metrics.contains(&constraint.metric.as_str()) {
                metrics.push(&constraint.metric);
            }
        }
        metrics
    }
}
