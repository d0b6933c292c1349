//! A study in a store, found by its storage URL and name: opened as stored, created from a file and a
//! request, or continued with a new budget; and its results read back.

use std::path::PathBuf;

use nasforge_core::study::TrialStore;
use nasforge_core::{StudyError, TrialRecord};
use nasforge_store::{FinalResultRecord, Storage, StorageUrl, StudyRecord, StudyStore};

use crate::config::{ConfigFile, StudyConfig, StudyRequest, continued_study_config, new_study_config};
use crate::error::{EngineError, Result, invalid};
use crate::evaluators::default_metric;
use crate::results::{FinalTrainingRecord, StudyResults};

/// One study of a store with the configuration it runs with. A new study is stored only when it is first
/// saved or run, after its evaluator and strategy were built: a request that cannot run leaves no study,
/// and no store file when there was none.
#[derive(Debug, Clone)]
pub struct StudyHandle {
    url: String,
    /// The store, once it exists (a new study's SQLite file is created when the study is first stored).
    storage: Option<Storage>,
    name: String,
    config: StudyConfig,
    stored: bool,
}

/// The existing store at `url`; reading never creates one.
fn existing_storage(url: &str) -> Result<Storage> {
    match Storage::open_existing(url)? {
        Some(storage) => Ok(storage),
        None => invalid!("no store at {url} (nothing was created; `nasforge search --storage {url}` makes one)"),
    }
}

impl StudyHandle {
    /// The existing study `name` in the store at `url`, with its stored configuration.
    pub fn open(url: &str, name: &str) -> Result<StudyHandle> {
        let storage = existing_storage(url)?;
        let Some(record) = storage.study(name)? else {
            let names: Vec<String> = storage.studies()?.into_iter().map(|s| s.name).collect();
            invalid!(
                "no study '{name}' in {storage} (studies: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            );
        };
        let config = StudyConfig::from_json(&record.config_json, name)?;
        Ok(StudyHandle { url: url.to_string(), storage: Some(storage), name: name.to_string(), config, stored: true })
    }

    /// The study `name` as `file` and `request` ask for it: the stored one continued (a new budget or
    /// machine-local paths; anything else that differs is refused, naming the field), or a new one.
    pub fn open_or_new(url: &str, name: &str, file: &ConfigFile, request: &StudyRequest) -> Result<StudyHandle> {
        let storage = Storage::open_existing(url)?;
        let record = match &storage {
            Some(storage) => storage.study(name)?,
            None => None,
        };
        let (config, stored) = match record {
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
            invalid!("study '{name}' exists already in {}", handle.location());
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
        handle.continue_with(request)?;
        Ok(handle)
    }

    /// Continues the study with what `request` may change (the budget, machine-local paths), in the store
    /// this handle holds (an in-memory one too); the configuration is stored when the study next runs.
    pub fn continue_with(&mut self, request: &StudyRequest) -> Result<()> {
        self.config = continued_study_config(&self.config, &ConfigFile::default(), request, &self.name)?;
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the study is stored, for messages: the SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> String {
        match &self.storage {
            Some(storage) => storage.location().to_string(),
            None => self.url.clone(),
        }
    }

    /// Where the evaluator keeps the checkpoints of trials paused by the scheduler: `$NASFORGE_CHECKPOINTS/NAME`
    /// when set (workers of one study on several machines must share it), else beside an SQLite file
    /// (`FILE.checkpoints/NAME`), in the system's temporary directory for an in-memory store, and
    /// `nasforge-checkpoints/NAME` in the working directory for PostgreSQL.
    pub fn checkpoint_dir(&self) -> PathBuf {
        let name = self.name.replace(['/', '\\'], "_");
        if let Some(root) = std::env::var_os("NASFORGE_CHECKPOINTS") {
            return PathBuf::from(root).join(name);
        }
        match StorageUrl::parse(&self.url) {
            Ok(StorageUrl::Sqlite(path)) => {
                let mut dir = path.into_os_string();
                dir.push(".checkpoints");
                PathBuf::from(dir).join(name)
            }
            Ok(StorageUrl::SqliteMemory | StorageUrl::Memory) => {
                std::env::temp_dir().join(format!("nasforge-checkpoints-{}", std::process::id())).join(name)
            }
            Ok(StorageUrl::Postgres(_)) | Err(_) => PathBuf::from("nasforge-checkpoints").join(name),
        }
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
        let storage = match &self.storage {
            Some(storage) => storage,
            None => self.storage.insert(Storage::open(&self.url)?),
        };
        if self.stored {
            storage.update_study_config(&self.name, &json)?;
        } else {
            storage.create_study(&self.name, space, &json)?;
            self.stored = true;
        }
        Ok(())
    }

    /// The store, which exists once the study is stored.
    pub(crate) fn stored_storage(&self) -> Result<&Storage> {
        match (&self.storage, self.stored) {
            (Some(storage), true) => Ok(storage),
            _ => invalid!("study '{}' is not stored yet", self.name),
        }
    }

    /// The study's trials, as a store the study loop works on: each worker opens its own connection, but
    /// to an in-memory store, which lives in the one handle this study holds.
    pub fn trial_store(&self) -> Result<StudyStore> {
        let storage = match &self.storage {
            Some(storage) if storage.is_in_memory() => storage.clone(),
            _ => Storage::open(&self.url)?,
        };
        Ok(storage.trial_store(&self.name)?)
    }

    /// Every trial of the study, by id (none for a study not yet stored).
    pub fn trials(&self) -> Result<Vec<TrialRecord>> {
        if !self.stored {
            return Ok(Vec::new());
        }
        let mut store = self.stored_storage()?.trial_store(&self.name)?;
        store.load_trials().map_err(|e| EngineError::Study(StudyError::Store(e)))
    }

    /// The study's configuration, trials and final trainings as they are now.
    pub fn results(&self) -> Result<StudyResults> {
        Ok(StudyResults {
            name: self.name.clone(),
            config: self.config.clone(),
            trials: self.trials()?,
            final_trainings: self.final_trainings()?,
        })
    }

    /// The final trainings recorded with the study, in the order they ran.
    pub(crate) fn final_trainings(&self) -> Result<Vec<FinalTrainingRecord>> {
        let final_results = match self.stored {
            true => self.stored_storage()?.final_results(&self.name)?,
            false => Vec::new(),
        };
        final_results
            .into_iter()
            .map(|record| {
                let result = serde_json::from_str(&record.payload_json).map_err(|e| {
                    EngineError::invalid(format!("study '{}': unreadable final result: {e}", self.name))
                })?;
                Ok(FinalTrainingRecord { trial_id: record.trial_id, created_at: record.created_at, result })
            })
            .collect()
    }

    /// Records the final training of trial `trial_id` with the study.
    pub(crate) fn record_final_training(&self, trial_id: u64, result: &serde_json::Value) -> Result<()> {
        let record = FinalResultRecord::new(trial_id, result.to_string());
        Ok(self.stored_storage()?.record_final_result(&self.name, &record)?)
    }
}

/// Every study of the store at `url`, in creation order.
pub fn list_studies(url: &str) -> Result<Vec<StudyRecord>> {
    Ok(existing_storage(url)?.studies()?)
}
