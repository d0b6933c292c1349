//! SQLite stores of older schema versions are migrated in place when opened. Version 1 (before leases
//! and versions): its trials keep every field, get versions in creation order, count against the budget and
//! answer cache hits, and its interrupted trial is taken over. Version 2 (before final results): its trials
//! and versions are kept, and final results can be recorded. Each schema here is what that version of
//! nasforge wrote, kept as it was.

mod common;

use std::path::Path;

use common::*;
use nasforge_core::study::{Claim, TrialStore};
use nasforge_core::{Metrics, TrialState};
use nasforge_store::{FinalResultRecord, SQLITE_SCHEMA_VERSION, Storage, StoreError};
use rusqlite::{Connection, params};

/// Schema version 1, as nasforge wrote it.
const SCHEMA_V1: &str = "
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    space       TEXT    NOT NULL,
    config_json TEXT    NOT NULL,
    created_at  REAL    NOT NULL
);
CREATE TABLE trials (
    study       INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    arch        TEXT    NOT NULL,
    arch_json   TEXT    NOT NULL,
    canonical   TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'pruned')),
    metrics     TEXT    NOT NULL,
    cached_from INTEGER,
    seed        INTEGER NOT NULL,
    error       TEXT,
    started_at  REAL    NOT NULL,
    finished_at REAL,
    attempts    INTEGER NOT NULL,
    PRIMARY KEY (study, id)
);
CREATE INDEX trials_by_canonical ON trials (study, canonical);
CREATE TABLE intermediate (
    study   INTEGER NOT NULL,
    trial   INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    metrics TEXT    NOT NULL,
    PRIMARY KEY (study, trial, step),
    FOREIGN KEY (study, trial) REFERENCES trials (study, id) ON DELETE CASCADE
) WITHOUT ROWID;
PRAGMA application_id = 1312904006;
PRAGMA user_version = 1;
";

fn write_v1(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(SCHEMA_V1).unwrap();
    conn.execute_batch(
        "INSERT INTO studies (id, name, space, config_json, created_at) VALUES
             (1, 'old', 'nb201', '{\"budget\": 3}', 1700000000.5),
             (2, 'second', 'nb201', '{}', 1700000001.0);",
    )
    .unwrap();
    let insert = "INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                  started_at, finished_at, attempts) VALUES (?1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
    // (study, id, arch, canonical, state, metrics, cached_from, seed, error, started_at, finished_at, attempts)
    type Row<'a> =
        (i64, i64, &'a str, &'a str, &'a str, &'a str, Option<i64>, i64, Option<&'a str>, f64, Option<f64>, i64);
    let rows: [Row; 5] = [
        (1, 0, "arch-a", "A", "complete", r#"{"accuracy":93.37999725341797}"#, None, -1, None, 1.0, Some(2.0), 1),
        (1, 1, "arch-a2", "A", "complete", r#"{"accuracy":93.37999725341797}"#, Some(0), 5, None, 3.0, Some(3.0), 0),
        (1, 2, "arch-b", "B", "failed", "{}", None, 7, Some("diverged"), 4.0, Some(5.0), 2),
        (1, 3, "arch-c", "C", "running", "{}", None, 9, None, 6.0, None, 1),
        (2, 0, "arch-z", "Z", "complete", r#"{"accuracy":1.5}"#, None, 11, None, 7.0, Some(8.0), 1),
    ];
    for r in rows {
        conn.execute(insert, params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11]).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO intermediate VALUES (1, 0, 0, '{\"accuracy\":50}'), (1, 0, 1, '{\"accuracy\":90}'),
                                         (1, 3, 0, '{\"accuracy\":10}');",
    )
    .unwrap();
}

#[test]
fn a_version_1_store_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    write_v1(&path);
    let url = format!("sqlite:{}", path.display());
    let storage = Storage::open(&url).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SQLITE_SCHEMA_VERSION);
    }
    assert_eq!(storage.study("old").unwrap().unwrap().config_json, "{\"budget\": 3}");
    let mut store = storage.trial_store("old").unwrap();
    let trials = store.load_trials().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(trials[0].metrics["accuracy"], 93.37999725341797);
    assert_eq!(trials[0].intermediate, [metrics(&[("accuracy", 50.0)]), metrics(&[("accuracy", 90.0)])]);
    assert_eq!((trials[1].cached_from, trials[1].attempts), (Some(0), 0));
    assert_eq!(
        (trials[2].state, trials[2].error.as_deref(), trials[2].attempts),
        (TrialState::Failed, Some("diverged"), 2)
    );
    assert_eq!(trials[0].seed, u64::MAX);
    assert!(trials.iter().all(|t| t.worker.is_none()));
    let versions: Vec<(u64, u64)> = store.changes(0).unwrap().iter().map(|(v, t)| (*v, t.id)).collect();
    assert_eq!(versions, [(1, 0), (2, 1), (3, 2), (4, 3)]);

    let a = long_lease("a");
    // Migrated trials answer cache hits, hold their canonical forms, and count against the budget.
    let mut hit_of_a = proposal(11, 0);
    hit_of_a.canonical = "A".into();
    let hit_a = cache_hit(store.claim_new(&hit_of_a, Some(3), &a).unwrap());
    assert_eq!((hit_a.id, hit_a.cached_from, &hit_a.metrics), (4, Some(0), &trials[0].metrics));
    assert_eq!(store.changes(4).unwrap()[0].0, 5);
    let mut busy = proposal(12, 0);
    busy.canonical = "C".into();
    assert_eq!(store.claim_new(&busy, Some(3), &a).unwrap(), Claim::Busy);
    assert_eq!(store.claim_new(&proposal(13, 99), Some(3), &a).unwrap(), Claim::BudgetReached);

    // The interrupted trial has no owner: it is taken over at once, its learning curve cleared.
    let retried = store.claim_abandoned(&a).unwrap().expect("the interrupted trial was not taken over");
    assert_eq!((retried.id, retried.attempts, retried.intermediate.len()), (3, 2, 0));
    assert!(store.finish(&TrialRecordExt::done(retried), &a).unwrap());
    assert_eq!(store.claim_abandoned(&a).unwrap(), None);

    let mut second = storage.trial_store("second").unwrap();
    assert_eq!(second.changes(0).unwrap().iter().map(|(v, _)| *v).collect::<Vec<_>>(), [1]);
    assert_eq!(claimed(second.claim_new(&proposal(20, 20), None, &a).unwrap()).id, 1);
    assert_eq!(second.changes(1).unwrap()[0].0, 2);

    // Reopening a migrated store changes nothing.
    let before = store.load_trials().unwrap();
    drop((store, second, storage));
    let storage = Storage::open(&url).unwrap();
    assert_eq!(storage.trial_store("old").unwrap().load_trials().unwrap(), before);
}

