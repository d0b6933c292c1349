//! Multi-fidelity scheduling, apart from the strategy (as Optuna keeps pruners apart from samplers): while a
//! trial reports intermediate results (epochs of training, steps of a command), the scheduler decides at
//! each rung whether it goes on. Asynchronous successive halving (ASHA, Li et al. 2020) and asynchronous
//! Hyperband (brackets of ASHA, Li et al. 2018; Syne Tune's `hyperband_stopping` and `hyperband_promotion`),
//! each in two forms: *stopping* (a trial that falls behind at a rung stops for good) and *promotion* (every
//! trial pauses at each rung, its evaluator keeping a checkpoint, and a free worker resumes the best paused
//! trial of the highest rung that has one in its top 1/η before it starts a new trial); and synchronous
//! successive halving (rounds of `η^R` trials; a rung's best 1/η are promoted once every trial of the round
//! that can reach it has).
//!
//! The rungs of bracket `b` are the resources `r_min · η^(b + k)` below `r_max` (`k = 0, 1, …`); bracket 0
//! is the most aggressive one, and ASHA is Hyperband with bracket 0 only. A trial that reaches a rung goes on
//! when fewer than `n / η` of the `n` trials of its bracket recorded at that rung (itself included) did
//! better; otherwise it stops and ends as `pruned` with the metrics it reported there. Its bracket comes
//! from its seed, so every worker, and a resumed study, agrees on it. Learning-curve extrapolation
//! ([`extrapolate`]) stops a trial whose predicted final value is unlikely to beat the best finished one.

mod curve;
mod rungs;

pub use curve::{CurvePrediction, extrapolate};
pub use rungs::{RungDecision, RungTable};

use serde::{Deserialize, Serialize};

/// The scheduling rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    /// Asynchronous successive halving: one bracket.
    Asha,
    /// Asynchronous Hyperband: brackets of ASHA, each trial in one, drawn as Hyperband sizes them.
    Hyperband,
    /// Learning-curve extrapolation: from `min_resource` on, each report predicts the value at
    /// `max_resource`; a trial whose chance to beat the best finished trial falls under `stop_probability`
    /// stops.
    Curve,
    /// Synchronous successive halving: rounds of `η^R` trials (`R` rungs), each trial paused at each rung;
    /// a rung's best 1/η resume once every trial of their round that can reach the rung has reached it.
    Halving,
}

/// How ASHA and Hyperband act on a trial that reaches a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerForm {
    /// It goes on while it is in the top 1/η of the trials recorded there, else stops for good (pruned).
    Stopping,
    /// It pauses (recorded as pruned with [`PAUSED_AT`], its evaluator keeping a checkpoint) and resumes
    /// from the checkpoint when it is promoted.
    Promotion,
}

impl SchedulerForm {
    pub fn name(self) -> &'static str {
        match self {
            SchedulerForm::Stopping => "stopping",
            SchedulerForm::Promotion => "promotion",
        }
    }
}

/// The metric of a paused trial: the rung (in units of the resource) it waits at for a promotion.
pub const PAUSED_AT: &str = "paused_at";

impl SchedulerKind {
    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Asha => "asha",
            SchedulerKind::Hyperband => "hyperband",
            SchedulerKind::Curve => "curve",
            SchedulerKind::Halving => "halving",
        }
    }
}

/// A scheduler and its settings, as stored with a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    pub kind: SchedulerKind,
    /// The intermediate metric that counts the resource spent (`epoch` for training).
    #[serde(default = "epoch")]
    pub resource: String,
    pub min_resource: f64,
    pub max_resource: f64,
    /// The reduction factor: a rung keeps the best 1/η.
    #[serde(default = "three")]
    pub eta: f64,
    /// `curve`: a trial stops when its predicted chance to beat the best finished trial is below this.
    #[serde(default = "five_percent")]
    pub stop_probability: f64,
    /// `asha` and `hyperband`: stopping (the default) or promotion; `halving` always pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<SchedulerForm>,
}

fn five_percent() -> f64 {
    0.05
}

fn epoch() -> String {
    "epoch".to_string()
}

fn three() -> f64 {
    3.0
}

