//! Persistent nasforge studies: a [`Storage`] opened from a URL (`sqlite:PATH`, or
//! `postgresql://user@host:port/db` for workers on several machines, or `memory:` for none) holds studies and hands out a
//! per-study store implementing nasforge-core's [`TrialStore`]: atomic claims of new and abandoned trials
//! under a lease, results recorded exactly once, and a change feed by version; and the results attached
//! to a study after its search ([`Storage::record_final_result`]).
//!
//! Layout: `rows` (what both backends read and write: column lists, records from rows, claim records,
//! checks), `schema` (schema histories and migrations), `codec`, `lease`; `sqlite/` and `postgres/` keep what
//! differs: SQL, claims, leases, connections, and each its own schema history and version
//! ([`SQLITE_SCHEMA_VERSION`], [`POSTGRES_SCHEMA_VERSION`]); `memory` keeps studies in this process alone.
//!
//! ```no_run
//! # fn main() -> Result<(), nasforge_store::StoreError> {
//! let storage = nasforge_store::Storage::open("sqlite:runs/nb201.db")?;
//! if storage.study("search-1")?.is_none() {
//!     storage.create_study("search-1", "nb201", r#"{"budget": 100}"#)?;
//! }
//! let mut trials = storage.trial_store("search-1")?; // pass `&mut trials` to Study::open and Study::run
//! # let _ = &mut trials;
//! # Ok(())
//! # }
//! ```

/// Implements nasforge-core's `TrialStore` for a backend's trial store through its inherent methods
/// (`read`, `claim`, `take_over`, `resume`, `keeper`, `finish_trial`, `append`, which return [`StoreError`]s and
/// document what each backend does).
macro_rules! trial_store_through_inherent_methods {
    ($store:ty) => {
        impl $crate::TrialStore for $store {
            fn load_trials(&mut self) -> Result<Vec<$crate::TrialRecord>, $crate::CoreStoreError> {
                Ok(self.read(None)?.into_iter().map(|(_, trial)| trial).collect())
            }

            fn changes(&mut self, after: u64) -> Result<Vec<(u64, $crate::TrialRecord)>, $crate::CoreStoreError> {
                Ok(self.read(Some(after))?)
            }

            fn claim_new(
                &mut self,
                trial: &$crate::TrialRecord,
                budget: Option<u64>,
                lease: &$crate::Lease,
            ) -> Result<$crate::Claim, $crate::CoreStoreError> {
                Ok(self.claim(trial, budget, lease)?)
            }

            fn claim_abandoned(
                &mut self,
                lease: &$crate::Lease,
            ) -> Result<Option<$crate::TrialRecord>, $crate::CoreStoreError> {
                Ok(self.take_over(lease)?)
            }

            fn resume_paused(
                &mut self,
                id: u64,
                lease: &$crate::Lease,
            ) -> Result<Option<$crate::TrialRecord>, $crate::CoreStoreError> {
                Ok(self.resume(id, lease)?)
            }

            fn keep_alive(
                &mut self,
                id: u64,
                lease: &$crate::Lease,
            ) -> Result<Box<dyn $crate::LeaseKeeper>, $crate::CoreStoreError> {
                Ok(Box::new(self.keeper(id, lease)?))
            }

            fn finish(
                &mut self,
                trial: &$crate::TrialRecord,
                lease: &$crate::Lease,
            ) -> Result<bool, $crate::CoreStoreError> {
                Ok(self.finish_trial(trial, lease)?)
            }

            fn append_intermediate(
                &mut self,
                id: u64,
                metrics: &$crate::Metrics,
            ) -> Result<(), $crate::CoreStoreError> {
                Ok(self.append(id, metrics)?)
            }
        }
    };
}
pub(crate) use trial_store_through_inherent_methods;

mod codec;
mod error;
mod lease;
mod memory;
mod postgres;
mod rows;
mod schema;
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nasforge_core::study::{Claim, Lease, LeaseKeeper, StoreError as CoreStoreError, TrialStore};
use nasforge_core::{Metrics, TrialRecord};

use crate::postgres::redact_url;

