//! `nasforge search`, `study create` and `worker`: turn the flags into a study request, let the engine
//! create, continue and run the study, and show its progress and a parseable summary.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use nasforge_core::StopReason;
use nasforge_engine::config::{
    DEFAULT_STORAGE, DEFAULT_STUDY, SchedulerFlags, SupernetFlags, WarmStartFlags, parse_duration,
};
use nasforge_engine::latency::LatencyFlags;
use nasforge_engine::{ConfigFile, RunOptions, RunReport, StudyHandle, StudyRequest, TrainingFlags, trial_json};

use crate::cli::{SearchArgs, TrainingArgs, WorkerArgs};
use crate::progress::RunProgress;

/// `nasforge search`: creates the study or continues it, then runs it.
pub fn search(args: &SearchArgs) -> Result<ExitCode> {
    let (file, url, name) = file_and_place(args)?;
    let mut study = StudyHandle::open_or_new(&url, &name, &file, &study_request(args))?;
    let options =
        RunOptions { workers: args.workers, lease: parse_duration("lease", &args.lease)?, device: args.device };
    run(&mut study, options, args.json)
}

/// `nasforge study create`: stores a new study's configuration without running it.
pub fn create(args: &SearchArgs) -> Result<ExitCode> {
    let (file, url, name) = file_and_place(args)?;
    let mut study = StudyHandle::new(&url, &name, &file, &study_request(args))?;
    study.save(args.device)?;
    println!("created study '{name}' in {}", study.location());
    Ok(ExitCode::SUCCESS)
}

/// `nasforge worker`: works on an existing study whose configuration is read from the store; only the
/// budget and machine-local settings may differ.
pub fn worker(args: &WorkerArgs) -> Result<ExitCode> {
    let request = StudyRequest {
        table: args.table.clone(),
        trials: args.trials,
        time_budget: args.time_budget.clone(),
        training: TrainingFlags { data_dir: args.data_dir.clone(), ..TrainingFlags::default() },
        ..StudyRequest::default()
    };
    let mut study = StudyHandle::open_to_work(&args.storage, &args.study, &request)?;
    let options =
        RunOptions { workers: args.workers, lease: parse_duration("lease", &args.lease)?, device: args.device };
    run(&mut study, options, args.json)
}

/// The configuration file, storage URL and study name of a `search` or `study create`.
pub fn file_and_place(args: &SearchArgs) -> Result<(ConfigFile, String, String)> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let url = args.storage.clone().or(file.storage.clone()).unwrap_or_else(|| DEFAULT_STORAGE.into());
    let name = args.study.clone().or(file.study.clone()).unwrap_or_else(|| DEFAULT_STUDY.into());
    Ok((file, url, name))
}

pub fn study_request(args: &SearchArgs) -> StudyRequest {
    StudyRequest {
        space: args.space,
        strategy: args.strategy,
        evaluator: args.evaluator,
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
        proxies: args.proxies.clone(),
        proxy_batch_size: args.proxy_batch_size,
        supernet: SupernetFlags {
            path: args.supernet.clone(),
            validation_images: args.validation_images,
            recalibration_images: args.recalibration_images,
        },
        scheduler: SchedulerFlags {
            kind: args.scheduler,
            resource: args.resource.clone(),
            min_resource: args.min_resource,
            max_resource: args.max_resource,
            eta: args.eta,
            stop_probability: args.stop_probability,
            form: args.scheduler_form,
        },
        latency: LatencyFlags {
            model: args.latency_model,
            path: args.latency_table.clone(),
            reward: args.latency_reward,
        },
        warm_start: WarmStartFlags {
            proxies: args.warm_start.clone(),
            pool: args.warm_start_pool,
            top: args.warm_start_top,
        },
    }
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

/// Runs the study with a Ctrl-C handler and a progress display, then prints the summary.
fn run(study: &mut StudyHandle, options: RunOptions, json: bool) -> Result<ExitCode> {
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
    let paid_before = study.results()?.counts().paid;
    let progress = RunProgress::new(study.config(), paid_before)?;
    let report = study.run(options, &stop, &|_| Box::new(progress.clone()));
    progress.finish();
    let report = report?;
    print_summary(&report, paid_before, json);
    Ok(if report.reason == StopReason::Interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS })
}

fn print_summary(report: &RunReport, paid_before: u64, json: bool) {
    let results = &report.results;
    let counts = results.counts();
    let best = results.best();
    let stopped = match report.reason {
        StopReason::Budget => "budget",
        StopReason::Time => "time",
        StopReason::Interrupted => "interrupted",
        StopReason::Exhausted => "exhausted",
    };
    let seconds = report.elapsed.as_secs_f64().max(1e-9);
    if json {
        let summary = serde_json::json!({
            "study": results.name,
            "stopped": stopped,
            "paid": counts.paid,
            "paid_this_run": counts.paid - paid_before,
            "cache_hits": counts.cache_hits,
            "failed": counts.failed,
            "seconds": seconds,
            "best": best.map(trial_json),
        });
        println!("{summary}");
        return;
    }
    println!("study\t{}", results.name);
    println!("stopped\t{stopped}");
    println!("paid\t{}", counts.paid);
    println!("paid_this_run\t{}", counts.paid - paid_before);
    println!("cache_hits\t{}", counts.cache_hits);
    println!("failed\t{}", counts.failed);
    println!("seconds\t{seconds:.3}");
    // Rates of this run only: a continued study's earlier trials do not count.
    println!("paid_per_second\t{}", per_second((counts.paid - paid_before) as f64 / seconds));
    match best {
        Some(trial) => {
            println!("best_trial\t{}", trial.id);
            println!("best_arch\t{}", trial.arch);
            for objective in &results.config.objectives.objectives {
                if let Some(value) = trial.metrics.get(&objective.metric) {
                    println!("best_{}\t{value}", objective.metric);
                }
            }
        }
        None => println!("best_trial\tnone"),
    }
    if report.reason == StopReason::Interrupted {
        eprintln!("interrupted: run the same command again to continue the study");
    }
    if report.reason == StopReason::Exhausted {
        eprintln!("stopped: the strategy proposed only architectures evaluated already (is the space exhausted?)");
    }
}

/// A rate with the digits that matter: whole numbers from 100 up, three decimals below.
fn per_second(rate: f64) -> String {
    if rate >= 100.0 { format!("{rate:.0}") } else { format!("{rate:.3}") }
}
