//! Engine errors as Python exceptions: `nasforge.NasforgeError`, a `ValueError`, with the engine's message.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

pyo3::create_exception!(
    _core,
    NasforgeError,
    PyValueError,
    "An error of nasforge: bad input (an unknown space, a trial told twice, a NaN metric) or a store that cannot be used."
);

pub fn to_py(error: impl std::fmt::Display) -> PyErr {
    NasforgeError::new_err(error.to_string())
}

/// A value of the engine's configuration from its JSON form; the error names `what`.
pub fn from_json<T: DeserializeOwned>(json: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| NasforgeError::new_err(format!("{what}: {e}")))
}

/// A training device by name: cpu, cuda, cuda:N or wgpu.
pub fn device(name: &str) -> PyResult<nasforge_engine::DeviceChoice> {
    nasforge_engine::DeviceChoice::parse(name).map_err(to_py)
}
