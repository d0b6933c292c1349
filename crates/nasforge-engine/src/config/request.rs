//! A study asked for by a configuration file and a request (command-line flags, Python arguments): merged,
//! the request winning; completed with defaults for a new study; checked against the stored configuration
//! when an existing study is continued.

use std::path::{Path, PathBuf};

use nasforge_core::scheduler::SchedulerConfig;
use nasforge_core::space::TaskShape;
use nasforge_core::{Constraint, Metrics, Objective, Objectives, StrategySpec};
use nasforge_train::zero_cost::Proxy;
use serde::{Deserialize, Serialize};

use super::evaluator::{
    EvaluatorConfig, EvaluatorKind, SupernetConfig, SupernetFlags, TrainSettings, TrainingFlags, ZeroCostConfig,
    default_nb201_table,
};
use super::scheduler::{SchedulerFlags, resolve_scheduler};
use super::warm_start::{WarmStartConfig, WarmStartFlags, resolve_warm_start};
use super::{Budget, DEFAULT_TRIALS, StudyConfig};
use crate::error::{EngineError, Result, invalid};
use crate::latency::{LatencyFlags, LatencyModelConfig, resolve_latency};
use crate::registry::{SpaceConfig, SpaceKind, StrategyKind};

/// A configuration file: every field optional; a request overrides it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub study: Option<String>,
    pub storage: Option<String>,
    pub seed: Option<u64>,
    pub trials: Option<u64>,
    pub time_budget: Option<String>,
    /// Shorthand for one maximised objective.
    pub metric: Option<String>,
    pub objectives: Option<Vec<String>>,
    pub constraints: Option<Vec<String>>,
    pub space: Option<SpaceConfig>,
    #[serde(default, deserialize_with = "strategy_table")]
    pub strategy: Option<StrategySpec>,
    pub evaluator: Option<EvaluatorConfig>,
    /// A `[scheduler]` table.
    pub scheduler: Option<SchedulerConfig>,
    /// A `[warm_start]` table.
    pub warm_start: Option<WarmStartConfig>,
    /// A `[latency]` table.
    pub latency: Option<LatencyModelConfig>,
}

/// A `[strategy]` table whose missing settings, nested ones included, are the strategy's defaults.
fn strategy_table<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<StrategySpec>, D::Error> {
    let table = serde_json::Value::deserialize(deserializer)?;
    StrategySpec::from_table(table).map(Some).map_err(serde::de::Error::custom)
}

impl ConfigFile {
    /// Reads a TOML configuration file; errors name the file (and the line, for TOML syntax).
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let file_error = |message: String| EngineError::File { path: path.to_path_buf(), message };
        let text =
            std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read the configuration: {e}")))?;
        toml::from_str(&text).map_err(|e| file_error(e.to_string()))
    }
}

/// What a request asks of a study (each `None` when not given).
#[derive(Debug, Clone, Default)]
pub struct StudyRequest {
    pub space: Option<SpaceKind>,
    pub strategy: Option<StrategyKind>,
    pub evaluator: Option<EvaluatorKind>,
    pub table: Option<PathBuf>,
    pub command: Option<String>,
    pub trial_timeout: Option<String>,
    pub metric: Option<String>,
    pub objectives: Vec<String>,
    pub constraints: Vec<String>,
    pub trials: Option<u64>,
    pub time_budget: Option<String>,
    pub seed: Option<u64>,
    pub training: TrainingFlags,
    /// The zero-cost evaluator's proxies, comma-separated (implies that evaluator).
    pub proxies: Option<String>,
    /// Images in the zero-cost proxies' minibatch.
    pub proxy_batch_size: Option<usize>,
    /// The supernet evaluator's saved supernet (implies that evaluator) and how many images score a
    /// candidate.
    pub supernet: SupernetFlags,
    /// The multi-fidelity scheduler's settings.
    pub scheduler: SchedulerFlags,
    /// The warm start by zero-cost proxies.
    pub warm_start: WarmStartFlags,
    /// The latency model and MnasNet's reward.
    pub latency: LatencyFlags,
}

/// The study configuration asked for by a file and a request, with `None` where neither says anything.
#[derive(Debug, Clone, Default)]
struct Partial {
    space: Option<SpaceConfig>,
    strategy: Option<StrategySpec>,
    evaluator: Option<EvaluatorConfig>,
    /// The evaluator kind the request names.
    kind: Option<EvaluatorKind>,
    table: Option<PathBuf>,
    command: Option<String>,
    trial_timeout: Option<String>,
    training: TrainingFlags,
    proxies: Option<Vec<Proxy>>,
    proxy_batch_size: Option<usize>,
    supernet: SupernetFlags,
    scheduler_file: Option<SchedulerConfig>,
    scheduler: SchedulerFlags,
    warm_start_file: Option<WarmStartConfig>,
    warm_start: WarmStartFlags,
    latency_file: Option<LatencyModelConfig>,
    latency: LatencyFlags,
    objectives: Option<Objectives>,
    trials: Option<u64>,
    time_budget: Option<String>,
    seed: Option<u64>,
}

