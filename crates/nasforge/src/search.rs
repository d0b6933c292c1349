//! `nasforge search`, `study create` and `worker`: create or open a study, build its evaluator and
//! strategy, and run it on one or more worker threads, with a progress line on a terminal and a parseable
//! summary at the end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nasforge_core::study::{Lease, RunLimits, TrialStore};
use nasforge_core::{Evaluator, Progress, StopReason, Study, StudyObserver, TrialRecord, TrialState};
use nasforge_eval::{CommandEvaluator, Table, TableEvaluator};
use nasforge_store::{Storage, StudyRecord};
use nasforge_train::{Buildable, DeviceChoice, TrainEvaluator};

use crate::cli::{SearchArgs, TrainingArgs, WorkerArgs};
use crate::config::{
    ConfigFile, EvaluatorConfig, Requested, StudyConfig, TrainSettings, TrainingFlags, continued_study_config,
    new_study_config, parse_duration,
};
use crate::report::{best_trial, trial_json};
use crate::spaces::{SpaceTask, with_space};

/// `nasforge search`: creates the study or continues it, then runs it.
pub fn search(args: &SearchArgs) -> Result<ExitCode> {
    start(args, false)
}

/// `nasforge study create`: stores a new study's configuration without running it.
pub fn create(args: &SearchArgs) -> Result<ExitCode> {
    start(args, true)
}

fn start(args: &SearchArgs, create_only: bool) -> Result<ExitCode> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let flags = Requested {
        space: args.space.clone(),
        strategy: args.strategy.clone(),
        evaluator: args.evaluator.clone(),
        table: args.table.clone(),
        command: args.command.clone(),
        trial_timeout: args.trial_timeout.clone(),
        metric: args.metric.clone(),
        objectives: args.objectives.clone(),
        constraints: args.constraints.clone(),
        trials: args.trials,
        time_budget: args.time_budget.clone(),
        seed: args.seed,
        training: training_flags(&args.training),
    };
    let url = args.storage.clone().or(file.storage.clone()).unwrap_or_else(|| "sqlite:nasforge.db".into());
    let study = args.study.clone().or(file.study.clone()).unwrap_or_else(|| "default".into());
    let storage = Storage::open(&url)?;
    let (config, is_new) = match storage.study(&study)? {
        Some(_) if create_only => bail!("study '{study}' exists already in {storage}"),
        Some(record) => (continued_study_config(&stored_config(&record, &study)?, &file, &flags, &study)?, false),
        None => (new_study_config(&file, &flags, default_metric)?, true),
    };
    let options = RunOptions {
        workers: args.workers,
        lease: parse_duration(&args.lease)?,
        json: args.json,
        device: DeviceChoice::parse(&args.device).map_err(anyhow::Error::msg)?,
    };
    launch(Launch { url: &url, storage: &storage, study: &study, config: &config, is_new, create_only, options })
}

/// `nasforge worker`: works on an existing study whose configuration is read from the store.
pub fn worker(args: &WorkerArgs) -> Result<ExitCode> {
    let storage = Storage::open(&args.storage)?;
    let Some(record) = storage.study(&args.study)? else {
        bail!("no study '{}' in {storage} (create it with `nasforge study create`)", args.study);
    };
    // Only machine-local settings and the budget may differ from what the study stored.
    let flags = Requested {
        table: args.table.clone(),
        trials: args.trials,
        time_budget: args.time_budget.clone(),
        training: TrainingFlags { data_dir: args.data_dir.clone(), ..TrainingFlags::default() },
        ..Requested::default()
    };
    let config =
        continued_study_config(&stored_config(&record, &args.study)?, &ConfigFile::default(), &flags, &args.study)?;
    let options = RunOptions {
        workers: args.workers,
        lease: parse_duration(&args.lease)?,
        json: args.json,
        device: DeviceChoice::parse(&args.device).map_err(anyhow::Error::msg)?,
    };
    launch(Launch {
        url: &args.storage,
        storage: &storage,
        study: &args.study,
        config: &config,
        is_new: false,
        create_only: false,
        options,
    })
}

/// What the training flags of a command ask for.
pub fn training_flags(args: &TrainingArgs) -> TrainingFlags {
    TrainingFlags {
        dataset: args.dataset.clone(),
        data_dir: args.data_dir.clone(),
        epochs: args.epochs,
        data_fraction: args.data_fraction,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        channels: args.channels,
        cells: args.cells,
        resolution: args.resolution,
        augment: args.augment,
    }
}

pub fn stored_config(record: &StudyRecord, study: &str) -> Result<StudyConfig> {
    serde_json::from_str(&record.config_json).with_context(|| format!("study '{study}': unreadable configuration"))
}

/// How a run works: threads, lease, output, training device.
#[derive(Debug, Clone, Copy)]
struct RunOptions {
    workers: usize,
    lease: Duration,
    json: bool,
    device: DeviceChoice,
}

struct Launch<'a> {
    url: &'a str,
    storage: &'a Storage,
    study: &'a str,
    config: &'a StudyConfig,
    is_new: bool,
    create_only: bool,
    options: RunOptions,
}

