//! Benchmark tables: a CSV with an `arch` column of a space's printed architectures and numeric metric
//! columns. The evaluator answers a query by looking the architecture up, in microseconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nasforge_core::space::TaskShape;
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Reporter, SearchSpace};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: cannot read the table: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Line { path: PathBuf, line: u64, message: String },
}

/// A table file opened at its first row, with its header checked.
struct Header {
    reader: csv::Reader<std::io::BufReader<std::fs::File>>,
    arch_column: usize,
    /// The metric columns' names, in file order.
    columns: Vec<String>,
}

impl Header {
    fn read(path: &Path) -> Result<Header, TableError> {
        let format = |message: String| TableError::Format { path: path.to_path_buf(), message };
        let file = std::fs::File::open(path).map_err(|source| TableError::Read { path: path.to_path_buf(), source })?;
        let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
        let headers = reader.headers().map_err(|e| format(format!("cannot read the header line: {e}")))?;
        if headers.iter().all(str::is_empty) {
            return Err(format("the file is empty (expected a header line with an `arch` column)".into()));
        }
        let names: Vec<&str> = headers.iter().map(str::trim).collect();
        let arch_column = names
            .iter()
            .position(|h| *h == "arch")
            .ok_or_else(|| format(format!("no `arch` column in the header (columns: {})", names.join(", "))))?;
        let columns: Vec<String> =
            names.iter().enumerate().filter(|(i, _)| *i != arch_column).map(|(_, h)| h.to_string()).collect();
        if columns.is_empty() {
            return Err(format("no metric column besides `arch`".into()));
        }
        Ok(Header { reader, arch_column, columns })
    }
}

/// A loaded benchmark table.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    /// Names of the metric columns, in file order.
    columns: Vec<String>,
    /// The space's printed form of each row's architecture → the row's values.
    rows: HashMap<String, Vec<f64>>,
}

impl Table {
    /// Reads a table whose architectures belong to `space`. Every architecture must parse, every metric
    /// cell must be a finite number, and no architecture may appear twice.
    pub fn load<S: SearchSpace>(path: &Path, space: &S) -> Result<Table, TableError> {
        let Header { mut reader, arch_column, columns } = Header::read(path)?;
        let mut rows = HashMap::new();
        let mut first_line = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                TableError::Line { path: path.to_path_buf(), line, message: e.to_string() }
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let at_line = |message: String| TableError::Line { path: path.to_path_buf(), line, message };
            let arch = space.parse(&record[arch_column]).map_err(|e| at_line(e.message))?;
            let mut values = Vec::with_capacity(columns.len());
            let cells = record.iter().enumerate().filter(|(i, _)| *i != arch_column).map(|(_, cell)| cell);
            for (cell, name) in cells.zip(&columns) {
                let value: f64 = cell
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| at_line(format!("column `{name}`: '{cell}' is not a number")))?;
                values.push(value);
            }
            let key = space.print(&arch);
            if let Some(previous) = first_line.insert(key.clone(), line) {
                return Err(at_line(format!("architecture {key} is listed again (first at line {previous})")));
            }
            rows.insert(key, values);
        }
        if rows.is_empty() {
            return Err(TableError::Format {
                path: path.to_path_buf(),
                message: "the table has a header but no rows".into(),
            });
        }
        Ok(Table { path: path.to_path_buf(), columns, rows })
    }

    /// The metric columns named in a table's header line, without reading its rows.
    pub fn metric_columns(path: &Path) -> Result<Vec<String>, TableError> {
        Ok(Header::read(path)?.columns)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The index of a metric column, or an error naming the columns there are.
    pub fn column(&self, metric: &str) -> Result<usize, TableError> {
        self.columns.iter().position(|c| c == metric).ok_or_else(|| TableError::Format {
            path: self.path.clone(),
            message: format!("no column `{metric}` (metric columns: {})", self.columns.join(", ")),
        })
    }

    /// The highest and lowest value of a column.
    pub fn range(&self, column: usize) -> (f64, f64) {
        self.rows
            .values()
            .fold((f64::NEG_INFINITY, f64::INFINITY), |(hi, lo), row| (hi.max(row[column]), lo.min(row[column])))
    }

    /// The row of an architecture, by the space's printed form.
    pub fn row(&self, printed: &str) -> Option<&[f64]> {
        self.rows.get(printed).map(Vec::as_slice)
    }

    /// Every row: the architecture's printed form and its values, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &[f64])> {
        self.rows.iter().map(|(printed, values)| (printed.as_str(), values.as_slice()))
    }
}

/// Answers a query with every metric column of the architecture's row, plus `params` and `flops` of the
/// space's analytic cost model when it has one and the table has no such columns.
#[derive(Debug, Clone)]
pub struct TableEvaluator {
    table: Table,
    task: TaskShape,
}

impl TableEvaluator {
    /// `task` sets the input and class count of the analytic parameter and FLOP counts.
    pub fn new(table: Table, task: TaskShape) -> Self {
        TableEvaluator { table, task }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The metrics every answer holds: the table's columns, and `params` and `flops` when the space has
    /// a cost model.
    pub fn metric_names<S: SearchSpace>(&self, space: &S) -> Vec<String> {
        let mut names = self.table.columns.clone();
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
        let mut metrics: Metrics = self.table.columns.iter().cloned().zip(row.iter().copied()).collect();
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
