//! Study configuration: what a TOML file and the flags of `search` say, merged (flags win), checked against
//! the configuration stored with an existing study, and stored as JSON with a new one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nasforge_core::space::{ChainSpace, DartsSpace, Nb201Space, TaskShape};
use nasforge_core::{Constraint, Metrics, Objective, Objectives, SearchSpace, StrategySpec};
use nasforge_train::{Augmentation, TrainConfig};
use serde::{Deserialize, Serialize};

/// The search space and its settings (`[space]` in a file: `name = "chain"`, then the space's settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum SpaceConfig {
    Nb201,
    Chain(ChainSpace),
    Darts(DartsSpace),
}

impl SpaceConfig {
    pub const NAMES: &'static [&'static str] = &["nb201", "chain", "darts"];

    /// The space of that name with its default settings.
    pub fn from_name(name: &str) -> Result<SpaceConfig> {
        Ok(match name {
            "nb201" => SpaceConfig::Nb201,
            "chain" => SpaceConfig::Chain(ChainSpace::default()),
            "darts" => SpaceConfig::Darts(DartsSpace::default()),
            other => bail!("unknown space '{other}' (expected one of {})", Self::NAMES.join(", ")),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            SpaceConfig::Nb201 => Nb201Space::NAME,
            SpaceConfig::Chain(_) => ChainSpace::NAME,
            SpaceConfig::Darts(_) => DartsSpace::NAME,
        }
    }
}

/// How trials are evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EvaluatorConfig {
    /// Look architectures up in a benchmark table (CSV with an `arch` column).
    Table {
        table: PathBuf,
        /// Input and classes of the network whose parameters and FLOPs are added to the table's metrics.
        #[serde(default = "cifar10")]
        task: TaskShape,
    },
    /// Run a training program per trial (see `nasforge_eval::command` for the protocol).
    Command {
        /// The shell command line, e.g. "python train.py".
        command: String,
        /// Where each trial's working directory is made [default: nasforge-trials/STUDY].
        #[serde(default)]
        workdir: Option<PathBuf>,
        /// Longest a trial may run, e.g. "30m".
        #[serde(default)]
        timeout: Option<String>,
        /// Settings handed to the program (epochs, data fraction…).
        #[serde(default)]
        fidelity: Metrics,
    },
    /// Train every architecture (burn, in process) and score it on a validation split of the training set.
    Train(TrainSettings),
}

fn cifar10() -> TaskShape {
    TaskShape::CIFAR10
}

impl EvaluatorConfig {
    pub const KINDS: &'static [&'static str] = &["table", "command", "train"];

    pub fn kind(&self) -> &'static str {
        match self {
            EvaluatorConfig::Table { .. } => "table",
            EvaluatorConfig::Command { .. } => "command",
            EvaluatorConfig::Train(_) => "train",
        }
    }
}

/// The training evaluator: which data, how it is split, and how each candidate is trained (its fidelity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// fashion-mnist, mnist, cifar10, cifar100, folder (images in one sub-folder per class) or synthetic.
    pub dataset: String,
    /// Where the dataset's files are; machine-local (workers may say otherwise) [default: the dataset's usual
    /// place: /usr/share/datasets/fashion-mnist for fashion-mnist].
    pub data_dir: Option<PathBuf>,
    /// Share of the training set held out (seeded by the study's seed) to score candidates.
    pub validation_fraction: f64,
    /// How each candidate is trained: epochs, data fraction, optimiser, network scale…
    pub training: TrainConfig,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            dataset: nasforge_train::data::DEFAULT_DATASET.to_string(),
            data_dir: None,
            validation_fraction: 0.1,
            training: TrainConfig::default(),
        }
    }
}

/// The training flags shared by `search`, `study create` and `train` (each `None` when not given).
#[derive(Debug, Clone, Default)]
pub struct TrainingFlags {
    pub dataset: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub epochs: Option<usize>,
    pub data_fraction: Option<f64>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
    pub channels: Option<usize>,
    pub cells: Option<usize>,
    pub resolution: Option<usize>,
    pub augment: bool,
}

impl TrainingFlags {
    /// `settings` with what the flags say.
    pub fn apply(&self, mut settings: TrainSettings) -> Result<TrainSettings> {
        if let Some(dataset) = &self.dataset {
            settings.dataset = dataset.clone();
        }
        if self.data_dir.is_some() {
            settings.data_dir = self.data_dir.clone();
        }
        let training = &mut settings.training;
        if let Some(epochs) = self.epochs {
            training.epochs = epochs;
        }
        if let Some(fraction) = self.data_fraction {
            training.data_fraction = fraction;
        }
        if let Some(batch) = self.batch_size {
            training.batch_size = batch;
        }
        if let Some(rate) = self.learning_rate {
            training.learning_rate = rate;
        }
        if self.channels.is_some() {
            training.scale.channels = self.channels;
        }
        if self.cells.is_some() {
            training.scale.cells = self.cells;
        }
        if self.resolution.is_some() {
            training.resolution = self.resolution;
        }
        if self.augment {
            training.augmentation = Augmentation::STANDARD;
        }
        settings.check()?;
        Ok(settings)
    }
}