/// Schema version 2, as nasforge wrote it.
const SCHEMA_V2: &str = "
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    space       TEXT    NOT NULL,
    config_json TEXT    NOT NULL,
    created_at  REAL    NOT NULL,
    paid_trials INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE trials (
    study       INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    arch        TEXT    NOT NULL,
    arch_json   TEXT    NOT NULL,
    canonical   TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'pruned')),
    metrics     TEXT    NOT NULL,
    cached_from INTEGER,
    seed        INTEGER NOT NULL,
    error       TEXT,
    started_at  REAL    NOT NULL,
    finished_at REAL,
    attempts    INTEGER NOT NULL,
    worker      TEXT,
    lease_until REAL,
    version     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (study, id)
);
CREATE INDEX trials_by_canonical ON trials (study, canonical);
CREATE INDEX trials_by_version ON trials (study, version);
CREATE INDEX trials_running ON trials (study, id) WHERE state = 'running';
CREATE TABLE intermediate (
    study   INTEGER NOT NULL,
    trial   INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    metrics TEXT    NOT NULL,
    PRIMARY KEY (study, trial, step),
    FOREIGN KEY (study, trial) REFERENCES trials (study, id) ON DELETE CASCADE
) WITHOUT ROWID;
PRAGMA application_id = 1312904006;
PRAGMA user_version = 2;
";

/// A version 2 store: study `s` with a finished trial (with a learning curve), a cache hit of it, a
/// failed trial and a trial running under a live lease.
fn write_v2(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(SCHEMA_V2).unwrap();
    conn.execute_batch(
        "INSERT INTO studies (id, name, space, config_json, created_at, paid_trials)
             VALUES (1, 's', 'nb201', '{\"budget\": 4}', 1700000000.5, 3);",
    )
    .unwrap();
    let insert = "INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                  started_at, finished_at, attempts, worker, lease_until, version)
                  VALUES (1, ?1, ?2, '{}', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
    // (id, arch, canonical, state, metrics, cached_from, seed, error, started_at, finished_at, attempts, worker,
    //  lease_until, version)
    type Row<'a> = (
        i64,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<i64>,
        i64,
        Option<&'a str>,
        f64,
        Option<f64>,
        i64,
        &'a str,
        Option<f64>,
        i64,
    );
    let (w, far) = ("h:1:0", 4.0e9);
    let rows: [Row; 4] = [
        (
            0,
            "arch-a",
            "A",
            "complete",
            r#"{"accuracy":93.37999725341797,"params":1.5}"#,
            None,
            -1,
            None,
            1.0,
            Some(2.0),
            1,
            w,
            None,
            2,
        ),
        (
            1,
            "arch-a2",
            "A",
            "complete",
            r#"{"accuracy":93.37999725341797,"params":1.5}"#,
            Some(0),
            5,
            None,
            3.0,
            Some(3.0),
            0,
            w,
            None,
            3,
        ),
        (2, "arch-b", "B", "failed", "{}", None, 7, Some("diverged"), 4.0, Some(5.0), 2, w, None, 4),
        (3, "arch-c", "C", "running", r#"{"params":3.0}"#, None, 9, None, 6.0, None, 1, w, Some(far), 5),
    ];
    for r in rows {
        conn.execute(insert, params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13])
            .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO intermediate VALUES (1, 0, 0, '{\"accuracy\":50}'), (1, 3, 0, '{\"accuracy\":10}');",
    )
    .unwrap();
}

