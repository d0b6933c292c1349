//! A storage in this process's memory (`memory:`): studies, their trials (nasforge-core's [`MemoryStore`])
//! and final results behind one lock, gone when the last handle is dropped. No SQL, no file, no lease
//! keeper thread: what a Python ask-and-tell loop that keeps nothing needs, at the least cost per trial.
//! The trial stores it hands out share its studies, so several sessions (threads) may work on one study.
//! Leases never run out in it: a trial asked and never told stays running.

use std::sync::{Arc, Mutex, MutexGuard};

use nasforge_core::study::{Claim, Lease, LeaseKeeper, MemoryStore, StoreError as CoreStoreError, TrialStore};
use nasforge_core::{Metrics, TrialRecord};

use crate::rows::{self, Scope};
use crate::{FinalResultRecord, StoreError, StudyRecord};

/// What [`MemoryStorage::location`] says.
const LOCATION: &str = "memory:";

struct MemoryStudy {
    record: StudyRecord,
    trials: Arc<Mutex<MemoryStore>>,
    final_results: Vec<FinalResultRecord>,
}

/// Studies in memory (see the module's documentation); clones share them.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    studies: Arc<Mutex<Vec<MemoryStudy>>>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStorage")
    }
}

fn poisoned() -> StoreError {
    StoreError::Poisoned { store: LOCATION.into() }
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// `memory:`, for messages.
    pub fn location(&self) -> &str {
        LOCATION
    }

    fn lock(&self) -> Result<MutexGuard<'_, Vec<MemoryStudy>>, StoreError> {
        self.studies.lock().map_err(|_| poisoned())
    }

    /// Runs `work` on study `name`, or fails naming it.
    fn with_study<T>(
        &self,
        name: &str,
        work: impl FnOnce(&mut MemoryStudy) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut studies = self.lock()?;
        match studies.iter_mut().find(|s| s.record.name == name) {
            Some(study) => work(study),
            None => Err(rows::no_study(LOCATION, name)),
        }
    }

    /// Creates a study; an error if the name is empty or taken, or the configuration is not JSON.
    pub fn create_study(&self, name: &str, space: &str, config_json: &str) -> Result<StudyRecord, StoreError> {
        let record = rows::new_study(LOCATION, name, space, config_json)?;
        let mut studies = self.lock()?;
        if studies.iter().any(|s| s.record.name == name) {
            return Err(rows::study_exists(LOCATION, name));
        }
        studies.push(MemoryStudy { record: record.clone(), trials: Arc::default(), final_results: Vec::new() });
        Ok(record)
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        Ok(self.lock()?.iter().find(|s| s.record.name == name).map(|s| s.record.clone()))
    }

    /// Every study, in creation order.
    pub fn studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        Ok(self.lock()?.iter().map(|s| s.record.clone()).collect())
    }

    pub fn update_study_config(&self, name: &str, config_json: &str) -> Result<(), StoreError> {
        rows::check_config(LOCATION, name, config_json)?;
        self.with_study(name, |study| {
            study.record.config_json = config_json.to_string();
            Ok(())
        })
    }

    /// The trials of study `name`, which must exist.
    pub fn trial_store(&self, name: &str) -> Result<MemoryTrialStore, StoreError> {
        self.with_study(name, |study| {
            Ok(MemoryTrialStore {
                scope: Scope { store: LOCATION.into(), study: name.to_string() },
                trials: Arc::clone(&study.trials),
            })
        })
    }

    /// Records a result of study `study` obtained after its search (for trial `result.trial_id`, which must
    /// exist); the payload must be JSON.
    pub fn record_final_result(&self, study: &str, result: &FinalResultRecord) -> Result<(), StoreError> {
        rows::check_final_result(LOCATION, study, result)?;
        self.with_study(study, |memory| {
            let trials = memory.trials.lock().map_err(|_| poisoned())?.trials.len() as u64;
            if result.trial_id >= trials {
                let scope = Scope { store: LOCATION.into(), study: study.to_string() };
                return Err(scope.no_trial(result.trial_id));
            }
            memory.final_results.push(result.clone());
            Ok(())
        })
    }

    /// The final results of study `study` (which must exist), in the order they were recorded.
    pub fn final_results(&self, study: &str) -> Result<Vec<FinalResultRecord>, StoreError> {
        self.with_study(study, |memory| Ok(memory.final_results.clone()))
    }
}

/// The trials of one study of a [`MemoryStorage`].
#[derive(Debug)]
pub struct MemoryTrialStore {
    scope: Scope,
    trials: Arc<Mutex<MemoryStore>>,
}

impl MemoryTrialStore {
    pub fn study_name(&self) -> &str {
        &self.scope.study
    }

    fn trials(&self) -> Result<MutexGuard<'_, MemoryStore>, CoreStoreError> {
        self.trials.lock().map_err(|_| poisoned().into())
    }

    /// The trials, which must hold trial `id` (else an error naming the study).
    fn holding(&self, id: u64) -> Result<MutexGuard<'_, MemoryStore>, CoreStoreError> {
        let trials = self.trials()?;
        if id >= trials.trials.len() as u64 {
            return Err(self.scope.no_trial(id).into());
        }
        Ok(trials)
    }
}

impl TrialStore for MemoryTrialStore {
    fn load_trials(&mut self) -> Result<Vec<TrialRecord>, CoreStoreError> {
        self.trials()?.load_trials()
    }

    fn changes(&mut self, after: u64) -> Result<Vec<(u64, TrialRecord)>, CoreStoreError> {
        self.trials()?.changes(after)
    }

    fn claim_new(&mut self, trial: &TrialRecord, budget: Option<u64>, lease: &Lease) -> Result<Claim, CoreStoreError> {
        self.trials()?.claim_new(trial, budget, lease)
    }

    fn claim_abandoned(&mut self, lease: &Lease) -> Result<Option<TrialRecord>, CoreStoreError> {
        self.trials()?.claim_abandoned(lease)
    }

    fn resume_paused(&mut self, id: u64, lease: &Lease) -> Result<Option<TrialRecord>, CoreStoreError> {
        self.holding(id)?.resume_paused(id, lease)
    }

    fn keep_alive(&mut self, id: u64, lease: &Lease) -> Result<Box<dyn LeaseKeeper>, CoreStoreError> {
        self.trials()?.keep_alive(id, lease)
    }

    fn finish(&mut self, trial: &TrialRecord, lease: &Lease) -> Result<bool, CoreStoreError> {
        self.holding(trial.id)?.finish(trial, lease)
    }

    fn append_intermediate(&mut self, id: u64, metrics: &Metrics) -> Result<(), CoreStoreError> {
        self.holding(id)?.append_intermediate(id, metrics)
    }
}
