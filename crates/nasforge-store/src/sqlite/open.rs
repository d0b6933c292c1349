//! Opening an SQLite store: what a path holds (missing, blank, a store of a known version, or anything
//! else, refused without a write), the connection settings, and creating or migrating the schema.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::schema::{APPLICATION_ID, HISTORY};
use crate::error::StoreError;
use crate::schema::{Migration, list_names};

/// How long a write waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What an existing path holds, as far as opening it is concerned.
pub(super) enum Found {
    /// No file: create it.
    Missing,
    /// An empty file, or an SQLite database without any table: make it a store.
    Blank,
    /// A nasforge store of this schema version, or an older one and the migrations it needs.
    Store(&'static [Migration]),
}

pub(super) fn location(path: &Path) -> String {
    path.display().to_string()
}

/// An SQLite error while opening: "not a database" and "cannot write" get their own variants.
pub(super) fn open_error(path: &Path, action: &'static str, source: rusqlite::Error) -> StoreError {
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
        if user_version >= 1 {
            let steps = HISTORY.plan(&location(path), user_version, "nasforge application id with")?;
            return Ok(Found::Store(steps));
        }
    } else if application_id == 0 && user_version == 0 && tables.is_empty() {
        return Ok(Found::Blank);
    }
    let found = if !tables.is_empty() {
        format!("its tables: {}", list_names(&tables))
    } else if application_id != APPLICATION_ID {
        format!("application id {application_id:#x}, user_version {user_version}")
    } else {
        format!("nasforge application id with schema version {user_version}")
    };
    Err(StoreError::ForeignDatabase { store: format!("{} (SQLite)", location(path)), found })
}

/// Looks at `path` without changing anything: missing (in an existing directory), blank, or a store
/// this build can use. Everything else is an error.
pub(super) fn inspect(path: &Path) -> Result<Found, StoreError> {
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
pub(super) fn configure(path: &Path, conn: &Connection) -> Result<(), StoreError> {
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
/// to the current version; checks the version of an existing store again through the writing connection.
/// One transaction: a failed migration leaves the store as it was.
pub(super) fn prepare_schema(path: &Path, conn: &Connection, found: &Found) -> Result<(), StoreError> {
    let err = |action| move |e| open_error(path, action, e);
    // A current store is only read here: no need to wait for the write lock of a running study.
    let begin = if matches!(found, Found::Store([])) { "BEGIN" } else { "BEGIN IMMEDIATE" };
    conn.execute_batch(begin).map_err(err("starting the schema transaction"))?;
    let result = identity(conn)
        .map_err(err("checking it is a nasforge store"))
        .and_then(|id| classify(path, id))
        .and_then(|found| {
            let steps = match found {
                Found::Store(steps) => steps,
                Found::Missing | Found::Blank => {
                    conn.execute_batch(&format!(
                        "{}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {};",
                        HISTORY.create, HISTORY.created
                    ))
                    .map_err(err("creating the schema"))?;
                    HISTORY.after_creation()
                }
            };
            for step in steps {
                conn.execute_batch(&format!("{}\nPRAGMA user_version = {};", step.sql, step.to))
                    .map_err(err(step.action))?;
            }
            Ok(())
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
pub(super) fn reopen(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| open_error(path, "opening", e))?;
    configure(path, &conn)?;
    Ok(conn)
}
