//! `nasforge compare`: strategies × seeds on a benchmark table; the regret, on a report metric, of the
//! cell each search returns, after N paid queries and at simulated wall-clock times, with 95% intervals.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nasforge_core::compare::{CompareSettings, NoiseFloor, StrategyComparison, compare, noise_floor};
use nasforge_core::space::TaskShape;
use nasforge_core::{Objective, StrategySpec};
use nasforge_eval::table::{ReportJoin, TableNoise, report_metric_name};
use nasforge_eval::{Table, TableEvaluator};
use nasforge_report::render_compare_page;
use nasforge_train::Buildable;
use serde_json::json;

use crate::cli::CompareArgs;
use crate::html_report::write_html;
use crate::report::plain_table;
use nasforge_engine::config::{default_nb201_table, parse_duration};
use nasforge_engine::{SpaceTask, with_space};

pub fn run(args: &CompareArgs) -> Result<ExitCode> {
    let mut queries = args.queries.clone();
    queries.sort_unstable();
    queries.dedup();
    if queries.first().is_none_or(|&q| q == 0) {
        bail!("--queries needs positive numbers of queries, e.g. 25,50,100,200");
    }
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if let Some(path) = &args.html {
        check_writable_folder(path)?;
    }
    if args.reevaluate > 0 && args.reevaluate >= queries[0] {
        bail!("--reevaluate {} leaves no search before the checkpoint of {} queries", args.reevaluate, queries[0]);
    }
    let strategies: Vec<(String, StrategySpec)> = args
        .strategies
        .iter()
        .map(|text| Ok((text.trim().to_string(), StrategySpec::parse(text).map_err(anyhow::Error::msg)?)))
        .collect::<Result<_>>()?;
    let mut times = Vec::new();
    if args.time_column.is_some() {
        for text in &args.times {
            times.push(parse_duration("--times", text)?.as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
    }
    let table = args.table.clone().unwrap_or_else(default_nb201_table);
    let objective = match &args.metric {
        Some(metric) => metric.parse::<Objective>().map_err(anyhow::Error::msg)?,
        None => Objective::maximize(Table::metric_columns(&table)?.remove(0)),
    };
    let report_table = args.report_table.clone().unwrap_or_else(|| table.clone());
    let report_metric = args.report_metric.clone().unwrap_or_else(|| objective.metric.clone());
    let noise: TableNoise = args.noise.parse().map_err(anyhow::Error::msg)?;
    let space = args.space.default_config();
    with_space(
        &space,
        CompareRun { args, table, report_table, report_metric, objective, noise, queries, times, strategies },
    )
}

struct CompareRun<'a> {
    args: &'a CompareArgs,
    table: PathBuf,
    report_table: PathBuf,
    report_metric: String,
    objective: Objective,
    noise: TableNoise,
    queries: Vec<u64>,
    times: Vec<f64>,
    strategies: Vec<(String, StrategySpec)>,
}

impl SpaceTask for CompareRun<'_> {
    type Output = Result<ExitCode>;

    fn run<S: Buildable>(self, space: S) -> Result<ExitCode> {
        let table = Table::load(&self.table, &space)?;
        let search_column = table.column(&self.objective.metric)?;
        if let Some(column) = &self.args.time_column {
            table.time_column(column)?;
        }
        let report = if self.report_table == self.table {
            table.clone()
        } else {
            Table::load(&self.report_table, &space).context("--report-table")?
        };
        let join = ReportJoin::new(&table, report, std::slice::from_ref(&self.report_metric))?;
        let optimum = join.optimum(&self.report_metric, self.objective.direction).context("the report metric")?;
        let best_cells = best_cells(&table, search_column, &self.objective, self.args.noise_floor_cells);
        let mut evaluator = TableEvaluator::new(table, TaskShape::CIFAR10).with_report(join);
        if self.noise == TableNoise::Seeds {
            evaluator = evaluator.with_seed_noise(&self.objective.metric)?;
        }
        let settings = CompareSettings {
            objective: self.objective.clone(),
            report_metric: report_metric_name(&self.report_metric),
            optimum,
            checkpoints: self.queries.clone(),
            time_checkpoints: self.times.clone(),
            time_metric: self.args.time_column.clone(),
            seeds: self.args.seeds,
            workers: self.args.workers,
            reevaluations: self.args.reevaluate,
        };
        let results = compare(&space, &self.strategies, &evaluator, &settings)?;
        let floor = match self.noise {
            TableNoise::Seeds => Some(noise_floor(&space, &best_cells, &evaluator, &settings)?),
            TableNoise::None => None,
        };
        if self.args.json {
            self.print_json(&settings, &results, floor.as_ref());
        } else {
            self.print_text(&settings, &results, floor.as_ref());
        }
        if let Some(path) = &self.args.html {
            write_html(path, &render_compare_page(&self.description(&settings), &results))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The `count` best architectures (printed) by a complete column, ties broken by the printed form.
fn best_cells(table: &Table, column: usize, objective: &Objective, count: usize) -> Vec<String> {
    let mut rows: Vec<(&str, f64)> =
        table.rows().map(|(printed, values)| (printed, objective.orient(values[column]))).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    rows.into_iter().take(count).map(|(printed, _)| printed.to_string()).collect()
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// Refuses, before a long comparison runs, an output file whose folder does not exist.
fn check_writable_folder(path: &Path) -> Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        bail!("--html {}: the folder {} does not exist", show(path), show(folder));
    }
    Ok(())
}

impl CompareRun<'_> {
    fn print_json(&self, settings: &CompareSettings, results: &[StrategyComparison], floor: Option<&NoiseFloor>) {
        let report = json!({
            "table": show(&self.table),
            "metric": settings.objective.metric,
            "report_table": show(&self.report_table),
            "report_metric": self.report_metric,
            "optimum": settings.optimum,
            "noise": self.args.noise,
            "time_column": self.args.time_column,
            "reevaluate": settings.reevaluations,
            "seeds": settings.seeds,
            "workers": settings.workers,
            "noise_floor": floor,
            "strategies": results,
        });
        println!("{report}");
    }

    /// What was compared, in one line.
    fn description(&self, settings: &CompareSettings) -> String {
        format!(
            "search {} on {}  report {} on {} (optimum {})  noise {}  seeds {}  workers {}{}",
            settings.objective,
            show(&self.table),
            self.report_metric,
            show(&self.report_table),
            settings.optimum,
            self.args.noise,
            settings.seeds,
            settings.workers,
            if settings.reevaluations > 0 {
                format!("  re-evaluations {}", settings.reevaluations)
            } else {
                String::new()
            }
        )
    }

    fn print_text(&self, settings: &CompareSettings, results: &[StrategyComparison], floor: Option<&NoiseFloor>) {
        println!("{}", self.description(settings));
        if let Some(floor) = floor {
            println!(
                "noise floor (best draw of the {} best cells by {}): regret {:.4} ±{:.4}",
                floor.cells, settings.objective.metric, floor.mean_regret, floor.ci95
            );
        }
        let mut text = plain_table();
        text.set_header(vec!["strategy", "queries", "mean best", "mean regret", "ci95", "evals/s"]);
        for result in results {
            for checkpoint in &result.checkpoints {
                text.add_row(vec![
                    result.name.clone(),
                    checkpoint.queries.to_string(),
                    format!("{:.4}", checkpoint.mean_best),
                    format!("{:.4}", checkpoint.mean_regret),
                    format!("±{:.4}", checkpoint.ci95),
                    format!("{:.0}", result.trials_per_second),
                ]);
            }
        }
        println!("{text}");
        if settings.time_checkpoints.is_empty() {
            return;
        }
        let mut text = plain_table();
        text.set_header(vec!["strategy", "hours", "mean best", "mean regret", "ci95", "runs", "ended"]);
        for result in results {
            for checkpoint in &result.time_checkpoints {
                text.add_row(vec![
                    result.name.clone(),
                    format!("{}", checkpoint.seconds / 3600.0),
                    format!("{:.4}", checkpoint.mean_best),
                    format!("{:.4}", checkpoint.mean_regret),
                    format!("±{:.4}", checkpoint.ci95),
                    checkpoint.runs.to_string(),
                    checkpoint.ended.to_string(),
                ]);
            }
        }
        println!("{text}");
    }
}
