//! SQLite storage: one file holds studies, trials, intermediate results and final results, in WAL mode,
//! with a schema version; files that are not nasforge stores are recognised and never modified, and stores
//! of an older schema are migrated in place when opened (see [`schema`]).
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

mod open;
pub(crate) mod schema;
mod sql;
mod trials;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use self::open::{Found, configure, inspect, location, open_error, prepare_schema};
use crate::codec::to_sql_u64;
use crate::error::StoreError;
use crate::rows::{self, Scope, final_result_from_row, study_from_row};
use crate::{FinalResultRecord, StudyRecord};

pub use self::trials::SqliteTrialStore;

/// The schema version this build writes and reads (`PRAGMA user_version`); older versions are migrated
/// when opened.
pub const SQLITE_SCHEMA_VERSION: i64 = schema::HISTORY.current();

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

    /// Maps an error reading a row: the driver's, or a value nasforge does not write.
    fn row_err(&self, action: &'static str) -> impl FnOnce(rows::RowError<rusqlite::Error>) -> StoreError + '_ {
        move |e| match e {
            rows::RowError::Driver(source) => self.err(action)(source),
            rows::RowError::Store(e) => e,
        }
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

    /// The id of study `name`, if there is one.
    fn study_id(&self, conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
        conn.prepare_cached(sql::SELECT_STUDY_ID)
            .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
            .map_err(self.err("finding a study"))
    }
}

fn has_extended_code(e: &rusqlite::Error, extended: std::ffi::c_int) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == extended)
}

/// An SQLite nasforge store.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    shared: Arc<Shared>,
}

impl SqliteStorage {
    /// Opens the store at `path`, creating the file (and schema) when it is missing and migrating a store of
    /// an older schema version. Refuses, without touching them, files that are not SQLite, SQLite databases
    /// of other programs, and stores of a newer schema; and paths it cannot write.
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

    /// Creates a study; an error if the name is empty or taken, or the configuration is not JSON.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        let record = rows::new_study(self.location(), name, space, config_json)?;
        let conn = self.shared.conn()?;
        let inserted = conn
            .prepare_cached(sql::INSERT_STUDY)
            .and_then(|mut s| s.execute(params![name, space, config_json, record.created_at]));
        match inserted {
            Ok(_) => Ok(record),
            Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                Err(rows::study_exists(self.location(), name))
            }
            Err(e) => Err(self.shared.err("creating a study")(e)),
        }
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        let conn = self.shared.conn()?;
        conn.prepare_cached(&sql::select_study())
            .and_then(|mut s| s.query_row([name], |r| study_from_row(r)).optional())
            .map_err(self.shared.err("reading a study"))
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        let conn = self.shared.conn()?;
        conn.prepare_cached(&sql::select_studies())
            .and_then(|mut s| s.query_map([], |r| study_from_row(r))?.collect())
            .map_err(self.shared.err("listing studies"))
    }

    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        rows::check_config(self.location(), name, config_json)?;
        let conn = self.shared.conn()?;
        let changed = conn
            .prepare_cached(sql::UPDATE_CONFIG)
            .and_then(|mut s| s.execute(params![name, config_json]))
            .map_err(self.shared.err("updating a study's configuration"))?;
        if changed == 0 {
            return Err(rows::no_study(self.location(), name));
        }
        Ok(())
    }

    /// The trials of study `name`, which must exist.
    pub fn trial_store(&self, name: &str) -> Result<SqliteTrialStore, StoreError> {
        let study_id = self.shared.study_id(&*self.shared.conn()?, name)?;
        let study_id = study_id.ok_or_else(|| rows::no_study(self.location(), name))?;
        Ok(SqliteTrialStore {
            shared: Arc::clone(&self.shared),
            study_id,
            scope: Scope { store: self.shared.location.clone(), study: name.to_string() },
            held: HashMap::new(),
        })
    }

    /// Records a result of study `study` obtained after its search (for trial `result.trial_id`, which must
    /// exist); the payload must be JSON.
    pub fn record_final_result(&self, study: &str, result: &FinalResultRecord) -> Result<(), StoreError> {
        rows::check_final_result(self.location(), study, result)?;
        let conn = self.shared.conn()?;
        let inserted = conn.prepare_cached(sql::INSERT_FINAL_RESULT).and_then(|mut s| {
            s.execute(params![study, to_sql_u64(result.trial_id), result.created_at, result.payload_json])
        });
        match inserted {
            Ok(0) => Err(rows::no_study(self.location(), study)),
            Ok(_) => Ok(()),
            Err(e) if has_extended_code(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                Err(Scope { store: self.shared.location.clone(), study: study.to_string() }.no_trial(result.trial_id))
            }
            Err(e) => Err(self.shared.err("recording a final result")(e)),
        }
    }

    /// The final results of study `study` (which must exist), in the order they were recorded.
    pub fn final_results(&self, study: &str) -> Result<Vec<FinalResultRecord>, StoreError> {
        let conn = self.shared.conn()?;
        self.shared.in_transaction(&conn, "BEGIN", |conn| {
            if self.shared.study_id(conn, study)?.is_none() {
                return Err(rows::no_study(self.location(), study));
            }
            conn.prepare_cached(&sql::select_final_results())
                .and_then(|mut s| s.query_map([study], |r| final_result_from_row(r))?.collect())
                .map_err(self.shared.err("reading final results"))
        })
    }
}