pub use error::StoreError;
pub use memory::{MemoryStorage, MemoryTrialStore};
pub use postgres::{
    DEFAULT_RETRY_LIMIT, POSTGRES_SCHEMA_VERSION, PostgresStorage, PostgresTrialStore, RETRY_LIMIT_VARIABLE,
    postgres_retries,
};
pub use sqlite::{SQLITE_SCHEMA_VERSION, SqliteStorage, SqliteTrialStore};

/// One study as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRecord {
    pub name: String,
    /// The search space's name.
    pub space: String,
    /// The study's configuration (objectives, strategy, budget…) as JSON text.
    pub config_json: String,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
}

/// A result attached to a study after its search: a final training of one of its trials' architectures
/// (test accuracy, test loss, weights path, epochs…), as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalResultRecord {
    /// The trial whose architecture the result is of.
    pub trial_id: u64,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    /// The result, a JSON value.
    pub payload_json: String,
}

impl FinalResultRecord {
    /// A result of trial `trial_id` created now.
    pub fn new(trial_id: u64, payload_json: impl Into<String>) -> FinalResultRecord {
        FinalResultRecord {
            trial_id,
            created_at: nasforge_core::study::now_seconds(),
            payload_json: payload_json.into(),
        }
    }
}

/// A `postgresql://` or `postgres://` URL. It may hold a password: `Debug` and `Display` show it without.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The full URL, password included (to connect).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", redact_url(&self.0))
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Where a storage URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// An SQLite file (`sqlite:PATH`, `sqlite://PATH`, or a plain path).
    Sqlite(PathBuf),
    /// An in-memory SQLite database (`sqlite::memory:`), gone when the storage is dropped.
    SqliteMemory,
    /// A PostgreSQL database (`postgresql://…` or `postgres://…`).
    Postgres(PostgresUrl),
    /// This process's memory (`memory:`), with no database at all: gone when the storage is dropped.
    Memory,
}

impl StorageUrl {
    /// Reads `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path` is `/abs/path`), `sqlite::memory:`,
    /// `postgresql://…`, `postgres://…`, `memory:` or a plain path. Other `scheme://` URLs are errors.
    pub fn parse(url: &str) -> Result<StorageUrl, StoreError> {
        let lower = url.to_ascii_lowercase();
        if lower == "memory:" {
            return Ok(StorageUrl::Memory);
        }
        if lower.starts_with("postgresql://") || lower.starts_with("postgres://") {
            return Ok(StorageUrl::Postgres(PostgresUrl(url.to_string())));
        }
        if lower.starts_with("postgresql:") || lower.starts_with("postgres:") {
            return Err(StoreError::BadUrl {
                location: redact_url(url),
                message: "write postgresql://user@host:port/database".into(),
            });
        }
        let path = if lower.starts_with("sqlite:") {
            let rest = &url["sqlite:".len()..];
            rest.strip_prefix("//").unwrap_or(rest)
        } else if let Some(scheme) = url_scheme(url) {
            return Err(StoreError::UnknownScheme { scheme: scheme.to_string() });
        } else {
            url
        };
        if path.is_empty() {
            return Err(StoreError::EmptyPath { url: url.to_string() });
        }
        if path == ":memory:" {
            return Ok(StorageUrl::SqliteMemory);
        }
        Ok(StorageUrl::Sqlite(PathBuf::from(path)))
    }
}

/// The scheme of `scheme://…` (letters, digits, `+ - .`, starting with a letter).
fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

/// How long a PostgreSQL storage opened by [`Storage::open`] retries a lost connection:
/// `NASFORGE_STORE_RETRY_SECONDS` when set to a number, else [`DEFAULT_RETRY_LIMIT`].
fn retry_limit() -> Duration {
    std::env::var(RETRY_LIMIT_VARIABLE)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(DEFAULT_RETRY_LIMIT, Duration::from_secs_f64)
}

/// A study storage, opened from a URL. Every method takes `&self`; a storage can be shared between
/// threads and the trial stores it hands out share its connection (a lease keeper opens its own).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Storage {
    Sqlite(SqliteStorage),
    Postgres(PostgresStorage),
    Memory(MemoryStorage),
}

