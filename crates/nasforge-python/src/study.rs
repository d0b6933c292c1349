//! `_core.Study`: a study of a store, created, loaded or continued by name, its results as JSON, its
//! ask-and-tell sessions, and runs with its own evaluator.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use nasforge_engine::{ConfigFile, EvaluatorKind, RunOptions, StudyHandle, StudyRequest, StudyResults, trial_json};
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::error::{NasforgeError, device, from_json, to_py};
use crate::session::Session;

#[pyclass(module = "nasforge._core", frozen)]
pub struct Study {
    handle: Mutex<StudyHandle>,
}

impl Study {
    fn with<T: Send>(&self, py: Python<'_>, work: impl FnOnce(&mut StudyHandle) -> T + Send) -> PyResult<T> {
        py.detach(|| {
            let mut handle = self.handle.lock().map_err(|_| NasforgeError::new_err("the study panicked"))?;
            Ok(work(&mut handle))
        })
    }

    fn results(&self, py: Python<'_>) -> PyResult<StudyResults> {
        self.with(py, |handle| handle.results())?.map_err(to_py)
    }
}

#[pymethods]
impl Study {
    /// A new study (or, with `load_if_exists`, the stored one continued) from a configuration (`config_json`:
    /// what a TOML file holds, as JSON), stored at once. Without an evaluator it is evaluated by its caller
    /// (ask and tell).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments, each optional
    #[pyo3(signature = (storage, name, config_json, evaluator=None, table=None, load_if_exists=false, device_name="cpu"))]
    fn create(
        py: Python<'_>,
        storage: &str,
        name: &str,
        config_json: &str,
        evaluator: Option<&str>,
        table: Option<PathBuf>,
        load_if_exists: bool,
        device_name: &str,
    ) -> PyResult<(Study, Session)> {
        let file: ConfigFile = from_json(config_json, "study configuration")?;
        let kind = evaluator.map(EvaluatorKind::from_name).transpose().map_err(to_py)?;
        let caller = (kind.is_none() && file.evaluator.is_none() && table.is_none()).then_some(EvaluatorKind::Caller);
        let request = StudyRequest { evaluator: kind.or(caller), table, ..StudyRequest::default() };
        let device = device(device_name)?;
        let (handle, session) = py
            .detach(|| {
                let mut handle = match load_if_exists {
                    true => StudyHandle::open_or_new(storage, name, &file, &request)?,
                    false => StudyHandle::new(storage, name, &file, &request)?,
                };
                let session = handle.ask_tell(device)?;
                Ok::<_, nasforge_engine::EngineError>((handle, session))
            })
            .map_err(to_py)?;
        Ok((Study { handle: Mutex::new(handle) }, Session::new(session)))
    }

    /// The stored study `name` of the store at `storage`.
    #[staticmethod]
    fn load(py: Python<'_>, storage: &str, name: &str) -> PyResult<Study> {
        let handle = py.detach(|| StudyHandle::open(storage, name)).map_err(to_py)?;
        Ok(Study { handle: Mutex::new(handle) })
    }

    /// Every study of a store: `[(name, space, created_at)]`.
    #[staticmethod]
    fn list(py: Python<'_>, storage: &str) -> PyResult<Vec<(String, String, f64)>> {
        let studies = py.detach(|| nasforge_engine::list_studies(storage)).map_err(to_py)?;
        Ok(studies.into_iter().map(|s| (s.name, s.space, s.created_at)).collect())
    }

    /// A new ask-and-tell session: its own store connection, lease and view of the study.
    #[pyo3(signature = (device_name="cpu"))]
    fn session(&self, py: Python<'_>, device_name: &str) -> PyResult<Session> {
        let device = device(device_name)?;
        Ok(Session::new(self.with(py, |handle| handle.ask_tell(device))?.map_err(to_py)?))
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |handle| handle.name().to_string())
    }

    /// The stored configuration as JSON (space, strategy, evaluator, objectives, budget, seed…).
    fn config_json(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |handle| handle.config().to_json())
    }

    /// Every trial, as JSON (the command line's `trials --json` form).
    fn trials_json(&self, py: Python<'_>) -> PyResult<String> {
        let results = self.results(py)?;
        Ok(Value::Array(results.trials.iter().map(trial_json).collect()).to_string())
    }

    /// The best trial as JSON (first objective, constraints respected first), or None.
    fn best_json(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.results(py)?.best().map(|trial| trial_json(trial).to_string()))
    }

    /// The Pareto front as JSON: `{"trials": [...], "hypervolume": x or null, "reference": {metric: value}}`.
    fn pareto_json(&self, py: Python<'_>) -> PyResult<String> {
        let results = self.results(py)?;
        let front = results.pareto();
        let (hypervolume, reference) = match &front.hypervolume {
            Some(h) => (Some(h.value), h.reference.iter().map(|(m, v)| (m.clone(), json!(v))).collect()),
            None => (None, serde_json::Map::new()),
        };
        let trials: Vec<Value> = front.trials.iter().map(|trial| trial_json(trial)).collect();
        Ok(json!({"trials": trials, "hypervolume": hypervolume, "reference": reference}).to_string())
    }

    /// Runs the study with its own evaluator (a table, training, proxies) on `workers` threads until it has
    /// `trials` more paid trials (or its stored budget); returns why it stopped.
    #[pyo3(signature = (trials=None, workers=1, device_name="cpu"))]
    fn run(&self, py: Python<'_>, trials: Option<u64>, workers: usize, device_name: &str) -> PyResult<String> {
        let options = RunOptions { workers, device: device(device_name)?, ..RunOptions::default() };
        let reason = self.with(py, |handle| {
            if let Some(more) = trials {
                let paid = handle.results()?.counts().paid;
                handle.continue_with(&StudyRequest { trials: Some(paid + more), ..StudyRequest::default() })?;
            }
            handle.run(options, &AtomicBool::new(false), &|_| Box::new(()))
        })?;
        Ok(format!("{:?}", reason.map_err(to_py)?.reason).to_lowercase())
    }
}
