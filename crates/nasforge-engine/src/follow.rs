//! A study followed as it grows, for live views: its trials kept in memory and brought up to date from the
//! store's change log (only the trials changed since the last look are read), so that a dashboard polling
//! a study of 100,000 trials reads a handful of rows per refresh.

use std::collections::BTreeMap;

use nasforge_core::study::TrialStore;
use nasforge_core::{StudyError, TrialRecord};
use nasforge_store::StudyStore;

use crate::error::{EngineError, Result};
use crate::results::StudyResults;
use crate::study::StudyHandle;

/// A stored study and what the store said of it at the last [`StudyFollower::refresh`].
pub struct StudyFollower {
    handle: StudyHandle,
    store: StudyStore,
    /// The last change version read.
    version: u64,
    trials: BTreeMap<u64, TrialRecord>,
    results: StudyResults,
}

impl StudyFollower {
    /// Follows the existing study `name` of the store at `url` (an error when either does not exist).
    pub fn new(url: &str, name: &str) -> Result<StudyFollower> {
        let handle = StudyHandle::open(url, name)?;
        let store = handle.trial_store()?;
        let results = StudyResults {
            name: name.to_string(),
            config: handle.config().clone(),
            trials: Vec::new(),
            final_trainings: Vec::new(),
        };
        let mut follower = StudyFollower { handle, store, version: 0, trials: BTreeMap::new(), results };
        follower.refresh()?;
        Ok(follower)
    }

    /// Reads the changes since the last refresh; `true` when there were any (trials or final trainings).
    pub fn refresh(&mut self) -> Result<bool> {
        let changes = self.store.changes(self.version).map_err(|e| EngineError::Study(StudyError::Store(e)))?;
        let final_trainings = self.handle.final_trainings()?;
        let changed = !changes.is_empty() || final_trainings.len() != self.results.final_trainings.len();
        for (version, trial) in changes {
            self.version = self.version.max(version);
            self.trials.insert(trial.id, trial);
        }
        if changed {
            self.results.trials = self.trials.values().cloned().collect();
            self.results.final_trainings = final_trainings;
        }
        Ok(changed)
    }

    /// The study as of the last refresh.
    pub fn results(&self) -> &StudyResults {
        &self.results
    }

    /// The version of the last change read: it grows whenever a trial changes.
    pub fn version(&self) -> u64 {
        self.version
    }
}
