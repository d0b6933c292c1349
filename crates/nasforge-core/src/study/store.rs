//! Where a study's trials live: the [`TrialStore`] contract every backend keeps, and [`MemoryStore`], the
//! in-memory backend of benchmarks and tests.

use std::collections::HashMap;

use super::lease::{Lease, LeaseKeeper};
use crate::trial::{Metrics, TrialRecord, TrialState};

/// An error of a store (SQLite, PostgreSQL, memory), carried through the study.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// What came of asking a store for a new trial.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The trial was recorded as running under the lease (with its id).
    Claimed(TrialRecord),
    /// A paid trial with the same canonical form is finished: a cache-hit trial copying its state, error
    /// and metrics was recorded (it costs nothing); the metrics the proposal carried (its own size:
    /// parameters, FLOPs, model bytes) override the copied ones.
    CacheHit(TrialRecord),
    /// A trial with the same canonical form is being evaluated by a worker: nothing was recorded.
    Busy,
    /// The study's paid trials (running ones included) reached the budget: nothing was recorded.
    BudgetReached,
}

/// Where a study's trials live. Several workers (threads, processes, machines) may share one study: every
/// operation that decides something (a new trial within the budget, a retry of an abandoned trial, a
/// result) is atomic in the store, and every change of a trial gives it the study's next version number,
/// so a worker follows the others by reading the changes after the last version it saw.
pub trait TrialStore {
    /// Every trial of the study, by id.
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, StoreError>;

    /// The trials changed after version `after` (each at most once, its current state), in the order of
    /// their last change, with the version of that change.
    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, StoreError>;

    /// Records `trial` (its id is ignored) as the study's next trial, running under `lease` — unless its
    /// canonical form was evaluated already (cache hit), is being evaluated (busy), or the study's paid
    /// trials reached `budget`. Atomic. `trial.metrics` holds what is known of the architecture before any
    /// evaluation (its size, see [`crate::Evaluator::size_metrics`]): a claimed trial keeps them until its
    /// result replaces them; a cache hit records them over the metrics it copies.
    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError>;

    /// Takes over one running trial whose lease ran out (or whose owner process on this host is gone):
    /// increments its attempts, clears its learning curve, and returns it running under `lease`. Atomic.
    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError>;

    /// Takes paused trial `id` (pruned, [`crate::scheduler::PAUSED_AT`] among its metrics) back as running
    /// under `lease`, keeping its learning curve, for the scheduler promoted it; `None` when it is not
    /// paused any more (another worker took it). Atomic.
    fn resume_paused(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, StoreError>;

    /// Keeps the lease on trial `id` alive until the returned keeper is dropped.
    fn keep_alive(&mut self, id: u64, lease: &Lease) -> Result<Box<dyn LeaseKeeper>, StoreError>;

    /// Records a finished trial's state, metrics, error and finish time, if `lease` still holds it.
    /// Returns false (and changes nothing) when the lease was lost and another worker took the trial over:
    /// a result is recorded exactly once.
    fn finish(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, StoreError>;

    /// Adds one intermediate result (an epoch of a learning curve) to a running trial.
    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError>;
}

/// A store that keeps trials in memory (benchmark comparisons, tests). Leases never run out in it.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    pub trials: Vec<TrialRecord>,
    /// The version of each trial's last change.
    versions: Vec<u64>,
    last_version: u64,
    /// Canonical key → the first paid trial with it.
    paid_by_canonical: HashMap<String, u64>,
}

impl MemoryStore {
    fn touch(&mut self, id: u64) {
        self.last_version += 1;
        self.versions[id as usize] = self.last_version;
    }

    fn trial_mut(&mut self, id: u64) -> Result<&mut TrialRecord, StoreError> {
        self.trials.get_mut(id as usize).ok_or_else(|| format!("no trial {id}").into())
    }

