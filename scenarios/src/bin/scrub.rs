//! `scrub`: causal scrubbing of transformer hypotheses, with an adversary.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's purge delay, read from the environment when the process starts.
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = scrub_scenarios::cli::Cli::parse();
    scrub_scenarios::cli::init_logging(cli.verbose);
    match scrub_scenarios::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Scrubbing frees and reallocates buffers of tens of MB per batch; with mimalloc's default
/// purge delay they go back to the kernel and return as freshly zeroed pages, a quarter of
/// the run's time. The option is read before `main`, so the binary restarts itself once
/// with purging off (`-1`); a value the user set is kept.
fn keep_freed_memory() {
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
