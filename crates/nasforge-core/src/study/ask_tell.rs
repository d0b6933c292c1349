//! Ask and tell: the study driven from outside (a Python loop, a user's own trainer) instead of by an
//! [`Evaluator`](super::Evaluator). The caller asks for a trial, may report its learning curve (and hear
//! from the scheduler that it should stop), and tells how it ended; the store, the cache of repeated
//! architectures, the budget, the leases and the strategy work as in [`Study::run`].

use super::{Claim, EvalError, Lease, Reporter, RunLimits, StoreReporter, Study, StudyError, TrialStore};
use crate::space::SearchSpace;
use crate::trial::{Metrics, TrialRecord, TrialState};

/// What asking a study for a trial gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Asked {
    /// A trial to evaluate, running under the caller's lease: a new proposal or one whose worker died.
    Trial(Box<TrialRecord>),
    /// The study's paid trials (running ones included) reached the budget.
    BudgetReached,
    /// The strategy proposed only architectures evaluated already, `max_consecutive_cache_hits` times.
    Exhausted,
}

/// How the caller says an asked trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Told {
    /// Evaluated: the metrics, the objectives' among them.
    Complete(Metrics),
    /// The evaluation failed, for this reason; the search goes on.
    Failed(String),
    /// The caller stopped it early (as the scheduler advised, or on its own): it ends as pruned with the
    /// metrics it reported last.
    Pruned(String),
}

impl<S: SearchSpace> Study<S> {
    /// The next trial to evaluate: a trial abandoned by a dead worker, or a new proposal of the strategy
    /// (a proposal evaluated already is recorded as a free cache hit and the strategy asked again).
    /// `size_metrics` gives what is known of an architecture before it is evaluated (its parameters…).
    pub fn ask(
        &mut self,
        size_metrics: &dyn Fn(&S, &S::Arch) -> Metrics,
        store: &mut dyn TrialStore,
        limits: &RunLimits,
        lease: &Lease,
    ) -> Result<Asked, StudyError> {
        let mut consecutive_repeats = 0;
        loop {
            self.sync(store, &mut ())?;
            if let Some(trial) = store.claim_abandoned(lease).map_err(StudyError::Store)? {
                return Ok(Asked::Trial(Box::new(trial)));
            }
            if consecutive_repeats >= limits.max_consecutive_cache_hits {
                return Ok(Asked::Exhausted);
            }
            if limits.max_paid_trials.is_some_and(|max| self.paid_or_running() >= max) {
                return Ok(Asked::BudgetReached);
            }
            match self.propose(size_metrics, store, limits.max_paid_trials, lease, consecutive_repeats)? {
                Claim::Claimed(trial) => return Ok(Asked::Trial(Box::new(trial))),
                Claim::CacheHit(_) | Claim::Busy => consecutive_repeats += 1,
                Claim::BudgetReached => return Ok(Asked::BudgetReached),
            }
        }
    }

    /// Records one intermediate result of an asked trial (appended to `trial.intermediate` and to the
    /// store). With a scheduler, returns why the trial should stop when it fell behind at a rung.
    pub fn report(
        &mut self,
        trial: &mut TrialRecord,
        metrics: &Metrics,
        store: &mut dyn TrialStore,
    ) -> Result<Option<String>, StudyError> {
        check_finite(trial.id, metrics)?;
        let mut reporter = StoreReporter {
            store,
            id: trial.id,
            seed: trial.seed,
            curve: std::mem::take(&mut trial.intermediate),
            rungs: self.rungs.as_mut(),
            version: self.version,
        };
        let decision = reporter.report(metrics);
        trial.intermediate = reporter.curve;
        match decision {
            Ok(()) => Ok(None),
            Err(EvalError::Stopped(reason)) => Ok(Some(reason)),
            // The engine refuses a pausing scheduler for asked trials: they keep no checkpoint to resume.
            Err(EvalError::Failed(message) | EvalError::Fatal(message) | EvalError::Paused { reason: message, .. }) => {
                Err(StudyError::Evaluation { id: trial.id, arch: trial.arch.clone(), message })
            }
        }
    }

