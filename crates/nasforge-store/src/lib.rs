//! Persistent nasforge studies: a [`Storage`] opened from a URL (`sqlite:PATH` now, PostgreSQL later) holds
//! studies and hands out a per-study store implementing nasforge-core's [`TrialStore`].
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

mod codec;
mod error;
mod sqlite;

use std::path::{Path, PathBuf};

use nasforge_core::study::{StoreError as CoreStoreError, TrialStore};
use nasforge_core::{Metrics, TrialRecord};

pub use error::StoreError;
pub use sqlite::{SCHEMA_VERSION, SqliteStorage, SqliteTrialStore};

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

/// Where a storage URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// An SQLite file (`sqlite:PATH`, `sqlite://PATH`, or a plain path).
    Sqlite(PathBuf),
    /// An in-memory SQLite database (`sqlite::memory:`), gone when the storage is dropped.
    SqliteMemory,
}

impl StorageUrl {
    /// Reads `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path` is `/abs/path`), `sqlite::memory:`
    /// or a plain path. `postgresql://…`/`postgres://…` and other `scheme://` URLs are errors.
    pub fn parse(url: &str) -> Result<StorageUrl, StoreError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgresql:") || lower.starts_with("postgres:") {
            return Err(StoreError::PostgresUnavailable);
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

/// A study storage, opened from a URL. Every method takes `&self`; a storage can be shared between
/// threads and the trial stores it hands out share its connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Storage {
    Sqlite(SqliteStorage),
}

impl Storage {
    /// Opens (creating it when missing) the storage at `url`: `sqlite:PATH`, `sqlite://PATH`, a plain path,
    /// or `sqlite::memory:`. Files that are not nasforge stores are refused and left untouched.
    pub fn open(url: &str) -> Result<Storage, StoreError> {
        match StorageUrl::parse(url)? {
            StorageUrl::Sqlite(path) => SqliteStorage::open(&path).map(Storage::Sqlite),
            StorageUrl::SqliteMemory => SqliteStorage::open_in_memory().map(Storage::Sqlite),
        }
    }

    /// The file of an SQLite storage (`:memory:` for an in-memory one).
    pub fn path(&self) -> &Path {
        match self {
            Storage::Sqlite(s) => s.path(),
        }
    }

    /// Creates a study; an error if one with that name exists.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        match self {
            Storage::Sqlite(s) => s.create_study(name, space, config_json),
        }
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        match self {
            Storage::Sqlite(s) => s.study(name),
        }
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        match self {
            Storage::Sqlite(s) => s.studies(),
        }
    }

    /// Replaces a study's configuration (a continued study with a larger budget).
    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        match self {
            Storage::Sqlite(s) => s.update_study_config(name, config_json),
        }
    }

    /// The trials of study `name` (which must exist), as a [`TrialStore`] for the study loop.
    pub fn trial_store(&self, name: &str) -> Result<StudyStore, StoreError> {
        match self {
            Storage::Sqlite(s) => s.trial_store(name).map(StudyStore::Sqlite),
        }
    }
}

/// The trials of one study in a [`Storage`]: what [`Storage::trial_store`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum StudyStore {
    Sqlite(SqliteTrialStore),
}

impl StudyStore {
    pub fn study_name(&self) -> &str {
        match self {
            StudyStore::Sqlite(s) => s.study_name(),
        }
    }
}

impl TrialStore for StudyStore {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, CoreStoreError> {
        match self {
            StudyStore::Sqlite(s) => s.load_trials(),
        }
    }

    fn insert_trial(&mut self, trial: &TrialRecord) -> Result<u64, CoreStoreError> {
        match self {
            StudyStore::Sqlite(s) => s.insert_trial(trial),
        }
    }

    fn update_trial(&mut self, trial: &TrialRecord) -> Result<(), CoreStoreError> {
        match self {
            StudyStore::Sqlite(s) => s.update_trial(trial),
        }
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), CoreStoreError> {
        match self {
            StudyStore::Sqlite(s) => s.append_intermediate(id, metrics),
        }
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
        for url in ["postgresql://u:secret@host/db", "postgres://host/db", "POSTGRES://x"] {
            let e = StorageUrl::parse(url).unwrap_err();
            assert!(matches!(e, StoreError::PostgresUnavailable));
            assert!(e.to_string().contains("PostgreSQL storage is not available yet"));
            assert!(!e.to_string().contains("secret"));
        }
        let e = StorageUrl::parse("mysql://host/db").unwrap_err();
        assert!(e.to_string().contains("unknown storage URL scheme 'mysql'"), "{e}");
        for url in ["", "sqlite:", "sqlite://"] {
            assert!(matches!(StorageUrl::parse(url), Err(StoreError::EmptyPath { .. })), "{url}");
        }
    }
}
