//! `nasforge compare`: strategies × seeds on a benchmark table, with mean best, mean regret and 95%
//! confidence intervals after each number of paid queries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use nasforge_core::compare::{CompareSettings, StrategyComparison, compare};
use nasforge_core::space::TaskShape;
use nasforge_core::{Direction, Objective, StrategySpec};
use nasforge_eval::{Table, TableEvaluator};
use nasforge_train::Buildable;
use serde_json::json;

use crate::cli::CompareArgs;
use crate::report::plain_table;
use nasforge_engine::config::default_nb201_table;
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
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let strategies: Vec<(String, StrategySpec)> = args
        .strategies
        .iter()
        .map(|text| Ok((text.trim().to_string(), StrategySpec::parse(text).map_err(anyhow::Error::msg)?)))
        .collect::<Result<_>>()?;
    let table = args.table.clone().unwrap_or_else(default_nb201_table);
    let objective = match &args.metric {
        Some(metric) => metric.parse::<Objective>().map_err(anyhow::Error::msg)?,
        None => Objective::maximize(Table::metric_columns(&table)?.remove(0)),
    };
    let space = args.space.default_config();
    with_space(&space, CompareRun { args, table, objective, queries, strategies })
}

struct CompareRun<'a> {
    args: &'a CompareArgs,
    table: PathBuf,
    objective: Objective,
    queries: Vec<u64>,
    strategies: Vec<(String, StrategySpec)>,
}

impl SpaceTask for CompareRun<'_> {
    type Output = Result<ExitCode>;

    fn run<S: Buildable>(self, space: S) -> Result<ExitCode> {
        let table = Table::load(&self.table, &space)?;
        let column = table.column(&self.objective.metric)?;
        let (highest, lowest) = table.range(column);
        let optimum = match self.objective.direction {
            Direction::Maximize => highest,
            Direction::Minimize => lowest,
        };
        let evaluator = TableEvaluator::new(table, TaskShape::CIFAR10);
        let settings = CompareSettings {
            objective: self.objective.clone(),
            optimum,
            checkpoints: self.queries.clone(),
            seeds: self.args.seeds,
            workers: self.args.workers,
        };
        let results = compare(&space, &self.strategies, &evaluator, &settings)?;
        if self.args.json {
            print_json(&self.table, &settings, &results);
        } else {
            print_text(&self.table, &settings, &results);
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn print_json(table: &std::path::Path, settings: &CompareSettings, results: &[StrategyComparison]) {
    let report = json!({
        "table": table.display().to_string(),
        "metric": settings.objective.metric,
        "optimum": settings.optimum,
        "seeds": settings.seeds,
        "workers": settings.workers,
        "strategies": results,
    });
    println!("{report}");
}

fn print_text(table: &std::path::Path, settings: &CompareSettings, results: &[StrategyComparison]) {
    println!(
        "table {}  metric {}  optimum {}  seeds {}  workers {}",
        table.display(),
        settings.objective,
        settings.optimum,
        settings.seeds,
        settings.workers
    );
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
}