    /// Records how an asked trial ended (its `intermediate` is the learning curve reported), if `lease`
    /// still holds it; the strategy learns it at the next ask. Metrics without every objective and
    /// constraint, or with a NaN, are refused and nothing is recorded: the trial is still running and may be
    /// told again.
    pub fn tell(
        &mut self,
        trial: TrialRecord,
        told: Told,
        store: &mut dyn TrialStore,
        lease: &Lease,
    ) -> Result<(), StudyError> {
        if trial.state != TrialState::Running {
            return Err(told_error(&trial, format!("it is {} already", trial.state)));
        }
        let result = match told {
            Told::Complete(metrics) => {
                check_finite(trial.id, &metrics)?;
                self.objectives.outcome(&metrics).map_err(|message| told_error(&trial, message))?;
                Ok(metrics)
            }
            Told::Failed(reason) => Err(EvalError::Failed(reason)),
            Told::Pruned(reason) => Err(EvalError::Stopped(reason)),
        };
        self.record(trial, result, store, lease)?;
        Ok(())
    }

    /// Evaluates an asked trial with `evaluator`, as [`Study::run`] would, and records how it ended (the
    /// strategy learns it at the next ask): returns its metrics, or why it failed or was stopped.
    pub fn evaluate_asked(
        &mut self,
        trial: TrialRecord,
        evaluator: &dyn super::Evaluator<S>,
        store: &mut dyn TrialStore,
        lease: &Lease,
    ) -> Result<Result<Metrics, String>, StudyError> {
        let recorded = self.evaluate(trial, evaluator, store, lease)?;
        Ok(match recorded.state {
            TrialState::Complete => Ok(recorded.metrics),
            _ => Err(recorded.error.unwrap_or_else(|| format!("the trial ended {}", recorded.state))),
        })
    }
}

fn told_error(trial: &TrialRecord, message: String) -> StudyError {
    StudyError::Told { id: trial.id, message }
}

