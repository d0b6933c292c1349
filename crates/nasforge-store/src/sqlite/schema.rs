//! The SQLite schema and its history. The version is `PRAGMA user_version`; `PRAGMA application_id`
//! ("NASF") tells our files from other SQLite databases.
//!
//! Version 1: studies, trials, intermediate results. Version 2: leases, owners and versions. Version 3: the
//! final results of a study (after its search). A new store is created at version 2 and migrated to the
//! current version like an existing one.

use crate::schema::{History, Migration};

/// `PRAGMA application_id` of a nasforge store: "NASF".
pub(super) const APPLICATION_ID: i32 = 0x4E41_5346;

/// The schema history of SQLite stores.
pub(crate) const HISTORY: History = History {
    created: 2,
    create: CREATE_V2,
    migrations: &[
        Migration { to: 2, action: "migrating the store from schema version 1 to 2", sql: MIGRATE_1_TO_2 },
        Migration { to: 3, action: "migrating the store from schema version 2 to 3", sql: MIGRATE_2_TO_3 },
    ],
};

/// Schema version 2. `studies.paid_trials` is the number of the study's paid trials (running ones included),
/// kept by the claims. `trials.worker` is the lease owner of a running trial (and the worker that finished
/// a finished one), `trials.lease_until` the Unix time its lease runs out (NULL when not running),
/// `trials.version` the study version of the trial's last change: the study's version is the largest.
const CREATE_V2: &str = "
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
";

/// Version 1 → 2: leases, owners and versions. Existing trials get version id + 1 (their creation order);
/// running trials have no owner, so they count as abandoned (their process is gone: version 1 had a
/// single writer per study).
const MIGRATE_1_TO_2: &str = "
ALTER TABLE studies ADD COLUMN paid_trials INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN worker TEXT;
ALTER TABLE trials ADD COLUMN lease_until REAL;
ALTER TABLE trials ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE trials SET version = id + 1, lease_until = NULL;
UPDATE studies SET
    paid_trials = (SELECT COUNT(*) FROM trials WHERE trials.study = studies.id AND cached_from IS NULL);
CREATE INDEX trials_by_version ON trials (study, version);
CREATE INDEX trials_running ON trials (study, id) WHERE state = 'running';
";

/// Version 2 → 3: results attached to a study after its search (a final training of a trial's
/// architecture: test accuracy, weights…), as JSON, in the order they were recorded (`id`).
const MIGRATE_2_TO_3: &str = "
CREATE TABLE final_results (
    id           INTEGER PRIMARY KEY,
    study        INTEGER NOT NULL,
    trial        INTEGER NOT NULL,
    created_at   REAL    NOT NULL,
    payload_json TEXT    NOT NULL,
    FOREIGN KEY (study, trial) REFERENCES trials (study, id) ON DELETE CASCADE
);
CREATE INDEX final_results_by_trial ON final_results (study, trial);
";
