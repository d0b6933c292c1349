//! Evaluators of nasforge that read files or run programs but need no deep-learning library: the
//! benchmark-table evaluator (NAS-Bench-201 or any CSV with an `arch` column).

pub mod table;

pub use table::{Table, TableError, TableEvaluator};
