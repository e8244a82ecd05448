//! `scrub_cs._native`: the scrub engine as a Python module. The engine stays in Rust; this
//! crate only converts arguments, releases the GIL while the engine runs, turns Ctrl-C
//! into a stop request, and turns engine errors into `ScrubError` with the CLI's messages.

mod discover;
mod model;
mod progress;
mod task;
mod worker;

use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    ScrubError,
    pyo3::exceptions::PyException,
    "An error from the scrub engine; the message is the command line's (file, line, column, node, feature)."
);

/// An engine error as a Python `ScrubError`.
pub(crate) fn scrub_err(e: impl std::fmt::Display) -> PyErr {
    ScrubError::new_err(e.to_string())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScrubError", m.py().get_type::<ScrubError>())?;
    m.add_class::<model::Model>()?;
    m.add_class::<task::Hypothesis>()?;
    m.add_class::<task::Task>()?;
    m.add_class::<task::RunResult>()?;
    m.add_class::<task::AttackReport>()?;
    m.add_class::<discover::Discovery>()?;
    m.add_function(wrap_pyfunction!(discover::discover, m)?)?;
    m.add_function(wrap_pyfunction!(task::merge, m)?)?;
    m.add_function(wrap_pyfunction!(task::join, m)?)?;
    m.add_function(wrap_pyfunction!(set_memory_budget, m)?)?;
    Ok(())
}

/// Sets the memory budget plain-value caches and batches of samples are sized from (as
/// `scrub --memory-budget`), e.g. "3G" or "512M".
#[pyfunction]
fn set_memory_budget(size: &str) -> PyResult<()> {
    let bytes = scrub_core::memory::parse_size(size).map_err(scrub_err)?;
    scrub_core::memory::set_budget(bytes);
    Ok(())
}
