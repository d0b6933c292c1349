//! SQLite storage: one file holds studies, trials and intermediate results, in WAL mode, with a schema
//! version; files that are not nasforge stores are recognised and never modified, and stores of an older
//! schema are migrated in place when opened.
//!
//! Durability: every write is its own committed transaction. In WAL mode with `synchronous=NORMAL` a
//! committed transaction is in the WAL file (the OS page cache at least) when COMMIT returns, so a killed
//! process (kill -9, panic, OOM) loses nothing it committed; only an OS crash or power loss can drop the
//! last transactions (never corrupting the file); `synchronous=FULL` would cover that with an fsync per commit.
//!
//! Concurrency: every decision (a new trial within the budget, a cache hit, taking over an abandoned trial,
//! a result) is one transaction under `BEGIN IMMEDIATE`, SQLite's write lock, so any number of threads and
//! processes with their own connections may work on one study. Trial ids are one more than the study's
//! largest; every change of a trial gives it the study's next version, one more than the largest version
//! of its trials (read from the `trials_by_version` index inside the writing transaction, so no counter row
//! is rewritten by every change).
//!
//! Leases use this machine's clock (`lease_until`, Unix seconds): an SQLite file is shared by the processes
//! of one machine.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nasforge_core::study::{Claim, Lease, LeaseKeeper, StoreError as CoreStoreError, TrialStore};
use nasforge_core::{Metrics, TrialRecord, TrialState};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use crate::StudyRecord;
use crate::codec::{decode_metrics, encode_metrics};
use crate::error::StoreError;
use crate::lease::{Keeper, Renewal, now_seconds, owner_is_gone, renew_interval};

/// The schema version this build writes and reads (`PRAGMA user_version`). Version 1 (no leases, no
/// versions) is migrated to 2 when opened.
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a nasforge store: "NASF". It tells our files from other SQLite databases.
const APPLICATION_ID: i32 = 0x4E41_5346;

/// How long a write waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Schema version 2. `studies.paid_trials` is the number of the study's paid trials (running ones included),
/// kept by the claims. `trials.worker` is the lease owner of a running trial (and the worker that finished
/// a finished one), `trials.lease_until` the Unix time its lease runs out (NULL when not running),
/// `trials.version` the study version of the trial's last change: the study's version is the largest.
const SCHEMA: &str = "
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

const TRIAL_COLUMNS: &str = "id, arch, arch_json, canonical, state, metrics, cached_from, seed, error, started_at, \
                             finished_at, attempts, worker, version";

/// The paid trials with a canonical form (one, but for stores written by version 1). No `ORDER BY id`:
/// it would tempt the planner to walk the whole study in id order instead of using the canonical index.
const SELECT_PAID_BY_CANONICAL: &str = "
SELECT id, state, metrics, error FROM trials INDEXED BY trials_by_canonical
WHERE study = ?1 AND canonical = ?2 AND cached_from IS NULL";

const SELECT_PAID_COUNT: &str = "SELECT paid_trials FROM studies WHERE id = ?1";

/// Counts a new paid trial.
const COUNT_PAID: &str = "UPDATE studies SET paid_trials = paid_trials + 1 WHERE id = ?1";

/// The study's next version (study ?1), for the statement that changes a trial.
macro_rules! next_version {
    () => {
        "(SELECT COALESCE(MAX(version), 0) + 1 FROM trials WHERE study = ?1)"
    };
}

const INSERT_TRIAL: &str = concat!(
    "
INSERT INTO trials (study, id, arch, arch_json, canonical, state, metrics, cached_from, seed, error,
                    started_at, finished_at, attempts, worker, lease_until, version)
SELECT ?1, COALESCE(MAX(id) + 1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ",
    next_version!(),
    "
FROM trials WHERE study = ?1
RETURNING id"
);

const PUT_STEP: &str = "INSERT INTO intermediate (study, trial, step, metrics) VALUES (?1, ?2, ?3, ?4)";

/// Appends a step to any trial of the study.
const APPEND_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics)
SELECT ?1, ?2, COALESCE(MAX(step) + 1, 0), ?3 FROM intermediate WHERE study = ?1 AND trial = ?2";

