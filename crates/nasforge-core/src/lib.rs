//! The nasforge engine core: search spaces, architectures, strategies, objectives, Pareto utilities, the
//! study loop and the comparison harness. It does no I/O and has no deep-learning dependency; stores and
//! evaluators plug in through the traits of [`study`].

pub mod compare;
pub mod objective;
pub mod pareto;
pub mod predictor;
pub mod scheduler;
pub mod space;
pub mod strategy;
pub mod study;
pub mod trial;

pub use objective::{Comparison, Constraint, Direction, Objective, Objectives, Outcome};
pub use space::{ParseError, SearchSpace};
pub use strategy::{Strategy, StrategySpec};
pub use study::{
    Asked, EvalError, EvalRequest, Evaluator, Progress, Reporter, RunLimits, StopReason, Study, StudyError,
    StudyObserver, Told, TrialStore,
};
pub use trial::{Metrics, TrialRecord, TrialState};
