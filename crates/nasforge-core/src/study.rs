//! The study: the loop that asks the strategy, answers repeated architectures from its cache, hands new
//! ones to the evaluator, records every trial in a store and tells the strategy. It rebuilds itself from a
//! store's history, so a stopped or killed study continues the same search.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;

use crate::objective::{Objectives, Outcome};
use crate::space::SearchSpace;
use crate::strategy::{Strategy, StrategyRng};
use crate::trial::{Metrics, TrialRecord, TrialState};

/// An error of a store (SQLite, PostgreSQL, memory), carried through the study.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where a study's trials live. The study is the only writer while it runs.
pub trait TrialStore {
    /// Every trial of the study, by id.
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, StoreError>;
    /// Records a new trial and returns its id (the next number of the study).
    fn insert_trial(&mut self, trial: &TrialRecord) -> Result<u64, StoreError>;
    /// Writes a trial's state, metrics, intermediate results, error, finish time and attempts.
    fn update_trial(&mut self, trial: &TrialRecord) -> Result<(), StoreError>;
    /// Adds one intermediate result (an epoch of a learning curve) to a running trial.
    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError>;
}

/// A store that keeps trials in memory (benchmark comparisons, tests).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    pub trials: Vec<TrialRecord>,
}

impl TrialStore for MemoryStore {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, StoreError> {
        Ok(self.trials.clone())
    }

    fn insert_trial(&mut self, trial: &TrialRecord) -> Result<u64, StoreError> {
        let id = self.trials.len() as u64;
        self.trials.push(TrialRecord { id, ..trial.clone() });
        Ok(id)
    }

    fn update_trial(&mut self, trial: &TrialRecord) -> Result<(), StoreError> {
        let slot = self.trials.get_mut(trial.id as usize).ok_or_else(|| format!("no trial {}", trial.id))?;
        *slot = trial.clone();
        Ok(())
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        let slot = self.trials.get_mut(id as usize).ok_or_else(|| format!("no trial {id}"))?;
        slot.intermediate.push(metrics.clone());
        Ok(())
    }
}

/// What an evaluator is asked to evaluate.
pub struct EvalRequest<'a, S: SearchSpace> {
    pub space: &'a S,
    pub arch: &'a S::Arch,
    /// The architecture's printed form.
    pub printed: &'a str,
    pub trial_id: u64,
    /// A seed for the evaluation's own randomness (weight initialisation, data order).
    pub seed: u64,
}

/// Receives intermediate results while an evaluation runs.
pub trait Reporter {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// This trial failed (diverged, timed out, crashed); the search goes on.
    #[error("{0}")]
    Failed(String),
    /// The evaluator cannot go on (missing data, a table without the architecture): the study stops.
    #[error("{0}")]
    Fatal(String),
}

/// Scores architectures: a benchmark table, real training, an external command, a zero-cost proxy.
pub trait Evaluator<S: SearchSpace>: Sync {
    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error("storage: {0}")]
    Store(StoreError),
    #[error("trial {id} in the store: {message}")]
    History { id: u64, message: String },
    #[error("trial {id} ({arch}): {message}")]
    Evaluation { id: u64, arch: String, message: String },
}

/// When a run stops: after a number of paid evaluations in the whole study, after a time, or when the
/// strategy keeps proposing architectures that were evaluated already (the space is exhausted).
#[derive(Debug, Clone, PartialEq)]
pub struct RunLimits {
    pub max_paid_trials: Option<u64>,
    pub time_budget: Option<Duration>,
    pub max_consecutive_cache_hits: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits { max_paid_trials: None, time_budget: None, max_consecutive_cache_hits: 1_000 }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Budget,
    Time,
    Interrupted,
    /// The strategy proposed only evaluated architectures for `max_consecutive_cache_hits` proposals.
    Exhausted,
}

/// Counts of a study, for progress lines and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    /// Evaluations paid for (complete or failed, not cache hits).
    pub paid: u64,
    pub cache_hits: u64,
    /// Paid evaluations that failed.
    pub failed: u64,
    /// The first objective's raw value of the best trial (Deb's rule), when there is one.
    pub best: Option<f64>,
    /// Time of this run so far.
    pub elapsed: Duration,
}

/// Watches a running study (progress bar, dashboard, logs).
pub trait StudyObserver {
    fn trial_finished(&mut self, trial: &TrialRecord, progress: &Progress);
}

impl StudyObserver for () {
    fn trial_finished(&mut self, _trial: &TrialRecord, _progress: &Progress) {}
}

