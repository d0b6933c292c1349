//! Trials made up for the unit tests.

use nasforge_core::{Metrics, Objectives, TrialRecord, TrialState};

/// The NB201 cell every made-up trial has unless a test gives one.
pub const CELL: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|";

/// Objectives written as on the command line (`acc:max`, `params:min`).
pub fn objectives(written: &[&str]) -> Objectives {
    Objectives::new(written.iter().map(|w| w.parse().expect("a valid objective")).collect(), vec![])
        .expect("valid objectives")
}

/// A paid trial of `CELL` that started at `started_at` and took 5 seconds.
pub fn trial(id: u64, state: TrialState, metrics: &[(&str, f64)], started_at: f64) -> TrialRecord {
    TrialRecord {
        id,
        arch: CELL.to_string(),
        arch_json: String::new(),
        canonical: CELL.to_string(),
        state,
        metrics: metrics.iter().map(|&(k, v)| (k.to_string(), v)).collect::<Metrics>(),
        intermediate: vec![],
        cached_from: None,
        seed: id,
        error: None,
        started_at,
        finished_at: Some(started_at + 5.0),
        attempts: 1,
        worker: None,
    }
}
