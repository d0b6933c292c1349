//! The row layer both backends share: the column lists of trials, studies and final results; building a
//! record from a row's columns (through [`Columns`], which the row types of both drivers implement); the
//! records a claim writes (a claimed trial, a cache hit); the checks of what a study or final result may
//! hold; and the errors that name a store, a study and a trial.

use nasforge_core::study::{Claim, Lease, now_seconds, with_own_metrics};
use nasforge_core::{TrialRecord, TrialState};

use crate::codec::{decode_metrics, from_sql_u64};
use crate::error::StoreError;
use crate::{FinalResultRecord, StudyRecord};

/// The columns of a trial row, in the order [`trial_from_row`] reads them (a statement's further columns
/// come after them, from [`TRIAL_COLUMN_COUNT`] on). `attempts` is an INTEGER in PostgreSQL: read as BIGINT
/// everywhere.
pub(crate) const TRIAL_COLUMNS: &str = "id, arch, arch_json, canonical, state, metrics, cached_from, seed, error, \
                                        started_at, finished_at, CAST(attempts AS BIGINT), worker, version";

/// How many columns [`TRIAL_COLUMNS`] names.
pub(crate) const TRIAL_COLUMN_COUNT: usize = 14;

/// The columns of a study row, in the order [`study_from_row`] reads them.
pub(crate) const STUDY_COLUMNS: &str = "name, space, config_json, created_at";

/// The columns of a final result row (table alias `f`), in the order [`final_result_from_row`] reads them.
pub(crate) const FINAL_RESULT_COLUMNS: &str = "f.trial, f.created_at, f.payload_json";

/// A type a column is read as, with either driver.
pub(crate) trait Value: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

impl Value for String {}
impl Value for Option<String> {}
impl Value for i64 {}
impl Value for Option<i64> {}
impl Value for f64 {}
impl Value for Option<f64> {}

/// A row of a query result, as a driver returns it.
pub(crate) trait Columns {
    type Error;

    /// Column `index` (from 0) as a `T`.
    fn column<T: Value>(&self, index: usize) -> Result<T, Self::Error>;
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn column<T: Value>(&self, index: usize) -> rusqlite::Result<T> {
        self.get(index)
    }
}

impl Columns for postgres::Row {
    type Error = postgres::Error;

    fn column<T: Value>(&self, index: usize) -> Result<T, postgres::Error> {
        self.try_get(index)
    }
}

/// Why a row could not be read: the driver failed, or a value is not one nasforge writes.
#[derive(Debug)]
pub(crate) enum RowError<E> {
    Driver(E),
    Store(StoreError),
}

impl<E> From<StoreError> for RowError<E> {
    fn from(e: StoreError) -> Self {
        RowError::Store(e)
    }
}

fn get<R: Columns, T: Value>(row: &R, index: usize) -> Result<T, RowError<R::Error>> {
    row.column(index).map_err(RowError::Driver)
}

/// A study of a store, for the errors that name it and its trials.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// The store's location (a path, or a URL without its password).
    pub(crate) store: String,
    pub(crate) study: String,
}

impl Scope {
    /// A stored trial that cannot be read back.
    pub(crate) fn corrupt(&self, id: i64, message: String) -> StoreError {
        StoreError::Corrupt { store: self.store.clone(), study: self.study.clone(), id: from_sql_u64(id), message }
    }

    pub(crate) fn no_trial(&self, id: u64) -> StoreError {
        StoreError::NoTrial { store: self.store.clone(), study: self.study.clone(), id }
    }
}