    /// Marks every running trial as abandoned by a dead process (what a store sees after a crash).
    pub fn abandon_running(&mut self) {
        for trial in &mut self.trials {
            if trial.state == TrialState::Running {
                trial.worker = None;
            }
        }
    }
}

impl TrialStore for MemoryStore {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, StoreError> {
        Ok(self.trials.clone())
    }

    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, StoreError> {
        let mut changed: Vec<(u64, TrialRecord)> = (self.versions.iter().zip(&self.trials))
            .filter(|(version, _)| **version > after)
            .map(|(version, trial)| (*version, trial.clone()))
            .collect();
        changed.sort_by_key(|(version, _)| *version);
        Ok(changed)
    }

    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError> {
        let same = self.paid_by_canonical.get(&trial.canonical).map(|&id| &self.trials[id as usize]);
        let claim = match same {
            Some(source) if source.state == TrialState::Running => return Ok(Claim::Busy),
            Some(source) => {
                let hit = TrialRecord {
                    id: self.trials.len() as u64,
                    state: source.state,
                    metrics: with_own_metrics(&source.metrics, &trial.metrics),
                    error: source.error.clone(),
                    cached_from: Some(source.id),
                    finished_at: Some(trial.started_at),
                    attempts: 0,
                    worker: Some(lease.owner.clone()),
                    ..trial.clone()
                };
                Claim::CacheHit(hit)
            }
            None => {
                if budget.is_some_and(|budget| self.paid_by_canonical.len() as u64 >= budget) {
                    return Ok(Claim::BudgetReached);
                }
                Claim::Claimed(TrialRecord {
                    id: self.trials.len() as u64,
                    state: TrialState::Running,
                    cached_from: None,
                    attempts: 1,
                    worker: Some(lease.owner.clone()),
                    ..trial.clone()
                })
            }
        };
        let (Claim::Claimed(record) | Claim::CacheHit(record)) = &claim else { unreachable!("returned above") };
        if record.is_paid() {
            self.paid_by_canonical.insert(record.canonical.clone(), record.id);
        }
        self.trials.push(record.clone());
        self.versions.push(0);
        self.touch(self.trials.len() as u64 - 1);
        Ok(claim)
    }

    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let Some(trial) = self.trials.iter_mut().find(|t| t.state == TrialState::Running && t.worker.is_none()) else {
            return Ok(None);
        };
        trial.attempts += 1;
        trial.intermediate.clear();
        trial.worker = Some(lease.owner.clone());
        let trial = trial.clone();
        self.touch(trial.id);
        Ok(Some(trial))
    }

    fn resume_paused(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        let trial = self.trial_mut(id)?;
        if !is_paused(trial) {
            return Ok(None);
        }
        trial.state = TrialState::Running;
        trial.worker = Some(lease.owner.clone());
        let trial = trial.clone();
        self.touch(id);
        Ok(Some(trial))
    }

    fn keep_alive(&mut self, _id: u64, _lease: &Lease) -> Result<Box<dyn LeaseKeeper>, StoreError> {
        Ok(Box::new(()))
    }

    fn finish(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, StoreError> {
        let slot = self.trial_mut(trial.id)?;
        if slot.state != TrialState::Running || slot.worker.as_deref() != Some(lease.owner.as_str()) {
            return Ok(false);
        }
        *slot = TrialRecord { intermediate: slot.intermediate.clone(), ..trial.clone() };
        self.touch(trial.id);
        Ok(true)
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        self.trial_mut(id)?.intermediate.push(metrics.clone());
        self.touch(id);
        Ok(())
    }
}

/// Whether a trial waits at a rung for a promotion (the scheduler may resume it).
pub fn is_paused(trial: &TrialRecord) -> bool {
    trial.state == TrialState::Pruned && trial.is_paid() && trial.metrics.contains_key(crate::scheduler::PAUSED_AT)
}

/// The metrics a cache hit records: the quality metrics of the trial it reuses, with its own size metrics.
pub fn with_own_metrics(source: &Metrics, own: &Metrics) -> Metrics {
    let mut metrics = source.clone();
    metrics.extend(own.iter().map(|(name, value)| (name.clone(), *value)));
    metrics
}
