//! The nasforge engine core: search spaces, architectures, strategies, objectives, Pareto utilities and the
//! study loop. It does no I/O and has no deep-learning dependency; storage and evaluators plug in through traits.

pub mod space;
