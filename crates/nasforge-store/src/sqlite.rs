//! SQLite storage: one file holds studies, trials and intermediate results, in WAL mode, with a schema
//! version; files that are not nasforge stores are recognised and never modified.
//!
//! Durability: every write is its own committed transaction. In WAL mode with `synchronous=NORMAL` a
//! committed transaction is in the WAL file (the OS page cache at least) when COMMIT returns, so a killed
//! process (kill -9, panic, OOM) loses nothing it committed; only an OS crash or power loss can drop the
//! last transactions (never corrupting the file); `synchronous=FULL` would cover that with an fsync per commit.
//!
//! Trial ids are assigned inside the INSERT, under `BEGIN IMMEDIATE` (the write lock), as one more than the
//! study's largest id, so several processes sharing a study file never get the same id.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nasforge_core::study::{StoreError as CoreStoreError, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use crate::StudyRecord;
use crate::codec::{decode_metrics, encode_metrics};
use crate::error::StoreError;

/// The schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a nasforge store: "NASF". It tells our files from other SQLite databases.
const APPLICATION_ID: i32 = 0x4E41_5346;

/// How long a write waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

const SCHEMA: &str = "
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
";

const INSERT_TRIAL: &str = "
INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                    started_at, finished_at, attempts)
SELECT ?1, COALESCE(MAX(id) + 1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
FROM trials WHERE study = ?1
RETURNING id";

const UPDATE_TRIAL: &str = "
UPDATE trials SET state = ?3, metrics = ?4, error = ?5, finished_at = ?6, attempts = ?7
WHERE study = ?1 AND id = ?2";

const TRIM_STEPS: &str = "DELETE FROM intermediate WHERE study = ?1 AND trial = ?2 AND step >= ?3";

const PUT_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (study, trial, step) DO UPDATE SET metrics = excluded.metrics WHERE metrics <> excluded.metrics";

const APPEND_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics)
SELECT ?1, ?2, COALESCE(MAX(step) + 1, 0), ?3 FROM intermediate WHERE study = ?1 AND trial = ?2";

const SELECT_TRIALS: &str = "
SELECT id, arch, arch_json, canonical, state, metrics, cached_from, seed, error, started_at, finished_at, attempts
FROM trials WHERE study = ?1 ORDER BY id";

const SELECT_STEPS: &str = "SELECT trial, metrics FROM intermediate WHERE study = ?1 ORDER BY trial, step";

const STUDY_COLUMNS: &str = "name, space, config_json, created_at";

/// What an existing path holds, as far as opening it is concerned.
enum Found {
    /// No file: create it.
    Missing,
    /// An empty file, or an SQLite database without any table: make it a store.
    Blank,
    /// A nasforge store of a version this build reads.
    Store,
}

/// The connection and the file it belongs to, shared by a storage and its trial stores.
#[derive(Debug)]
struct Shared {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Shared {
    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned { path: self.path.clone() })
    }

    fn err(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite { path: self.path.clone(), action, source }
    }

    /// Runs `f` between `begin` (`BEGIN` or `BEGIN IMMEDIATE`) and `COMMIT`; rolls back when anything fails.
    fn in_transaction<T>(
        &self,
        conn: &Connection,
        begin: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        conn.prepare_cached(begin).and_then(|mut s| s.execute([])).map_err(self.err("starting a transaction"))?;
        let result = f(conn).and_then(|value| {
            conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).map_err(self.err("committing"))?;
            Ok(value)
        });
        if result.is_err() && !conn.is_autocommit() {
            // The first error is the one worth reporting; a failed rollback changes nothing more.
            let _ = conn.execute_batch("ROLLBACK");
        }
        result
    }
}

/// An SQLite nasforge store.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    shared: Arc<Shared>,
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn has_extended_code(e: &rusqlite::Error, extended: std::ffi::c_int) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == extended)
}

/// An SQLite error while opening: "not a database" and "cannot write" get their own variants.
fn open_error(path: &Path, action: &'static str, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path: path.to_path_buf() },
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            StoreError::Unwritable { path: path.to_path_buf(), reason: format!("{action}: {source}") }
        }
        _ => StoreError::Sqlite { path: path.to_path_buf(), action, source },
    }
}

