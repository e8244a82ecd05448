//! `scrub groundtruth`: the suite of compiled transformers with known circuits — every
//! program's true and planted hypotheses scored and attacked — with `groundtruth.md` /
//! `.json`; fails when any outcome is not the expected one.

use std::path::PathBuf;

use clap::Args;

use super::RunOptions;
use crate::error::ScenarioError;
use crate::groundtruth::{markdown, play, programs, terminal, SuiteSettings};
use crate::output::ReportDir;

/// The suite committed with the repository, relative to the workspace.
pub const DEFAULT_SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/groundtruth/tasks");

/// Samples per hypothesis the suite runs by default (also in `scrub experiments`).
pub const SUITE_SAMPLES: usize = 500;

/// `scrub groundtruth`.
#[derive(Debug, Args)]
pub struct GroundtruthArgs {
    /// Folder of task directories, each with an `expect.ron` (default: the committed suite).
    #[arg(long)]
    pub suite: Option<PathBuf>,
    /// Only these programs (directory names).
    #[arg(long = "only", value_name = "PROGRAM")]
    pub only: Vec<String>,
    /// Scrub samples per hypothesis and per scored move (the expectations are calibrated at
    /// the default; far fewer leave some programs' baselines within noise).
    #[arg(long, default_value_t = SUITE_SAMPLES, value_parser = super::sample_count)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rounds the adversary may play.
    #[arg(long, default_value_t = 4)]
    pub budget: usize,
    /// Only the planted hypotheses: no `scrub discover` on each program.
    #[arg(long)]
    pub no_discover: bool,
    /// Folder for `groundtruth.md` and `groundtruth.json`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: GroundtruthArgs) -> Result<(), ScenarioError> {
    if args.budget == 0 {
        return Err(ScenarioError::Scrub(
            "--budget must be at least 1 round".into(),
        ));
    }
    let out = ReportDir::prepare(&args.out)?;
    let suite = args
        .suite
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SUITE));
    let mut dirs = programs(&suite)?;
    if !args.only.is_empty() {
        let known: Vec<String> = dirs
            .iter()
            .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if let Some(bad) = args.only.iter().find(|o| !known.contains(o)) {
            return Err(ScenarioError::Scrub(format!(
                "--only {bad}: no such program in {}; known: {}",
                suite.display(),
                known.join(", ")
            )));
        }
        dirs.retain(|d| {
            d.file_name()
                .is_some_and(|n| args.only.iter().any(|o| *o == n.to_string_lossy()))
        });
    }
    let settings = SuiteSettings {
        samples: args.samples,
        seed: args.seed,
        budget: args.budget,
        executor: args.run.executor,
        discover: !args.no_discover,
    };
    let progress = args.run.progress();
    let mut done = Vec::new();
    let mut broken = Vec::new();
    for dir in &dirs {
        // One program that cannot be played does not cost the others their results.
        match play(dir, &settings, &progress) {
            Ok(p) => done.push(p),
            Err(e) if dirs.len() == 1 => return Err(e),
            Err(e) => {
                tracing::error!(program = %dir.display(), error = %e, "failed");
                broken.push(format!("{}: {e}", dir.display()));
            }
        }
    }
    if done.is_empty() {
        return Err(ScenarioError::PartsFailed {
            total: dirs.len(),
            failed: broken,
        });
    }
    let json = serde_json::to_string_pretty(&done).expect("outcomes serialise");
    let written = out.write_or_print(
        &[
            ("groundtruth.md", &markdown(&done)),
            ("groundtruth.json", &json),
        ],
        &json,
    )?;
    if args.run.json {
        println!(
            "{}",
            serde_json::to_string(&done).expect("outcomes serialise")
        );
    } else {
        print!("{}", terminal(&done));
        println!("wrote {written}");
    }
    let failed: Vec<String> = broken
        .into_iter()
        .chain(
            done.iter()
                .flat_map(|p| &p.outcomes)
                .filter(|o| !o.as_expected)
                .map(|o| format!("{}/{}: {}", o.program, o.hypothesis, o.why)),
        )
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::PartsFailed {
            total: done.iter().map(|p| p.outcomes.len()).sum::<usize>() + dirs.len() - done.len(),
            failed,
        })
    }
}
