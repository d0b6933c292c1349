//! The errors of nasforge storage: each names the store (file path, or PostgreSQL URL without its
//! password) and what went wrong, and converts into nasforge-core's boxed `StoreError` so it travels
//! through the study loop.

use std::path::PathBuf;

/// An error opening or using a nasforge store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is empty or has no path after `sqlite:`.
    #[error("storage URL '{url}' names no file: use sqlite:PATH")]
    EmptyPath { url: String },

    /// A `postgresql://` or `postgres://` URL that cannot be read. `location` is the URL without its
    /// password.
    #[error("storage URL {location} is not a valid PostgreSQL URL: {message}")]
    BadUrl { location: String, message: String },

    /// A URL with a scheme this build does not know.
    #[error("unknown storage URL scheme '{scheme}': use sqlite:PATH (or a plain file path) or postgresql://…")]
    UnknownScheme { scheme: String },

    /// The file exists but does not start with the SQLite header (or SQLite says it is not a database).
    #[error("{path} is not an SQLite database (not a nasforge store); it was left untouched")]
    NotADatabase { path: PathBuf },

    /// A database that is not a nasforge store (another program's SQLite file, or a PostgreSQL database
    /// with tables of ours but no nasforge schema record).
    #[error("{store} is a database but not a nasforge store ({found}); it was left untouched")]
    ForeignDatabase { store: String, found: String },

    /// A nasforge store written by a newer nasforge with a schema this build does not know.
    #[error(
        "{store} has nasforge store schema version {found}, newer than the versions this build knows (up to {supported}): \
         use a newer nasforge; the store was left untouched"
    )]
    NewerSchema { store: String, found: i64, supported: i64 },

    /// The store cannot be created or written (missing directory, permission denied, read-only file).
    #[error("cannot write the store {path}: {reason}")]
    Unwritable { path: PathBuf, reason: String },

    /// An SQLite call failed.
    #[error("store {path}: {action}: {source}")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A PostgreSQL call failed (after the retries, for a lost connection).
    #[error("store {store}: {action}: {message}")]
    Postgres {
        store: String,
        action: &'static str,
        /// The server's message with its SQLSTATE, or the driver's error with its cause.
        message: String,
        /// The driver's error. Not reported as the error's `source()`: `message` says all it says, and
        /// error chains (anyhow's `{:#}`) would print it twice.
        error: postgres::Error,
    },

    /// A file system call failed while checking the store's file.
    #[error("store {path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The lease keeper's thread could not be started.
    #[error("store {store}: starting the lease keeper thread: {source}")]
    Thread {
        store: String,
        #[source]
        source: std::io::Error,
    },

    #[error("store {store}: a study named '{name}' exists already")]
    StudyExists { store: String, name: String },

    #[error("store {store}: no study named '{name}'")]
    NoStudy { store: String, name: String },

    #[error("study names must not be empty")]
    EmptyStudyName,

    #[error("store {store}: the configuration of study '{name}' is not valid JSON: {message}")]
    InvalidConfig { store: String, name: String, message: String },

    /// A final result whose payload is not JSON.
    #[error("store {store}: the final result of trial {trial} of study '{study}' is not valid JSON: {message}")]
    InvalidFinalResult { store: String, study: String, trial: u64, message: String },

    /// Text PostgreSQL cannot hold (a NUL character).
    #[error("store {store}: {what} contains a NUL character, which PostgreSQL text cannot hold")]
    NulInText { store: String, what: &'static str },

    #[error("store {store}: study '{study}' has no trial {id}")]
    NoTrial { store: String, study: String, id: u64 },

    /// A stored row cannot be read back (hand-edited or damaged store).
    #[error("store {store}: study '{study}', trial {id}: {message}")]
    Corrupt { store: String, study: String, id: u64, message: String },

    /// Another thread panicked while it used this store's connection.
    #[error("store {store}: the connection was left unusable by a panic in another thread")]
    Poisoned { store: String },
}
