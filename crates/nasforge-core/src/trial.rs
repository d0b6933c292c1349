//! Trials: one evaluation of one architecture inside a study, as every store records it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Named numeric results of an evaluation (`cifar10`, `val_accuracy`, `params`, `latency_ms`…).
pub type Metrics = BTreeMap<String, f64>;

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Handed to an evaluator and not finished yet (or its process died: the study retries it).
    Running,
    Complete,
    Failed,
    /// Stopped early by a multi-fidelity rule; its metrics are the last ones reported.
    Pruned,
}

impl TrialState {
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Failed => "failed",
            TrialState::Pruned => "pruned",
        }
    }

    pub fn is_finished(self) -> bool {
        self != TrialState::Running
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrialState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "running" => Ok(TrialState::Running),
            "complete" => Ok(TrialState::Complete),
            "failed" => Ok(TrialState::Failed),
            "pruned" => Ok(TrialState::Pruned),
            other => Err(format!("unknown trial state '{other}'")),
        }
    }
}

/// One trial of a study, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// The trial's number in its study, from 0, in the order trials were created.
    pub id: u64,
    /// The architecture's printed form.
    pub arch: String,
    /// The architecture's JSON form.
    pub arch_json: String,
    /// The deduplication key.
    pub canonical: String,
    pub state: TrialState,
    pub metrics: Metrics,
    /// Intermediate results in the order they were reported (learning curves: one entry per epoch).
    pub intermediate: Vec<Metrics>,
    /// For a trial answered from the study's cache: the trial whose result it reuses. It cost nothing.
    pub cached_from: Option<u64>,
    /// The seed this trial's proposal and evaluation were derived from.
    pub seed: u64,
    /// Why the trial failed (for a failed trial), or what happened to it.
    pub error: Option<String>,
    /// Seconds since the Unix epoch.
    pub started_at: f64,
    pub finished_at: Option<f64>,
    /// How many times the evaluation was started (more than 1 when an interrupted trial was retried).
    pub attempts: u32,
    /// The worker that evaluates or evaluated the trial (`host:pid:thread`).
    pub worker: Option<String>,
}

impl TrialRecord {
    /// Whether the trial paid for an evaluation (not a cache hit).
    pub fn is_paid(&self) -> bool {
        self.cached_from.is_none()
    }
}
