//! Study configuration: what a TOML file and the flags of `search` say, merged (flags win), checked against
//! the configuration stored with an existing study, and stored as JSON with a new one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nasforge_core::space::{ChainSpace, DartsSpace, Nb201Space, TaskShape};
use nasforge_core::{Constraint, Metrics, Objective, Objectives, SearchSpace, StrategySpec};
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
}

fn cifar10() -> TaskShape {
    TaskShape::CIFAR10
}

impl EvaluatorConfig {
    pub const KINDS: &'static [&'static str] = &["table", "command"];

    pub fn kind(&self) -> &'static str {
        match self {
            EvaluatorConfig::Table { .. } => "table",
            EvaluatorConfig::Command { .. } => "command",
        }
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
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
        }
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
    pub strategy: Option<StrategySpec>,
    pub evaluator: Option<EvaluatorConfig>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the configuration", path.display()))?;
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
        if let Some(kind) = &flags.evaluator {
            if !EvaluatorConfig::KINDS.contains(&kind.as_str()) {
                bail!("unknown evaluator '{kind}' (expected one of {})", EvaluatorConfig::KINDS.join(", "));
            }
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
            objectives: flag_objectives.or(file_objectives),
            trials: flags.trials.or(file.trials),
            time_budget: flags.time_budget.clone().or(file.time_budget.clone()),
            seed: flags.seed.or(file.seed),
        })
    }

    /// The evaluator asked for: the file's, with what the flags change, or one built from the flags
    /// (`--command` means the command evaluator, anything else the table with its default path).
    fn evaluator(&self) -> Result<EvaluatorConfig> {
        let kind = self.kind.as_deref().or(self.evaluator.as_ref().map(|e| e.kind())).unwrap_or(if self.command.is_some() {
            "command"
        } else {
            "table"
        });
        let from_file = self.evaluator.clone().filter(|e| e.kind() == kind);
        Ok(match kind {
            "table" => {
                let (table, task) = match from_file {
                    Some(EvaluatorConfig::Table { table, task }) => (table, task),
                    _ => (default_nb201_table(), TaskShape::CIFAR10),
                };
                EvaluatorConfig::Table { table: self.table.clone().unwrap_or(table), task }
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
        None => Objectives::new(vec![Objective::maximize(default_metric(&evaluator)?)], vec![]).map_err(anyhow::Error::msg)?,
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
pub fn continued_study_config(stored: &StudyConfig, file: &ConfigFile, flags: &Requested, study: &str) -> Result<StudyConfig> {
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
    let partial = if asks_evaluator { partial } else { Partial { evaluator: Some(stored.evaluator.clone()), ..partial } };
    let asked = partial.evaluator()?;
    check(study, "evaluator", &stored.evaluator.kind(), Some(&asked.kind()))?;
    config.evaluator = asked;
    if let Some(trials) = partial.trials {
        config.budget.trials = Some(trials);
    }
    if partial.time_budget.is_some() {
        config.budget.time_budget = partial.time_budget;
    }
    Ok(config)
}