impl Storage {
    /// Opens (creating it when missing) the storage at `url`: `sqlite:PATH`, `sqlite://PATH`, a plain path,
    /// `sqlite::memory:`, `postgresql://user[:password]@host[:port]/database` (also `postgres://`; no
    /// TLS), or `memory:`. Files and databases that are not nasforge stores are refused and left untouched; stores of an
    /// older schema are migrated. A PostgreSQL server that cannot be reached is retried (see
    /// [`RETRY_LIMIT_VARIABLE`]).
    pub fn open(url: &str) -> Result<Storage, StoreError> {
        match StorageUrl::parse(url)? {
            StorageUrl::Sqlite(path) => SqliteStorage::open(&path).map(Storage::Sqlite),
            StorageUrl::SqliteMemory => SqliteStorage::open_in_memory().map(Storage::Sqlite),
            StorageUrl::Postgres(url) => PostgresStorage::open(url.as_str(), retry_limit()).map(Storage::Postgres),
            StorageUrl::Memory => Ok(Storage::Memory(MemoryStorage::new())),
        }
    }

    /// Opens the storage at `url` if it exists: `Ok(None)` for an SQLite file that does not, and nothing is
    /// created. Commands that only read, and a search that may fail before its first trial, open stores
    /// with it, so that they leave no file behind.
    pub fn open_existing(url: &str) -> Result<Option<Storage>, StoreError> {
        match StorageUrl::parse(url)? {
            StorageUrl::Sqlite(path) if !path.exists() => Ok(None),
            _ => Self::open(url).map(Some),
        }
    }

    /// The file of an SQLite storage (`:memory:` for an in-memory one); `None` for PostgreSQL and memory.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Storage::Sqlite(s) => Some(s.path()),
            Storage::Postgres(_) | Storage::Memory(_) => None,
        }
    }

    /// Whether the studies live in this handle (and its clones) alone: `sqlite::memory:` and `memory:`.
    /// Opening the same URL again gives an empty storage.
    pub fn is_in_memory(&self) -> bool {
        match self {
            Storage::Sqlite(s) => s.path() == Path::new(":memory:"),
            Storage::Postgres(_) => false,
            Storage::Memory(_) => true,
        }
    }

    /// Where the storage is, for messages: the SQLite file's path, or the PostgreSQL URL without its
    /// password. Also what `Display` prints.
    pub fn location(&self) -> &str {
        match self {
            Storage::Sqlite(s) => s.location(),
            Storage::Postgres(s) => s.location(),
            Storage::Memory(s) => s.location(),
        }
    }

    /// Creates a study; an error if one with that name exists.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        match self {
            Storage::Sqlite(s) => s.create_study(name, space, config_json),
            Storage::Postgres(s) => s.create_study(name, space, config_json),
            Storage::Memory(s) => s.create_study(name, space, config_json),
        }
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        match self {
            Storage::Sqlite(s) => s.study(name),
            Storage::Postgres(s) => s.study(name),
            Storage::Memory(s) => s.study(name),
        }
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        match self {
            Storage::Sqlite(s) => s.studies(),
            Storage::Postgres(s) => s.studies(),
            Storage::Memory(s) => s.studies(),
        }
    }

    /// Replaces a study's configuration (a continued study with a larger budget).
    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        match self {
            Storage::Sqlite(s) => s.update_study_config(name, config_json),
            Storage::Postgres(s) => s.update_study_config(name, config_json),
            Storage::Memory(s) => s.update_study_config(name, config_json),
        }
    }

    /// Records a result of study `study` obtained after its search, such as `nasforge train`'s final
    /// training of one of its trials (`result.trial_id`, which must exist); the payload must be JSON. A trial
    /// may have several.
    pub fn record_final_result(&self, study: &str, result: &FinalResultRecord) -> Result<(), StoreError> {
        match self {
            Storage::Sqlite(s) => s.record_final_result(study, result),
            Storage::Postgres(s) => s.record_final_result(study, result),
            Storage::Memory(s) => s.record_final_result(study, result),
        }
    }

    /// The final results of study `study` (which must exist), in the order they were recorded.
    pub fn final_results(&self, study: &str) -> Result<Vec<FinalResultRecord>, StoreError> {
        match self {
            Storage::Sqlite(s) => s.final_results(study),
            Storage::Postgres(s) => s.final_results(study),
            Storage::Memory(s) => s.final_results(study),
        }
    }

    /// The trials of study `name` (which must exist), as a [`TrialStore`] for the study loop.
    pub fn trial_store(&self, name: &str) -> Result<StudyStore, StoreError> {
        match self {
            Storage::Sqlite(s) => s.trial_store(name).map(StudyStore::Sqlite),
            Storage::Postgres(s) => s.trial_store(name).map(StudyStore::Postgres),
            Storage::Memory(s) => s.trial_store(name).map(StudyStore::Memory),
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.location())
    }
}

