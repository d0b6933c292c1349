//! The study loop with every strategy, on the NAS-Bench-201 space and a synthetic objective (a known
//! function of the cell, not a benchmark): budgets, deduplication, resume and retries.

use std::sync::atomic::AtomicBool;

use nasforge_core::space::{Nb201Op, Nb201Space};
use nasforge_core::strategy::StrategySpec;
use nasforge_core::study::{Claim, Lease, MemoryStore, RunLimits, StopReason, TrialStore};
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Objective, Objectives, Reporter, SearchSpace, Study, TrialState};

/// A deterministic score of a cell: convolutions score, pools less, `none` nothing; one edge fails.
struct Synthetic {
    failing: Option<String>,
    fatal: Option<String>,
}

impl Evaluator<Nb201Space> for Synthetic {
    fn evaluate(&self, request: &EvalRequest<'_, Nb201Space>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        if self.failing.as_deref() == Some(request.printed) {
            return Err(EvalError::Failed("diverged".into()));
        }
        if self.fatal.as_deref() == Some(request.printed) {
            return Err(EvalError::Fatal("table has no such architecture".into()));
        }
        let score: f64 = request
            .arch
            .ops
            .iter()
            .enumerate()
            .map(|(edge, op)| match op {
                Nb201Op::NorConv3x3 => 3.0 + edge as f64 * 0.1,
                Nb201Op::NorConv1x1 => 2.0,
                Nb201Op::AvgPool3x3 => 1.0,
                Nb201Op::SkipConnect => 0.5,
                Nb201Op::None => 0.0,
            })
            .sum();
        let size = request.arch.ops.iter().filter(|op| matches!(op, Nb201Op::NorConv3x3 | Nb201Op::NorConv1x1)).count();
        reporter.report(&Metrics::from([("epoch".into(), 1.0), ("score".into(), score / 2.0)]))?;
        Ok(Metrics::from([("score".into(), score), ("size".into(), size as f64)]))
    }
}

const PLAIN: Synthetic = Synthetic { failing: None, fatal: None };

fn objectives(names: &[&str]) -> Objectives {
    let list = names.iter().map(|n| n.parse::<Objective>().unwrap()).collect();
    Objectives::new(list, vec![]).unwrap()
}

fn open(spec: &StrategySpec, store: &mut MemoryStore, names: &[&str]) -> Study<Nb201Space> {
    let strategy = spec.build(&Nb201Space, names.len()).unwrap();
    Study::open(Nb201Space, strategy, objectives(names), 42, store).unwrap()
}

fn lease() -> Lease {
    Lease { owner: "test".into(), duration: std::time::Duration::from_secs(60) }
}

