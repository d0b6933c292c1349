//! `_core.Session`: one ask-and-tell session on a study (its own store connection and lease).

use std::sync::Mutex;

use nasforge_core::{Metrics, Told};
use nasforge_engine::AskTellSession;
use pyo3::prelude::*;

use crate::error::{NasforgeError, to_py};

#[pyclass(module = "nasforge._core", frozen)]
pub struct Session {
    inner: Mutex<AskTellSession>,
}

/// An asked trial: `(number, arch, arch_json, decisions, seed)`.
type AskedTuple = (u64, String, String, Vec<usize>, u64);

impl Session {
    pub fn new(session: AskTellSession) -> Self {
        Session { inner: Mutex::new(session) }
    }

    fn with<T: Send>(&self, py: Python<'_>, work: impl FnOnce(&mut AskTellSession) -> T + Send) -> PyResult<T> {
        py.detach(|| {
            let mut session = self.inner.lock().map_err(|_| NasforgeError::new_err("the session panicked"))?;
            Ok(work(&mut session))
        })
    }
}

#[pymethods]
impl Session {
    /// The next trial, or None when the study's budget (or `max_paid` paid trials) is reached or its
    /// strategy keeps proposing architectures evaluated already.
    #[pyo3(signature = (max_paid=None))]
    fn ask(&self, py: Python<'_>, max_paid: Option<u64>) -> PyResult<Option<AskedTuple>> {
        let asked = self.with(py, |session| session.ask(max_paid))?.map_err(to_py)?;
        Ok(asked.map(|t| (t.id, t.arch, t.arch_json, t.decisions, t.seed)))
    }

    /// Records an intermediate result; returns why the trial should stop, when the scheduler says so.
    fn report(&self, py: Python<'_>, number: u64, metrics: Metrics) -> PyResult<Option<String>> {
        self.with(py, |session| session.report(number, &metrics))?.map_err(to_py)
    }

    /// Records how a trial ended: `state` is complete (with `metrics`), failed or pruned (with `reason`).
    #[pyo3(signature = (number, state, metrics=None, reason=None))]
    fn tell(
        &self,
        py: Python<'_>,
        number: u64,
        state: &str,
        metrics: Option<Metrics>,
        reason: Option<String>,
    ) -> PyResult<()> {
        let told = match (state, metrics) {
            ("complete", Some(metrics)) => Told::Complete(metrics),
            ("complete", None) => return Err(NasforgeError::new_err("a complete trial is told with its metrics")),
            ("failed", _) => Told::Failed(reason.unwrap_or_else(|| "failed (no reason given)".into())),
            ("pruned", _) => Told::Pruned(reason.unwrap_or_else(|| "pruned by the caller".into())),
            (other, _) => {
                return Err(NasforgeError::new_err(format!(
                    "unknown trial state '{other}' (expected complete, failed or pruned)"
                )));
            }
        };
        self.with(py, |session| session.tell(number, told))?.map_err(to_py)
    }

    /// Evaluates a trial with the study's own evaluator and records it: `(metrics, None)`, or `(None,
    /// reason)` when the evaluation failed or was stopped.
    fn evaluate(&self, py: Python<'_>, number: u64) -> PyResult<(Option<Metrics>, Option<String>)> {
        let outcome = self.with(py, |session| session.evaluate(number))?.map_err(to_py)?;
        Ok(match outcome {
            Ok(metrics) => (Some(metrics), None),
            Err(reason) => (None, Some(reason)),
        })
    }

    /// The numbers of the trials asked in this session and not told yet.
    fn pending(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.with(py, |session| session.pending())
    }
}
