//! Benchmark tables: a CSV with an `arch` column of a space's printed architectures and numeric metric
//! columns (an empty cell is a missing value). Every problem is reported with the file and line at fault.

mod evaluator;
mod noise;
mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nasforge_core::SearchSpace;

pub use evaluator::TableEvaluator;
pub use noise::TableNoise;
pub use report::{REPORT_PREFIX, ReportJoin, report_metric_name};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(
        "{}: cannot read the table: {reason}; point nasforge at it with --table PATH or $NASFORGE_NB201_TABLE",
        path.display()
    )]
    Read { path: PathBuf, reason: String },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{}, line {line}: {message}", path.display())]
    Line { path: PathBuf, line: u64, message: String },
}

/// What went wrong opening a file, in a few words (the OS error without its code).
fn read_problem(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        kind => kind.to_string(),
    }
}

/// The line (1-based, the header being line 1) and the message of a CSV parsing error, without the
/// position the `csv` crate writes into its own message.
fn csv_problem(error: &csv::Error) -> (Option<u64>, String) {
    let line = |position: &Option<csv::Position>| position.as_ref().map(csv::Position::line);
    match error.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            (line(pos), format!("{len} fields where the header line has {expected_len}"))
        }
        csv::ErrorKind::Utf8 { pos, err } => (line(pos), format!("field {} is not UTF-8 text", err.field() + 1)),
        csv::ErrorKind::Io(error) => (None, format!("cannot read: {error}")),
        _ => (error.position().map(csv::Position::line), error.to_string()),
    }
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
        let file = std::fs::File::open(path)
            .map_err(|e| TableError::Read { path: path.to_path_buf(), reason: read_problem(&e) })?;
        let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
        let headers =
            reader.headers().map_err(|e| format(format!("cannot read the header line: {}", csv_problem(&e).1)))?;
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

/// One architecture's row: where it is in the file and its values (NaN for an empty cell).
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    values: Vec<f64>,
}

/// A loaded benchmark table.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    /// Names of the metric columns, in file order.
    columns: Vec<String>,
    /// The space's printed form of each row's architecture → the row.
    rows: HashMap<String, Row>,
}

impl Table {
    /// Reads a table whose architectures belong to `space`. Every architecture must parse, every metric
    /// cell must be a finite number or empty, and no architecture may appear twice.
    pub fn load<S: SearchSpace>(path: &Path, space: &S) -> Result<Table, TableError> {
        let Header { mut reader, arch_column, columns } = Header::read(path)?;
        let mut rows: HashMap<String, Row> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let (line, message) = csv_problem(&e);
                match line {
                    Some(line) => TableError::Line { path: path.to_path_buf(), line, message },
                    None => TableError::Format { path: path.to_path_buf(), message },
                }
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let at_line = |message: String| TableError::Line { path: path.to_path_buf(), line, message };
            let arch = space.parse(&record[arch_column]).map_err(|e| at_line(e.message))?;
            let mut values = Vec::with_capacity(columns.len());
            let cells = record.iter().enumerate().filter(|(i, _)| *i != arch_column).map(|(_, cell)| cell);
            for (cell, name) in cells.zip(&columns) {
                let cell = cell.trim();
                let value: f64 = if cell.is_empty() {
                    f64::NAN
                } else {
                    cell.parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite())
                        .ok_or_else(|| at_line(format!("column `{name}`: '{cell}' is not a number")))?
                };
                values.push(value);
            }
            let key = space.print(&arch);
            if let Some(first) = rows.get(&key) {
                return Err(at_line(format!("architecture {key} is listed again (first at line {})", first.line)));
            }
            rows.insert(key, Row { line, values });
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

    /// The index of a column by name, empty cells allowed, or an error naming the columns there are.
    fn position(&self, name: &str) -> Result<usize, TableError> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| TableError::Format {
            path: self.path.clone(),
            message: format!("no column `{name}` (metric columns: {})", self.columns.join(", ")),
        })
    }

    /// The index of a metric column, which must have a value on every line; the error names the columns
    /// there are, or the first line whose cell is empty.
    pub fn column(&self, metric: &str) -> Result<usize, TableError> {
        let column = self.position(metric)?;
        match self.rows.values().filter(|row| row.values[column].is_nan()).map(|row| row.line).min() {
            Some(line) => {
                Err(self.at_line(line, format!("column `{metric}` is empty (a metric needs a value on every line)")))
            }
            None => Ok(column),
        }
    }

    /// The index of a column of durations in seconds: a value on every line, none negative.
    pub fn time_column(&self, name: &str) -> Result<usize, TableError> {
        let column = self.column(name)?;
        let negative = self.rows.values().filter(|row| row.values[column] < 0.0).min_by_key(|row| row.line);
        match negative {
            Some(row) => Err(self.at_line(
                row.line,
                format!("column `{name}`: {} is not a duration (seconds, at least 0)", row.values[column]),
            )),
            None => Ok(column),
        }
    }

    fn at_line(&self, line: u64, message: String) -> TableError {
        TableError::Line { path: self.path.clone(), line, message }
    }

    /// The highest and lowest value of a column.
    pub fn range(&self, column: usize) -> (f64, f64) {
        self.rows.values().fold((f64::NEG_INFINITY, f64::INFINITY), |(hi, lo), row| {
            (hi.max(row.values[column]), lo.min(row.values[column]))
        })
    }

    /// The row of an architecture, by the space's printed form (NaN for an empty cell).
    pub fn row(&self, printed: &str) -> Option<&[f64]> {
        self.rows.get(printed).map(|row| row.values.as_slice())
    }

    /// The line of the file an architecture's row is on.
    pub fn line(&self, printed: &str) -> Option<u64> {
        self.rows.get(printed).map(|row| row.line)
    }

    /// Every row: the architecture's printed form and its values (NaN for an empty cell), in no
    /// particular order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &[f64])> {
        self.rows.iter().map(|(printed, row)| (printed.as_str(), row.values.as_slice()))
    }
}