impl TrainSettings {
    /// Refuses settings no training can run with, naming the field.
    pub fn check(&self) -> Result<()> {
        let t = &self.training;
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            bail!("validation_fraction must be between 0 and 1 (exclusive), not {}", self.validation_fraction);
        }
        if t.epochs == 0 {
            bail!("epochs must be at least 1");
        }
        if !(t.data_fraction > 0.0 && t.data_fraction <= 1.0) {
            bail!("data_fraction must be in (0, 1], not {}", t.data_fraction);
        }
        if t.batch_size == 0 {
            bail!("batch_size must be at least 1");
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            bail!("learning_rate must be a positive number, not {}", t.learning_rate);
        }
        if t.scale.channels == Some(0) || t.scale.cells == Some(0) || t.resolution == Some(0) {
            bail!("channels, cells and resolution must be at least 1");
        }
        Ok(())
    }
}

/// The NAS-Bench-201 table used when none is named: `$NASFORGE_NB201_TABLE`, else the shared benchmark
/// folder beside the checkout (`../shared/benchmarks/nb201/`), looked for from the working directory.
pub fn default_nb201_table() -> PathBuf {
    if let Some(path) = std::env::var_os("NASFORGE_NB201_TABLE") {
        return PathBuf::from(path);
    }
    let relative = Path::new("shared/benchmarks/nb201/nb201_test_accuracy.csv");
    for prefix in ["..", "."] {
        let candidate = Path::new(prefix).join(relative);
        if candidate.exists() {
            return candidate;
        }
    }
    Path::new("..").join(relative)
}

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
        self.time_budget.as_deref().map(parse_duration).transpose()
    }
}

pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Ok(Duration::from_secs_f64(seconds));
    }
    humantime::parse_duration(text)
        .with_context(|| format!("time budget '{text}' is not a duration (examples: 90s, 10m, 1h30m)"))
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
}

/// A configuration file: every field optional; flags override it.
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
}

/// A `[strategy]` table whose missing settings, nested ones included, are the strategy's defaults.
fn strategy_table<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<StrategySpec>, D::Error> {
    let table = serde_json::Value::deserialize(deserializer)?;
    StrategySpec::from_table(table).map(Some).map_err(serde::de::Error::custom)
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the configuration", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// What the flags of `search` ask for (each `None` when not given).
#[derive(Debug, Clone, Default)]
pub struct Requested {
    pub space: Option<String>,
    pub strategy: Option<String>,
    pub evaluator: Option<String>,
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
}

/// The study configuration asked for by a file and flags, with `None` where neither says anything.
#[derive(Debug, Clone, Default)]
struct Partial {
    space: Option<SpaceConfig>,
    strategy: Option<StrategySpec>,
    evaluator: Option<EvaluatorConfig>,
    /// The evaluator kind the flags name.
    kind: Option<String>,
    table: Option<PathBuf>,
    command: Option<String>,
    trial_timeout: Option<String>,
    training: TrainingFlags,
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
        list.push(text.parse().map_err(anyhow::Error::msg)?);
    }
    let constraints: Vec<Constraint> =
        constraints.iter().map(|c| c.parse().map_err(anyhow::Error::msg)).collect::<Result<_>>()?;
    if list.is_empty() {
        if !constraints.is_empty() {
            bail!("constraints need an objective: add --metric or --objective");
        }
        return Ok(None);
    }
    Objectives::new(list, constraints).map(Some).map_err(anyhow::Error::msg)
}

impl Partial {
    fn new(file: &ConfigFile, flags: &Requested) -> Result<Partial> {
        let space = match (&flags.space, &file.space) {
            (Some(name), Some(from_file)) if from_file.name() == name => Some(from_file.clone()),
            (Some(name), _) => Some(SpaceConfig::from_name(name)?),
            (None, from_file) => from_file.clone(),
        };
        let strategy = match (&flags.strategy, &file.strategy) {
            (Some(name), Some(from_file)) if from_file.name() == name => Some(from_file.clone()),
            (Some(name), _) => Some(StrategySpec::from_name(name).map_err(anyhow::Error::msg)?),
            (None, from_file) => from_file.clone(),
        };
        if let Some(kind) = &flags.evaluator
            && !EvaluatorConfig::KINDS.contains(&kind.as_str())
        {
            bail!("unknown evaluator '{kind}' (expected one of {})", EvaluatorConfig::KINDS.join(", "));
        }
        let flag_objectives = objectives_from(flags.metric.as_deref(), &flags.objectives, &flags.constraints)?;
        let file_objectives = objectives_from(
            file.metric.as_deref(),
            file.objectives.as_deref().unwrap_or_default(),
            file.constraints.as_deref().unwrap_or_default(),
        )?;
        Ok(Partial {
            space,
            strategy,
            evaluator: file.evaluator.clone(),
            kind: flags.evaluator.clone(),
            table: flags.table.clone(),
            command: flags.command.clone(),
            trial_timeout: flags.trial_timeout.clone(),
            training: flags.training.clone(),
            objectives: flag_objectives.or(file_objectives),
            trials: flags.trials.or(file.trials),
            time_budget: flags.time_budget.clone().or(file.time_budget.clone()),
            seed: flags.seed.or(file.seed),
        })
    }