fn run(study: &mut Study<Nb201Space>, store: &mut MemoryStore, evaluator: &Synthetic, paid: u64) -> StopReason {
    let limits = RunLimits { max_paid_trials: Some(paid), ..RunLimits::default() };
    study.run(evaluator, store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap()
}

fn all_strategies() -> Vec<StrategySpec> {
    StrategySpec::NAMES.iter().map(|n| StrategySpec::from_name(n).unwrap()).collect()
}

#[test]
fn budget_counts_paid_evaluations_and_repeats_are_cache_hits() {
    for spec in all_strategies() {
        let mut store = MemoryStore::default();
        let mut study = open(&spec, &mut store, &["score"]);
        assert_eq!(run(&mut study, &mut store, &PLAIN, 150), StopReason::Budget);
        let paid: Vec<_> = store.trials.iter().filter(|t| t.is_paid()).collect();
        assert_eq!(paid.len(), 150, "{}", spec.name());
        let mut keys: Vec<&str> = paid.iter().map(|t| t.canonical.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 150, "{}: a canonical architecture was paid for twice", spec.name());
        for hit in store.trials.iter().filter(|t| !t.is_paid()) {
            let source = &store.trials[hit.cached_from.unwrap() as usize];
            assert_eq!((hit.canonical.as_str(), &hit.metrics), (source.canonical.as_str(), &source.metrics));
        }
        assert!(store.trials.iter().all(|t| t.state == TrialState::Complete));
        assert_eq!(study.progress().paid, 150);
    }
}

#[test]
fn a_resumed_study_proposes_what_a_straight_run_proposes() {
    for spec in all_strategies() {
        let names: &[&str] = if spec.is_multi_objective() { &["score", "size:min"] } else { &["score"] };
        let mut straight = MemoryStore::default();
        let mut study = open(&spec, &mut straight, names);
        run(&mut study, &mut straight, &PLAIN, 100);

        let mut resumed = MemoryStore::default();
        let mut first = open(&spec, &mut resumed, names);
        run(&mut first, &mut resumed, &PLAIN, 60);
        drop(first);
        let mut second = open(&spec, &mut resumed, names);
        run(&mut second, &mut resumed, &PLAIN, 100);

        let archs = |s: &MemoryStore| s.trials.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
        assert_eq!(archs(&straight), archs(&resumed), "{}", spec.name());
    }
}

#[test]
fn evolution_and_local_search_find_better_cells_than_random() {
    let best = |name: &str| {
        let mut total = 0.0;
        for seed in 0..20 {
            let mut store = MemoryStore::default();
            let strategy = StrategySpec::from_name(name).unwrap().build(&Nb201Space, 1).unwrap();
            let mut study = Study::open(Nb201Space, strategy, objectives(&["score"]), seed, &mut store).unwrap();
            run(&mut study, &mut store, &PLAIN, 60);
            total += study.progress().best.unwrap();
        }
        total / 20.0
    };
    let random = best("random");
    for name in ["evolution", "local", "nsga2"] {
        assert!(best(name) > random + 0.5, "{name} did not beat random ({random})");
    }
}

#[test]
fn failed_trials_are_recorded_and_the_search_goes_on() {
    let first = Nb201Space.print(&Nb201Space.sample(&mut <nasforge_core::strategy::StrategyRng as rand::SeedableRng>::seed_from_u64(
        nasforge_core::study::trial_seed(42, 0),
    )));
    let evaluator = Synthetic { failing: Some(first.clone()), fatal: None };
    let mut store = MemoryStore::default();
    let mut study = open(&StrategySpec::Random, &mut store, &["score"]);
    run(&mut study, &mut store, &evaluator, 10);
    assert_eq!(store.trials[0].arch, first);
    assert_eq!(store.trials[0].state, TrialState::Failed);
    assert_eq!(store.trials[0].error.as_deref(), Some("diverged"));
    assert_eq!(study.progress().failed, 1);
    assert_eq!(study.progress().paid, 10);
    // Intermediate results were stored with each trial.
    let evaluated = store.trials[1..].iter().filter(|t| t.is_paid());
    assert!(evaluated.into_iter().all(|t| t.intermediate.len() == 1));
}

#[test]
fn a_fatal_error_stops_the_study_and_keeps_what_was_done() {
    let mut store = MemoryStore::default();
    let mut study = open(&StrategySpec::Random, &mut store, &["score"]);
    run(&mut study, &mut store, &PLAIN, 5);
    let next = Nb201Space.print(&Nb201Space.sample(&mut <nasforge_core::strategy::StrategyRng as rand::SeedableRng>::seed_from_u64(
        nasforge_core::study::trial_seed(42, 5),
    )));
    let evaluator = Synthetic { failing: None, fatal: Some(next) };
    let limits = RunLimits { max_paid_trials: Some(10), ..RunLimits::default() };
    let err = study.run(&evaluator, &mut store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap_err();
    assert!(err.to_string().contains("table has no such architecture"), "{err}");
    assert_eq!(store.trials.len(), 6);
    assert!(store.trials[..5].iter().all(|t| t.state == TrialState::Complete));
    assert_eq!(store.trials[5].state, TrialState::Failed);
}

#[test]
fn a_missing_objective_metric_names_it() {
    let mut store = MemoryStore::default();
    let mut study = open(&StrategySpec::Random, &mut store, &["accuracy"]);
    let limits = RunLimits { max_paid_trials: Some(3), ..RunLimits::default() };
    let err = study.run(&PLAIN, &mut store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap_err();
    assert!(err.to_string().contains("metric 'accuracy' is not among the evaluation's metrics (score, size)"), "{err}");
}

#[test]
fn a_trial_left_running_by_a_dead_process_is_retried_once() {
    let mut store = MemoryStore::default();
    let mut study = open(&StrategySpec::from_name("evolution").unwrap(), &mut store, &["score"]);
    run(&mut study, &mut store, &PLAIN, 30);
    // A process claims trial 30 and dies during its evaluation: the store holds it as running.
    let mut running = store.trials[0].clone();
    running.arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|".into();
    running.canonical = Nb201Space.canonical(&Nb201Space.parse(&running.arch).unwrap());
    let Claim::Claimed(claimed) = store.claim_new(&running, None, &lease()).unwrap() else { panic!("not claimed") };
    let id = claimed.id;
    store.append_intermediate(id, &Metrics::from([("epoch".into(), 1.0)])).unwrap();
    store.abandon_running();
    let mut study = open(&StrategySpec::from_name("evolution").unwrap(), &mut store, &["score"]);
    assert_eq!(study.progress().paid, 30);
    run(&mut study, &mut store, &PLAIN, 31);
    let retried = &store.trials[id as usize];
    assert_eq!(retried.state, TrialState::Complete);
    assert_eq!(retried.attempts, 2);
    assert_eq!(retried.intermediate.len(), 1, "the dead attempt's learning curve was replaced");
    assert_eq!(store.trials.len() as u64, id + 1, "the retry used the same trial, not a new one");
}

#[test]
fn an_exhausted_space_stops_instead_of_looping() {
    // Random search asked for more distinct networks than the space's 4,930 runs out of new ones.
    let mut store = MemoryStore::default();
    let mut study = open(&StrategySpec::Random, &mut store, &["score"]);
    let limits = RunLimits { max_paid_trials: Some(100_000), max_consecutive_cache_hits: 2_000, ..RunLimits::default() };
    let reason = study.run(&PLAIN, &mut store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap();
    assert_eq!(reason, StopReason::Exhausted);
    assert!(study.progress().paid > 4_000 && study.progress().paid <= 4_930, "{}", study.progress().paid);
}

/// A known function of any space's decisions: the mean position of each choice in its list.
struct DecisionScore;

impl<S: SearchSpace> Evaluator<S> for DecisionScore {
    fn evaluate(&self, request: &EvalRequest<'_, S>, _reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let sizes = request.space.decision_sizes();
        let decisions = request.space.to_decisions(request.arch);
        let score = decisions.iter().zip(&sizes).map(|(&d, &n)| d as f64 / n as f64).sum::<f64>() / sizes.len() as f64;
        Ok(Metrics::from([("score".into(), score)]))
    }
}

fn every_strategy_runs_and_resumes_on<S: SearchSpace>(space: S) {
    for spec in all_strategies() {
        let run_to = |store: &mut MemoryStore, paid: u64| {
            let strategy = spec.build(&space, 1).unwrap();
            let mut study = Study::open(space.clone(), strategy, objectives(&["score"]), 9, store).unwrap();
            let limits = RunLimits { max_paid_trials: Some(paid), ..RunLimits::default() };
            study.run(&DecisionScore, store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap();
        };
        let mut straight = MemoryStore::default();
        run_to(&mut straight, 40);
        let mut resumed = MemoryStore::default();
        run_to(&mut resumed, 25);
        run_to(&mut resumed, 40);
        let archs = |s: &MemoryStore| s.trials.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
        assert_eq!(archs(&straight), archs(&resumed), "{} on {}", spec.name(), S::NAME);
        let paid: Vec<_> = straight.trials.iter().filter(|t| t.is_paid()).collect();
        assert_eq!(paid.len(), 40, "{} on {}", spec.name(), S::NAME);
        for trial in &straight.trials {
            let arch = space.parse(&trial.arch).unwrap();
            space.validate(&arch).unwrap();
            assert_eq!(space.from_json(&trial.arch_json).unwrap(), arch);
        }
    }
}

#[test]
fn every_strategy_runs_and_resumes_on_chain_and_darts() {
    every_strategy_runs_and_resumes_on(nasforge_core::space::ChainSpace::default());
    every_strategy_runs_and_resumes_on(nasforge_core::space::DartsSpace::default());
}
