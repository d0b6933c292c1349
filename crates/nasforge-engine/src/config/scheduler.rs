//! The multi-fidelity scheduler of a study: asked for by a `[scheduler]` table and flags, completed with
//! defaults from the evaluator, and refused where the evaluator reports nothing to schedule on.

use nasforge_core::scheduler::{SchedulerConfig, SchedulerForm, SchedulerKind};

use super::evaluator::EvaluatorConfig;
use crate::error::{Result, invalid};

/// The scheduler settings a request may give (each `None` when not given).
#[derive(Debug, Clone, Default)]
pub struct SchedulerFlags {
    pub kind: Option<SchedulerKind>,
    pub resource: Option<String>,
    pub min_resource: Option<f64>,
    pub max_resource: Option<f64>,
    pub eta: Option<f64>,
    pub stop_probability: Option<f64>,
    pub form: Option<SchedulerForm>,
}

impl SchedulerFlags {
    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.resource.is_none()
            && self.min_resource.is_none()
            && self.max_resource.is_none()
            && self.eta.is_none()
            && self.stop_probability.is_none()
            && self.form.is_none()
    }
}

/// The scheduler asked for by the file's `[scheduler]` table and the flags (the flags winning), completed
/// for `evaluator` and checked; `None` when neither asks for one.
pub fn resolve_scheduler(
    from_file: Option<&SchedulerConfig>,
    flags: &SchedulerFlags,
    evaluator: &EvaluatorConfig,
) -> Result<Option<SchedulerConfig>> {
    let Some(kind) = flags.kind.or(from_file.map(|s| s.kind)) else {
        if !flags.is_empty() {
            invalid!(
                "--min-resource, --max-resource, --eta, --resource and --scheduler-form need a scheduler: add \
                 --scheduler asha|hyperband|halving"
            );
        }
        return Ok(None);
    };
    let epochs = match evaluator {
        EvaluatorConfig::Train(settings) => Some(settings.training.epochs as f64),
        EvaluatorConfig::Command { .. } | EvaluatorConfig::Caller => None,
        EvaluatorConfig::Table { .. } | EvaluatorConfig::ZeroCost(_) | EvaluatorConfig::Supernet(_) => invalid!(
            "the {} evaluator reports no intermediate results for a scheduler to act on \
             (schedulers need the train or command evaluator)",
            evaluator.kind().name()
        ),
    };
    let resource = flags.resource.clone().or(from_file.map(|s| s.resource.clone())).unwrap_or_else(|| "epoch".into());
    let Some(max_resource) = flags.max_resource.or(from_file.map(|s| s.max_resource)).or(epochs) else {
        invalid!(
            "name the scheduler's largest resource with --max-resource (the `{resource}` a full evaluation reaches)"
        );
    };
    let config = SchedulerConfig {
        kind,
        resource,
        min_resource: flags.min_resource.or(from_file.map(|s| s.min_resource)).unwrap_or(1.0),
        max_resource,
        eta: flags.eta.or(from_file.map(|s| s.eta)).unwrap_or(3.0),
        stop_probability: flags.stop_probability.or(from_file.map(|s| s.stop_probability)).unwrap_or(0.05),
        form: flags.form.or(from_file.and_then(|s| s.form)),
    };
    config.check().map_err(crate::error::EngineError::Invalid)?;
    if config.pauses() && epochs.is_none() {
        invalid!(
            "the {} scheduler pauses trials at its rungs and resumes them from checkpoints, which only the train \
             evaluator keeps (the {} evaluator cannot resume a trial): use --scheduler asha or hyperband in the \
             stopping form",
            if config.kind == SchedulerKind::Halving { "halving" } else { "promotion form of the" },
            evaluator.kind().name()
        );
    }
    if let Some(epochs) = epochs {
        if config.resource != "epoch" {
            invalid!("the training evaluator reports its resource as `epoch`, not `{}`", config.resource);
        }
        if config.max_resource > epochs {
            invalid!(
                "the scheduler's max_resource ({}) is above the training epochs ({epochs}): no trial would reach it",
                config.max_resource
            );
        }
    }
    Ok(Some(config))
}
