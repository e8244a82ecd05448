//! The `progress=` argument: `True` draws the command line's bars on stderr (in a terminal),
//! `False` nothing, and a callable `f(done, total, label)` is called as work finishes (for
//! notebooks, where stderr is no terminal: wrap tqdm in it).

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use scrub_core::experiment::{Bar, Progress, Silent};

/// What a call's `progress=` asked for.
pub enum Reporter {
    Bars(scrub_scenarios::progress::Progress),
    Quiet(Silent),
    Callback(Py<PyAny>),
}

impl Reporter {
    /// Reads `progress=`: a bool or a callable.
    pub fn from_arg(arg: &Bound<'_, PyAny>) -> PyResult<Self> {
        if arg.is_callable() {
            return Ok(Reporter::Callback(arg.clone().unbind()));
        }
        match arg.extract::<bool>() {
            Ok(true) => Ok(Reporter::Bars(
                scrub_scenarios::progress::Progress::visible(),
            )),
            Ok(false) => Ok(Reporter::Quiet(Silent)),
            Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(
                "progress must be True, False or a callable f(done, total, label)",
            )),
        }
    }
}

impl Progress for Reporter {
    fn start(&self, len: u64, label: &str) -> Box<dyn Bar + '_> {
        match self {
            Reporter::Bars(p) => p.start(len, label),
            Reporter::Quiet(s) => s.start(len, label),
            Reporter::Callback(f) => Box::new(CallbackBar {
                f,
                label: label.to_string(),
                done: AtomicU64::new(0),
                total: AtomicU64::new(len),
            }),
        }
    }
}

/// A bar that tells a Python callable.
struct CallbackBar<'a> {
    f: &'a Py<PyAny>,
    label: String,
    done: AtomicU64,
    total: AtomicU64,
}

impl CallbackBar<'_> {
    fn tell(&self) {
        let (done, total) = (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        Python::attach(|py| {
            // A failing callback must not kill the run: its error is shown and dropped.
            if let Err(e) = self.f.call1(py, (done, total, self.label.as_str())) {
                e.print(py);
            }
        });
    }
}

impl Bar for CallbackBar<'_> {
    fn inc(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.tell();
    }

    fn set(&self, pos: u64, len: u64) {
        self.done.store(pos, Ordering::Relaxed);
        self.total.store(len, Ordering::Relaxed);
        self.tell();
    }

    fn finish(&self) {}
}