fn objectives_from(metric: Option<&str>, objectives: &[String], constraints: &[String]) -> Result<Option<Objectives>> {
    let mut list: Vec<Objective> = Vec::new();
    if let Some(metric) = metric {
        list.push(Objective::maximize(metric));
    }
    for text in objectives {
        list.push(text.parse().map_err(EngineError::Invalid)?);
    }
    let constraints: Vec<Constraint> =
        constraints.iter().map(|c| c.parse().map_err(EngineError::Invalid)).collect::<Result<_>>()?;
    if list.is_empty() {
        if !constraints.is_empty() {
            invalid!("constraints need an objective: add --metric or --objective");
        }
        return Ok(None);
    }
    Objectives::new(list, constraints).map(Some).map_err(EngineError::Invalid)
}

impl Partial {
    fn new(file: &ConfigFile, request: &StudyRequest) -> Result<Partial> {
        let space = match (request.space, &file.space) {
            (Some(kind), Some(from_file)) if from_file.kind() == kind => Some(from_file.clone()),
            (Some(kind), _) => Some(kind.default_config()),
            (None, from_file) => from_file.clone(),
        };
        let strategy = match (request.strategy, &file.strategy) {
            (Some(kind), Some(from_file)) if from_file.name() == kind.name() => Some(from_file.clone()),
            (Some(kind), _) => Some(kind.default_spec()),
            (None, from_file) => from_file.clone(),
        };
        let request_objectives = objectives_from(request.metric.as_deref(), &request.objectives, &request.constraints)?;
        let file_objectives = objectives_from(
            file.metric.as_deref(),
            file.objectives.as_deref().unwrap_or_default(),
            file.constraints.as_deref().unwrap_or_default(),
        )?;
        let time_budget = request.time_budget.clone().or(file.time_budget.clone());
        let budget = Budget { trials: None, time_budget: time_budget.clone() };
        budget.time()?;
        if request.trials.or(file.trials) == Some(0) {
            invalid!("trials must be at least 1 (the budget of paid evaluations of the whole study)");
        }
        Ok(Partial {
            space,
            strategy,
            evaluator: file.evaluator.clone(),
            kind: request.evaluator,
            table: request.table.clone(),
            command: request.command.clone(),
            trial_timeout: request.trial_timeout.clone(),
            training: request.training.clone(),
            proxies: request.proxies.as_deref().map(Proxy::parse_list).transpose().map_err(EngineError::Invalid)?,
            proxy_batch_size: request.proxy_batch_size,
            supernet: request.supernet.clone(),
            scheduler_file: file.scheduler.clone(),
            scheduler: request.scheduler.clone(),
            warm_start_file: file.warm_start.clone(),
            warm_start: request.warm_start.clone(),
            latency_file: file.latency.clone(),
            latency: request.latency.clone(),
            objectives: request_objectives.or(file_objectives),
            trials: request.trials.or(file.trials),
            time_budget,
            seed: request.seed.or(file.seed),
        })
    }