/// The seed of trial `index` of a study seeded with `seed` (SplitMix64 of the pair): it seeds the
/// strategy's proposal and the evaluation.
pub fn trial_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

pub struct Study<S: SearchSpace> {
    space: S,
    strategy: Box<dyn Strategy<S>>,
    objectives: Objectives,
    seed: u64,
    trials: Vec<TrialRecord>,
    /// Canonical key → index of the paid, finished trial that evaluated it.
    cache: HashMap<String, usize>,
    /// Trials found running in the store (their process died): evaluated again first.
    to_retry: Vec<usize>,
    progress: Progress,
    best: Option<(usize, Outcome)>,
}

impl<S: SearchSpace> Study<S> {
    /// Rebuilds a study from its store: replays every finished trial into the strategy, fills the cache,
    /// and queues trials left running by a dead process for a retry.
    pub fn open(
        space: S,
        strategy: Box<dyn Strategy<S>>,
        objectives: Objectives,
        seed: u64,
        store: &mut dyn TrialStore,
    ) -> Result<Self, StudyError> {
        let mut study = Study {
            space,
            strategy,
            objectives,
            seed,
            trials: Vec::new(),
            cache: HashMap::new(),
            to_retry: Vec::new(),
            progress: Progress::default(),
            best: None,
        };
        for trial in store.load_trials().map_err(StudyError::Store)? {
            let arch = study.space.parse(&trial.arch).map_err(|e| StudyError::History {
                id: trial.id,
                message: format!("{e} (was the store created for another space?)"),
            })?;
            study.trials.push(trial);
            let index = study.trials.len() - 1;
            if study.trials[index].state == TrialState::Running {
                study.to_retry.push(index);
            } else {
                let outcome = study.outcome_of(index).map_err(|message| StudyError::History { id: study.trials[index].id, message })?;
                study.learn(index, &arch, outcome);
            }
        }
        Ok(study)
    }

