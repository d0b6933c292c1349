//! Asynchronous workers in simulated time: a store that reveals each evaluated trial only when its
//! simulated duration has passed, so that every proposal is made while the other workers' trials are pending.

use std::time::Duration;

use crate::study::{Claim, Lease, LeaseKeeper, MemoryStore, StoreError, TrialStore};
use crate::trial::{Metrics, TrialRecord, TrialState};

/// The lease of the simulated study (it never runs out in memory).
pub(super) fn simulation_lease() -> Lease {
    Lease { owner: "compare".into(), duration: Duration::from_secs(3600) }
}

/// Simulates `workers` workers around a [`MemoryStore`], for a study run one trial at a time
/// (`Study::run_simulated_workers` with one worker). The study evaluates each claimed trial at once; this
/// store keeps the result hidden (the trial stays running, so a repeat of its network is busy, not a cache
/// hit) until the simulated clock reaches its finish time. A trial starts when it is claimed, at the time
/// its worker became free, and lasts `time_metric` of its result (seconds; a failed one none), or one unit without one. While
/// fewer than `workers` trials are in flight a new one starts at once; otherwise the clock moves to the
/// earliest finish (the oldest trial among equal ones) and that trial is revealed. With equal durations
/// this is `workers` synchronous workers whose oldest trial finishes first. Revealed trials carry their
/// simulated start and finish times (seconds from the start).
pub(super) struct SimulatedWorkers<'a> {
    store: MemoryStore,
    workers: usize,
    time_metric: Option<&'a str>,
    lease: Lease,
    clock: f64,
    /// Claimed trials not yet evaluated, with their start time.
    starting: Vec<(u64, f64)>,
    /// Evaluated trials not yet revealed, with their finish time, in the order they started.
    in_flight: Vec<(f64, TrialRecord)>,
    /// Paid trials' ids in the order they finished.
    finished: Vec<u64>,
}

impl<'a> SimulatedWorkers<'a> {
    pub(super) fn new(workers: usize, time_metric: Option<&'a str>) -> Self {
        SimulatedWorkers {
            store: MemoryStore::default(),
            workers: workers.max(1),
            time_metric,
            lease: simulation_lease(),
            clock: 0.0,
            starting: Vec::new(),
            in_flight: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Reveals the trial in flight that finishes first; false when none is in flight.
    fn reveal_next(&mut self) -> Result<bool, StoreError> {
        let next = (self.in_flight.iter().enumerate()).min_by(|a, b| a.1.0.total_cmp(&b.1.0)).map(|(i, _)| i);
        let Some(index) = next else { return Ok(false) };
        let (finish, trial) = self.in_flight.remove(index);
        self.clock = self.clock.max(finish);
        self.store.finish(&trial, &self.lease)?;
        self.finished.push(trial.id);
        Ok(true)
    }

    /// Lets the trials still in flight finish and returns the paid trials in the order they finished.
    pub(super) fn finish_all(mut self) -> Result<Vec<TrialRecord>, StoreError> {
        while self.reveal_next()? {}
        Ok(self.finished.iter().map(|&id| self.store.trials[id as usize].clone()).collect())
    }
}

impl TrialStore for SimulatedWorkers<'_> {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, StoreError> {
        self.store.load_trials()
    }

    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, StoreError> {
        self.store.changes(after)
    }

    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, StoreError> {
        let claim = self.store.claim_new(trial, budget, lease)?;
        if let Claim::Claimed(claimed) = &claim {
            self.starting.push((claimed.id, self.clock));
        }
        Ok(claim)
    }

    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        self.store.claim_abandoned(lease)
    }

    /// Table evaluations report no rungs: nothing is ever paused in a simulation.
    fn resume_paused(&mut self, _id: u64, _lease: &Lease) -> Result<Option<TrialRecord>, StoreError> {
        Ok(None)
    }

    fn keep_alive(&mut self, id: u64, lease: &Lease) -> Result<Box<dyn LeaseKeeper>, StoreError> {
        self.store.keep_alive(id, lease)
    }

    fn finish(&mut self, trial: &TrialRecord, _lease: &Lease) -> Result<bool, StoreError> {
        let index = (self.starting.iter().position(|(id, _)| *id == trial.id))
            .ok_or_else(|| format!("trial {} finished without being claimed", trial.id))?;
        let (_, started) = self.starting.remove(index);
        let duration = match self.time_metric {
            None => 1.0,
            Some(metric) => match trial.metrics.get(metric) {
                Some(&seconds) => seconds,
                // A failed evaluation has no result to time; it frees its worker at once.
                None if trial.state == TrialState::Failed => 0.0,
                None => return Err(format!("trial {} ({}) has no `{metric}` to time it", trial.id, trial.arch).into()),
            },
        };
        let finish = started + duration;
        let timed = TrialRecord { started_at: started, finished_at: Some(finish), ..trial.clone() };
        self.in_flight.push((finish, timed));
        while self.in_flight.len() >= self.workers {
            self.reveal_next()?;
        }
        Ok(true)
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), StoreError> {
        self.store.append_intermediate(id, metrics)
    }
}
