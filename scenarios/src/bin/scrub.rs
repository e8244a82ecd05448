//! `scrub`: causal scrubbing of transformer hypotheses, with an adversary.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scrub_scenarios::allocator::keep_freed_memory();
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