    pub fn trials(&self) -> &[TrialRecord] {
        &self.trials
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// The oriented outcome of a finished trial (`None` for a failed one).
    fn outcome_of(&self, index: usize) -> Result<Option<Outcome>, String> {
        let trial = &self.trials[index];
        match trial.state {
            TrialState::Complete | TrialState::Pruned => self.objectives.outcome(&trial.metrics).map(Some),
            TrialState::Failed | TrialState::Running => Ok(None),
        }
    }

    /// Updates counts, cache, best trial and strategy with a finished trial.
    fn learn(&mut self, index: usize, arch: &S::Arch, outcome: Option<Outcome>) {
        let trial = &self.trials[index];
        if trial.is_paid() {
            self.progress.paid += 1;
            self.progress.failed += u64::from(trial.state == TrialState::Failed);
            self.cache.entry(trial.canonical.clone()).or_insert(index);
        } else {
            self.progress.cache_hits += 1;
        }
        if let Some(outcome) = &outcome {
            if self.best.as_ref().is_none_or(|(_, best)| outcome.better_than(best)) {
                let metric = &self.objectives.objectives[0].metric;
                self.progress.best = trial.metrics.get(metric).copied();
                self.best = Some((index, outcome.clone()));
            }
        }
        self.strategy.tell(arch, outcome.as_ref());
    }

    /// Runs until a limit is reached or `stop` is set; returns why it stopped.
    pub fn run(
        &mut self,
        evaluator: &dyn Evaluator<S>,
        store: &mut dyn TrialStore,
        limits: &RunLimits,
        observer: &mut dyn StudyObserver,
        stop: &AtomicBool,
    ) -> Result<StopReason, StudyError> {
        let started = Instant::now();
        let mut consecutive_cache_hits = 0;
        loop {
            self.progress.elapsed = started.elapsed();
            if stop.load(Ordering::Relaxed) {
                return Ok(StopReason::Interrupted);
            }
            if limits.max_paid_trials.is_some_and(|max| self.progress.paid >= max) {
                return Ok(StopReason::Budget);
            }
            if limits.time_budget.is_some_and(|budget| self.progress.elapsed >= budget) {
                return Ok(StopReason::Time);
            }
            if consecutive_cache_hits >= limits.max_consecutive_cache_hits {
                return Ok(StopReason::Exhausted);
            }
            let index = match self.to_retry.pop() {
                Some(index) => {
                    let trial = &mut self.trials[index];
                    trial.attempts += 1;
                    trial.intermediate.clear();
                    trial.error = Some(format!("retried: attempt {} after an interrupted run", trial.attempts));
                    store.update_trial(trial).map_err(StudyError::Store)?;
                    index
                }
                None => match self.propose(store)? {
                    Some(index) => index,
                    None => {
                        consecutive_cache_hits += 1;
                        let trial = self.trials.last().expect("a cache hit was recorded");
                        observer.trial_finished(trial, &self.progress);
                        continue;
                    }
                },
            };
            consecutive_cache_hits = 0;
            self.evaluate(index, evaluator, store)?;
            self.progress.elapsed = started.elapsed();
            observer.trial_finished(&self.trials[index], &self.progress);
        }
    }

    /// Asks the strategy for the next architecture. A repeated canonical form is answered from the cache
    /// and recorded as a finished cache hit (returns `None`); a new one is recorded as running.
    fn propose(&mut self, store: &mut dyn TrialStore) -> Result<Option<usize>, StudyError> {
        let seed = trial_seed(self.seed, self.trials.len() as u64);
        let arch = self.strategy.ask(&mut StrategyRng::seed_from_u64(seed), &[]);
        let canonical = self.space.canonical(&arch);
        let source = self.cache.get(&canonical).map(|&i| &self.trials[i]);
        let now = now_seconds();
        let mut trial = TrialRecord {
            id: 0,
            arch: self.space.print(&arch),
            arch_json: self.space.to_json(&arch),
            canonical,
            state: source.map_or(TrialState::Running, |s| s.state),
            metrics: source.map(|s| s.metrics.clone()).unwrap_or_default(),
            intermediate: Vec::new(),
            cached_from: source.map(|s| s.id),
            seed,
            error: source.and_then(|s| s.error.clone()),
            started_at: now,
            finished_at: source.map(|_| now),
            attempts: u32::from(source.is_none()),
        };
        let cache_hit = source.is_some();
        trial.id = store.insert_trial(&trial).map_err(StudyError::Store)?;
        self.trials.push(trial);
        let index = self.trials.len() - 1;
        if cache_hit {
            let outcome = self.outcome_of(index).expect("a cached result has the objectives' metrics");
            self.learn(index, &arch, outcome);
            Ok(None)
        } else {
            Ok(Some(index))
        }
    }

    fn evaluate(&mut self, index: usize, evaluator: &dyn Evaluator<S>, store: &mut dyn TrialStore) -> Result<(), StudyError> {
        let arch = self.space.parse(&self.trials[index].arch).expect("the study printed this architecture");
        let trial = &self.trials[index];
        let request =
            EvalRequest { space: &self.space, arch: &arch, printed: &trial.arch, trial_id: trial.id, seed: trial.seed };
        let mut reporter = StoreReporter { store, id: trial.id, curve: Vec::new() };
        let result = evaluator.evaluate(&request, &mut reporter);
        let curve = reporter.curve;
        let trial = &mut self.trials[index];
        trial.intermediate = curve;
        trial.finished_at = Some(now_seconds());
        let mut fatal = None;
        match result.map(|metrics| self.objectives.outcome(&metrics).map(|_| metrics)) {
            Ok(Ok(metrics)) => {
                trial.state = TrialState::Complete;
                trial.metrics = metrics;
                trial.error = None;
            }
            Ok(Err(message)) | Err(EvalError::Fatal(message)) => {
                trial.state = TrialState::Failed;
                trial.error = Some(message.clone());
                fatal = Some(message);
            }
            Err(EvalError::Failed(message)) => {
                trial.state = TrialState::Failed;
                trial.error = Some(message);
            }
        }
        store.update_trial(trial).map_err(StudyError::Store)?;
        if let Some(message) = fatal {
            // The trial stays recorded as failed; the study stops without learning from it.
            return Err(StudyError::Evaluation { id: trial.id, arch: trial.arch.clone(), message });
        }
        let outcome = self.outcome_of(index).expect("the metrics were checked");
        self.learn(index, &arch, outcome);
        Ok(())
    }
}

/// Writes intermediate results to the store as they arrive and keeps them for the trial record.
struct StoreReporter<'a> {
    store: &'a mut dyn TrialStore,
    id: u64,
    curve: Vec<Metrics>,
}

impl Reporter for StoreReporter<'_> {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.store
            .append_intermediate(self.id, metrics)
            .map_err(|e| EvalError::Fatal(format!("storing an intermediate result: {e}")))?;
        self.curve.push(metrics.clone());
        Ok(())
    }
}
