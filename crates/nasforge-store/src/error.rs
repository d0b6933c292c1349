//! The errors of nasforge storage: each names the store (file path or URL kind) and what went wrong,
//! and converts into nasforge-core's boxed `StoreError` so it travels through the study loop.

use std::path::PathBuf;

/// An error opening or using a nasforge store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is empty or has no path after `sqlite:`.
    #[error("storage URL '{url}' names no file: use sqlite:PATH")]
    EmptyPath { url: String },

    /// A `postgresql://` or `postgres://` URL: not supported by this build yet. The URL is not repeated
    /// because it may hold a password.
    #[error("PostgreSQL storage is not available yet: use a sqlite:PATH storage URL")]
    PostgresUnavailable,

    /// A URL with a scheme this build does not know.
    #[error("unknown storage URL scheme '{scheme}': use sqlite:PATH (or a plain file path)")]
    UnknownScheme { scheme: String },

    /// The file exists but does not start with the SQLite header (or SQLite says it is not a database).
    #[error("{path} is not an SQLite database (not a nasforge store); it was left untouched")]
    NotADatabase { path: PathBuf },

    /// An SQLite database that is not a nasforge store (another program's database).
    #[error("{path} is an SQLite database but not a nasforge store ({found}); it was left untouched")]
    ForeignDatabase { path: PathBuf, found: String },

    /// A nasforge store written by a newer nasforge with a schema this build does not know.
    #[error(
        "{path} has nasforge store schema version {found}, newer than the versions this build knows (up to {supported}): \
         use a newer nasforge; the file was left untouched"
    )]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },

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

    /// A file system call failed while checking the store's file.
    #[error("store {path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("store {path}: a study named '{name}' exists already")]
    StudyExists { path: PathBuf, name: String },

    #[error("store {path}: no study named '{name}'")]
    NoStudy { path: PathBuf, name: String },

    #[error("study names must not be empty")]
    EmptyStudyName,

    #[error("store {path}: the configuration of study '{name}' is not valid JSON: {message}")]
    InvalidConfig { path: PathBuf, name: String, message: String },

    #[error("store {path}: study '{study}' has no trial {id}")]
    NoTrial { path: PathBuf, study: String, id: u64 },

    /// A stored row cannot be read back (hand-edited or damaged file).
    #[error("store {path}: study '{study}', trial {id}: {message}")]
    Corrupt { path: PathBuf, study: String, id: u64, message: String },

    /// Another thread panicked while it used this store's connection.
    #[error("store {path}: the connection was left unusable by a panic in another thread")]
    Poisoned { path: PathBuf },
}