/// Appends a step to a trial only while it runs under `owner` (a late worker's curve is dropped).
const APPEND_OWNED_STEP: &str = "
INSERT INTO intermediate (study, trial, step, metrics)
SELECT ?1, ?2, next, ?3 FROM (SELECT COALESCE(MAX(step) + 1, 0) AS next FROM intermediate WHERE study = ?1 AND trial = ?2)
WHERE EXISTS (SELECT 1 FROM trials WHERE study = ?1 AND id = ?2 AND worker = ?4 AND state = 'running')";

/// Gives a changed trial the study's next version.
const TOUCH_TRIAL: &str = concat!("UPDATE trials SET version = ", next_version!(), " WHERE study = ?1 AND id = ?2");

/// One statement, so its own transaction (a writing statement takes the write lock before it reads).
const FINISH_TRIAL: &str = concat!(
    "UPDATE trials SET state = ?4, metrics = ?5, error = ?6, finished_at = ?7, attempts = ?8, worker = ?3,
         lease_until = NULL, version = ",
    next_version!(),
    " WHERE study = ?1 AND id = ?2 AND worker = ?3 AND state = 'running'"
);

const SELECT_RUNNING: &str =
    "SELECT id, worker, lease_until FROM trials WHERE study = ?1 AND state = 'running' ORDER BY id";

const TAKE_OVER: &str = concat!(
    "UPDATE trials SET worker = ?3, lease_until = ?4, attempts = attempts + 1, version = ",
    next_version!(),
    " WHERE study = ?1 AND id = ?2 AND state = 'running'"
);

const CLEAR_STEPS: &str = "DELETE FROM intermediate WHERE study = ?1 AND trial = ?2";

const RENEW_LEASE: &str = "
UPDATE trials SET lease_until = ?4 WHERE study = ?1 AND id = ?2 AND worker = ?3 AND state = 'running'";

const TRIAL_EXISTS: &str = "SELECT 1 FROM trials WHERE study = ?1 AND id = ?2";

const STUDY_COLUMNS: &str = "name, space, config_json, created_at";

/// What an existing path holds, as far as opening it is concerned.
enum Found {
    /// No file: create it.
    Missing,
    /// An empty file, or an SQLite database without any table: make it a store.
    Blank,
    /// A nasforge store of this schema version or an older one this build migrates.
    Store(i64),
}

/// The connection and the file it belongs to, shared by a storage and its trial stores.
#[derive(Debug)]
struct Shared {
    path: PathBuf,
    /// The path as error messages show it.
    location: String,
    conn: Mutex<Connection>,
}

impl Shared {
    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned { store: self.location.clone() })
    }

    fn err(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite { path: self.path.clone(), action, source }
    }

    fn in_memory(&self) -> bool {
        self.path == Path::new(":memory:")
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

fn has_extended_code(e: &rusqlite::Error, extended: std::ffi::c_int) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == extended)
}

fn location(path: &Path) -> String {
    path.display().to_string()
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
            return Err(StoreError::NewerSchema {
                store: location(path),
                found: user_version,
                supported: SCHEMA_VERSION,
            });
        }
        if user_version >= 1 {
            return Ok(Found::Store(user_version));
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
    Err(StoreError::ForeignDatabase { store: format!("{} (SQLite)", location(path)), found })
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
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
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
    // Checkpoint every 10,000 WAL pages (40 MB) instead of 1,000: a trial writes about ten pages (the row
    // and four indexes, twice), and each checkpoint waits for fsync; this took the claim + finish rate from
    // about 3,000 to 6,000 trials/s. The WAL file is cut back to 64 MiB after a checkpoint.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)
        .map_err(|e| open_error(path, "setting the checkpoint interval", e))?;
    let _limit: i64 = conn
        .pragma_update_and_check(None, "journal_size_limit", 64 * 1024 * 1024, |r| r.get(0))
        .map_err(|e| open_error(path, "limiting the WAL size", e))?;
    Ok(())
}