#[test]
fn a_version_2_store_is_migrated_to_version_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    write_v2(&path);
    let url = format!("sqlite:{}", path.display());
    let storage = Storage::open(&url).unwrap();
    let version: i64 = Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!((version, SQLITE_SCHEMA_VERSION), (3, 3));

    // The trials are intact: every field, their versions, the budget they count against.
    let mut store = storage.trial_store("s").unwrap();
    let trials = store.load_trials().unwrap();
    let summary: Vec<(u64, &str, TrialState, Option<u64>, u32)> =
        trials.iter().map(|t| (t.id, t.canonical.as_str(), t.state, t.cached_from, t.attempts)).collect();
    assert_eq!(
        summary,
        [
            (0, "A", TrialState::Complete, None, 1),
            (1, "A", TrialState::Complete, Some(0), 0),
            (2, "B", TrialState::Failed, None, 2),
            (3, "C", TrialState::Running, None, 1)
        ]
    );
    assert_eq!(trials[0].metrics, metrics(&[("accuracy", 93.37999725341797), ("params", 1.5)]));
    assert_eq!(trials[1].metrics, trials[0].metrics);
    assert_eq!((trials[0].seed, trials[2].error.as_deref()), (u64::MAX, Some("diverged")));
    assert_eq!(trials[0].intermediate, [metrics(&[("accuracy", 50.0)])]);
    assert_eq!(trials[3].intermediate, [metrics(&[("accuracy", 10.0)])]);
    assert!(trials.iter().all(|t| t.worker.as_deref() == Some("h:1:0")));
    let versions: Vec<(u64, u64)> = store.changes(0).unwrap().iter().map(|(v, t)| (*v, t.id)).collect();
    assert_eq!(versions, [(2, 0), (3, 1), (4, 2), (5, 3)]);
    let a = long_lease("a");
    assert_eq!(store.claim_abandoned(&a).unwrap(), None, "the running trial's lease holds");
    let mut busy = proposal(12, 0);
    busy.canonical = "C".into();
    assert_eq!(store.claim_new(&busy, Some(4), &a).unwrap(), Claim::Busy);
    let mut own = proposal(13, 0);
    own.canonical = "A".into();
    own.metrics = metrics(&[("params", 2.5)]);
    let hit = cache_hit(store.claim_new(&own, Some(4), &a).unwrap());
    assert_eq!((hit.id, &hit.metrics), (4, &metrics(&[("accuracy", 93.37999725341797), ("params", 2.5)])));
    assert_eq!(claimed(store.claim_new(&proposal(14, 14), Some(4), &a).unwrap()).id, 5);
    assert_eq!(store.claim_new(&proposal(15, 15), Some(4), &a).unwrap(), Claim::BudgetReached);

    // The new table works.
    assert_eq!(storage.final_results("s").unwrap(), []);
    let result =
        FinalResultRecord { trial_id: 0, created_at: 1.8e9, payload_json: r#"{"test_accuracy": 94.1}"#.into() };
    storage.record_final_result("s", &result).unwrap();
    let second = FinalResultRecord::new(2, r#"{"test_accuracy": null, "epochs": 3}"#);
    storage.record_final_result("s", &second).unwrap();
    assert_eq!(storage.final_results("s").unwrap(), [result.clone(), second.clone()]);
    let missing = FinalResultRecord { trial_id: 77, ..result.clone() };
    assert!(matches!(storage.record_final_result("s", &missing), Err(StoreError::NoTrial { id: 77, .. })));

    // Reopening a migrated store changes nothing.
    let before = store.load_trials().unwrap();
    drop((store, storage));
    let storage = Storage::open(&url).unwrap();
    assert_eq!(storage.trial_store("s").unwrap().load_trials().unwrap(), before);
    assert_eq!(storage.final_results("s").unwrap(), [result, second]);
}

trait TrialRecordExt {
    fn done(self) -> Self;
}

impl TrialRecordExt for nasforge_core::TrialRecord {
    fn done(mut self) -> Self {
        self.state = TrialState::Complete;
        self.metrics = Metrics::from([("accuracy".to_string(), 12.0)]);
        self.finished_at = Some(self.started_at + 1.0);
        self
    }
}