    /// The evaluator asked for: the file's, with what the request changes, or one built from the request
    /// (a command means the command evaluator, a dataset the training evaluator, anything else the table
    /// with its default path).
    fn evaluator(&self) -> Result<EvaluatorConfig> {
        let implied = if self.command.is_some() {
            EvaluatorKind::Command
        } else if self.proxies.is_some() {
            EvaluatorKind::ZeroCost
        } else if self.supernet.path.is_some() {
            EvaluatorKind::Supernet
        } else if self.training.dataset.is_some() {
            EvaluatorKind::Train
        } else {
            EvaluatorKind::Table
        };
        let kind = self.kind.or(self.evaluator.as_ref().map(EvaluatorConfig::kind)).unwrap_or(implied);
        let from_file = self.evaluator.clone().filter(|e| e.kind() == kind);
        Ok(match kind {
            EvaluatorKind::Table => {
                let mut config = match from_file {
                    Some(config @ EvaluatorConfig::Table { .. }) => config,
                    _ => EvaluatorConfig::Table {
                        table: default_nb201_table(),
                        task: TaskShape::CIFAR10,
                        report_table: None,
                        report_metrics: Vec::new(),
                        noise: Default::default(),
                    },
                };
                if let (EvaluatorConfig::Table { table, .. }, Some(asked)) = (&mut config, &self.table) {
                    table.clone_from(asked);
                }
                config
            }
            EvaluatorKind::Train => {
                let settings = match from_file {
                    Some(EvaluatorConfig::Train(settings)) => settings,
                    _ => TrainSettings::default(),
                };
                EvaluatorConfig::Train(self.training.apply(settings)?)
            }
            EvaluatorKind::ZeroCost => {
                let mut config = match from_file {
                    Some(EvaluatorConfig::ZeroCost(config)) => config,
                    _ => ZeroCostConfig::default(),
                };
                if let Some(proxies) = &self.proxies {
                    config.proxies.clone_from(proxies);
                }
                if let Some(size) = self.proxy_batch_size {
                    config.batch_size = size;
                }
                let flags = &self.training;
                if flags.dataset.is_some() {
                    config.dataset.clone_from(&flags.dataset);
                }
                if flags.data_dir.is_some() {
                    config.data_dir.clone_from(&flags.data_dir);
                }
                if flags.channels.is_some() {
                    config.scale.channels = flags.channels;
                }
                if flags.cells.is_some() {
                    config.scale.cells = flags.cells;
                }
                config.check()?;
                EvaluatorConfig::ZeroCost(config)
            }
            EvaluatorKind::Supernet => {
                let from_file = match from_file {
                    Some(EvaluatorConfig::Supernet(config)) => Some(config),
                    _ => None,
                };
                let flags = &self.supernet;
                let Some(path) = flags.path.clone().or(from_file.as_ref().map(|c| c.path.clone())) else {
                    invalid!(
                        "the supernet evaluator needs --supernet DIR (a supernet saved by `nasforge supernet -o DIR`)"
                    );
                };
                let mut config = from_file.unwrap_or_else(|| SupernetConfig::new(path.clone()));
                config.path = path;
                if self.training.data_dir.is_some() {
                    config.data_dir.clone_from(&self.training.data_dir);
                }
                config.validation_images = flags.validation_images.unwrap_or(config.validation_images);
                config.recalibration_images = flags.recalibration_images.unwrap_or(config.recalibration_images);
                if config.validation_images == 0 {
                    invalid!("the supernet evaluator's validation_images must be at least 1");
                }
                EvaluatorConfig::Supernet(config)
            }
            EvaluatorKind::Command => {
                let (command, workdir, timeout, fidelity) = match from_file {
                    Some(EvaluatorConfig::Command { command, workdir, timeout, fidelity }) => {
                        (Some(command), workdir, timeout, fidelity)
                    }
                    _ => (None, None, None, Metrics::new()),
                };
                let Some(command) = self.command.clone().or(command) else {
                    invalid!("the command evaluator needs --command \"your training command\"");
                };
                EvaluatorConfig::Command { command, workdir, timeout: self.trial_timeout.clone().or(timeout), fidelity }
            }
            EvaluatorKind::Caller => EvaluatorConfig::Caller,
        })
    }
}

/// The configuration of a new study: what was asked for, defaults for the rest. `default_metric` gives
/// the objective when none is named.
pub fn new_study_config(
    file: &ConfigFile,
    request: &StudyRequest,
    default_metric: impl FnOnce(&EvaluatorConfig) -> Result<String>,
) -> Result<StudyConfig> {
    let partial = Partial::new(file, request)?;
    let evaluator = partial.evaluator()?;
    let scheduler = resolve_scheduler(partial.scheduler_file.as_ref(), &partial.scheduler, &evaluator)?;
    let warm_start = resolve_warm_start(partial.warm_start_file.as_ref(), &partial.warm_start, &evaluator)?;
    let space = partial.space.unwrap_or(SpaceConfig::Nb201);
    let latency = resolve_latency(partial.latency_file.as_ref(), &partial.latency, &space)?;
    // A caller asks for trials as long as it likes unless it sets a budget; a search needs one.
    let default_trials = (evaluator != EvaluatorConfig::Caller).then_some(DEFAULT_TRIALS);
    let objectives = match partial.objectives {
        Some(objectives) => objectives,
        None => Objectives::new(vec![Objective::maximize(default_metric(&evaluator)?)], vec![])
            .map_err(EngineError::Invalid)?,
    };
    Ok(StudyConfig {
        space,
        strategy: partial.strategy.unwrap_or_else(|| StrategyKind::Evolution.default_spec()),
        evaluator,
        objectives,
        budget: Budget { trials: partial.trials.or(default_trials), time_budget: partial.time_budget },
        seed: partial.seed.unwrap_or(0),
        scheduler,
        warm_start,
        latency,
    })
}

