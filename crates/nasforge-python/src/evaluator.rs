//! `_core.Evaluator`: a benchmark table, training or zero-cost proxies outside any study.

use nasforge_core::Metrics;
use nasforge_engine::ArchEvaluator;
use pyo3::prelude::*;

use crate::error::{device, from_json, to_py};

#[pyclass(module = "nasforge._core", frozen)]
pub struct Evaluator {
    inner: ArchEvaluator,
}

#[pymethods]
impl Evaluator {
    /// The evaluator `evaluator_json` (an `[evaluator]` table as JSON) on the space `space_json`.
    #[new]
    #[pyo3(signature = (space_json, evaluator_json, seed=0, device_name="cpu"))]
    fn new(py: Python<'_>, space_json: &str, evaluator_json: &str, seed: u64, device_name: &str) -> PyResult<Self> {
        let space = from_json(space_json, "space")?;
        let evaluator = from_json(evaluator_json, "evaluator")?;
        let device = device(device_name)?;
        let inner = py.detach(|| ArchEvaluator::new(&space, evaluator, seed, device)).map_err(to_py)?;
        Ok(Evaluator { inner })
    }

    /// `(metrics, None)`, or `(None, reason)` when the evaluation failed.
    #[pyo3(signature = (arch, seed=0))]
    fn evaluate(&self, py: Python<'_>, arch: &str, seed: u64) -> PyResult<(Option<Metrics>, Option<String>)> {
        Ok(match py.detach(|| self.inner.evaluate(arch, seed)).map_err(to_py)? {
            Ok(metrics) => (Some(metrics), None),
            Err(reason) => (None, Some(reason)),
        })
    }

    /// What is known of an architecture before it is evaluated (parameters, FLOPs…).
    fn size_metrics(&self, py: Python<'_>, arch: &str) -> PyResult<Metrics> {
        py.detach(|| self.inner.size_metrics(arch)).map_err(to_py)
    }
}