/// Creates the schema in a blank database, unless another process did it first; migrates an older store
/// to [`SCHEMA_VERSION`]; checks the version of an existing store again through the writing connection.
fn prepare_schema(path: &Path, conn: &Connection, found: &Found) -> Result<(), StoreError> {
    let err = |action| move |e| open_error(path, action, e);
    // A current store is only read here: no need to wait for the write lock of a running study.
    let begin = if matches!(found, Found::Store(SCHEMA_VERSION)) { "BEGIN" } else { "BEGIN IMMEDIATE" };
    conn.execute_batch(begin).map_err(err("starting the schema transaction"))?;
    let result = identity(conn)
        .map_err(err("checking it is a nasforge store"))
        .and_then(|id| classify(path, id))
        .and_then(|found| match found {
            Found::Store(SCHEMA_VERSION) => Ok(()),
            Found::Store(1) => conn
                .execute_batch(&format!("{MIGRATE_1_TO_2}\nPRAGMA user_version = {SCHEMA_VERSION};"))
                .map_err(err("migrating the store from schema version 1 to 2")),
            Found::Store(other) => Err(StoreError::ForeignDatabase {
                store: format!("{} (SQLite)", location(path)),
                found: format!("nasforge application id with unknown schema version {other}"),
            }),
            Found::Missing | Found::Blank => conn
                .execute_batch(&format!(
                    "{SCHEMA}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {SCHEMA_VERSION};"
                ))
                .map_err(err("creating the schema")),
        });
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(err("committing the schema")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Opens another read-write connection to an existing store (a lease keeper's).
fn reopen(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| open_error(path, "opening", e))?;
    configure(path, &conn)?;
    Ok(conn)
}

impl SqliteStorage {
    /// Opens the store at `path`, creating the file (and schema) when it is missing and migrating a store of
    /// schema version 1. Refuses, without touching them, files that are not SQLite, SQLite databases of
    /// other programs, and stores of a newer schema; and paths it cannot write.
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
        Ok(SqliteStorage::with(path, conn))
    }

    /// A store in memory (`sqlite::memory:`), gone when the last handle is dropped.
    pub fn open_in_memory() -> Result<SqliteStorage, StoreError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| open_error(path, "opening", e))?;
        configure(path, &conn)?;
        prepare_schema(path, &conn, &Found::Missing)?;
        Ok(SqliteStorage::with(path, conn))
    }

    fn with(path: &Path, conn: Connection) -> SqliteStorage {
        SqliteStorage {
            shared: Arc::new(Shared { path: path.to_path_buf(), location: location(path), conn: Mutex::new(conn) }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The path, for messages.
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    fn check_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        serde_json::from_str::<serde_json::Value>(config_json).map(|_| ()).map_err(|e| StoreError::InvalidConfig {
            store: self.shared.location.clone(),
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
                Err(StoreError::StudyExists { store: self.shared.location.clone(), name: name.to_string() })
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
            return Err(StoreError::NoStudy { store: self.shared.location.clone(), name: name.to_string() });
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
        let study_id = study_id
            .ok_or_else(|| StoreError::NoStudy { store: self.shared.location.clone(), name: name.to_string() })?;
        Ok(SqliteTrialStore {
            shared: Arc::clone(&self.shared),
            study_id,
            study: name.to_string(),
            held: HashMap::new(),
        })
    }
}

fn study_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StudyRecord> {
    Ok(StudyRecord { name: row.get(0)?, space: row.get(1)?, config_json: row.get(2)?, created_at: row.get(3)? })
}

/// The trials of one study in an SQLite store. It shares the storage's connection (a lease keeper opens its
/// own); every write is one committed transaction.
#[derive(Debug)]
pub struct SqliteTrialStore {
    shared: Arc<Shared>,
    study_id: i64,
    study: String,
    /// Trials this handle claimed and has not finished, with the lease owner: intermediate results for them
    /// are only stored while that lease holds.
    held: HashMap<u64, String>,
}

/// u64 values (ids, seeds) live in SQLite's signed 64-bit INTEGER bit for bit.
fn to_sql_u64(value: u64) -> i64 {
    value as i64
}

fn from_sql_u64(value: i64) -> u64 {
    value as u64
}

/// Lease end of a lease starting now.
fn lease_end(lease_duration: Duration) -> f64 {
    now_seconds() + lease_duration.as_secs_f64()
}

/// Whether a running trial with this owner and lease end may be taken over at `now`.
fn is_abandoned(worker: Option<&str>, lease_until: Option<f64>, now: f64) -> bool {
    match (worker, lease_until) {
        (Some(worker), Some(until)) => until < now || owner_is_gone(worker, true),
        // Running without an owner or lease: written by schema version 1 (a single, now gone, writer).
        _ => true,
    }
}

impl SqliteTrialStore {
    pub fn study_name(&self) -> &str {
        &self.study
    }

    fn corrupt(&self, id: i64, message: String) -> StoreError {
        StoreError::Corrupt {
            store: self.shared.location.clone(),
            study: self.study.clone(),
            id: from_sql_u64(id),
            message,
        }
    }

    fn no_trial(&self, id: u64) -> StoreError {
        StoreError::NoTrial { store: self.shared.location.clone(), study: self.study.clone(), id }
    }

    fn column<T: rusqlite::types::FromSql>(&self, row: &rusqlite::Row<'_>, index: usize) -> Result<T, StoreError> {
        row.get(index).map_err(self.shared.err("reading trials"))
    }

    /// A trial from a row of [`TRIAL_COLUMNS`], with its version (intermediate results not read).
    fn trial_from_row(&self, row: &rusqlite::Row<'_>) -> Result<(u64, TrialRecord), StoreError> {
        let id: i64 = self.column(row, 0)?;
        let state: String = self.column(row, 4)?;
        let state: TrialState = state.parse().map_err(|m| self.corrupt(id, m))?;
        let metrics: String = self.column(row, 5)?;
        let metrics = decode_metrics(&metrics).map_err(|m| self.corrupt(id, m))?;
        let cached_from: Option<i64> = self.column(row, 6)?;
        let attempts: i64 = self.column(row, 11)?;
        let attempts =
            u32::try_from(attempts).map_err(|_| self.corrupt(id, format!("attempts {attempts} out of range")))?;
        let version: i64 = self.column(row, 13)?;
        let record = TrialRecord {
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
            worker: self.column(row, 12)?,
        };
        Ok((from_sql_u64(version), record))
    }

    /// Trials of the study (all, or those changed after a version) with their versions and intermediate
    /// results, read from one snapshot.
    fn read(&self, after: Option<u64>) -> Result<Vec<(u64, TrialRecord)>, StoreError> {
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN", |conn| {
            let (trials_sql, steps_sql) = match after {
                None => (
                    format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND ?2 IS NULL ORDER BY id"),
                    "SELECT trial, metrics FROM intermediate WHERE study = ?1 AND ?2 IS NULL ORDER BY trial, step".to_string(),
                ),
                Some(_) => (
                    format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND version > ?2 ORDER BY version"),
                    "SELECT i.trial, i.metrics FROM trials t JOIN intermediate i ON i.study = t.study AND i.trial = t.id \
                     WHERE t.study = ?1 AND t.version > ?2 ORDER BY i.trial, i.step"
                        .to_string(),
                ),
            };
            let after = after.map(to_sql_u64);
            let mut trials = Vec::new();
            let mut statement = conn.prepare_cached(&trials_sql).map_err(self.shared.err("reading trials"))?;
            let mut rows = statement.query(params![self.study_id, after]).map_err(self.shared.err("reading trials"))?;
            while let Some(row) = rows.next().map_err(self.shared.err("reading trials"))? {
                trials.push(self.trial_from_row(row)?);
            }
            drop(rows);
            drop(statement);

            let index: HashMap<u64, usize> = trials.iter().enumerate().map(|(i, (_, t))| (t.id, i)).collect();
            let action = "reading intermediate results";
            let mut statement = conn.prepare_cached(&steps_sql).map_err(self.shared.err(action))?;
            let mut rows = statement.query(params![self.study_id, after]).map_err(self.shared.err(action))?;
            while let Some(row) = rows.next().map_err(self.shared.err(action))? {
                let (trial, text): (i64, String) =
                    (|| Ok((row.get(0)?, row.get(1)?)))().map_err(self.shared.err(action))?;
                // The foreign key keeps steps of missing trials out; skip any that a hand edit left.
                if let Some(&i) = index.get(&from_sql_u64(trial)) {
                    let metrics =
                        decode_metrics(&text).map_err(|m| self.corrupt(trial, format!("intermediate result: {m}")))?;
                    trials[i].1.intermediate.push(metrics);
                }
            }
            Ok(trials)
        })
    }

    /// One trial with its version (intermediate results not read).
    fn read_one(&self, conn: &Connection, id: i64) -> Result<TrialRecord, StoreError> {
        let sql = format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study = ?1 AND id = ?2");
        let mut statement = conn.prepare_cached(&sql).map_err(self.shared.err("reading a trial"))?;
        let mut rows = statement.query(params![self.study_id, id]).map_err(self.shared.err("reading a trial"))?;
        match rows.next().map_err(self.shared.err("reading a trial"))? {
            Some(row) => Ok(self.trial_from_row(row)?.1),
            None => Err(self.no_trial(from_sql_u64(id))),
        }
    }

    fn claim(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError> {
        let steps: Vec<String> = trial.intermediate.iter().map(encode_metrics).collect();
        let conn = self.shared.conn()?;
        let claim = self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let same: Vec<(i64, String, String, Option<String>)> = conn
                .prepare_cached(SELECT_PAID_BY_CANONICAL)
                .and_then(|mut s| {
                    s.query_map(params![self.study_id, trial.canonical], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                })
                .map_err(self.shared.err("looking for the same architecture"))?;
            // The first one.
            let same = same.into_iter().min_by_key(|(id, ..)| *id);
            let record = match same {
                Some((_, state, ..)) if state == TrialState::Running.as_str() => return Ok(Claim::Busy),
                Some((source, state, metrics, error)) => {
                    let state: TrialState = state.parse().map_err(|m| self.corrupt(source, m))?;
                    let metrics = decode_metrics(&metrics).map_err(|m| self.corrupt(source, m))?;
                    TrialRecord {
                        state,
                        metrics,
                        error,
                        cached_from: Some(from_sql_u64(source)),
                        finished_at: Some(trial.started_at),
                        attempts: 0,
                        worker: Some(lease.owner.clone()),
                        ..trial.clone()
                    }
                }
                None => {
                    if let Some(budget) = budget {
                        let paid: i64 = conn
                            .prepare_cached(SELECT_PAID_COUNT)
                            .and_then(|mut s| s.query_row([self.study_id], |r| r.get(0)))
                            .map_err(self.shared.err("counting paid trials"))?;
                        if from_sql_u64(paid) >= budget {
                            return Ok(Claim::BudgetReached);
                        }
                    }
                    TrialRecord {
                        state: TrialState::Running,
                        cached_from: None,
                        attempts: 1,
                        worker: Some(lease.owner.clone()),
                        ..trial.clone()
                    }
                }
            };
            if record.is_paid() {
                conn.prepare_cached(COUNT_PAID)
                    .and_then(|mut s| s.execute([self.study_id]))
                    .map_err(self.shared.err("counting paid trials"))?;
            }
            let lease_until = (record.state == TrialState::Running).then(|| lease_end(lease.duration));
            let id: i64 = conn
                .prepare_cached(INSERT_TRIAL)
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            self.study_id,
                            record.arch,
                            record.arch_json,
                            record.canonical,
                            record.state.as_str(),
                            encode_metrics(&record.metrics),
                            record.cached_from.map(to_sql_u64),
                            to_sql_u64(record.seed),
                            record.error,
                            record.started_at,
                            record.finished_at,
                            record.attempts,
                            record.worker,
                            lease_until,
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(self.shared.err("inserting a trial"))?;
            if !steps.is_empty() {
                let mut statement =
                    conn.prepare_cached(PUT_STEP).map_err(self.shared.err("writing intermediate results"))?;
                for (step, metrics) in steps.iter().enumerate() {
                    statement
                        .execute(params![self.study_id, id, step as i64, metrics])
                        .map_err(self.shared.err("writing intermediate results"))?;
                }
            }
            let record = TrialRecord { id: from_sql_u64(id), ..record };
            Ok(if record.is_paid() { Claim::Claimed(record) } else { Claim::CacheHit(record) })
        })?;
        if let Claim::Claimed(record) = &claim {
            self.held.insert(record.id, lease.owner.clone());
        }
        Ok(claim)
    }

    fn take_over(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let conn = self.shared.conn()?;
        let find = |conn: &Connection| -> Result<Option<i64>, StoreError> {
            let now = now_seconds();
            let mut statement =
                conn.prepare_cached(SELECT_RUNNING).map_err(self.shared.err("reading running trials"))?;
            let mut rows = statement.query([self.study_id]).map_err(self.shared.err("reading running trials"))?;
            while let Some(row) = rows.next().map_err(self.shared.err("reading running trials"))? {
                let (id, worker, until): (i64, Option<String>, Option<f64>) =
                    (|| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))()
                        .map_err(self.shared.err("reading running trials"))?;
                if is_abandoned(worker.as_deref(), until, now) {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        };
        // Usually nothing is abandoned: look without the write lock first.
        if find(&conn)?.is_none() {
            return Ok(None);
        }
        let taken = self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let Some(id) = find(conn)? else { return Ok(None) };
            conn.prepare_cached(TAKE_OVER)
                .and_then(|mut s| s.execute(params![self.study_id, id, lease.owner, lease_end(lease.duration)]))
                .map_err(self.shared.err("taking over a trial"))?;
            conn.prepare_cached(CLEAR_STEPS)
                .and_then(|mut s| s.execute(params![self.study_id, id]))
                .map_err(self.shared.err("clearing intermediate results"))?;
            self.read_one(conn, id).map(Some)
        })?;
        if let Some(record) = &taken {
            self.held.insert(record.id, lease.owner.clone());
        }
        Ok(taken)
    }

    fn finish_trial(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, StoreError> {
        self.held.remove(&trial.id);
        let metrics = encode_metrics(&trial.metrics);
        let id = to_sql_u64(trial.id);
        let conn = self.shared.conn()?;
        let changed = conn
            .prepare_cached(FINISH_TRIAL)
            .and_then(|mut s| {
                s.execute(params![
                    self.study_id,
                    id,
                    lease.owner,
                    trial.state.as_str(),
                    metrics,
                    trial.error,
                    trial.finished_at,
                    trial.attempts,
                ])
            })
            .map_err(self.shared.err("recording a result"))?;
        if changed == 0 {
            self.require_trial(&conn, trial.id)?;
        }
        Ok(changed == 1)
    }

    fn require_trial(&self, conn: &Connection, id: u64) -> Result<(), StoreError> {
        let exists = conn
            .prepare_cached(TRIAL_EXISTS)
            .and_then(|mut s| s.exists(params![self.study_id, to_sql_u64(id)]))
            .map_err(self.shared.err("reading a trial"))?;
        if exists { Ok(()) } else { Err(self.no_trial(id)) }
    }

    fn append(&self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        let text = encode_metrics(metrics);
        let sql_id = to_sql_u64(id);
        let owner = self.held.get(&id);
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN IMMEDIATE", |conn| {
            let appended = match owner {
                Some(owner) => conn
                    .prepare_cached(APPEND_OWNED_STEP)
                    .and_then(|mut s| s.execute(params![self.study_id, sql_id, text, owner])),
                None => {
                    conn.prepare_cached(APPEND_STEP).and_then(|mut s| s.execute(params![self.study_id, sql_id, text]))
                }
            };
            let appended = match appended {
                Ok(n) => n,
                Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                    return Err(self.no_trial(id));
                }
                Err(e) => return Err(self.shared.err("appending an intermediate result")(e)),
            };
            if appended == 0 {
                // The lease was lost: the new holder's learning curve is not mixed with this one.
                return self.require_trial(conn, id);
            }
            conn.prepare_cached(TOUCH_TRIAL)
                .and_then(|mut s| s.execute(params![self.study_id, sql_id]))
                .map_err(self.shared.err("appending an intermediate result"))
                .map(|_| ())
        })
    }

    fn keeper(&self, id: u64, lease: &Lease) -> Result<Keeper, StoreError> {
        let shared = Arc::clone(&self.shared);
        let (study, id, owner, duration) = (self.study_id, to_sql_u64(id), lease.owner.clone(), lease.duration);
        // Its own connection (opened at the first renewal, so short trials never open one): renewals do not
        // wait for this handle's connection. An in-memory store has only the one connection.
        let mut own: Option<Connection> = None;
        let renew = move || {
            let renewed = if shared.in_memory() {
                match shared.conn() {
                    Ok(conn) => renew_on(&conn, study, id, &owner, duration),
                    Err(_) => return Renewal::Failed,
                }
            } else {
                if own.is_none() {
                    own = reopen(&shared.path).ok();
                }
                match &own {
                    Some(conn) => renew_on(conn, study, id, &owner, duration),
                    None => return Renewal::Failed,
                }
            };
            match renewed {
                Ok(0) => Renewal::Lost,
                Ok(_) => Renewal::Renewed,
                Err(_) => Renewal::Failed,
            }
        };
        Keeper::spawn(format!("nasforge-lease-{id}"), renew_interval(duration), renew)
            .map_err(|source| StoreError::Thread { store: self.shared.location.clone(), source })
    }
}