/// The configuration to continue an existing study with: the stored one, with a new budget or a
/// machine-local path where asked. Asking for a different space, strategy, objective, seed or fidelity is
/// an error that names the field, so a study never silently changes what it searches for.
pub fn continued_study_config(
    stored: &StudyConfig,
    file: &ConfigFile,
    request: &StudyRequest,
    study: &str,
) -> Result<StudyConfig> {
    let partial = Partial::new(file, request)?;
    fn check<T: PartialEq + Serialize>(study: &str, field: &str, stored: &T, asked: Option<&T>) -> Result<()> {
        match asked {
            Some(asked) if asked != stored => {
                let show = |value: &T| serde_json::to_string(value).expect("configurations serialise");
                invalid!(
                    "study '{study}' was created with {field} {}; this command asks for {}. \
                     Use another --study name for a different search.",
                    show(stored),
                    show(asked)
                )
            }
            _ => Ok(()),
        }
    }
    check(study, "space", &stored.space, partial.space.as_ref())?;
    check(study, "strategy", &stored.strategy, partial.strategy.as_ref())?;
    check(study, "objectives", &stored.objectives, partial.objectives.as_ref())?;
    check(study, "seed", &stored.seed, partial.seed.as_ref())?;
    let mut config = stored.clone();
    // Machine-local settings (a table's path, a command's timeout) may change; the kind may not.
    let asks_evaluator = partial.evaluator.is_some() || partial.kind.is_some() || partial.command.is_some();
    let partial =
        if asks_evaluator { partial } else { Partial { evaluator: Some(stored.evaluator.clone()), ..partial } };
    let asked = partial.evaluator()?;
    check(study, "evaluator", &stored.evaluator.kind().name(), Some(&asked.kind().name()))?;
    if let (EvaluatorConfig::Train(stored), EvaluatorConfig::Train(asked)) = (&stored.evaluator, &asked) {
        // Only where the data lies may change: another fidelity would make the trials incomparable.
        let same_place = TrainSettings { data_dir: stored.data_dir.clone(), ..asked.clone() };
        check(study, "training evaluator", stored, Some(&same_place))?;
    }
    if let (EvaluatorConfig::ZeroCost(stored), EvaluatorConfig::ZeroCost(asked)) = (&stored.evaluator, &asked) {
        let same_place = ZeroCostConfig { data_dir: stored.data_dir.clone(), ..asked.clone() };
        check(study, "zero-cost evaluator", stored, Some(&same_place))?;
    }
    if let (EvaluatorConfig::Supernet(stored), EvaluatorConfig::Supernet(asked)) = (&stored.evaluator, &asked) {
        // The supernet's directory and its data may lie elsewhere on this machine; the scoring may not change.
        let same_place =
            SupernetConfig { path: stored.path.clone(), data_dir: stored.data_dir.clone(), ..asked.clone() };
        check(study, "supernet evaluator", stored, Some(&same_place))?;
    }
    if partial.scheduler_file.is_some() || partial.scheduler.kind.is_some() {
        let asked_scheduler = resolve_scheduler(partial.scheduler_file.as_ref(), &partial.scheduler, &asked)?;
        check(study, "scheduler", &stored.scheduler, Some(&asked_scheduler))?;
    }
    if partial.warm_start_file.is_some() || partial.warm_start.proxies.is_some() {
        let asked_start = resolve_warm_start(partial.warm_start_file.as_ref(), &partial.warm_start, &asked)?;
        check(study, "warm start", &stored.warm_start, Some(&asked_start))?;
    }
    if partial.latency_file.is_some() || partial.latency.model.is_some() || partial.latency.reward.is_some() {
        let asked_latency = resolve_latency(partial.latency_file.as_ref(), &partial.latency, &stored.space)?;
        // The model file may lie elsewhere on this machine; the kind and the reward may not change.
        let same_place = |c: &Option<LatencyModelConfig>| c.as_ref().map(|c| (c.kind, c.reward));
        check(study, "latency model", &same_place(&stored.latency), Some(&same_place(&asked_latency)))?;
        config.latency = asked_latency;
    } else if let (Some(stored), Some(path)) = (&mut config.latency, &partial.latency.path) {
        stored.path = Some(path.clone());
    }
    config.evaluator = asked;
    if let Some(trials) = partial.trials {
        config.budget.trials = Some(trials);
    }
    if partial.time_budget.is_some() {
        config.budget.time_budget = partial.time_budget;
    }
    Ok(config)
}
