//! The nasforge engine: one library under every front end (the command line, the Python package, the
//! dashboard). It owns what a study means: its stored configuration and the checks that keep a continued
//! study what it was ([`config`]), the registry of spaces and strategies ([`registry`]), the evaluator
//! factory ([`evaluators`]), studies opened, created and continued from a storage URL ([`StudyHandle`]),
//! worker threads ([`RunOptions`], [`StudyHandle::run`]), results as typed values ([`StudyResults`]: best
//! trial, Pareto front, hypervolume, counts), final training ([`train_final_architecture`]), the zero-cost
//! proxies' rank correlations with a ground truth ([`rank_proxies`]), ask-and-tell sessions for front ends
//! that evaluate trials themselves ([`AskTellSession`]) and architectures exported as JSON or PyTorch
//! source ([`export_arch`]).
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use nasforge_engine::{ConfigFile, RunOptions, StudyHandle, StudyRequest};
//!
//! # fn main() -> nasforge_engine::Result<()> {
//! let request = StudyRequest { trials: Some(50), ..StudyRequest::default() }; // NB201 table, evolution
//! let mut study = StudyHandle::open_or_new("sqlite:runs.db", "demo", &ConfigFile::default(), &request)?;
//! let report = study.run(RunOptions::default(), &AtomicBool::new(false), &|_| Box::new(()))?;
//! println!("best: {:?}", report.results.best().map(|t| &t.arch));
//! # Ok(())
//! # }
//! ```

mod arch_evaluator;
mod ask_tell;
mod chosen_arch;
pub mod config;
mod cost;
mod error;
pub mod evaluators;
mod export;
mod final_training;
mod follow;
pub mod latency;
mod latency_evaluator;
mod oneshot;
mod oneshot_state;
mod proxy_ranking;
pub mod registry;
mod results;
mod run;
mod study;
mod supernet;
mod warm_start;

pub use arch_evaluator::ArchEvaluator;
pub use ask_tell::{AskTellSession, AskedTrial};
pub use config::{
    ConfigFile, EvaluatorConfig, EvaluatorKind, StudyConfig, StudyRequest, TrainSettings, TrainingFlags, ZeroCostConfig,
};
pub use cost::{Calibration, CostEstimate, CostRequest, estimate_by_timing, estimate_from_study};
pub use error::{EngineError, Result};
pub use export::{ArchExport, ExportRequest, export_arch, export_architecture, study_network};
pub use final_training::{FinalTraining, FinalTrainingRequest, train_final_architecture};
pub use follow::StudyFollower;
pub use oneshot::{OneShotMethod, OneShotRequest, OneShotSearch, one_shot_search};
pub use proxy_ranking::{ProxyCorrelation, ProxyRanking, ProxyRankingRequest, rank_proxies};
pub use registry::{ArchForms, SpaceConfig, SpaceKind, SpaceTask, StrategyKind, arch_forms, with_space};
pub use results::{
    FinalTrainingRecord, Hypervolume, ParetoFront, StudyResults, TrialCounts, scored_trials, trial_json,
};
pub use run::{ObserverFactory, RunOptions, RunReport};
pub use study::{StudyHandle, list_studies};
pub use supernet::{SupernetRequest, train_saved_supernet};
pub use warm_start::warm_start_cells;

pub use nasforge_core::Told;
pub use nasforge_train::{DeviceChoice, NetworkScale, OnnxExport, ReferenceBatch};
