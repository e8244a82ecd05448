//! The allocator setting every `scrub` process runs with (the binary, and the benchmarks
//! that time what it does): mimalloc, with freed memory kept for reuse.

/// mimalloc's purge delay, read from the environment when the process starts.
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// Scrubbing and large forwards free and reallocate buffers of tens of MB per batch or
/// layer; with mimalloc's default purge delay they go back to the kernel and return as
/// freshly zeroed pages, a quarter of a scrubbing run's time and a sixth of a GPT-2
/// forward's. The option is read before `main`, so this restarts the process once with
/// purging off (`-1`); a value the user set is kept. Call it first thing in `main`.
pub fn keep_freed_memory() {
    #[cfg(unix)]
    if std::env::var_os(PURGE_DELAY).is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            // `exec` only returns on failure; the run then goes on with the default.
            let _ = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env(PURGE_DELAY, "-1")
                .exec();
        }
    }
}