fn launch(launch: Launch<'_>) -> Result<ExitCode> {
    launch.config.budget.time()?;
    if launch.options.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second Ctrl-C while the running trials finish ends the process at once.
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let space = launch.config.space.clone();
    let reason = with_space(&space, SearchRun { launch, stop: &stop })?;
    Ok(if reason == Some(StopReason::Interrupted) { ExitCode::from(130) } else { ExitCode::SUCCESS })
}

/// The first metric column of the evaluator's table: the objective when none is named.
fn default_metric(evaluator: &EvaluatorConfig) -> Result<String> {
    match evaluator {
        EvaluatorConfig::Table { table, .. } => {
            let columns = Table::metric_columns(table)?;
            Ok(columns.into_iter().next().expect("a table has a metric column"))
        }
        EvaluatorConfig::Command { .. } => {
            bail!("name the metric your command prints with --metric (or --objective METRIC:max|min)")
        }
        EvaluatorConfig::Train(_) => Ok("val_accuracy".to_string()),
    }
}

/// The metrics the training evaluator records for every trial.
const TRAINING_METRICS: &[&str] = &[
    "val_accuracy",
    "val_loss",
    "train_loss",
    "params",
    "flops",
    "model_bytes",
    "activation_bytes",
    "latency_ms",
    "latency_batch_ms",
    "train_seconds",
    "epochs",
];

/// The dataset of the training settings, split into training and validation by the study's seed.
pub fn training_evaluator(settings: &TrainSettings, seed: u64, device: DeviceChoice) -> Result<TrainEvaluator> {
    let source = nasforge_train::data::load_named(&settings.dataset, settings.data_dir.as_deref())?;
    let config = nasforge_train::TrainConfig { device, ..settings.training.clone() };
    Ok(TrainEvaluator::new(&source.train, settings.validation_fraction, seed, config))
}

struct SearchRun<'a> {
    launch: Launch<'a>,
    stop: &'a AtomicBool,
}

fn build_evaluator<S: Buildable>(
    study_config: &StudyConfig,
    space: &S,
    study: &str,
    metrics: &[&str],
    device: DeviceChoice,
) -> Result<Box<dyn Evaluator<S>>> {
    match &study_config.evaluator {
        EvaluatorConfig::Command { command, workdir, timeout, fidelity } => {
            let code_dir = std::env::current_dir().context("reading the working directory")?;
            let workdir = workdir.clone().unwrap_or_else(|| PathBuf::from("nasforge-trials").join(study));
            let timeout = timeout.as_deref().map(parse_duration).transpose()?;
            Ok(Box::new(CommandEvaluator {
                command: command.clone(),
                code_dir: code_dir.clone(),
                workdir: code_dir.join(workdir),
                timeout,
                fidelity: fidelity.clone(),
            }))
        }
        EvaluatorConfig::Table { table, task } => {
            let evaluator = TableEvaluator::new(Table::load(table, space)?, *task);
            let available = evaluator.metric_names(space);
            if let Some(missing) = metrics.iter().find(|m| !available.iter().any(|a| a == *m)) {
                bail!("{}: no metric `{missing}` (metrics: {})", table.display(), available.join(", "));
            }
            Ok(Box::new(evaluator))
        }
        EvaluatorConfig::Train(settings) => {
            if let Some(missing) = metrics.iter().find(|m| !TRAINING_METRICS.contains(m)) {
                bail!(
                    "the training evaluator records no metric `{missing}` (metrics: {})",
                    TRAINING_METRICS.join(", ")
                );
            }
            Ok(Box::new(training_evaluator(settings, study_config.seed, device)?))
        }
    }
}

impl SpaceTask for SearchRun<'_> {
    /// Why the run stopped; `None` when the study was only created.
    type Output = Result<Option<StopReason>>;

    fn run<S: Buildable>(self, space: S) -> Result<Option<StopReason>> {
        let Launch { url, storage, study, config, is_new, create_only, options } = self.launch;
        let metrics: Vec<&str> = config
            .objectives
            .objectives
            .iter()
            .map(|o| o.metric.as_str())
            .chain(config.objectives.constraints.iter().map(|c| c.metric.as_str()))
            .collect();
        // Everything is checked before anything is stored.
        let evaluator = build_evaluator(config, &space, study, &metrics, options.device)?;
        config.strategy.build(&space, config.objectives.len()).map_err(anyhow::Error::msg)?;
        let config_json = serde_json::to_string(config).expect("configurations serialise");
        if is_new {
            storage.create_study(study, S::NAME, &config_json)?;
        } else {
            storage.update_study_config(study, &config_json)?;
        }
        if create_only {
            println!("created study '{study}' in {storage}");
            return Ok(None);
        }
        let limits = RunLimits {
            max_paid_trials: config.budget.trials,
            time_budget: config.budget.time()?,
            ..RunLimits::default()
        };
        let bar = ProgressLine::new(config.budget.trials);
        let started = Instant::now();
        let reasons: Vec<Result<StopReason>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..options.workers)
                .map(|thread| {
                    let (space, evaluator, limits, bar) = (space.clone(), evaluator.as_ref(), &limits, bar.clone());
                    scope.spawn(move || {
                        let lease = Lease::for_this_process(thread, options.lease);
                        let reason = work(space, evaluator, url, study, config, limits, &lease, bar, self.stop);
                        if reason.is_err() {
                            // One worker's fatal error ends the others after their current trial.
                            self.stop.store(true, Ordering::SeqCst);
                        }
                        reason
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a worker panicked"))))
                .collect()
        });
        bar.finish();
        let mut reasons = reasons.into_iter().collect::<Result<Vec<_>>>()?;
        reasons.sort_by_key(|reason| *reason != StopReason::Interrupted);
        let reason = reasons[0];
        let trials = storage.trial_store(study)?.load_trials().map_err(|e| anyhow::anyhow!("{e}"))?;
        print_summary(study, config, &trials, reason, started.elapsed(), options.json);
        Ok(Some(reason))
    }
}