/// (application id, user version, names of the tables and views) of a database.
fn identity(conn: &Connection) -> rusqlite::Result<(i32, i64, Vec<String>)> {
    let application_id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let user_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut statement = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let tables = statement.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok((application_id, user_version, tables))
}

/// Sorts a database by its identity: ours (of a known version), blank, or foreign.
fn classify(path: &Path, (application_id, user_version, tables): (i32, i64, Vec<String>)) -> Result<Found, StoreError> {
    if application_id == APPLICATION_ID {
        if user_version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), found: user_version, supported: SCHEMA_VERSION });
        }
        if user_version >= 1 {
            return Ok(Found::Store);
        }
    } else if application_id == 0 && user_version == 0 && tables.is_empty() {
        return Ok(Found::Blank);
    }
    let found = if !tables.is_empty() {
        let shown = tables.iter().take(6).map(String::as_str).collect::<Vec<_>>().join(", ");
        let more = tables.len().saturating_sub(6);
        if more > 0 { format!("its tables: {shown} and {more} more") } else { format!("its tables: {shown}") }
    } else if application_id != APPLICATION_ID {
        format!("application id {application_id:#x}, user_version {user_version}")
    } else {
        format!("nasforge application id with schema version {user_version}")
    };
    Err(StoreError::ForeignDatabase { path: path.to_path_buf(), found })
}

/// Looks at `path` without changing anything: missing (in an existing directory), blank, or a store
/// this build can use. Everything else is an error.
fn inspect(path: &Path) -> Result<Found, StoreError> {
    let unwritable = |reason: String| StoreError::Unwritable { path: path.to_path_buf(), reason };
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            return match fs::metadata(parent) {
                Ok(m) if m.is_dir() => Ok(Found::Missing),
                Ok(_) => Err(unwritable(format!("{} is not a directory", parent.display()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(unwritable(format!("the directory {} does not exist", parent.display())))
                }
                Err(e) => Err(unwritable(format!("cannot reach the directory {}: {e}", parent.display()))),
            };
        }
        Err(e) => return Err(unwritable(format!("cannot reach the file: {e}"))),
    };
    if metadata.is_dir() {
        return Err(unwritable("it is a directory".into()));
    }
    let found = if metadata.len() == 0 {
        Found::Blank
    } else {
        let mut header = [0u8; 16];
        let mut file = fs::File::open(path).map_err(|e| unwritable(format!("cannot read the file: {e}")))?;
        let read = file.read(&mut header).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            action: "reading the file header",
            source,
        })?;
        drop(file);
        if read < header.len() || &header != SQLITE_HEADER {
            return Err(StoreError::NotADatabase { path: path.to_path_buf() });
        }
        // Read-only, so that closing it never checkpoints or otherwise writes a foreign database.
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| open_error(path, "opening it to check it is a nasforge store", e))?;
        let identity = identity(&conn).map_err(|e| open_error(path, "checking it is a nasforge store", e))?;
        drop(conn);
        classify(path, identity)?
    };
    if metadata.permissions().readonly() {
        return Err(unwritable("the file is read-only".into()));
    }
    Ok(found)
}

/// Connection settings; see the module documentation for why `synchronous=NORMAL` is durable enough.
fn configure(path: &Path, conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(path, "setting the busy timeout", e))?;
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| open_error(path, "switching to the WAL journal", e))?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| open_error(path, "setting synchronous=NORMAL", e))?;
    conn.pragma_update(None, "foreign_keys", true).map_err(|e| open_error(path, "enabling foreign keys", e))?;
    // The query planner stability guarantee: without it this SQLite build (STAT4) re-prepares a
    // statement whenever a bound id changes, which cost a fifth of the write time.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| open_error(path, "enabling the query planner stability guarantee", e))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// Creates the schema in a blank database, unless another process did it first; checks the version
