//! The evaluator factory: the evaluator a study's configuration names, built for one space and checked
//! against the metrics the study reads, before anything is stored.

use std::path::PathBuf;

use nasforge_core::Evaluator;
use nasforge_eval::table::{ReportJoin, TableNoise};
use nasforge_eval::{CommandEvaluator, Table, TableEvaluator};
use nasforge_train::latency::LatencyModelKind;
use nasforge_train::saved_supernet::SavedSupernet;
use nasforge_train::supernet_evaluator::SupernetEvaluator;
use nasforge_train::zero_cost::{ZeroCostEvaluator, ZeroCostSettings};
use nasforge_train::{Buildable, DeviceChoice, TrainEvaluator};

use crate::config::{EvaluatorConfig, StudyConfig, TrainSettings, ZeroCostConfig, parse_duration};
use crate::error::{EngineError, Result, invalid};
use crate::latency_evaluator::{LatencyEvaluator, searches_deployment};
use crate::registry::SpaceKind;

/// The objective of a new study that names none: the evaluator's first metric (a table's first metric
/// column, `val_accuracy` for training). A command's metrics are unknown until it runs: an error.
pub fn default_metric(evaluator: &EvaluatorConfig) -> Result<String> {
    match evaluator {
        EvaluatorConfig::Table { table, .. } => {
            let columns = Table::metric_columns(table)?;
            Ok(columns.into_iter().next().expect("a table has a metric column"))
        }
        EvaluatorConfig::Command { .. } => {
            invalid!("name the metric your command prints with --metric (or --objective METRIC:max|min)")
        }
        EvaluatorConfig::Train(_) => Ok(TrainEvaluator::METRICS[0].to_string()),
        EvaluatorConfig::ZeroCost(config) => Ok(config.metrics()[0].clone()),
        EvaluatorConfig::Supernet(_) => Ok(SupernetEvaluator::METRICS[0].to_string()),
        EvaluatorConfig::Caller => Ok(TrainEvaluator::METRICS[0].to_string()),
    }
}

/// The training evaluator of `settings`: its dataset loaded and split into training and validation by
/// `seed` (the study's).
pub fn training_evaluator(settings: &TrainSettings, seed: u64, device: DeviceChoice) -> Result<TrainEvaluator> {
    let source = nasforge_train::data::load_named(&settings.dataset, settings.data_dir.as_deref())?;
    let config = nasforge_train::TrainConfig { device, ..settings.training.clone() };
    Ok(TrainEvaluator::new(&source.train, settings.validation_fraction, seed, config))
}

/// The evaluator of study `study` (its configuration `config`) on `space`, with the study's latency model
/// around it. Refuses one that does not record every metric the study reads (objectives and constraints),
/// naming the metric and those it has.
pub fn build_evaluator<S: Buildable>(
    config: &StudyConfig,
    space: &S,
    study: &str,
    device: DeviceChoice,
) -> Result<Box<dyn Evaluator<S> + Send>> {
    let Some(latency) = &config.latency else {
        return build_plain_evaluator(config, space, study, device, &config.metrics());
    };
    // The latency model records `latency_ms` (unless it is the trained network's own), the reward, and in a
    // co-design space the deployed throughput.
    let codesign = searches_deployment(&config.space);
    let recorded_around = |metric: &&str| match *metric {
        "latency_ms" => latency.kind != LatencyModelKind::Measured || codesign,
        "throughput" => codesign,
        "latency_reward" => latency.reward.is_some(),
        _ => false,
    };
    let metrics: Vec<&str> = config.metrics().into_iter().filter(|m| !recorded_around(m)).collect();
    let inner = build_plain_evaluator(config, space, study, device, &metrics)?;
    Ok(Box::new(LatencyEvaluator::new(config, latency, inner, device)?))
}

