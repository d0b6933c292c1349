//! A study in a store, found by its storage URL and name: opened as stored, created from a file and a
//! request, or continued with a new budget; and its results read back.

use nasforge_core::{StudyError, TrialRecord};
use nasforge_core::study::TrialStore;
use nasforge_store::{Storage, StudyRecord, StudyStore};

use crate::config::{ConfigFile, StudyConfig, StudyRequest, continued_study_config, new_study_config};
use crate::error::{EngineError, Result, invalid};
use crate::evaluators::default_metric;
use crate::results::StudyResults;

/// One study of a store with the configuration it runs with. A new study is stored only when it is first
/// saved or run, after its evaluator and strategy were built: a request that cannot run leaves no study.
#[derive(Debug, Clone)]
pub struct StudyHandle {
    url: String,
    storage: Storage,
    name: String,
    config: StudyConfig,
    stored: bool,
}

impl StudyHandle {
    /// The existing study `name` in the store at `url`, with its stored configuration.
    pub fn open(url: &str, name: &str) -> Result<StudyHandle> {
        let storage = Storage::open(url)?;
        let Some(record) = storage.study(name)? else {
            let names: Vec<String> = storage.studies()?.into_iter().map(|s| s.name).collect();
            invalid!(
                "no study '{name}' in {storage} (studies: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            );
        };
        let config = StudyConfig::from_json(&record.config_json, name)?;
        Ok(StudyHandle { url: url.to_string(), storage, name: name.to_string(), config, stored: true })
    }

    /// The study `name` as `file` and `request` ask for it: the stored one continued (a new budget or
    /// machine-local paths; anything else that differs is refused, naming the field), or a new one.
    pub fn open_or_new(url: &str, name: &str, file: &ConfigFile, request: &StudyRequest) -> Result<StudyHandle> {
        let storage = Storage::open(url)?;
        let (config, stored) = match storage.study(name)? {
            Some(record) => {
                let stored = StudyConfig::from_json(&record.config_json, name)?;
                (continued_study_config(&stored, file, request, name)?, true)
            }
            None => (new_study_config(file, request, default_metric)?, false),
        };
        Ok(StudyHandle { url: url.to_string(), storage, name: name.to_string(), config, stored })
    }

    /// A new study `name` (an error when the store has one of that name).
    pub fn new(url: &str, name: &str, file: &ConfigFile, request: &StudyRequest) -> Result<StudyHandle> {
        let handle = Self::open_or_new(url, name, file, request)?;
        if handle.stored {
            invalid!("study '{name}' exists already in {}", handle.storage);
        }
        Ok(handle)
    }

    /// The existing study `name`, to work on with what `request` may change: the budget and machine-local
    /// paths (a table's, a dataset's).
    pub fn open_to_work(url: &str, name: &str, request: &StudyRequest) -> Result<StudyHandle> {
        let mut handle = Self::open(url, name).map_err(|e| match e {
            EngineError::Invalid(message) => {
                EngineError::Invalid(format!("{message}; create it with `nasforge study create`"))
            }
            other => other,
        })?;
        handle.config = continued_study_config(&handle.config, &ConfigFile::default(), request, name)?;
        Ok(handle)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn config(&self) -> &StudyConfig {
        &self.config
    }

    /// Whether the study is in its store (false for a new study not yet saved or run).
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// Stores the configuration: creates the study, or replaces the stored configuration (a new budget).
    pub(crate) fn store_config(&mut self, space: &str) -> Result<()> {
        let json = self.config.to_json();
        if self.stored {
            self.storage.update_study_config(&self.name, &json)?;
        } else {
            self.storage.create_study(&self.name, space, &json)?;
            self.stored = true;
        }
        Ok(())
    }

    /// The study's trials, as a store the study loop works on (each worker opens its own).
    pub fn trial_store(&self) -> Result<StudyStore> {
        Ok(Storage::open(&self.url)?.trial_store(&self.name)?)
    }

    /// Every trial of the study, by id (none for a study not yet stored).
    pub fn trials(&self) -> Result<Vec<TrialRecord>> {
        if !self.stored {
            return Ok(Vec::new());
        }
        let mut store = self.storage.trial_store(&self.name)?;
        store.load_trials().map_err(|e| EngineError::Study(StudyError::Store(e)))
    }

    /// The study's configuration and trials as they are now.
    pub fn results(&self) -> Result<StudyResults> {
        Ok(StudyResults { name: self.name.clone(), config: self.config.clone(), trials: self.trials()? })
    }
}

/// Every study of the store at `url`, in creation order.
pub fn list_studies(url: &str) -> Result<Vec<StudyRecord>> {
    Ok(Storage::open(url)?.studies()?)
}
