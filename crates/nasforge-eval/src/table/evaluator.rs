//! The table evaluator: answers a query with the architecture's row, optionally one seed's values in place
//! of the mean (noise) and the report metrics of a joined table, plus the space's analytic size.

use nasforge_core::space::TaskShape;
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Reporter, SearchSpace};

use super::noise::SeedNoise;
use super::report::ReportJoin;
use super::{Table, TableError};

/// Answers a query with every metric column of the architecture's row (empty cells left out), plus
/// `params` and `flops` of the space's analytic cost model when it has one and the table has no such
/// columns; with seed noise, a metric with per-seed columns is one seed's value; with a report join, the
/// report metrics as `report:NAME`.
#[derive(Debug, Clone)]
pub struct TableEvaluator {
    table: Table,
    task: TaskShape,
    noise: Option<SeedNoise>,
    report: Option<ReportJoin>,
}

impl TableEvaluator {
    /// `task` sets the input and class count of the analytic parameter and FLOP counts.
    pub fn new(table: Table, task: TaskShape) -> Self {
        TableEvaluator { table, task, noise: None, report: None }
    }

    /// Answers every metric that has per-seed columns (`NAME_seed0`, `NAME_seed1`, …) with the value of one
    /// seed, drawn by the query's seed (see [`SeedNoise`]) as a re-training would give; `metric`, the one
    /// searched on, must have such columns.
    pub fn with_seed_noise(mut self, metric: &str) -> Result<Self, TableError> {
        self.noise = Some(SeedNoise::new(&self.table, metric)?);
        Ok(self)
    }

    /// Adds the report metrics of `report` to every answer.
    pub fn with_report(mut self, report: ReportJoin) -> Self {
        self.report = Some(report);
        self
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The metrics an answer holds: the table's columns, the report metrics, and `params` and `flops`
    /// when the space has a cost model.
    pub fn metric_names<S: SearchSpace>(&self, space: &S) -> Vec<String> {
        let mut names = self.table.columns.clone();
        names.extend(self.report.iter().flat_map(ReportJoin::metric_names));
        let any_arch = self.table.rows.keys().next().and_then(|key| space.parse(key).ok());
        if any_arch.is_some_and(|arch| space.cost(&arch, &self.task).is_some()) {
            for name in ["params", "flops"] {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names
    }
}

impl<S: SearchSpace> Evaluator<S> for TableEvaluator {
    fn evaluate(&self, request: &EvalRequest<'_, S>, _reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let row = self.table.row(request.printed).ok_or_else(|| {
            EvalError::Fatal(format!(
                "{}: architecture {} is not in the table ({} rows)",
                self.table.path.display(),
                request.printed,
                self.table.len()
            ))
        })?;
        let mut metrics: Metrics = (self.table.columns.iter().zip(row))
            .filter(|(_, value)| !value.is_nan())
            .map(|(name, value)| (name.clone(), *value))
            .collect();
        if let Some(noise) = &self.noise {
            noise.draw(&self.table.columns, row, request.seed, &mut metrics);
        }
        if let Some(report) = &self.report {
            report.answer(request.printed, &mut metrics);
        }
        for (name, value) in self.size_metrics(request.space, request.arch) {
            metrics.entry(name).or_insert(value);
        }
        Ok(metrics)
    }

    /// The analytic `params` and `flops` of the architecture as written (dead edges included, as the
    /// benchmark counts them), where the table has no such column.
    fn size_metrics(&self, space: &S, arch: &S::Arch) -> Metrics {
        let Some(cost) = space.cost(arch, &self.task) else { return Metrics::new() };
        [("params", cost.params as f64), ("flops", cost.flops as f64)]
            .into_iter()
            .filter(|(name, _)| !self.table.columns.iter().any(|c| c == name))
            .map(|(name, value)| (name.to_string(), value))
            .collect()
    }
}