/// The evaluator of the study's configuration alone, which must record `metrics`.
fn build_plain_evaluator<S: Buildable>(
    config: &StudyConfig,
    space: &S,
    study: &str,
    device: DeviceChoice,
    metrics: &[&str],
) -> Result<Box<dyn Evaluator<S> + Send>> {
    match &config.evaluator {
        EvaluatorConfig::Command { command, workdir, timeout, fidelity } => {
            let code_dir = std::env::current_dir()
                .map_err(|e| EngineError::invalid(format!("reading the working directory: {e}")))?;
            let workdir = workdir.clone().unwrap_or_else(|| PathBuf::from("nasforge-trials").join(study));
            let timeout = timeout.as_deref().map(|text| parse_duration("trial timeout", text)).transpose()?;
            Ok(Box::new(CommandEvaluator {
                command: command.clone(),
                code_dir: code_dir.clone(),
                workdir: code_dir.join(workdir),
                timeout,
                fidelity: fidelity.clone(),
            }))
        }
        EvaluatorConfig::Table { table, task, report_table, report_metrics, noise } => {
            let mut evaluator = TableEvaluator::new(Table::load(table, space)?, *task);
            if !report_metrics.is_empty() {
                let report = match report_table {
                    Some(path) => Table::load(path, space)?,
                    None => evaluator.table().clone(),
                };
                let join = ReportJoin::new(evaluator.table(), report, report_metrics)?;
                evaluator = evaluator.with_report(join);
            } else if let Some(path) = report_table {
                invalid!("{}: a report table needs report_metrics (its columns to record)", path.display());
            }
            if let (TableNoise::Seeds, Some(searched)) = (noise, metrics.first()) {
                evaluator = evaluator.with_seed_noise(searched)?;
            }
            let available = evaluator.metric_names(space);
            if let Some(missing) = metrics.iter().find(|m| !available.iter().any(|a| a == *m)) {
                invalid!("{}: no metric `{missing}` (metrics: {})", table.display(), available.join(", "));
            }
            Ok(Box::new(evaluator))
        }
        EvaluatorConfig::Train(settings) => {
            if let Some(missing) = metrics.iter().find(|m| !TrainEvaluator::METRICS.contains(m)) {
                invalid!(
                    "the training evaluator records no metric `{missing}` (metrics: {})",
                    TrainEvaluator::METRICS.join(", ")
                );
            }
            if metrics.contains(&"deployed_val_accuracy") && !searches_deployment(&config.space) {
                invalid!(
                    "deployed_val_accuracy is recorded in a co-design space only (mbconv with `threads`, `batches` \
                     or `precisions` settings): elsewhere the network is deployed in f32, use val_accuracy"
                );
            }
            Ok(Box::new(training_evaluator(settings, config.seed, device)?))
        }
        EvaluatorConfig::ZeroCost(zero_cost) => {
            let available = zero_cost.metrics();
            if let Some(missing) = metrics.iter().find(|m| !available.iter().any(|a| a == *m)) {
                invalid!("the zero-cost evaluator records no metric `{missing}` (metrics: {})", available.join(", "));
            }
            Ok(Box::new(zero_cost_evaluator(zero_cost, device)?))
        }
        EvaluatorConfig::Supernet(supernet) => {
            if config.space.kind() != SpaceKind::Nb201 {
                invalid!(
                    "the supernet evaluator scores nb201 cells (the only space with a supernet so far), not {} \
                     architectures",
                    config.space.name()
                );
            }
            if let Some(missing) = metrics.iter().find(|m| !SupernetEvaluator::METRICS.contains(m)) {
                invalid!(
                    "the supernet evaluator records no metric `{missing}` (metrics: {})",
                    SupernetEvaluator::METRICS.join(", ")
                );
            }
            let device = device.device().map_err(EngineError::invalid)?;
            let saved = SavedSupernet::load(&supernet.path, &device).map_err(EngineError::invalid)?;
            let evaluator = SupernetEvaluator::new(saved, supernet.data_dir.as_deref(), supernet.scoring(), device)
                .map_err(|e| EngineError::invalid(format!("supernet {}: {e}", supernet.path.display())))?;
            Ok(Box::new(evaluator))
        }
        EvaluatorConfig::Caller => invalid!(
            "study '{study}' is evaluated by the program that asks for its trials (ask and tell): continue it \
             with nasforge.load_study(storage=…, study_name=\"{study}\") in Python"
        ),
    }
}

/// The zero-cost evaluator of `config`: its minibatch drawn from the dataset's training images, or data-free.
pub fn zero_cost_evaluator(config: &ZeroCostConfig, device: DeviceChoice) -> Result<ZeroCostEvaluator> {
    config.check()?;
    let settings = ZeroCostSettings {
        proxies: config.proxies.clone(),
        batch_size: config.batch_size,
        batch_seed: config.batch_seed,
        scale: config.scale,
        device,
    };
    let evaluator = match &config.dataset {
        Some(dataset) => {
            let source = nasforge_train::data::load_named(dataset, config.data_dir.as_deref())?;
            ZeroCostEvaluator::new(settings, &source.train)
        }
        None => ZeroCostEvaluator::data_free(settings, config.task),
    };
    evaluator.map_err(EngineError::Invalid)
}
