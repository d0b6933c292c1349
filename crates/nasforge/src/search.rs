//! `nasforge search`: opens or creates a study, builds its evaluator and strategy, and runs it with a
//! progress line on a terminal and a parseable summary at the end.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nasforge_core::study::RunLimits;
use nasforge_core::{Evaluator, Progress, SearchSpace, StopReason, Study, StudyObserver, TrialRecord};
use nasforge_eval::{Table, TableEvaluator};
use nasforge_store::Storage;

use crate::cli::SearchArgs;
use crate::config::{ConfigFile, EvaluatorConfig, Requested, StudyConfig, continued_study_config, new_study_config};
use crate::report::{best_trial, trial_json};
use crate::spaces::{SpaceTask, with_space};

pub fn run(args: &SearchArgs) -> Result<ExitCode> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let flags = Requested {
        space: args.space.clone(),
        strategy: args.strategy.clone(),
        evaluator: args.evaluator.clone(),
        table: args.table.clone(),
        metric: args.metric.clone(),
        objectives: args.objectives.clone(),
        constraints: args.constraints.clone(),
        trials: args.trials,
        time_budget: args.time_budget.clone(),
        seed: args.seed,
    };
    let storage_url = args.storage.clone().or(file.storage.clone()).unwrap_or_else(|| "sqlite:nasforge.db".into());
    let study_name = args.study.clone().or(file.study.clone()).unwrap_or_else(|| "default".into());
    let mut storage = Storage::open(&storage_url)?;
    let (config, is_new) = match storage.study(&study_name)? {
        Some(record) => {
            let stored: StudyConfig = serde_json::from_str(&record.config_json)
                .with_context(|| format!("study '{study_name}' in {storage_url}: unreadable configuration"))?;
            (continued_study_config(&stored, &file, &flags, &study_name)?, false)
        }
        None => (new_study_config(&file, &flags, default_metric)?, true),
    };
    config.budget.time()?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second Ctrl-C while the current trial finishes ends the process at once.
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let run = SearchRun { config: &config, storage: &mut storage, study: &study_name, is_new, stop: &stop, json: args.json };
    let summary = with_space(&config.space, run)?;
    Ok(if summary == StopReason::Interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS })
}

/// The first metric column of the evaluator's table: the objective when none is named.
fn default_metric(evaluator: &EvaluatorConfig) -> Result<String> {
    match evaluator {
        EvaluatorConfig::Table { table, .. } => {
            let columns = Table::metric_columns(table)?;
            Ok(columns.into_iter().next().expect("a table has a metric column"))
        }
    }
}

struct SearchRun<'a> {
    config: &'a StudyConfig,
    storage: &'a mut Storage,
    study: &'a str,
    is_new: bool,
    stop: &'a AtomicBool,
    json: bool,
}

fn build_evaluator<S: SearchSpace>(config: &EvaluatorConfig, space: &S, metrics: &[&str]) -> Result<Box<dyn Evaluator<S>>> {
    match config {
        EvaluatorConfig::Table { table, task } => {
            let evaluator = TableEvaluator::new(Table::load(table, space)?, *task);
            let available = evaluator.metric_names(space);
            if let Some(missing) = metrics.iter().find(|m| !available.iter().any(|a| a == *m)) {
                bail!("{}: no metric `{missing}` (metrics: {})", table.display(), available.join(", "));
            }
            Ok(Box::new(evaluator))
        }
    }
}

impl SpaceTask for SearchRun<'_> {
    type Output = Result<StopReason>;

    fn run<S: SearchSpace>(self, space: S) -> Result<StopReason> {
        let config = self.config;
        let metrics: Vec<&str> = config
            .objectives
            .objectives
            .iter()
            .map(|o| o.metric.as_str())
            .chain(config.objectives.constraints.iter().map(|c| c.metric.as_str()))
            .collect();
        let evaluator = build_evaluator(&config.evaluator, &space, &metrics)?;
        let strategy = config.strategy.build(&space, config.objectives.len()).map_err(anyhow::Error::msg)?;
        let config_json = serde_json::to_string(config).expect("configurations serialise");
        if self.is_new {
            self.storage.create_study(self.study, S::NAME, &config_json)?;
        } else {
            self.storage.update_study_config(self.study, &config_json)?;
        }
        let mut store = self.storage.trial_store(self.study)?;
        let mut study = Study::open(space, strategy, config.objectives.clone(), config.seed, &mut store)?;
        let limits = RunLimits {
            max_paid_trials: config.budget.trials,
            time_budget: config.budget.time()?,
            ..RunLimits::default()
        };
        let mut observer = ProgressLine::new(config.budget.trials, &study.progress());
        let reason = study.run(evaluator.as_ref(), &mut store, &limits, &mut observer, self.stop);
        observer.finish();
        let reason = reason?;
        print_summary(self.study, config, &study, reason, self.json)?;
        Ok(reason)
    }
}

fn print_summary<S: SearchSpace>(name: &str, config: &StudyConfig, study: &Study<S>, reason: StopReason, json: bool) -> Result<()> {
    let progress = study.progress();
    let best = best_trial(study.trials(), &config.objectives);
    let stopped = match reason {
        StopReason::Budget => "budget",
        StopReason::Time => "time",
        StopReason::Interrupted => "interrupted",
        StopReason::Exhausted => "exhausted",
    };
    let seconds = progress.elapsed.as_secs_f64().max(1e-9);
    let paid_rate = progress.paid as f64 / seconds;
    let recorded_rate = (progress.paid + progress.cache_hits) as f64 / seconds;
    if json {
        let summary = serde_json::json!({
            "study": name,
            "stopped": stopped,
            "paid": progress.paid,
            "cache_hits": progress.cache_hits,
            "failed": progress.failed,
            "seconds": progress.elapsed.as_secs_f64(),
            "best": best.map(trial_json),
        });
        println!("{summary}");
        return Ok(());
    }
    println!("study\t{name}");
    println!("stopped\t{stopped}");
    println!("paid\t{}", progress.paid);
    println!("cache_hits\t{}", progress.cache_hits);
    println!("failed\t{}", progress.failed);
    println!("seconds\t{:.3}", progress.elapsed.as_secs_f64());
    println!("paid_per_second\t{paid_rate:.0}");
    println!("recorded_per_second\t{recorded_rate:.0}");
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
    Ok(())
}

/// A live progress line on a terminal (stderr); nothing when stderr is not one.
struct ProgressLine {
    bar: Option<ProgressBar>,
}

impl ProgressLine {
    fn new(budget: Option<u64>, progress: &Progress) -> Self {
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
        bar.set_position(progress.paid);
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
        let rate = progress.paid as f64 / progress.elapsed.as_secs_f64().max(1e-9);
        bar.set_message(format!("best {best}  {rate:.0}/s  cache hits {}  failed {}", progress.cache_hits, progress.failed));
    }
}