/// One worker: its own store connection, strategy and view of the study.
#[allow(clippy::too_many_arguments)]
fn work<S: Buildable>(
    space: S,
    evaluator: &dyn Evaluator<S>,
    url: &str,
    study: &str,
    config: &StudyConfig,
    limits: &RunLimits,
    lease: &Lease,
    mut observer: ProgressLine,
    stop: &AtomicBool,
) -> Result<StopReason> {
    let mut store = Storage::open(url)?.trial_store(study)?;
    let strategy = config.strategy.build(&space, config.objectives.len()).map_err(anyhow::Error::msg)?;
    let mut run = Study::open(space, strategy, config.objectives.clone(), config.seed, &mut store)?;
    Ok(run.run(evaluator, &mut store, limits, lease, &mut observer, stop)?)
}

fn print_summary(
    name: &str,
    config: &StudyConfig,
    trials: &[TrialRecord],
    reason: StopReason,
    elapsed: Duration,
    json: bool,
) {
    let finished = |t: &&TrialRecord| t.state.is_finished();
    let paid = trials.iter().filter(finished).filter(|t| t.is_paid()).count();
    let cache_hits = trials.iter().filter(|t| !t.is_paid()).count();
    let failed = trials.iter().filter(|t| t.is_paid() && t.state == TrialState::Failed).count();
    let best = best_trial(trials, &config.objectives);
    let stopped = match reason {
        StopReason::Budget => "budget",
        StopReason::Time => "time",
        StopReason::Interrupted => "interrupted",
        StopReason::Exhausted => "exhausted",
    };
    let seconds = elapsed.as_secs_f64().max(1e-9);
    if json {
        let summary = serde_json::json!({
            "study": name,
            "stopped": stopped,
            "paid": paid,
            "cache_hits": cache_hits,
            "failed": failed,
            "seconds": seconds,
            "best": best.map(trial_json),
        });
        println!("{summary}");
        return;
    }
    println!("study\t{name}");
    println!("stopped\t{stopped}");
    println!("paid\t{paid}");
    println!("cache_hits\t{cache_hits}");
    println!("failed\t{failed}");
    println!("seconds\t{seconds:.3}");
    // Rates of this run: trials finished by earlier runs of the study count too when it was continued.
    println!("paid_per_second\t{}", rate(paid as f64 / seconds));
    println!("recorded_per_second\t{}", rate((paid + cache_hits) as f64 / seconds));
    match best {
        Some(trial) => {
            println!("best_trial\t{}", trial.id);
            println!("best_arch\t{}", trial.arch);
            for objective in &config.objectives.objectives {
                if let Some(value) = trial.metrics.get(&objective.metric) {
                    println!("best_{}\t{value}", objective.metric);
                }
            }
        }
        None => println!("best_trial\tnone"),
    }
    if reason == StopReason::Interrupted {
        eprintln!("interrupted: run the same command again to continue the study");
    }
    if reason == StopReason::Exhausted {
        eprintln!("stopped: the strategy proposed only architectures evaluated already (is the space exhausted?)");
    }
}

/// A rate with the digits that matter: whole numbers from 100 up, three decimals below.
fn rate(per_second: f64) -> String {
    if per_second >= 100.0 { format!("{per_second:.0}") } else { format!("{per_second:.3}") }
}

/// A live progress line on a terminal (stderr), shared by the workers; nothing when stderr is not one.
#[derive(Clone)]
struct ProgressLine {
    bar: Option<ProgressBar>,
}

impl ProgressLine {
    fn new(budget: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return ProgressLine { bar: None };
        }
        let bar = match budget {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::no_length(),
        };
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} trials  {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        ProgressLine { bar: Some(bar) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl StudyObserver for ProgressLine {
    fn trial_finished(&mut self, _trial: &TrialRecord, progress: &Progress) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(progress.paid);
        let best = progress.best.map_or("-".to_string(), |b| format!("{b:.4}"));
        let rate = progress.paid as f64 / bar.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "best {best}  {rate:.0}/s  cache hits {}  failed {}",
            progress.cache_hits, progress.failed
        ));
    }
}
