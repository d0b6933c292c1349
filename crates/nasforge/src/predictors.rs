//! `nasforge predictors`: how well each performance predictor ranks held-out architectures of a benchmark
//! table after fitting on `n` random ones (Kendall τ and Spearman ρ, averaged over seeds), NASLib style.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use nasforge_core::Objective;
use nasforge_core::predictor::{EvaluationRow, EvaluationSettings, ModelKind, evaluate};
use nasforge_core::strategy::Encoding;
use nasforge_eval::Table;
use nasforge_train::Buildable;
use serde_json::json;

use crate::cli::PredictorsArgs;
use crate::report::plain_table;
use nasforge_engine::config::default_nb201_table;
use nasforge_engine::{SpaceTask, with_space};

pub fn run(args: &PredictorsArgs) -> Result<ExitCode> {
    let models: Vec<ModelKind> = args
        .models
        .iter()
        .map(|m| ModelKind::from_name(m.trim()).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let encodings: Vec<Encoding> = args
        .encodings
        .iter()
        .map(|e| match e.trim() {
            "onehot" => Ok(Encoding::Onehot),
            "path" => Ok(Encoding::Path),
            other => bail!("unknown encoding '{other}' (expected onehot or path)"),
        })
        .collect::<Result<_>>()?;
    if models.is_empty() || encodings.is_empty() {
        bail!("--models and --encodings need at least one entry each");
    }
    let mut train_sizes = args.train_sizes.clone();
    train_sizes.sort_unstable();
    train_sizes.dedup();
    if train_sizes.first().is_none_or(|&n| n < 2) {
        bail!("--train-sizes needs numbers of at least 2, e.g. 20,50,100,200");
    }
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let table = args.table.clone().unwrap_or_else(default_nb201_table);
    let objective = match &args.metric {
        Some(metric) => metric.parse::<Objective>().map_err(anyhow::Error::msg)?,
        None => Objective::maximize(Table::metric_columns(&table)?.remove(0)),
    };
    let settings =
        EvaluationSettings { train_sizes, test_size: args.test_size, seeds: args.seeds, copula: args.copula };
    let space = args.space.default_config();
    with_space(&space, PredictorsRun { json: args.json, table, objective, models, encodings, settings })
}

struct PredictorsRun {
    json: bool,
    table: PathBuf,
    objective: Objective,
    models: Vec<ModelKind>,
    encodings: Vec<Encoding>,
    settings: EvaluationSettings,
}

struct PredictorResult {
    model: ModelKind,
    encoding: &'static str,
    rows: Vec<EvaluationRow>,
}

impl SpaceTask for PredictorsRun {
    type Output = Result<ExitCode>;

    fn run<S: Buildable>(self, space: S) -> Result<ExitCode> {
        let table = Table::load(&self.table, &space)?;
        let column = table.column(&self.objective.metric)?;
        // Sorted by printed form, so that the seeds' splits do not depend on the table's hashing.
        let mut rows: Vec<(&str, &[f64])> = table.rows().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let archs: Vec<S::Arch> = rows.iter().map(|(printed, _)| space.parse(printed)).collect::<Result<_, _>>()?;
        let targets: Vec<f64> = rows.iter().map(|(_, values)| self.objective.orient(values[column])).collect();
        let has_path = archs.first().is_some_and(|a| space.encode_path(a).is_some());
        let mut results = Vec::new();
        for &encoding in &self.encodings {
            let name = match encoding {
                Encoding::Onehot => "onehot",
                Encoding::Path => "path",
            };
            if encoding == Encoding::Path && !has_path {
                eprintln!("note: the {} space has no path encoding; skipping it", S::NAME);
                continue;
            }
            let features: Vec<Vec<f64>> = archs
                .iter()
                .map(|a| match encoding {
                    Encoding::Onehot => space.encode_onehot(a),
                    Encoding::Path => space.encode_path(a).expect("checked above"),
                })
                .collect();
            for &model in &self.models {
                let rows = evaluate(model, &features, &targets, &self.settings).map_err(anyhow::Error::msg)?;
                results.push(PredictorResult { model, encoding: name, rows });
            }
        }
        if self.json {
            let list: Vec<_> = results
                .iter()
                .map(|r| json!({"model": r.model.name(), "encoding": r.encoding, "sizes": r.rows}))
                .collect();
            let report = json!({
                "table": self.table.display().to_string(),
                "metric": self.objective.to_string(),
                "architectures": targets.len(),
                "seeds": self.settings.seeds,
                "copula": self.settings.copula,
                "predictors": list,
            });
            println!("{report}");
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "table {}  metric {}  architectures {}  seeds {}{}",
            self.table.display(),
            self.objective,
            targets.len(),
            self.settings.seeds,
            if self.settings.copula { "  (fitted on the copula of the targets)" } else { "" }
        );
        let mut text = plain_table();
        text.set_header(vec!["model", "encoding", "train", "test", "kendall tau", "ci95", "spearman rho", "ci95"]);
        for result in &results {
            for row in &result.rows {
                text.add_row(vec![
                    result.model.name().to_string(),
                    result.encoding.to_string(),
                    row.train_size.to_string(),
                    row.test_size.to_string(),
                    format!("{:.3}", row.kendall),
                    format!("±{:.3}", row.kendall_ci95),
                    format!("{:.3}", row.spearman),
                    format!("±{:.3}", row.spearman_ci95),
                ]);
            }
        }
        println!("{text}");
        Ok(ExitCode::SUCCESS)
    }
}
