//! Evaluators of nasforge that read files or run programs but need no deep-learning library: the
//! benchmark-table evaluator (NAS-Bench-201 or any CSV with an `arch` column) and the external-command
//! evaluator (any training program, in any language).

pub mod command;
pub mod table;

pub use command::CommandEvaluator;
pub use table::{Table, TableError, TableEvaluator};
