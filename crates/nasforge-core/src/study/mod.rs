//! The study: the loop that asks the strategy, answers repeated architectures from its cache, hands new
//! ones to the evaluator, records every trial in a store and tells the strategy. It rebuilds itself from a
//! store's history, so a stopped or killed study continues the same search.

mod ask_tell;
mod evaluator;
mod lease;
mod store;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;

use crate::objective::{Direction, Objectives, Outcome};
use crate::scheduler::{PAUSED_AT, RungDecision, RungTable, SchedulerConfig};
use crate::space::SearchSpace;
use crate::strategy::{Strategy, StrategyRng};
use crate::trial::{Metrics, TrialRecord, TrialState};

pub use ask_tell::{Asked, Told};
pub use evaluator::{EvalError, EvalRequest, Evaluator, Reporter};
pub use lease::{Lease, LeaseKeeper, now_seconds, this_host};
pub use store::{Claim, MemoryStore, StoreError, TrialStore, is_paused, with_own_metrics};

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error("storage: {0}")]
    Store(StoreError),
    /// The strategy cannot be built with its settings for this space and these objectives.
    #[error("strategy: {0}")]
    Strategy(String),
    #[error("trial {id} in the store: {message}")]
    History { id: u64, message: String },
    #[error("trial {id} ({arch}): {message}")]
    Evaluation { id: u64, arch: String, message: String },
    /// What the caller told of an asked trial was refused (nothing was recorded).
    #[error("trial {id} cannot be told so: {message}")]
    Told { id: u64, message: String },
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

pub struct Study<S: SearchSpace> {
    space: S,
    strategy: Box<dyn Strategy<S>>,
    objectives: Objectives,
    seed: u64,
    /// Every trial of the study known to this worker, by id.
    trials: Vec<TrialRecord>,
    /// Which trials the strategy was told about (they are finished).
    told: Vec<bool>,
    /// The store version this worker has seen up to.
    version: u64,
    progress: Progress,
    best: Option<Outcome>,
    /// The multi-fidelity scheduler's record of every trial's rung values, when the study has one.
    rungs: Option<RungTable>,
    /// Where evaluators keep the checkpoints of paused trials (`trial-ID` below it), when the scheduler
    /// pauses trials.
    checkpoints: Option<PathBuf>,
}

