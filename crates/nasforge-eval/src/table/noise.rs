//! Noisy answers from a table with per-seed columns (`NAME_seed0`, `NAME_seed1`, …): a query is answered
//! with one training seed's values instead of their mean, as a real re-training would give.

use nasforge_core::Metrics;
use serde::{Deserialize, Serialize};

use super::{Table, TableError};

/// Whether a table evaluator answers with the mean columns or draws one seed per query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableNoise {
    /// The table's columns as they are.
    #[default]
    None,
    /// One seed's value of every metric with per-seed columns, drawn per query.
    Seeds,
}

impl TableNoise {
    pub fn is_none(&self) -> bool {
        *self == TableNoise::None
    }
}

impl std::str::FromStr for TableNoise {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(TableNoise::None),
            "seeds" => Ok(TableNoise::Seeds),
            other => Err(format!("noise '{other}': expected none or seeds")),
        }
    }
}

/// The per-seed columns of a table's metrics. A query with seed `s` answers each such metric with the
/// value of seed column `s mod n` among the `n` non-empty ones of the row (the same index for every metric:
/// one training run). Seeds `s, s+1, …, s+n−1` thus answer every seed once, as re-trainings with new
/// seeds would.
#[derive(Debug, Clone)]
pub(super) struct SeedNoise {
    /// A metric column and its seed columns, in seed order.
    metrics: Vec<(usize, Vec<usize>)>,
}

impl SeedNoise {
    /// The seed columns of every metric of `table`; `required` (the metric searched on) must have some.
    pub(super) fn new(table: &Table, required: &str) -> Result<SeedNoise, TableError> {
        let seed_columns = |name: &str| -> Vec<usize> {
            let prefix = format!("{name}_seed");
            let mut seeds: Vec<(u64, usize)> = (table.columns.iter().enumerate())
                .filter_map(|(i, column)| Some((column.strip_prefix(&prefix)?.parse().ok()?, i)))
                .collect();
            seeds.sort_unstable();
            seeds.into_iter().map(|(_, i)| i).collect()
        };
        let metrics: Vec<(usize, Vec<usize>)> = (table.columns.iter().enumerate())
            .map(|(i, name)| (i, seed_columns(name)))
            .filter(|(_, seeds)| !seeds.is_empty())
            .collect();
        let required_column = table.column(required)?;
        if !metrics.iter().any(|(column, _)| *column == required_column) {
            return Err(TableError::Line {
                path: table.path.clone(),
                line: 1,
                message: format!(
                    "noise needs per-seed columns of `{required}` ({required}_seed0, {required}_seed1, …); \
                     the header has none"
                ),
            });
        }
        if let Some((line, metric)) = metrics.iter().find_map(|(column, seeds)| {
            let line = table
                .rows
                .values()
                .filter(|row| seeds.iter().all(|&s| row.values[s].is_nan()))
                .map(|r| r.line)
                .min()?;
            Some((line, &table.columns[*column]))
        }) {
            return Err(TableError::Line {
                path: table.path.clone(),
                line,
                message: format!("every per-seed column of `{metric}` is empty: no seed to draw"),
            });
        }
        Ok(SeedNoise { metrics })
    }

    /// Replaces each noisy metric of `metrics` (answered from `row`) by the value of the seed `seed` draws.
    pub(super) fn draw(&self, columns: &[String], row: &[f64], seed: u64, metrics: &mut Metrics) {
        for (column, seeds) in &self.metrics {
            let present: Vec<f64> = seeds.iter().map(|&s| row[s]).filter(|v| !v.is_nan()).collect();
            let drawn = present[(seed % present.len() as u64) as usize];
            metrics.insert(columns[*column].clone(), drawn);
        }
    }
}