/// The trials of one study in a [`Storage`]: what [`Storage::trial_store`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum StudyStore {
    Sqlite(SqliteTrialStore),
    Postgres(PostgresTrialStore),
    Memory(MemoryTrialStore),
}

impl StudyStore {
    pub fn study_name(&self) -> &str {
        match self {
            StudyStore::Sqlite(s) => s.study_name(),
            StudyStore::Postgres(s) => s.study_name(),
            StudyStore::Memory(s) => s.study_name(),
        }
    }
}

/// Forwards a [`TrialStore`] method to the backend.
macro_rules! forward {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            StudyStore::Sqlite(s) => s.$method($($arg),*),
            StudyStore::Postgres(s) => s.$method($($arg),*),
            StudyStore::Memory(s) => s.$method($($arg),*),
        }
    };
}

impl TrialStore for StudyStore {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, CoreStoreError> {
        forward!(self, load_trials())
    }

    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, CoreStoreError> {
        forward!(self, changes(after))
    }

    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, CoreStoreError> {
        forward!(self, claim_new(trial, budget, lease))
    }

    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, CoreStoreError> {
        forward!(self, claim_abandoned(lease))
    }

    fn resume_paused(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, CoreStoreError> {
        forward!(self, resume_paused(id, lease))
    }

    fn keep_alive(&mut self, id: u64, lease: &Lease) -> Result<Box<dyn LeaseKeeper>, CoreStoreError> {
        forward!(self, keep_alive(id, lease))
    }

    fn finish(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, CoreStoreError> {
        forward!(self, finish(trial, lease))
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), CoreStoreError> {
        forward!(self, append_intermediate(id, metrics))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Storage>();
        send::<StudyStore>();
        send_sync::<StoreError>();
    }

    #[test]
    fn urls() {
        let p = |s: &str| StorageUrl::Sqlite(PathBuf::from(s));
        assert_eq!(StorageUrl::parse("sqlite:runs/a.db").unwrap(), p("runs/a.db"));
        assert_eq!(StorageUrl::parse("sqlite://runs/a.db").unwrap(), p("runs/a.db"));
        assert_eq!(StorageUrl::parse("sqlite:///tmp/a.db").unwrap(), p("/tmp/a.db"));
        assert_eq!(StorageUrl::parse("SQLite:/tmp/a.db").unwrap(), p("/tmp/a.db"));
        assert_eq!(StorageUrl::parse("runs/a.db").unwrap(), p("runs/a.db"));
        assert_eq!(StorageUrl::parse("/tmp/a:b.db").unwrap(), p("/tmp/a:b.db"));
        assert_eq!(StorageUrl::parse("sqlite::memory:").unwrap(), StorageUrl::SqliteMemory);
        assert_eq!(StorageUrl::parse("memory:").unwrap(), StorageUrl::Memory);
        for url in ["postgresql://u:secret@host/db", "postgres://host/db", "POSTGRES://x"] {
            let parsed = StorageUrl::parse(url).unwrap();
            let StorageUrl::Postgres(pg) = &parsed else { panic!("{url}: {parsed:?}") };
            assert_eq!(pg.as_str(), url);
            assert!(!format!("{parsed:?} {pg}").contains("secret"));
        }
        let e = StorageUrl::parse("postgres:secret@host").unwrap_err();
        assert!(matches!(e, StoreError::BadUrl { .. }) && !e.to_string().contains("secret"), "{e}");
        let e = StorageUrl::parse("mysql://host/db").unwrap_err();
        assert!(e.to_string().contains("unknown storage URL scheme 'mysql'"), "{e}");
        for url in ["", "sqlite:", "sqlite://"] {
            assert!(matches!(StorageUrl::parse(url), Err(StoreError::EmptyPath { .. })), "{url}");
        }
    }
}