/// How long a worker waits before looking again at a study whose remaining trials other workers hold.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl<S: SearchSpace> Study<S> {
    /// Rebuilds a study from its store: replays every finished trial into the strategy in the order the
    /// trials finished. Trials still running belong to other workers (or to a dead
    /// process, and are retried by `run`).
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
            told: Vec::new(),
            version: 0,
            progress: Progress::default(),
            best: None,
            rungs: None,
            checkpoints: None,
        };
        study.sync(store, &mut ())?;
        Ok(study)
    }

    /// Adds a multi-fidelity scheduler: it compares the first objective at the rungs of `config` and stops
    /// trials that fall behind there (see [`crate::scheduler`]).
    pub fn with_scheduler(mut self, config: SchedulerConfig) -> Self {
        let objective = &self.objectives.objectives[0];
        let mut rungs = RungTable::new(config, objective.metric.clone(), objective.direction == Direction::Maximize);
        self.trials.iter().for_each(|trial| rungs.record(trial));
        self.rungs = Some(rungs);
        self
    }

    /// Where evaluators keep the checkpoints of paused trials, one directory per trial below `dir` (needed
    /// by a scheduler that pauses; every worker of the study must see the same directory).
    pub fn with_checkpoints(mut self, dir: PathBuf) -> Self {
        self.checkpoints = Some(dir);
        self
    }

    pub fn space(&self) -> &S {
        &self.space
    }

    /// Every trial known to this worker, by id.
    pub fn trials(&self) -> &[TrialRecord] {
        &self.trials
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Reads the store's changes since the last look: new and updated trials; each trial seen finished
    /// for the first time (or paused) is learned (counts, best, strategy) and shown to the observer, in the
    /// order the trials finished; a promoted trial that finishes again updates the best and is shown again
    /// (the strategy learned it at its first rung, as it learns a stopped one).
    fn sync(&mut self, store: &mut dyn TrialStore, observer: &mut dyn StudyObserver) -> Result<(), StudyError> {
        let changes = store.changes(self.version).map_err(StudyError::Store)?;
        // A trial appears once, in its latest state, so new trials may come out of id order.
        let mut by_id: Vec<&TrialRecord> = changes.iter().map(|(_, trial)| trial).collect();
        by_id.sort_by_key(|trial| trial.id);
        let mut finished_again = Vec::new();
        for trial in by_id {
            let id = trial.id as usize;
            if id > self.trials.len() {
                return Err(StudyError::History { id: trial.id, message: "trial ids have a gap".into() });
            }
            if id == self.trials.len() {
                self.trials.push(trial.clone());
                self.told.push(false);
            } else {
                // A learned trial that changed and is finished again was promoted (this worker may not have
                // seen it run).
                if self.told[id] && trial.state.is_finished() && *trial != self.trials[id] {
                    finished_again.push(id);
                }
                self.trials[id] = trial.clone();
            }
            if let Some(rungs) = &mut self.rungs {
                rungs.record(trial);
            }
        }
        for (version, trial) in &changes {
            self.version = self.version.max(*version);
            let id = trial.id as usize;
            if self.trials[id].state.is_finished() && !self.told[id] {
                self.learn(id)?;
                observer.trial_finished(&self.trials[id], &self.progress);
            } else if finished_again.contains(&id) {
                self.update_best(id)?;
                observer.trial_finished(&self.trials[id], &self.progress);
            }
        }
        Ok(())
    }

    /// The oriented outcome of a finished trial (`None` for a failed one, and for a pruned one that
    /// reported too little to have one).
    fn outcome_of(&self, trial: &TrialRecord) -> Result<Option<Outcome>, String> {
        match trial.state {
            TrialState::Complete => self.objectives.outcome(&trial.metrics).map(Some),
            TrialState::Pruned => Ok(self.objectives.outcome(&trial.metrics).ok()),
            TrialState::Failed | TrialState::Running => Ok(None),
        }
    }

    /// Updates counts, best trial and strategy with a finished trial.
    fn learn(&mut self, id: usize) -> Result<(), StudyError> {
        let trial = &self.trials[id];
        let history = |message: String| StudyError::History { id: trial.id, message };
        let arch = self
            .space
            .parse(&trial.arch)
            .map_err(|e| history(format!("{e} (was the store created for another space?)")))?;
        if trial.is_paid() {
            self.progress.paid += 1;
            self.progress.failed += u64::from(trial.state == TrialState::Failed);
        } else {
            self.progress.cache_hits += 1;
        }
        let outcome = self.update_best(id)?;
        self.told[id] = true;
        self.strategy.tell(&arch, outcome.as_ref());
        Ok(())
    }

    /// Makes finished trial `id` the best one if it is better; returns its outcome.
    fn update_best(&mut self, id: usize) -> Result<Option<Outcome>, StudyError> {
        let trial = &self.trials[id];
        let outcome = self.outcome_of(trial).map_err(|message| StudyError::History { id: trial.id, message })?;
        if let Some(outcome) = &outcome
            && self.best.as_ref().is_none_or(|best| outcome.better_than(best))
        {
            let metric = &self.objectives.objectives[0].metric;
            self.progress.best = trial.metrics.get(metric).copied();
            self.best = Some(outcome.clone());
        }
        Ok(outcome)
    }

    /// Paid trials, finished, paused or running (a promoted trial counts once).
    fn paid_or_running(&self) -> u64 {
        let running = (self.trials.iter().zip(&self.told))
            .filter(|(t, told)| t.state == TrialState::Running && t.is_paid() && !**told)
            .count();
        self.progress.paid + running as u64
    }

    /// Works on the study until a limit is reached or `stop` is set; returns why it stopped. Any number of
    /// workers may run this on one study at once, each with its own `Study` and store handle: each
    /// proposes while the others' trials are pending, retries trials whose worker died, and returns
    /// `Budget` once every paid trial of the budget is finished.
    pub fn run(
        &mut self,
        evaluator: &dyn Evaluator<S>,
        store: &mut dyn TrialStore,
        limits: &RunLimits,
        lease: &Lease,
        observer: &mut dyn StudyObserver,
        stop: &AtomicBool,
    ) -> Result<StopReason, StudyError> {
        let started = Instant::now();
        let size_metrics = |space: &S, arch: &S::Arch| evaluator.size_metrics(space, arch);
        let mut consecutive_repeats = 0;
        loop {
            self.sync(store, observer)?;
            self.progress.elapsed = started.elapsed();
            if stop.load(Ordering::Relaxed) {
                return Ok(StopReason::Interrupted);
            }
            if limits.time_budget.is_some_and(|budget| self.progress.elapsed >= budget) {
                return Ok(StopReason::Time);
            }
            if consecutive_repeats >= limits.max_consecutive_cache_hits {
                return Ok(StopReason::Exhausted);
            }
            if let Some(trial) = store.claim_abandoned(lease).map_err(StudyError::Store)? {
                self.evaluate(trial, evaluator, store, lease)?;
                continue;
            }
            // A promotion before a new trial (the promotion form of ASHA and Hyperband, synchronous
            // successive halving); promotions go on after the budget of new trials is spent.
            if let Some(id) = self.rungs.as_ref().and_then(RungTable::promotable) {
                if let Some(trial) = store.resume_paused(id, lease).map_err(StudyError::Store)? {
                    self.evaluate(trial, evaluator, store, lease)?;
                }
                continue;
            }
            let budget_left = limits.max_paid_trials.is_none_or(|max| self.paid_or_running() < max);
            if !budget_left {
                if limits.max_paid_trials.is_some_and(|max| self.progress.paid >= max) {
                    return Ok(StopReason::Budget);
                }
                // Other workers hold the last trials: wait for them (or for their leases to run out).
                std::thread::sleep(POLL_INTERVAL);
                continue;
            }
            match self.propose(&size_metrics, store, limits.max_paid_trials, lease, consecutive_repeats)? {
                Claim::Claimed(trial) => {
                    consecutive_repeats = 0;
                    self.evaluate(trial, evaluator, store, lease)?;
                }
                Claim::CacheHit(_) | Claim::Busy => consecutive_repeats += 1,
                Claim::BudgetReached => {}
            }
        }
    }

    /// Simulates `workers` workers whose evaluations all take the same time, in one thread and
    /// deterministically: keeps up to `workers` trials claimed, each proposed while the earlier ones are
    /// pending, and finishes the oldest first. With one worker it is `run`. It lets benchmarks measure how
    /// a strategy copes with trials in flight (budget and repeated proposals end it; no time budget).
    pub fn run_simulated_workers(
        &mut self,
        evaluator: &dyn Evaluator<S>,
        store: &mut dyn TrialStore,
        limits: &RunLimits,
        lease: &Lease,
        observer: &mut dyn StudyObserver,
        workers: usize,
    ) -> Result<StopReason, StudyError> {
        let mut in_flight = std::collections::VecDeque::new();
        let size_metrics = |space: &S, arch: &S::Arch| evaluator.size_metrics(space, arch);
        let mut consecutive_repeats = 0;
        loop {
            self.sync(store, observer)?;
            let exhausted = consecutive_repeats >= limits.max_consecutive_cache_hits;
            let budget_left = limits.max_paid_trials.is_none_or(|max| self.paid_or_running() < max);
            if in_flight.len() < workers.max(1) && !exhausted && budget_left {
                match self.propose(&size_metrics, store, limits.max_paid_trials, lease, consecutive_repeats)? {
                    Claim::Claimed(trial) => {
                        consecutive_repeats = 0;
                        in_flight.push_back(trial);
                        continue;
                    }
                    Claim::CacheHit(_) | Claim::Busy => {
                        consecutive_repeats += 1;
                        continue;
                    }
                    Claim::BudgetReached => {}
                }
            }
            match in_flight.pop_front() {
                Some(trial) => {
                    self.evaluate(trial, evaluator, store, lease)?;
                }
                None if exhausted => return Ok(StopReason::Exhausted),
                None => return Ok(StopReason::Budget),
            }
        }
    }

    /// Asks the strategy for the next architecture and claims it in the store. The generator is seeded
    /// from the study seed and the number of trials so far (and, after a proposal that another worker was
    /// evaluating, the number of such repeats), so one worker's proposals depend only on the history.
    fn propose(
        &mut self,
        size_metrics: &dyn Fn(&S, &S::Arch) -> Metrics,
        store: &mut dyn TrialStore,
        budget: Option<u64>,
        lease: &Lease,
        repeats: u64,
    ) -> Result<Claim, StudyError> {
        let mut seed = trial_seed(self.seed, self.trials.len() as u64);
        if repeats > 0 {
            seed = trial_seed(seed, repeats);
        }
        let pending: Vec<S::Arch> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Running)
            .filter_map(|t| self.space.parse(&t.arch).ok())
            .collect();
        let arch = self.strategy.ask(&mut StrategyRng::seed_from_u64(seed), &pending);
        let trial = TrialRecord {
            id: 0,
            arch: self.space.print(&arch),
            arch_json: self.space.to_json(&arch),
            canonical: self.space.canonical(&arch),
            state: TrialState::Running,
            metrics: size_metrics(&self.space, &arch),
            intermediate: Vec::new(),
            cached_from: None,
            seed,
            error: None,
            started_at: now_seconds(),
            finished_at: None,
            attempts: 1,
            worker: Some(lease.owner.clone()),
        };
        // The budget was checked against this worker's view; the store checks it again atomically.
        store.claim_new(&trial, budget, lease).map_err(StudyError::Store)
    }

    /// Evaluates a claimed trial under its lease and records the result (if the lease still holds); returns
    /// the trial as recorded.
    fn evaluate(
        &mut self,
        mut trial: TrialRecord,
        evaluator: &dyn Evaluator<S>,
        store: &mut dyn TrialStore,
        lease: &Lease,
    ) -> Result<TrialRecord, StudyError> {
        let arch =
            self.space.parse(&trial.arch).map_err(|e| StudyError::History { id: trial.id, message: e.message })?;
        let keeper = store.keep_alive(trial.id, lease).map_err(StudyError::Store)?;
        let checkpoint = self.checkpoints.as_ref().map(|dir| dir.join(format!("trial-{}", trial.id)));
        let request = EvalRequest {
            space: &self.space,
            arch: &arch,
            printed: &trial.arch,
            trial_id: trial.id,
            seed: trial.seed,
            checkpoint: checkpoint.as_deref(),
            reported: trial.intermediate.len(),
        };
        let mut reporter = StoreReporter {
            store,
            id: trial.id,
            seed: trial.seed,
            curve: std::mem::take(&mut trial.intermediate),
            rungs: self.rungs.as_mut(),
            version: self.version,
        };
        let result = evaluator.evaluate(&request, &mut reporter);
        let store = reporter.store;
        trial.intermediate = reporter.curve;
        let recorded = self.record(trial, result, store, lease)?;
        drop(keeper);
        Ok(recorded)
    }

    /// Records how a running trial ended (if `lease` still holds it): complete with its metrics, failed, or
    /// pruned with the metrics it reported last. A fatal evaluation error, or metrics without an objective,
    /// stays recorded as a failed trial and is returned. Returns the trial as recorded.
    fn record(
        &mut self,
        mut trial: TrialRecord,
        result: Result<Metrics, EvalError>,
        store: &mut dyn TrialStore,
        lease: &Lease,
    ) -> Result<TrialRecord, StudyError> {
        trial.finished_at = Some(now_seconds());
        trial.worker = Some(lease.owner.clone());
        trial.metrics.remove(PAUSED_AT);
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
            Err(stop @ (EvalError::Stopped(_) | EvalError::Paused { .. })) => {
                trial.state = TrialState::Pruned;
                if let Some(last) = trial.intermediate.last() {
                    trial.metrics.extend(last.iter().map(|(name, value)| (name.clone(), *value)));
                }
                if let EvalError::Paused { at, .. } = stop {
                    trial.metrics.insert(PAUSED_AT.to_string(), at);
                }
                trial.error = Some(stop.to_string());
            }
        }
        store.finish(&trial, lease).map_err(StudyError::Store)?;
        match fatal {
            // The trial stays recorded as failed; the study stops.
            Some(message) => Err(StudyError::Evaluation { id: trial.id, arch: trial.arch, message }),
            None => Ok(trial),
        }
    }
}

