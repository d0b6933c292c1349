//! `nasforge trials`, `best`, `pareto` and `studies`: read a stored study and print it as a table or JSON.

use std::process::ExitCode;

use anyhow::{Result, bail};
use comfy_table::Table as TextTable;
use nasforge_core::pareto::{hypervolume, non_dominated_ranks};
use nasforge_core::study::TrialStore;
use nasforge_core::{Objectives, Outcome, TrialRecord, TrialState};
use nasforge_store::Storage;
use serde_json::{Value, json};

use crate::cli::{StorageArgs, StudyArgs};
use crate::config::StudyConfig;
use crate::search::stored_config;

/// A borderless table for terminal output.
pub fn plain_table() -> TextTable {
    let mut table = TextTable::new();
    table.load_style(comfy_table::presets::NOTHING);
    table
}

/// A trial as the JSON outputs give it.
pub fn trial_json(trial: &TrialRecord) -> Value {
    json!({
        "id": trial.id,
        "arch": trial.arch,
        "state": trial.state.as_str(),
        "metrics": trial.metrics,
        "intermediate": trial.intermediate,
        "cached_from": trial.cached_from,
        "error": trial.error,
        "attempts": trial.attempts,
        "worker": trial.worker,
    })
}

/// The best paid, complete trial on the first objective (feasible trials first).
pub fn best_trial<'a>(trials: &'a [TrialRecord], objectives: &Objectives) -> Option<&'a TrialRecord> {
    scored(trials, objectives).into_iter().reduce(|a, b| if b.1.better_than(&a.1) { b } else { a }).map(|(t, _)| t)
}

/// Paid, complete trials with their outcomes (cache hits repeat a paid trial and are left out).
fn scored<'a>(trials: &'a [TrialRecord], objectives: &Objectives) -> Vec<(&'a TrialRecord, Outcome)> {
    trials
        .iter()
        .filter(|t| t.is_paid() && t.state == TrialState::Complete)
        .filter_map(|t| objectives.outcome(&t.metrics).ok().map(|o| (t, o)))
        .collect()
}

/// The feasible Pareto front, best first objective first.
fn pareto_front<'a>(trials: &'a [TrialRecord], objectives: &Objectives) -> Vec<(&'a TrialRecord, Outcome)> {
    let scored: Vec<_> = scored(trials, objectives).into_iter().filter(|(_, o)| o.is_feasible()).collect();
    let outcomes: Vec<&Outcome> = scored.iter().map(|(_, o)| o).collect();
    let ranks = non_dominated_ranks(&outcomes);
    let mut front: Vec<_> = scored.into_iter().zip(ranks).filter(|(_, r)| *r == 0).map(|(s, _)| s).collect();
    front.sort_by(|a, b| b.1.scores[0].total_cmp(&a.1.scores[0]));
    front
}

pub struct LoadedStudy {
    pub config: StudyConfig,
    pub trials: Vec<TrialRecord>,
}

/// The configuration and trials of study `study` in the store at `url`.
pub fn load_study(url: &str, study: &str) -> Result<LoadedStudy> {
    let storage = Storage::open(url)?;
    let Some(record) = storage.study(study)? else {
        let names: Vec<String> = storage.studies()?.into_iter().map(|s| s.name).collect();
        bail!(
            "no study '{study}' in {storage} (studies: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        );
    };
    let config = stored_config(&record, study)?;
    let trials = storage.trial_store(study)?.load_trials().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(LoadedStudy { config, trials })
}

fn load(args: &StudyArgs) -> Result<LoadedStudy> {
    load_study(&args.storage.storage, &args.study)
}

/// The metric columns a table shows: objectives, then constraint metrics.
fn metric_columns(objectives: &Objectives) -> Vec<String> {
    let mut columns: Vec<String> = objectives.objectives.iter().map(|o| o.metric.clone()).collect();
    for constraint in &objectives.constraints {
        if !columns.contains(&constraint.metric) {
            columns.push(constraint.metric.clone());
        }
    }
    columns
}

fn print_table<'a>(trials: impl IntoIterator<Item = &'a TrialRecord>, objectives: &Objectives) {
    let columns = metric_columns(objectives);
    let mut table = plain_table();
    let mut header = vec!["id".to_string(), "state".to_string()];
    header.extend(columns.iter().cloned());
    header.extend(["cached_from".to_string(), "arch".to_string()]);
    table.set_header(header);
    for trial in trials {
        let mut row = vec![trial.id.to_string(), trial.state.to_string()];
        for column in &columns {
            row.push(trial.metrics.get(column).map_or(String::new(), |v| format!("{v}")));
        }
        row.push(trial.cached_from.map_or(String::new(), |c| c.to_string()));
        row.push(trial.arch.clone());
        table.add_row(row);
    }
    println!("{table}");
}

pub fn trials(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    if args.json {
        let list: Vec<Value> = study.trials.iter().map(trial_json).collect();
        println!("{}", Value::Array(list));
    } else {
        print_table(&study.trials, &study.config.objectives);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn best(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let Some(best) = best_trial(&study.trials, &study.config.objectives) else {
        bail!("study '{}' has no complete trial yet", args.study);
    };
    if args.json {
        println!("{}", trial_json(best));
    } else {
        print_table([best], &study.config.objectives);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pareto(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let objectives = &study.config.objectives;
    let front = pareto_front(&study.trials, objectives);
    if args.json {
        let list: Vec<Value> = front.iter().map(|(t, _)| trial_json(t)).collect();
        println!("{}", Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    print_table(front.iter().map(|(t, _)| *t), objectives);
    // Hypervolume against the nadir of the study's feasible complete trials.
    let feasible: Vec<Vec<f64>> =
        scored(&study.trials, objectives).into_iter().filter(|(_, o)| o.is_feasible()).map(|(_, o)| o.scores).collect();
    if let Some(first) = feasible.first() {
        let nadir: Vec<f64> =
            (0..first.len()).map(|m| feasible.iter().map(|s| s[m]).fold(f64::INFINITY, f64::min)).collect();
        let points: Vec<Vec<f64>> = front.iter().map(|(_, o)| o.scores.clone()).collect();
        let raw_nadir: Vec<String> =
            objectives.objectives.iter().zip(&nadir).map(|(o, v)| format!("{}={}", o.metric, o.orient(*v))).collect();
        println!(
            "front: {} trials; hypervolume {:.6e} (reference: the worst feasible value of each objective, {})",
            front.len(),
            hypervolume(&points, &nadir),
            raw_nadir.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn studies(args: &StorageArgs) -> Result<ExitCode> {
    let storage = Storage::open(&args.storage)?;
    let mut table = plain_table();
    table.set_header(vec!["study", "space", "created_at"]);
    for study in storage.studies()? {
        table.add_row(vec![study.name, study.space, format!("{:.0}", study.created_at)]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