    /// The evaluator asked for: the file's, with what the flags change, or one built from the flags
    /// (`--command` means the command evaluator, `--dataset` the training evaluator, anything else the table
    /// with its default path).
    fn evaluator(&self) -> Result<EvaluatorConfig> {
        let implied = if self.command.is_some() {
            "command"
        } else if self.training.dataset.is_some() {
            "train"
        } else {
            "table"
        };
        let kind = self.kind.as_deref().or(self.evaluator.as_ref().map(|e| e.kind())).unwrap_or(implied);
        let from_file = self.evaluator.clone().filter(|e| e.kind() == kind);
        Ok(match kind {
            "table" => {
                let (table, task) = match from_file {
                    Some(EvaluatorConfig::Table { table, task }) => (table, task),
                    _ => (default_nb201_table(), TaskShape::CIFAR10),
                };
                EvaluatorConfig::Table { table: self.table.clone().unwrap_or(table), task }
            }
            "train" => {
                let settings = match from_file {
                    Some(EvaluatorConfig::Train(settings)) => settings,
                    _ => TrainSettings::default(),
                };
                EvaluatorConfig::Train(self.training.apply(settings)?)
            }
            _ => {
                let (command, workdir, timeout, fidelity) = match from_file {
                    Some(EvaluatorConfig::Command { command, workdir, timeout, fidelity }) => {
                        (Some(command), workdir, timeout, fidelity)
                    }
                    _ => (None, None, None, Metrics::new()),
                };
                let Some(command) = self.command.clone().or(command) else {
                    bail!("the command evaluator needs --command \"your training command\"");
                };
                EvaluatorConfig::Command { command, workdir, timeout: self.trial_timeout.clone().or(timeout), fidelity }
            }
        })
    }
}

/// The configuration of a new study: what was asked for, defaults for the rest. `default_metric` gives
/// the objective when none is named (the table's first metric column).
pub fn new_study_config(
    file: &ConfigFile,
    flags: &Requested,
    default_metric: impl FnOnce(&EvaluatorConfig) -> Result<String>,
) -> Result<StudyConfig> {
    let partial = Partial::new(file, flags)?;
    let evaluator = partial.evaluator()?;
    let objectives = match partial.objectives {
        Some(objectives) => objectives,
        None => Objectives::new(vec![Objective::maximize(default_metric(&evaluator)?)], vec![])
            .map_err(anyhow::Error::msg)?,
    };
    Ok(StudyConfig {
        space: partial.space.unwrap_or(SpaceConfig::Nb201),
        strategy: partial.strategy.unwrap_or_else(|| StrategySpec::from_name("evolution").expect("a known strategy")),
        evaluator,
        objectives,
        budget: Budget { trials: Some(partial.trials.unwrap_or(100)), time_budget: partial.time_budget },
        seed: partial.seed.unwrap_or(0),
    })
}

/// The configuration to continue an existing study with: the stored one, with a new budget or a
/// machine-local table path where asked. Asking for a different space, strategy, objective or seed is
/// an error that names the field, so a study never silently changes what it searches for.
pub fn continued_study_config(
    stored: &StudyConfig,
    file: &ConfigFile,
    flags: &Requested,
    study: &str,
) -> Result<StudyConfig> {
    let partial = Partial::new(file, flags)?;
    fn check<T: PartialEq + Serialize>(study: &str, field: &str, stored: &T, asked: Option<&T>) -> Result<()> {
        match asked {
            Some(asked) if asked != stored => {
                let show = |value: &T| serde_json::to_string(value).expect("configurations serialise");
                bail!(
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
    check(study, "evaluator", &stored.evaluator.kind(), Some(&asked.kind()))?;
    if let (EvaluatorConfig::Train(stored), EvaluatorConfig::Train(asked)) = (&stored.evaluator, &asked) {
        // Only where the data lies may change: another fidelity would make the trials incomparable.
        let same_place = TrainSettings { data_dir: stored.data_dir.clone(), ..asked.clone() };
        check(study, "training evaluator", stored, Some(&same_place))?;
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
