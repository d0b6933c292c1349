//! `nasforge trials`, `best`, `pareto` and `studies`: read a stored study through the engine and print it:
//! an aligned, rounded table for people, or exact JSON, CSV or TSV for programs.

use std::process::ExitCode;

use anyhow::{Result, bail};
use comfy_table::Table as TextTable;
use nasforge_core::TrialRecord;
use nasforge_engine::{StudyHandle, StudyResults, list_studies, trial_json};
use nasforge_report::rounded;
use serde_json::Value;

use crate::cli::{OutputArgs, OutputFormat, StorageArgs, StudyArgs};

/// A borderless table for terminal output.
pub fn plain_table() -> TextTable {
    let mut table = TextTable::new();
    table.load_style(comfy_table::presets::NOTHING);
    table
}

/// Prints a table without the padding comfy-table leaves at the end of each line.
pub fn print_plain(table: &TextTable) {
    for line in table.to_string().lines() {
        println!("{}", line.trim_end());
    }
}

fn load(args: &StudyArgs) -> Result<StudyResults> {
    Ok(StudyHandle::open(&args.storage.storage, &args.study)?.results()?)
}

/// Metrics shown after the study's own when some trial has them.
const SIZE_AND_COST_METRICS: [&str; 4] = ["params", "flops", "latency_ms", "train_seconds"];

/// The columns to show: those asked for, else id, state, the study's metrics, the size and cost metrics
/// some trial has, the cache source and the architecture.
fn columns(asked: &[String], study: &StudyResults, trials: &[&TrialRecord]) -> Result<Vec<String>> {
    if !asked.is_empty() {
        let asked: Vec<String> = asked.iter().map(|c| c.trim().to_string()).collect();
        let known = |c: &str| TRIAL_FIELDS.contains(&c) || study.trials.iter().any(|t| t.metrics.contains_key(c));
        if let Some(unknown) = asked.iter().find(|c| !known(c)) {
            let mut metrics: Vec<&str> =
                study.trials.iter().flat_map(|t| t.metrics.keys().map(String::as_str)).collect();
            metrics.sort_unstable();
            metrics.dedup();
            bail!(
                "--columns: no column `{unknown}` (fields: {}; metrics: {})",
                TRIAL_FIELDS.join(", "),
                if metrics.is_empty() { "none yet".to_string() } else { metrics.join(", ") }
            );
        }
        return Ok(asked);
    }
    let mut columns = vec!["id".to_string(), "state".to_string()];
    columns.extend(study.config.metrics().into_iter().map(str::to_string));
    for metric in SIZE_AND_COST_METRICS {
        if !columns.iter().any(|c| c == metric) && trials.iter().any(|t| t.metrics.contains_key(metric)) {
            columns.push(metric.to_string());
        }
    }
    columns.extend(["cached_from".to_string(), "arch".to_string()]);
    Ok(columns)
}

/// The columns of a trial that are not metrics.
const TRIAL_FIELDS: [&str; 7] = ["id", "state", "arch", "cached_from", "worker", "attempts", "error"];

/// One cell of a trial's row; `exact` keeps every digit (machine formats).
fn cell(trial: &TrialRecord, column: &str, exact: bool) -> String {
    let or_empty = |value: Option<String>| value.unwrap_or_default();
    match column {
        "id" => trial.id.to_string(),
        "state" => trial.state.to_string(),
        "arch" => trial.arch.clone(),
        "cached_from" => or_empty(trial.cached_from.map(|c| c.to_string())),
        "worker" => or_empty(trial.worker.clone()),
        "attempts" => trial.attempts.to_string(),
        "error" => or_empty(trial.error.clone()),
        metric => or_empty(trial.metrics.get(metric).map(|&v| if exact { v.to_string() } else { rounded(v) })),
    }
}

/// Prints trials in the asked format.
fn print_trials(trials: &[&TrialRecord], study: &StudyResults, output: &OutputArgs) -> Result<()> {
    let format = output.format();
    if format == OutputFormat::Json {
        println!("{}", Value::Array(trials.iter().map(|t| trial_json(t)).collect()));
        return Ok(());
    }
    let columns = columns(&output.columns, study, trials)?;
    let separator = match format {
        OutputFormat::Csv => ',',
        OutputFormat::Tsv => '\t',
        _ => {
            let mut table = plain_table();
            table.set_header(columns.clone());
            for trial in trials {
                table.add_row(columns.iter().map(|c| cell(trial, c, false)).collect::<Vec<_>>());
            }
            print_plain(&table);
            return Ok(());
        }
    };
    let quote = |field: String| {
        let needs_quotes = field.contains([separator, '"', '\n']);
        if needs_quotes { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
    };
    println!("{}", columns.iter().map(|c| quote(c.clone())).collect::<Vec<_>>().join(&separator.to_string()));
    for trial in trials {
        let row: Vec<String> = columns.iter().map(|c| quote(cell(trial, c, true))).collect();
        println!("{}", row.join(&separator.to_string()));
    }
    Ok(())
}

pub fn trials(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let trials: Vec<&TrialRecord> = study.trials.iter().collect();
    print_trials(&trials, &study, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

pub fn best(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let Some(best) = study.best() else {
        bail!("study '{}' has no complete trial yet", args.study);
    };
    let finals = study.final_trainings_of(best.id);
    if args.output.format() == OutputFormat::Json {
        let mut object = trial_json(best);
        object["final_trainings"] = Value::Array(finals.iter().map(|f| f.result.clone()).collect());
        println!("{object}");
        return Ok(ExitCode::SUCCESS);
    }
    print_trials(&[best], &study, &args.output)?;
    if args.output.format() == OutputFormat::Table {
        for training in finals {
            let r = &training.result;
            println!(
                "final training: test accuracy {} after {} epochs on {}, weights {}",
                r["test_accuracy"].as_f64().map_or("?".into(), rounded),
                r["epochs"],
                r["dataset"].as_str().unwrap_or("?"),
                r["weights"].as_str().unwrap_or("not saved")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pareto(args: &StudyArgs) -> Result<ExitCode> {
    let study = load(args)?;
    let front = study.pareto();
    print_trials(&front.trials, &study, &args.output)?;
    if let (Some(hypervolume), OutputFormat::Table) = (&front.hypervolume, args.output.format()) {
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
    table.set_header(vec!["study", "space", "created", "trials", "paid", "running", "best"]);
    for record in list_studies(&args.storage)? {
        let results = StudyHandle::open(&args.storage, &record.name)?.results()?;
        let counts = results.counts();
        let metric = &results.config.objectives.objectives[0].metric;
        let best = results.best().and_then(|t| t.metrics.get(metric)).map_or("-".into(), |&v| rounded(v));
        table.add_row(vec![
            record.name,
            record.space,
            utc_time(record.created_at),
            results.trials.len().to_string(),
            counts.paid.to_string(),
            counts.running.to_string(),
            format!("{metric} {best}"),
        ]);
    }
    print_plain(&table);
    Ok(ExitCode::SUCCESS)
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time (`2026-12-01T14:59:59Z`).
fn utc_time(seconds: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(seconds.max(0.0));
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_time(1_796_137_199.4), "2026-12-01T14:59:59Z");
    }

    #[test]
    fn rounding_for_people() {
        assert_eq!(rounded(615_386.0), "615386");
        assert_eq!(rounded(93.43499999999999), "93.4350");
        assert_eq!(rounded(0.1), "0.1000");
    }
}
