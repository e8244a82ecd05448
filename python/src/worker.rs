//! Running the engine off the interpreter: the work runs on its own thread with the GIL
//! released, while the calling thread wakes every few milliseconds to let Python handle
//! signals. On Ctrl-C the engine is asked to stop ([`scrub_core::cancel`]), the work thread
//! is joined (it returns at its next chunk of data, leaving nothing half-written) and the
//! `KeyboardInterrupt` is raised.

use std::time::Duration;

use pyo3::prelude::*;

/// How often the waiting thread looks at Python's signals.
const POLL: Duration = Duration::from_millis(20);

/// Runs `work` with the GIL released; Ctrl-C stops it and raises `KeyboardInterrupt`.
pub fn interruptible<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, String> + Send,
{
    scrub_core::cancel::clear();
    std::thread::scope(|s| {
        let handle = s.spawn(work);
        loop {
            let done = py.detach(|| {
                let until = std::time::Instant::now() + POLL;
                while !handle.is_finished() && std::time::Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(1));
                }
                handle.is_finished()
            });
            if done {
                break;
            }
            if let Err(interrupt) = py.check_signals() {
                scrub_core::cancel::request();
                let _ = py.detach(|| handle.join());
                scrub_core::cancel::clear();
                return Err(interrupt);
            }
        }
        match handle.join() {
            Ok(r) => r.map_err(crate::ScrubError::new_err),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "internal error in the scrub engine (please report it): {what}"
                )))
            }
        }
    })
}