/// of an existing store again through the writing connection.
fn prepare_schema(path: &Path, conn: &Connection, found: &Found) -> Result<(), StoreError> {
    let err = |action| move |e| open_error(path, action, e);
    // An existing store is only read here: no need to wait for the write lock of a running study.
    let begin = if matches!(found, Found::Store) { "BEGIN" } else { "BEGIN IMMEDIATE" };
    conn.execute_batch(begin).map_err(err("starting the schema transaction"))?;
    let result = identity(conn).map_err(err("checking it is a nasforge store")).and_then(|id| classify(path, id)).and_then(
        |found| match found {
            Found::Store => Ok(()),
            Found::Missing | Found::Blank => conn
                .execute_batch(&format!(
                    "{SCHEMA}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {SCHEMA_VERSION};"
                ))
                .map_err(err("creating the schema")),
        },
    );
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(err("committing the schema")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl SqliteStorage {
    /// Opens the store at `path`, creating the file (and schema) when it is missing. Refuses, without
    /// touching them, files that are not SQLite, SQLite databases of other programs, and stores of a
    /// newer schema; and paths it cannot write.
    pub fn open(path: &Path) -> Result<SqliteStorage, StoreError> {
        let found = inspect(path)?;
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if matches!(found, Found::Missing) {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, "opening", e))?;
        // SQLite silently opens a file it may not write read-only.
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(|e| open_error(path, "opening", e))? {
            return Err(StoreError::Unwritable { path: path.to_path_buf(), reason: "the file is read-only".into() });
        }
        configure(path, &conn)?;
        prepare_schema(path, &conn, &found)?;
        Ok(SqliteStorage { shared: Arc::new(Shared { path: path.to_path_buf(), conn: Mutex::new(conn) }) })
    }

    /// A store in memory (`sqlite::memory:`), gone when the last handle is dropped.
    pub fn open_in_memory() -> Result<SqliteStorage, StoreError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| open_error(path, "opening", e))?;
        configure(path, &conn)?;
        prepare_schema(path, &conn, &Found::Missing)?;
        Ok(SqliteStorage { shared: Arc::new(Shared { path: path.to_path_buf(), conn: Mutex::new(conn) }) })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    fn check_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        serde_json::from_str::<serde_json::Value>(config_json).map(|_| ()).map_err(|e| StoreError::InvalidConfig {
            path: self.shared.path.clone(),
            name: name.to_string(),
            message: e.to_string(),
        })
    }

    /// Creates a study; an error if the name is empty or taken, or the configuration is not JSON.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        if name.is_empty() {
            return Err(StoreError::EmptyStudyName);
        }
        self.check_config(name, config_json)?;
        let record = StudyRecord {
            name: name.to_string(),
            space: space.to_string(),
            config_json: config_json.to_string(),
            created_at: now_seconds(),
        };
        let conn = self.shared.conn()?;
        let inserted = conn
            .prepare_cached("INSERT INTO studies (name, space, config_json, created_at) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![name, space, config_json, record.created_at]));
        match inserted {
            Ok(_) => Ok(record),
            Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                Err(StoreError::StudyExists { path: self.shared.path.clone(), name: name.to_string() })
            }
            Err(e) => Err(self.shared.err("creating a study")(e)),
        }
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        let conn = self.shared.conn()?;
        conn.prepare_cached(&format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1"))
            .and_then(|mut s| s.query_row([name], study_from_row).optional())
            .map_err(self.shared.err("reading a study"))
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        let conn = self.shared.conn()?;
        conn.prepare_cached(&format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id"))
            .and_then(|mut s| s.query_map([], study_from_row)?.collect())
            .map_err(self.shared.err("listing studies"))
    }

    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        self.check_config(name, config_json)?;
        let conn = self.shared.conn()?;
        let changed = conn
            .prepare_cached("UPDATE studies SET config_json = ?2 WHERE name = ?1")
            .and_then(|mut s| s.execute(params![name, config_json]))
            .map_err(self.shared.err("updating a study's configuration"))?;
        if changed == 0 {
            return Err(StoreError::NoStudy { path: self.shared.path.clone(), name: name.to_string() });
        }
        Ok(())
    }

    /// The trials of study `name`, which must exist.
    pub fn trial_store(&self, name: &str) -> Result<SqliteTrialStore, StoreError> {
        let study_id: Option<i64> = {
            let conn = self.shared.conn()?;
            conn.prepare_cached("SELECT id FROM studies WHERE name = ?1")
                .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
                .map_err(self.shared.err("finding a study"))?
        };
        let study_id = study_id.ok_or_else(|| StoreError::NoStudy { path: self.shared.path.clone(), name: name.to_string() })?;
        Ok(SqliteTrialStore { shared: Arc::clone(&self.shared), study_id, study: name.to_string() })
    }
}