/// A trial from a row of [`TRIAL_COLUMNS`], with its version (its learning curve not read).
pub(crate) fn trial_from_row<R: Columns>(scope: &Scope, row: &R) -> Result<(u64, TrialRecord), RowError<R::Error>> {
    let id: i64 = get(row, 0)?;
    let state: String = get(row, 4)?;
    let state: TrialState = state.parse().map_err(|m| scope.corrupt(id, m))?;
    let metrics: String = get(row, 5)?;
    let metrics = decode_metrics(&metrics).map_err(|m| scope.corrupt(id, m))?;
    let cached_from: Option<i64> = get(row, 6)?;
    let attempts: i64 = get(row, 11)?;
    let attempts =
        u32::try_from(attempts).map_err(|_| scope.corrupt(id, format!("attempts {attempts} out of range")))?;
    let version: i64 = get(row, 13)?;
    let record = TrialRecord {
        id: from_sql_u64(id),
        arch: get(row, 1)?,
        arch_json: get(row, 2)?,
        canonical: get(row, 3)?,
        state,
        metrics,
        intermediate: Vec::new(),
        cached_from: cached_from.map(from_sql_u64),
        seed: from_sql_u64(get(row, 7)?),
        error: get(row, 8)?,
        started_at: get(row, 9)?,
        finished_at: get(row, 10)?,
        attempts,
        worker: get(row, 12)?,
    };
    Ok((from_sql_u64(version), record))
}

/// Adds one stored step (in step order) to a trial's learning curve.
pub(crate) fn push_step(scope: &Scope, trial: &mut TrialRecord, text: &str) -> Result<(), StoreError> {
    let metrics = decode_metrics(text)
        .map_err(|m| scope.corrupt(crate::codec::to_sql_u64(trial.id), format!("intermediate result: {m}")))?;
    trial.intermediate.push(metrics);
    Ok(())
}

/// A study from a row of [`STUDY_COLUMNS`].
pub(crate) fn study_from_row<R: Columns>(row: &R) -> Result<StudyRecord, R::Error> {
    Ok(StudyRecord {
        name: row.column(0)?,
        space: row.column(1)?,
        config_json: row.column(2)?,
        created_at: row.column(3)?,
    })
}

/// A final result from a row of [`FINAL_RESULT_COLUMNS`].
pub(crate) fn final_result_from_row<R: Columns>(row: &R) -> Result<FinalResultRecord, R::Error> {
    Ok(FinalResultRecord {
        trial_id: from_sql_u64(row.column(0)?),
        created_at: row.column(1)?,
        payload_json: row.column(2)?,
    })
}

/// The finished paid trial a cache hit reuses, as its row holds it.
#[derive(Debug)]
pub(crate) struct HitSource {
    pub(crate) id: i64,
    pub(crate) state: String,
    pub(crate) metrics: String,
    pub(crate) error: Option<String>,
}

/// What `claim_new` records for a new paid trial: the proposal (with its own metrics, known before any
/// evaluation), running under `lease`, first attempt. Its id is the store's to set.
pub(crate) fn claimed_record(trial: &TrialRecord, lease: &Lease) -> TrialRecord {
    TrialRecord {
        state: TrialState::Running,
        cached_from: None,
        attempts: 1,
        worker: Some(lease.owner.clone()),
        ..trial.clone()
    }
}

/// What `claim_new` records for a cache hit of `source`: its state, error and metrics, with the proposal's
/// own metrics over them (see `with_own_metrics`), finished when it started, no attempt, the worker of
/// `lease`. Its id is the store's to set.
pub(crate) fn cache_hit_record(
    scope: &Scope,
    trial: &TrialRecord,
    lease: &Lease,
    source: HitSource,
) -> Result<TrialRecord, StoreError> {
    let state: TrialState = source.state.parse().map_err(|m| scope.corrupt(source.id, m))?;
    let metrics = decode_metrics(&source.metrics).map_err(|m| scope.corrupt(source.id, m))?;
    Ok(TrialRecord {
        state,
        metrics: with_own_metrics(&metrics, &trial.metrics),
        error: source.error,
        cached_from: Some(from_sql_u64(source.id)),
        finished_at: Some(trial.started_at),
        attempts: 0,
        worker: Some(lease.owner.clone()),
        ..trial.clone()
    })
}

