//! The SQLite statements (`?N` parameters; `?1` is the study's id in those of a study).

use crate::rows::{FINAL_RESULT_COLUMNS, STUDY_COLUMNS, TRIAL_COLUMNS};

/// The paid trials with a canonical form (one, but for stores written by version 1). No `ORDER BY id`:
/// it would tempt the planner to walk the whole study in id order instead of using the canonical index.
pub(super) const SELECT_PAID_BY_CANONICAL: &str = "
SELECT id, state, metrics, error FROM trials INDEXED BY trials_by_canonical
WHERE study = ?1 AND canonical = ?2 AND cached_from IS NULL";

pub(super) const SELECT_PAID_COUNT: &str = "SELECT paid_trials FROM studies WHERE id = ?1";

/// Counts a new paid trial.
pub(super) const COUNT_PAID: &str = "UPDATE studies SET paid_trials = paid_trials + 1 WHERE id = ?1";

/// The study's next version (study ?1), for the statement that changes a trial.
macro_rules! next_version {
    () => {
        "(SELECT COALESCE(MAX(version), 0) + 1 FROM trials WHERE study = ?1)"
    };
}

pub(super) const INSERT_TRIAL: &str = concat!(
    "
INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                    started_at, finished_at, attempts, worker, lease_until, version)
SELECT ?1, COALESCE(MAX(id) + 1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ",
    next_version!(),
    "
FROM trials WHERE study = ?1
RETURNING id"
);

pub(super) const PUT_STEP: &str = "INSERT INTO intermediate (study, trial, step, metrics) VALUES (?1, ?2, ?3, ?4)";

/// Appends a step to any trial of the study.
pub(super) const APPEND_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics)
SELECT ?1, ?2, COALESCE(MAX(step) + 1, 0), ?3 FROM intermediate WHERE study = ?1 AND trial = ?2";

/// Appends a step to a trial only while it runs under `owner` (a late worker's curve is dropped).
pub(super) const APPEND_OWNED_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics)
SELECT ?1, ?2, next, ?3 FROM (SELECT COALESCE(MAX(step) + 1, 0) AS next FROM intermediate WHERE study = ?1 AND trial = ?2)
WHERE EXISTS (SELECT 1 FROM trials WHERE study = ?1 AND id = ?2 AND worker = ?4 AND state = 'running')";

/// Gives a changed trial the study's next version.
pub(super) const TOUCH_TRIAL: &str =
    concat!("UPDATE trials SET version = ", next_version!(), " WHERE study = ?1 AND id = ?2");

/// One statement, so its own transaction (a writing statement takes the write lock before it reads).
pub(super) const FINISH_TRIAL: &str = concat!(
    "UPDATE trials SET state = ?4, metrics = ?5, error = ?6, finished_at = ?7, attempts = ?8, worker = ?3,
         lease_until = NULL, version = ",
    next_version!(),
    " WHERE study = ?1 AND id = ?2 AND worker = ?3 AND state = 'running'"
);

pub(super) const SELECT_RUNNING: &str =
    "SELECT id, worker, lease_until FROM trials WHERE study = ?1 AND state = 'running' ORDER BY id";

pub(super) const TAKE_OVER: &str = concat!(
    "UPDATE trials SET worker = ?3, lease_until = ?4, attempts = attempts + 1, version = ",
    next_version!(),
    " WHERE study = ?1 AND id = ?2 AND state = 'running'"
);

/// A paused trial (checked by the caller in the same transaction) running again under a new lease.
pub(super) const RESUME_PAUSED: &str = concat!(
    "UPDATE trials SET state = 'running', worker = ?3, lease_until = ?4, version = ",
    next_version!(),
    " WHERE study = ?1 AND id = ?2 AND state = 'pruned'"
);

pub(super) const SELECT_STEPS: &str = "SELECT metrics FROM intermediate WHERE study = ?1 AND trial = ?2 ORDER BY step";

pub(super) const CLEAR_STEPS: &str = "DELETE FROM intermediate WHERE study = ?1 AND trial = ?2";

pub(super) const RENEW_LEASE: &str = "
UPDATE trials SET lease_until = ?4 WHERE study = ?1 AND id = ?2 AND worker = ?3 AND state = 'running'";

pub(super) const TRIAL_EXISTS: &str = "SELECT 1 FROM trials WHERE study = ?1 AND id = ?2";

/// Every trial (`?2` NULL), or those changed after version `?2`, with their steps: two statements read in
/// one transaction.
pub(super) fn select_trials(changed: bool) -> (String, &'static str) {
    if changed {
        (
            format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND version > ?2 ORDER BY version"),
            "SELECT i.trial, i.metrics FROM trials t JOIN intermediate i ON i.study = t.study AND i.trial = t.id \
             WHERE t.study = ?1 AND t.version > ?2 ORDER BY i.trial, i.step",
        )
    } else {
        (
            format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND ?2 IS NULL ORDER BY id"),
            "SELECT trial, metrics FROM intermediate WHERE study = ?1 AND ?2 IS NULL ORDER BY trial, step",
        )
    }
}

pub(super) fn select_trial() -> String {
    format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND id = ?2")
}

pub(super) const INSERT_STUDY: &str =
    "INSERT INTO studies (name, space, config_json, created_at) VALUES (?1, ?2, ?3, ?4)";

pub(super) fn select_study() -> String {
    format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1")
}

pub(super) fn select_studies() -> String {
    format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id")
}

pub(super) const UPDATE_CONFIG: &str = "UPDATE studies SET config_json = ?2 WHERE name = ?1";

pub(super) const SELECT_STUDY_ID: &str = "SELECT id FROM studies WHERE name = ?1";

/// A final result of the study named `?1` (no row when there is no such study).
pub(super) const INSERT_FINAL_RESULT: &str = "
INSERT INTO final_results (study, trial, created_at, payload_json)
SELECT id, ?2, ?3, ?4 FROM studies WHERE name = ?1";

pub(super) fn select_final_results() -> String {
    format!(
        "SELECT {FINAL_RESULT_COLUMNS} FROM final_results f JOIN studies s ON s.id = f.study \
         WHERE s.name = ?1 ORDER BY f.id"
    )
}