/// Refuses metrics with a NaN or an infinity, naming it.
fn check_finite(id: u64, metrics: &Metrics) -> Result<(), StudyError> {
    match metrics.iter().find(|(_, value)| !value.is_finite()) {
        Some((name, value)) => Err(StudyError::Told { id, message: format!("metric '{name}' is {value}") }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use crate::Objectives;
    use crate::space::Nb201Space;
    use crate::strategy::StrategySpec;
    use crate::study::MemoryStore;

    fn study(store: &mut MemoryStore, strategy: &str) -> Study<Nb201Space> {
        let strategy = StrategySpec::from_name(strategy).unwrap().build(&Nb201Space, 1).unwrap();
        let objectives = Objectives::new(vec!["acc".parse().unwrap()], vec![]).unwrap();
        Study::open(Nb201Space, strategy, objectives, 7, store).unwrap()
    }

    fn lease() -> Lease {
        Lease::for_this_process(0, Duration::from_secs(60))
    }

    /// A made-up score of an architecture: the number of its convolutions.
    fn score(arch: &str) -> f64 {
        arch.matches("conv").count() as f64
    }

    fn no_size(_: &Nb201Space, _: &<Nb201Space as SearchSpace>::Arch) -> Metrics {
        Metrics::new()
    }

    #[test]
    fn ask_tell_records_what_an_evaluator_run_records() {
        let limits = RunLimits { max_paid_trials: Some(12), ..RunLimits::default() };
        let mut asked_store = MemoryStore::default();
        let mut asked = study(&mut asked_store, "tpe");
        while let Asked::Trial(trial) = asked.ask(&no_size, &mut asked_store, &limits, &lease()).unwrap() {
            let metrics = Metrics::from([("acc".to_string(), score(&trial.arch))]);
            asked.tell(*trial, Told::Complete(metrics), &mut asked_store, &lease()).unwrap();
        }
        assert_eq!(asked.progress().paid, 12);

        struct Score;
        impl crate::Evaluator<Nb201Space> for Score {
            fn evaluate(
                &self,
                request: &crate::study::EvalRequest<'_, Nb201Space>,
                _: &mut dyn crate::study::Reporter,
            ) -> Result<Metrics, EvalError> {
                Ok(Metrics::from([("acc".to_string(), score(request.printed))]))
            }
        }
        let mut run_store = MemoryStore::default();
        let mut run = study(&mut run_store, "tpe");
        run.run(&Score, &mut run_store, &limits, &lease(), &mut (), &AtomicBool::new(false)).unwrap();
        let archs = |store: &MemoryStore| store.trials.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
        assert_eq!(archs(&asked_store), archs(&run_store));
    }

    #[test]
    fn bad_tells_are_refused_and_leave_the_trial_running() {
        let mut store = MemoryStore::default();
        let mut study = study(&mut store, "random");
        let Asked::Trial(trial) = study.ask(&no_size, &mut store, &RunLimits::default(), &lease()).unwrap() else {
            panic!("a new study has trials to ask")
        };
        let missing = Told::Complete(Metrics::from([("loss".to_string(), 1.0)]));
        let e = study.tell(*trial.clone(), missing, &mut store, &lease()).unwrap_err().to_string();
        assert!(e.contains("metric 'acc' is not among"), "{e}");
        let nan = Told::Complete(Metrics::from([("acc".to_string(), f64::NAN)]));
        let e = study.tell(*trial.clone(), nan, &mut store, &lease()).unwrap_err().to_string();
        assert!(e.contains("metric 'acc' is NaN"), "{e}");
        assert_eq!(store.trials[0].state, TrialState::Running);

        study.tell(*trial.clone(), Told::Failed("out of memory".into()), &mut store, &lease()).unwrap();
        assert_eq!(store.trials[0].state, TrialState::Failed);
        assert_eq!(store.trials[0].error.as_deref(), Some("out of memory"));
        let finished = store.trials[0].clone();
        let e = study.tell(finished, Told::Failed("again".into()), &mut store, &lease()).unwrap_err().to_string();
        assert!(e.contains("it is failed already"), "{e}");
    }

    #[test]
    fn a_pruned_trial_keeps_its_last_reported_metrics() {
        let mut store = MemoryStore::default();
        let mut study = study(&mut store, "random");
        let Asked::Trial(mut trial) = study.ask(&no_size, &mut store, &RunLimits::default(), &lease()).unwrap() else {
            panic!("a new study has trials to ask")
        };
        for epoch in 1..=3 {
            let metrics = Metrics::from([("epoch".to_string(), epoch as f64), ("acc".to_string(), 0.1 * epoch as f64)]);
            assert_eq!(study.report(&mut trial, &metrics, &mut store).unwrap(), None, "no scheduler, no stop");
        }
        study.tell(*trial, Told::Pruned("stopped by the caller".into()), &mut store, &lease()).unwrap();
        let stored = &store.trials[0];
        assert_eq!(stored.state, TrialState::Pruned);
        assert_eq!(stored.intermediate.len(), 3);
        assert!((stored.metrics["acc"] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn asking_stops_at_the_budget() {
        let mut store = MemoryStore::default();
        let mut study = study(&mut store, "random");
        let limits = RunLimits { max_paid_trials: Some(2), ..RunLimits::default() };
        let first = study.ask(&no_size, &mut store, &limits, &lease()).unwrap();
        let second = study.ask(&no_size, &mut store, &limits, &lease()).unwrap();
        assert!(matches!((first, second), (Asked::Trial(_), Asked::Trial(_))));
        assert_eq!(study.ask(&no_size, &mut store, &limits, &lease()).unwrap(), Asked::BudgetReached);
    }
}