/// A recorded trial as the claim that recorded it.
pub(crate) fn claim_of(record: TrialRecord) -> Claim {
    if record.is_paid() { Claim::Claimed(record) } else { Claim::CacheHit(record) }
}

/// A new study's record, created now; an error if the name is empty or the configuration is not JSON.
pub(crate) fn new_study(store: &str, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
    if name.is_empty() {
        return Err(StoreError::EmptyStudyName);
    }
    check_config(store, name, config_json)?;
    Ok(StudyRecord {
        name: name.to_string(),
        space: space.to_string(),
        config_json: config_json.to_string(),
        created_at: now_seconds(),
    })
}

/// An error unless `config_json` is JSON.
pub(crate) fn check_config(store: &str, name: &str, config_json: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Value>(config_json).map(|_| ()).map_err(|e| StoreError::InvalidConfig {
        store: store.to_string(),
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// An error unless the payload of `result` is JSON (which also keeps NUL characters out).
pub(crate) fn check_final_result(store: &str, study: &str, result: &FinalResultRecord) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Value>(&result.payload_json).map(|_| ()).map_err(|e| {
        StoreError::InvalidFinalResult {
            store: store.to_string(),
            study: study.to_string(),
            trial: result.trial_id,
            message: e.to_string(),
        }
    })
}

pub(crate) fn no_study(store: &str, name: &str) -> StoreError {
    StoreError::NoStudy { store: store.to_string(), name: name.to_string() }
}

pub(crate) fn study_exists(store: &str, name: &str) -> StoreError {
    StoreError::StudyExists { store: store.to_string(), name: name.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasforge_core::Metrics;
    use std::time::Duration;

    fn proposal() -> TrialRecord {
        TrialRecord {
            id: 99,
            arch: "a".into(),
            arch_json: "{}".into(),
            canonical: "c".into(),
            state: TrialState::Running,
            metrics: Metrics::from([("params".to_string(), 1.5e6), ("flops".to_string(), 2.0e8)]),
            intermediate: Vec::new(),
            cached_from: None,
            seed: 3,
            error: None,
            started_at: 10.0,
            finished_at: None,
            attempts: 1,
            worker: None,
        }
    }

    #[test]
    fn a_cache_hit_keeps_its_own_size_metrics() {
        let scope = Scope { store: "s".into(), study: "t".into() };
        let lease = Lease { owner: "h:1:0".into(), duration: Duration::from_secs(1) };
        let source = HitSource {
            id: 4,
            state: "complete".into(),
            metrics: r#"{"accuracy":0.5,"params":7.0}"#.into(),
            error: None,
        };
        let hit = cache_hit_record(&scope, &proposal(), &lease, source).unwrap();
        let expected =
            Metrics::from([("accuracy".to_string(), 0.5), ("params".to_string(), 1.5e6), ("flops".to_string(), 2.0e8)]);
        assert_eq!(hit.metrics, expected);
        assert_eq!((hit.cached_from, hit.attempts, hit.finished_at), (Some(4), 0, Some(10.0)));
        assert_eq!(hit.state, TrialState::Complete);
        let claimed = claimed_record(&proposal(), &lease);
        assert_eq!((claimed.metrics, claimed.worker.as_deref()), (proposal().metrics, Some("h:1:0")));
        let bad = HitSource { id: 5, state: "lost".into(), metrics: "{}".into(), error: None };
        let e = cache_hit_record(&scope, &proposal(), &lease, bad).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { id: 5, .. }), "{e:?}");
    }

    #[test]
    fn final_results_must_be_json() {
        let good =
            FinalResultRecord { trial_id: 1, created_at: 2.0, payload_json: r#"{"test_accuracy": 93.5}"#.into() };
        check_final_result("s", "t", &good).unwrap();
        let bad = FinalResultRecord { payload_json: "{oops".into(), ..good };
        let e = check_final_result("s", "t", &bad).unwrap_err();
        assert!(e.to_string().contains("trial 1 of study 't' is not valid JSON"), "{e}");
    }
}
