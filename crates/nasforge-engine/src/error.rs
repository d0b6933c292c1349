//! The engine's error: a bad request or configuration (its message names the field, flag or file), or an
//! error of a layer below (store, table, dataset, study loop), each with its own context.

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A request or configuration that cannot be honoured; the message says which field and why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] nasforge_store::StoreError),
    #[error(transparent)]
    Table(#[from] nasforge_eval::TableError),
    #[error(transparent)]
    Data(#[from] nasforge_train::DataError),
    #[error(transparent)]
    Study(#[from] nasforge_core::StudyError),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// Training failed outside a study (final training).
    #[error("{0}")]
    Training(String),
}

impl EngineError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        EngineError::Invalid(message.into())
    }
}

/// The engine's result.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Returns early with [`EngineError::Invalid`] built from a format string.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err($crate::error::EngineError::Invalid(format!($($arg)*)))
    };
}
pub(crate) use invalid;