impl SchedulerConfig {
    /// Refuses settings with no rung or no reduction, naming the setting.
    pub fn check(&self) -> Result<(), String> {
        if !(self.min_resource.is_finite() && self.min_resource > 0.0) {
            return Err(format!("scheduler: min_resource must be a positive number, not {}", self.min_resource));
        }
        if !(self.max_resource.is_finite() && self.max_resource >= self.min_resource) {
            return Err(format!(
                "scheduler: max_resource ({}) must be at least min_resource ({})",
                self.max_resource, self.min_resource
            ));
        }
        if !(self.eta.is_finite() && self.eta >= 2.0) {
            return Err(format!("scheduler: eta must be at least 2, not {}", self.eta));
        }
        if !(self.stop_probability > 0.0 && self.stop_probability < 1.0) {
            return Err(format!("scheduler: stop_probability must be in (0, 1), not {}", self.stop_probability));
        }
        if self.resource.trim().is_empty() {
            return Err("scheduler: name the resource metric (e.g. epoch)".into());
        }
        match (self.kind, self.form) {
            (SchedulerKind::Curve, Some(form)) => {
                Err(format!("scheduler: curve stops trials by prediction; it has no {} form", form.name()))
            }
            (SchedulerKind::Halving, Some(SchedulerForm::Stopping)) => {
                Err("scheduler: synchronous successive halving waits at its rungs, so it pauses trials: it has no \
                 stopping form (use asha for stopping)"
                    .into())
            }
            _ => Ok(()),
        }
    }

    /// Whether trials pause at rungs and resume when promoted (their evaluator must keep checkpoints).
    pub fn pauses(&self) -> bool {
        match self.kind {
            SchedulerKind::Halving => true,
            SchedulerKind::Asha | SchedulerKind::Hyperband => self.form == Some(SchedulerForm::Promotion),
            SchedulerKind::Curve => false,
        }
    }

    /// The number of trials of a round of synchronous successive halving: `η^R` for `R` rungs, so that one
    /// trial of each round reaches `max_resource`.
    pub fn round_size(&self) -> usize {
        self.eta.powi(self.rungs(0).len() as i32).round().max(1.0) as usize
    }

    /// The number of brackets: 1 for ASHA; for Hyperband, one per rung level of the most aggressive one
    /// plus the bracket that trains every trial to `max_resource`.
    pub fn brackets(&self) -> usize {
        match self.kind {
            SchedulerKind::Asha | SchedulerKind::Curve | SchedulerKind::Halving => 1,
            SchedulerKind::Hyperband => self.rungs(0).len() + 1,
        }
    }

    /// The rung levels of bracket `bracket` (increasing, all below `max_resource`; none for `curve`, which
    /// decides at every report).
    pub fn rungs(&self, bracket: usize) -> Vec<f64> {
        let mut levels = Vec::new();
        if self.kind == SchedulerKind::Curve {
            return levels;
        }
        let mut level = self.min_resource * self.eta.powi(bracket as i32);
        // A level within rounding of the maximum is the end of training, not a rung.
        while level < self.max_resource * (1.0 - 1e-9) {
            levels.push(level);
            level *= self.eta;
        }
        levels
    }

    /// The bracket of a trial with `seed`: always 0 for ASHA; for Hyperband drawn with Hyperband's weights
    /// (bracket `b` of `B` gets `⌈B / (B − b) · η^(B − 1 − b)⌉` of every round's trials).
    pub fn bracket_of(&self, seed: u64) -> usize {
        let count = self.brackets();
        if count == 1 {
            return 0;
        }
        let weights: Vec<f64> = (0..count)
            .map(|b| ((count as f64 / (count - b) as f64) * self.eta.powi((count - 1 - b) as i32)).ceil())
            .collect();
        let total: f64 = weights.iter().sum();
        // The top 53 bits of a mixed seed, as a uniform number in [0, 1).
        let mixed = crate::study::trial_seed(seed, 0x5C4E_D01E);
        let mut u = (mixed >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (bracket, weight) in weights.iter().enumerate() {
            if u < *weight {
                return bracket;
            }
            u -= weight;
        }
        count - 1
    }
}