/// Writes intermediate results to the store as they arrive and keeps them for the trial record; with a
/// scheduler, reads what the other trials reported since (other workers' too) and stops this trial when it
/// falls behind at a rung.
struct StoreReporter<'a, 'r> {
    store: &'a mut dyn TrialStore,
    id: u64,
    seed: u64,
    curve: Vec<Metrics>,
    rungs: Option<&'r mut RungTable>,
    /// The store version the rung table has seen up to.
    version: u64,
}

impl Reporter for StoreReporter<'_, '_> {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.restore(metrics)?;
        let Some(rungs) = self.rungs.as_deref_mut() else { return Ok(()) };
        let changes =
            self.store.changes(self.version).map_err(|e| EvalError::Fatal(format!("reading the study: {e}")))?;
        for (version, trial) in &changes {
            self.version = self.version.max(*version);
            if trial.id != self.id {
                rungs.record(trial);
            }
        }
        let decision = rungs.decide(self.id, self.seed, &self.curve).map_err(EvalError::Fatal)?;
        match (decision.reason(&rungs.config().resource), decision) {
            (None, _) => Ok(()),
            (Some(reason), RungDecision::Pause { rung }) => Err(EvalError::Paused { reason, at: rung }),
            (Some(reason), _) => Err(EvalError::Stopped(reason)),
        }
    }

    fn restore(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.store
            .append_intermediate(self.id, metrics)
            .map_err(|e| EvalError::Fatal(format!("storing an intermediate result: {e}")))?;
        self.curve.push(metrics.clone());
        Ok(())
    }
}
