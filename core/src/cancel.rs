//! Stopping a long evaluation from outside it (a notebook's Ctrl-C): the front end asks, and
//! the evaluation loop returns [`crate::ModelError::Cancelled`] at its next chunk of data.
//! Nothing is half-written by stopping there: caches take whole entries and a run's results
//! exist only once it returns.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every evaluation in the process to stop at its next chunk.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraws the request (before the next run starts).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// `Err(Cancelled)` once a stop was requested.
pub fn check() -> crate::Result<()> {
    match REQUESTED.load(Ordering::SeqCst) {
        true => Err(crate::ModelError::Cancelled),
        false => Ok(()),
    }
}
