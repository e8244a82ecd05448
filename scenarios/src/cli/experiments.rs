//! `scrub experiments`: every documented experiment in one command — the paren table
//! (0a–4), the induction table (naive to refined 5), the counterexamples and the
//! ground-truth suite — with their reports under one folder.

use std::path::PathBuf;

use clap::Args;

use super::counterexample::CounterexampleArgs;
use super::paren::ParenArgs;
use super::RunOptions;
use crate::error::ScenarioError;
use crate::output::ReportDir;

/// `scrub experiments`.
#[derive(Debug, Args)]
pub struct ExperimentsArgs {
    /// Scrub samples per hypothesis and per scored move.
    #[arg(long, default_value_t = 2000, value_parser = super::sample_count)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The paren pool's fraction of balanced sequences (the write-up's data: 0.26).
    #[arg(long, default_value_t = 0.26, value_parser = super::balanced_fraction, allow_hyphen_values = true)]
    pub balanced_fraction: f64,
    /// Folder for every report.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

fn options(o: &RunOptions) -> RunOptions {
    RunOptions {
        data_dir: o.data_dir.clone(),
        executor: o.executor,
        json: o.json,
        quiet: o.quiet,
    }
}

pub(super) fn run(args: ExperimentsArgs) -> Result<(), ScenarioError> {
    // Every part writes here: an unwritable folder fails before the first.
    ReportDir::prepare(&args.out)?;
    let parts: [(&str, Part); 4] = [
        ("the paren table (0a–4)", &|| {
            super::paren::run(ParenArgs {
                samples: args.samples,
                seed: args.seed,
                balanced_fraction: Some(args.balanced_fraction),
                hypotheses: None,
                out: args.out.clone(),
                run: options(&args.run),
            })
        }),
        ("the induction table (naive to refined 5)", &|| {
            super::induction_table::table(super::induction_table::TableArgs {
                samples: args.samples,
                seed: args.seed,
                only: Vec::new(),
                model_dir: None,
                hypotheses: None,
                out: args.out.clone(),
                run: options(&args.run),
            })
        }),
        ("the counterexamples", &|| {
            super::counterexample::run(CounterexampleArgs {
                name: "all".into(),
                samples: args.samples,
                seed: args.seed,
                budget: 4,
                balanced_fraction: args.balanced_fraction,
                out: args.out.clone(),
                run: options(&args.run),
            })
        }),
        // At its own sample count: its expectations are calibrated there, and it takes
        // seconds.
        ("the ground-truth suite (compiled transformers)", &|| {
            super::groundtruth::run(super::groundtruth::GroundtruthArgs {
                suite: None,
                only: Vec::new(),
                samples: super::groundtruth::SUITE_SAMPLES,
                seed: args.seed,
                budget: 4,
                no_discover: false,
                out: args.out.clone(),
                run: options(&args.run),
            })
        }),
    ];
    let total = parts.len();
    let mut failed = Vec::new();
    for (name, part) in parts {
        tracing::info!("{name}");
        // A failed part does not cost the others their results.
        if let Err(e) = part() {
            tracing::error!(part = name, error = %e, "failed");
            failed.push(format!("{name}: {e}"));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::PartsFailed { total, failed })
    }
}

/// One part of the experiments: a command writing its own reports.
type Part<'a> = &'a dyn Fn() -> Result<(), ScenarioError>;
