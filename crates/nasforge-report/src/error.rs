//! Why a report could not be made.

/// What can go wrong building a report's views.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A stored trial whose architecture its study's space cannot read.
    #[error("trial {trial}: its architecture is not one of the {space} space: {message}")]
    Architecture { trial: u64, space: &'static str, message: String },
}
