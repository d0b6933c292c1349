//! `nasforge._core`: the Python extension module, thin over the engine library. Every call that works
//! (stores, strategies, evaluators) releases the GIL; the Python package (`python/nasforge`) gives it
//! Optuna's vocabulary.

mod error;
mod evaluator;
mod session;
mod study;

use pyo3::prelude::*;

/// The names of the search spaces, strategies and evaluators.
#[pyfunction]
fn names() -> (Vec<&'static str>, Vec<&'static str>, Vec<&'static str>) {
    use nasforge_engine::{EvaluatorKind, SpaceKind, StrategyKind};
    (
        SpaceKind::ALL.map(SpaceKind::name).to_vec(),
        StrategyKind::ALL.map(StrategyKind::name).to_vec(),
        EvaluatorKind::ALL.map(EvaluatorKind::name).to_vec(),
    )
}

/// The forms of an architecture of a space (`space_json`: the space table as JSON): `(printed, json,
/// decisions)` from its printed or JSON form.
#[pyfunction]
fn arch_forms(space_json: &str, arch: &str) -> PyResult<(String, String, Vec<usize>)> {
    let space = error::from_json(space_json, "space")?;
    let forms = nasforge_engine::arch_forms(&space, arch).map_err(error::to_py)?;
    Ok((forms.printed, forms.json, forms.decisions))
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<study::Study>()?;
    module.add_class::<session::Session>()?;
    module.add_class::<evaluator::Evaluator>()?;
    module.add("NasforgeError", module.py().get_type::<error::NasforgeError>())?;
    module.add_function(wrap_pyfunction!(names, module)?)?;
    module.add_function(wrap_pyfunction!(arch_forms, module)?)?;
    Ok(())
}