fn renew_on(conn: &Connection, study: i64, id: i64, owner: &str, duration: Duration) -> rusqlite::Result<usize> {
    conn.prepare_cached(RENEW_LEASE).and_then(|mut s| s.execute(params![study, id, owner, lease_end(duration)]))
}

impl TrialStore for SqliteTrialStore {
    /// Every trial of the study by id, each with its intermediate results in step order, read from one
    /// snapshot.
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, CoreStoreError> {
        Ok(self.read(None)?.into_iter().map(|(_, trial)| trial).collect())
    }

    /// The trials changed after version `after`, by version, with their intermediate results.
    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, CoreStoreError> {
        Ok(self.read(Some(after))?)
    }

    /// One `BEGIN IMMEDIATE` transaction: a cache hit when a paid trial with the same canonical form is
    /// finished, busy when it runs, budget reached when the study's paid trials reached `budget`, else a
    /// new running trial under `lease`.
    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, CoreStoreError> {
        Ok(self.claim(trial, budget, lease)?)
    }

    /// Takes over the running trial with the lowest id whose lease ran out, whose owner's process on this
    /// host is gone, or that has no owner (written by schema version 1).
    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, CoreStoreError> {
        Ok(self.take_over(lease)?)
    }

    /// Renews the lease every third of its duration, through a connection of its own, until dropped or
    /// until the trial no longer runs under this lease.
    fn keep_alive(&mut self, id: u64, lease: &Lease) -> Result<Box<dyn LeaseKeeper>, CoreStoreError> {
        Ok(Box::new(self.keeper(id, lease)?))
    }

    /// Records state, metrics, error, finish time, attempts and the worker, only while `lease` holds the
    /// running trial. The stored intermediate results are those appended.
    fn finish(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, CoreStoreError> {
        Ok(self.finish_trial(trial, lease)?)
    }

    /// Adds one step after the trial's last intermediate result. For a trial this handle claimed, only while
    /// its lease holds (a late worker's steps are dropped without an error).
    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), CoreStoreError> {
        Ok(self.append(id, metrics)?)
    }
}
