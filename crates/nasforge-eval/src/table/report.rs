//! Report metrics: columns of a second table (test accuracy beside a validation table, say) joined on
//! `arch`, recorded with each answer as `report:NAME` and never searched on.

use nasforge_core::{Direction, Metrics};

use super::{Table, TableError};

/// The prefix of the report metrics in an answer: `report:cifar10`.
pub const REPORT_PREFIX: &str = "report:";

/// The name a report metric has in an answer.
pub fn report_metric_name(metric: &str) -> String {
    format!("{REPORT_PREFIX}{metric}")
}

/// Report columns of a table that has a row, with a value, for every architecture of the search table.
#[derive(Debug, Clone)]
pub struct ReportJoin {
    table: Table,
    /// A report metric's name and its column in `table`.
    metrics: Vec<(String, usize)>,
    /// Best and worst value of each report metric over the search table's architectures.
    ranges: Vec<(f64, f64)>,
}

impl ReportJoin {
    /// Joins `report` to `search` on the architecture; each of `metrics` must be a column of `report`
    /// with a value on every line, and every architecture of `search` must have a row in `report`
    /// (the error names the search table's line that has none).
    pub fn new(search: &Table, report: Table, metrics: &[String]) -> Result<ReportJoin, TableError> {
        let metrics: Vec<(String, usize)> =
            metrics.iter().map(|m| Ok((m.clone(), report.column(m)?))).collect::<Result<_, TableError>>()?;
        let mut ranges = vec![(f64::NEG_INFINITY, f64::INFINITY); metrics.len()];
        let mut lacking: Option<(u64, &str)> = None;
        for (printed, row) in &search.rows {
            let Some(values) = report.row(printed) else {
                if lacking.is_none_or(|(line, _)| row.line < line) {
                    lacking = Some((row.line, printed));
                }
                continue;
            };
            for ((_, column), (hi, lo)) in metrics.iter().zip(&mut ranges) {
                *hi = hi.max(values[*column]);
                *lo = lo.min(values[*column]);
            }
        }
        if let Some((line, printed)) = lacking {
            return Err(TableError::Line {
                path: search.path.clone(),
                line,
                message: format!(
                    "column `arch`: {printed} has no row in the report table {} (it must list every architecture \
                     of the search table)",
                    report.path.display()
                ),
            });
        }
        Ok(ReportJoin { table: report, metrics, ranges })
    }

    /// The report metrics' names in an answer (`report:NAME`).
    pub fn metric_names(&self) -> impl Iterator<Item = String> + '_ {
        self.metrics.iter().map(|(name, _)| report_metric_name(name))
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The best value of a report metric over the search table's architectures (the regret's reference).
    pub fn optimum(&self, metric: &str, direction: Direction) -> Option<f64> {
        let index = self.metrics.iter().position(|(name, _)| name == metric)?;
        let (highest, lowest) = self.ranges[index];
        Some(match direction {
            Direction::Maximize => highest,
            Direction::Minimize => lowest,
        })
    }

    /// Adds the report metrics of `printed` to an answer.
    pub(super) fn answer(&self, printed: &str, metrics: &mut Metrics) {
        if let Some(values) = self.table.row(printed) {
            for (name, column) in &self.metrics {
                metrics.insert(report_metric_name(name), values[*column]);
            }
        }
    }
}