fn study_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StudyRecord> {
    Ok(StudyRecord { name: row.get(0)?, space: row.get(1)?, config_json: row.get(2)?, created_at: row.get(3)? })
}

/// The trials of one study in an SQLite store. It shares the storage's connection; every write is one
/// committed transaction.
#[derive(Debug)]
pub struct SqliteTrialStore {
    shared: Arc<Shared>,
    study_id: i64,
    study: String,
}

/// u64 values (ids, seeds) live in SQLite's signed 64-bit INTEGER bit for bit.
fn to_sql_u64(value: u64) -> i64 {
    value as i64
}

fn from_sql_u64(value: i64) -> u64 {
    value as u64
}

impl SqliteTrialStore {
    pub fn study_name(&self) -> &str {
        &self.study
    }

    fn corrupt(&self, id: i64, message: String) -> StoreError {
        StoreError::Corrupt { path: self.shared.path.clone(), study: self.study.clone(), id: from_sql_u64(id), message }
    }

    fn no_trial(&self, id: u64) -> StoreError {
        StoreError::NoTrial { path: self.shared.path.clone(), study: self.study.clone(), id }
    }

    fn put_steps(&self, conn: &Connection, id: i64, steps: &[String]) -> Result<(), StoreError> {
        if steps.is_empty() {
            return Ok(());
        }
        let mut statement = conn.prepare_cached(PUT_STEP).map_err(self.shared.err("writing intermediate results"))?;
        for (step, metrics) in steps.iter().enumerate() {
            statement
                .execute(params![self.study_id, id, step as i64, metrics])
                .map_err(self.shared.err("writing intermediate results"))?;
        }
        Ok(())
    }

    fn load(&self) -> Result<Vec<TrialRecord>, StoreError> {
        let conn = self.shared.conn()?;
        // One read transaction: trials and their intermediate results from the same snapshot.
        self.shared.in_transaction(&conn, "BEGIN", |conn| {
            let mut trials = Vec::new();
            let mut statement = conn.prepare_cached(SELECT_TRIALS).map_err(self.shared.err("reading trials"))?;
            let mut rows = statement.query([self.study_id]).map_err(self.shared.err("reading trials"))?;
            while let Some(row) = rows.next().map_err(self.shared.err("reading trials"))? {
                trials.push(self.trial_from_row(row)?);
            }
            drop(rows);
            drop(statement);

            let mut statement = conn.prepare_cached(SELECT_STEPS).map_err(self.shared.err("reading intermediate results"))?;
            let mut rows = statement.query([self.study_id]).map_err(self.shared.err("reading intermediate results"))?;
            let mut index = 0;
            while let Some(row) = rows.next().map_err(self.shared.err("reading intermediate results"))? {
                let (trial, text): (i64, String) = (|| Ok((row.get(0)?, row.get(1)?)))()
                    .map_err(self.shared.err("reading intermediate results"))?;
                let trial_id = from_sql_u64(trial);
                while index < trials.len() && trials[index].id < trial_id {
                    index += 1;
                }
                // The foreign key keeps steps of missing trials out; skip any that a hand edit left.
                if let Some(record) = trials.get_mut(index).filter(|t| t.id == trial_id) {
                    let metrics =
                        decode_metrics(&text).map_err(|m| self.corrupt(trial, format!("intermediate result: {m}")))?;
                    record.intermediate.push(metrics);
                }
            }
            Ok(trials)
        })
    }

    fn column<T: rusqlite::types::FromSql>(&self, row: &rusqlite::Row<'_>, index: usize) -> Result<T, StoreError> {
        row.get(index).map_err(self.shared.err("reading trials"))
    }

