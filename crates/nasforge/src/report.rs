//! `nasforge trials`, `best`, `pareto` and `studies`: read a stored study through the engine and print it
//! as a table or JSON.

use std::process::ExitCode;

use anyhow::{Result, bail};
use comfy_table::Table as TextTable;
use nasforge_core::TrialRecord;
use nasforge_engine::{StudyHandle, StudyResults, list_studies, trial_json};
use serde_json::Value;

use crate::cli::{StorageArgs, StudyArgs};

/// A borderless table for terminal output.
pub fn plain_table() -> TextTable {
    let mut table = TextTable::new();
    table.load_style(comfy_table::presets::NOTHING);
    table
}

fn load(args: &StudyArgs) -> Result<StudyResults> {
    Ok(StudyHandle::open(&args.storage.storage, &args.study)?.results()?)
}

/// Trials as a table: id, state, the study's metrics (objectives, then constraints), cache source, arch.
fn print_table<'a>(trials: impl IntoIterator<Item = &'a TrialRecord>, study: &StudyResults) {
    let columns = study.config.metrics();
    let mut table = plain_table();
    let mut header = vec!["id".to_string(), "state".to_string()];
    header.extend(columns.iter().map(|c| c.to_string()));
    header.extend(["cached_from".to_string(), "arch".to_string()]);
    table.set_header(header);
    for trial in trials {
        let mut row = vec![trial.id.to_string(), trial.state.to_string()];
        for column in &columns {
            row.push(trial.metrics.get(*column).map_or(String::new(), |v| format!("{v}")));
        }
        row.push(trial.cached_from.map_or(String::new(), |c| c.to_string()));
        row.push(trial.arch.clone());
        table.add_row(row);
    }
    println!("{table}");
}

fn print_json<'a>(trials: impl IntoIterator<Item = &'a TrialRecord>) {
    println!("{}", Value::Array(trials.into_iter().map(trial_json).collect()));
}

pub fn trials(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    if args.json {
        print_json(&study.trials);
    } else {
        print_table(&study.trials, &study);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn best(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let Some(best) = study.best() else {
        bail!("study '{}' has no complete trial yet", args.study);
    };
    if args.json {
        println!("{}", trial_json(best));
    } else {
        print_table([best], &study);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pareto(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let front = study.pareto();
    if args.json {
        print_json(front.trials.iter().copied());
        return Ok(ExitCode::SUCCESS);
    }
    print_table(front.trials.iter().copied(), &study);
    if let Some(hypervolume) = &front.hypervolume {
        let reference: Vec<String> =
            hypervolume.reference.iter().map(|(metric, value)| format!("{metric}={value}")).collect();
        println!(
            "front: {} trials; hypervolume {:.6e} (reference: the worst feasible value of each objective, {})",
            front.trials.len(),
            hypervolume.value,
            reference.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn studies(args: &StorageArgs) -> Result<ExitCode> {
    let mut table = plain_table();
    table.set_header(vec!["study", "space", "created_at"]);
    for study in list_studies(&args.storage)? {
        table.add_row(vec![study.name, study.space, format!("{:.0}", study.created_at)]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
