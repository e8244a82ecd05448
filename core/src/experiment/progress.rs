//! Progress reporting without a terminal library: the pipeline says how far it is, the
//! front end (a CLI bar, a notebook, nothing) decides how to show it.

/// Where the pipeline reports progress.
pub trait Progress: Sync {
    /// A new bar over `len` items called `label`.
    fn start(&self, len: u64, label: &str) -> Box<dyn Bar + '_>;
}

/// One running progress bar.
pub trait Bar {
    /// `n` more items done.
    fn inc(&self, n: u64);
    /// `pos` of `len` items done (the total can change as work is discovered).
    fn set(&self, pos: u64, len: u64);
    /// The work is over; the bar goes away.
    fn finish(&self);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

struct NoBar;

impl Bar for NoBar {
    fn inc(&self, _: u64) {}
    fn set(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

impl Progress for Silent {
    fn start(&self, _: u64, _: &str) -> Box<dyn Bar + '_> {
        Box::new(NoBar)
    }
}