    fn trial_from_row(&self, row: &rusqlite::Row<'_>) -> Result<TrialRecord, StoreError> {
        let id: i64 = self.column(row, 0)?;
        let state: String = self.column(row, 4)?;
        let state: TrialState = state.parse().map_err(|m| self.corrupt(id, m))?;
        let metrics: String = self.column(row, 5)?;
        let metrics = decode_metrics(&metrics).map_err(|m| self.corrupt(id, m))?;
        let cached_from: Option<i64> = self.column(row, 6)?;
        let attempts: i64 = self.column(row, 11)?;
        let attempts = u32::try_from(attempts).map_err(|_| self.corrupt(id, format!("attempts {attempts} out of range")))?;
        Ok(TrialRecord {
            id: from_sql_u64(id),
            arch: self.column(row, 1)?,
            arch_json: self.column(row, 2)?,
            canonical: self.column(row, 3)?,
            state,
            metrics,
            intermediate: Vec::new(),
            cached_from: cached_from.map(from_sql_u64),
            seed: from_sql_u64(self.column(row, 7)?),
            error: self.column(row, 8)?,
            started_at: self.column(row, 9)?,
            finished_at: self.column(row, 10)?,
            attempts,
        })
    }

    fn insert(&self, trial: &TrialRecord) -> Result<u64, StoreError> {
        let metrics = encode_metrics(&trial.metrics);
        let steps: Vec<String> = trial.intermediate.iter().map(encode_metrics).collect();
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let id: i64 = conn
                .prepare_cached(INSERT_TRIAL)
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            self.study_id,
                            trial.arch,
                            trial.arch_json,
                            trial.canonical,
                            trial.state.as_str(),
                            metrics,
                            trial.cached_from.map(to_sql_u64),
                            to_sql_u64(trial.seed),
                            trial.error,
                            trial.started_at,
                            trial.finished_at,
                            trial.attempts,
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(self.shared.err("inserting a trial"))?;
            self.put_steps(conn, id, &steps)?;
            Ok(from_sql_u64(id))
        })
    }

    fn update(&self, trial: &TrialRecord) -> Result<(), StoreError> {
        let metrics = encode_metrics(&trial.metrics);
        let steps: Vec<String> = trial.intermediate.iter().map(encode_metrics).collect();
        let id = to_sql_u64(trial.id);
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let changed = conn
                .prepare_cached(UPDATE_TRIAL)
                .and_then(|mut s| {
                    s.execute(params![
                        self.study_id,
                        id,
                        trial.state.as_str(),
                        metrics,
                        trial.error,
                        trial.finished_at,
                        trial.attempts,
                    ])
                })
                .map_err(self.shared.err("updating a trial"))?;
            if changed == 0 {
                return Err(self.no_trial(trial.id));
            }
            // The stored learning curve becomes exactly `trial.intermediate`.
            conn.prepare_cached(TRIM_STEPS)
                .and_then(|mut s| s.execute(params![self.study_id, id, steps.len() as i64]))
                .map_err(self.shared.err("writing intermediate results"))?;
            self.put_steps(conn, id, &steps)
        })
    }

    fn append(&self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        let text = encode_metrics(metrics);
        let conn = self.shared.conn()?;
        // One statement: its own transaction, taking the write lock before it reads the last step.
        let appended = conn
            .prepare_cached(APPEND_STEP)
            .and_then(|mut s| s.execute(params![self.study_id, to_sql_u64(id), text]));
        match appended {
            Ok(_) => Ok(()),
            Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Err(self.no_trial(id)),
            Err(e) => Err(self.shared.err("appending an intermediate result")(e)),
        }
    }
}

impl TrialStore for SqliteTrialStore {
    /// Every trial of the study by id, each with its intermediate results in step order, read from one
    /// snapshot.
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, CoreStoreError> {
        Ok(self.load()?)
    }

    /// Stores every field (and intermediate result) of `trial` except `id`, which it assigns: one more than
    /// the study's largest, from 0, inside the insert's write transaction.
    fn insert_trial(&mut self, trial: &TrialRecord) -> Result<u64, CoreStoreError> {
        Ok(self.insert(trial)?)
    }

    /// Writes state, metrics, error, finish time and attempts of trial `trial.id`, and makes its stored
    /// intermediate results exactly `trial.intermediate`. Architecture, seed, start time and `cached_from`
    /// are fixed at insertion and not rewritten.
    fn update_trial(&mut self, trial: &TrialRecord) -> Result<(), CoreStoreError> {
        Ok(self.update(trial)?)
    }

    /// Adds one step after the trial's last intermediate result (one small INSERT).
    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), CoreStoreError> {
        Ok(self.append(id, metrics)?)
    }
}
