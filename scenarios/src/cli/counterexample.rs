//! `scrub counterexample NAME|all`: run the write-up's counterexamples — what the naive
//! scrub says, what the adversary finds, what the truth is — and write
//! `counterexample-<name>.md` / `.json`.

use std::path::PathBuf;

use clap::Args;

use scrub_adversary::search::Tolerance;

use super::RunOptions;
use crate::counterexample::{markdown, play, terminal, PlaySettings, WashoutData, NAMES};
use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::output::ReportDir;
use crate::paren::scrub::ParenScrub;
use crate::progress::Progress;

/// `scrub counterexample`.
#[derive(Debug, Args)]
pub struct CounterexampleArgs {
    /// paren-washout, polysemanticity, sneaking-knowledge, inhibition, or all.
    pub name: String,
    /// Scrub samples per tree.
    #[arg(long, default_value_t = 2000, value_parser = super::sample_count)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rounds the adversary may play.
    #[arg(long, default_value_t = 4)]
    pub budget: usize,
    /// The paren washout's pool: this fraction of balanced sequences (the write-up's 0.26).
    #[arg(long, default_value_t = 0.26, value_parser = super::balanced_fraction, allow_hyphen_values = true)]
    pub balanced_fraction: f64,
    /// Folder for the markdown and JSON reports.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: CounterexampleArgs) -> Result<(), ScenarioError> {
    let names: Vec<&str> = if args.name == "all" {
        NAMES.to_vec()
    } else if NAMES.contains(&args.name.as_str()) {
        vec![args.name.as_str()]
    } else {
        return Err(ScenarioError::Scrub(format!(
            "unknown counterexample `{}`; known: {}, all",
            args.name,
            NAMES.join(", ")
        )));
    };
    if args.budget == 0 {
        return Err(ScenarioError::Scrub(
            "--budget must be at least 1 round".into(),
        ));
    }
    let out = ReportDir::prepare(&args.out)?;
    let settings = PlaySettings {
        samples: args.samples,
        seed: args.seed,
        budget: args.budget,
        tolerance: Tolerance::default(),
    };
    let progress = if args.run.quiet {
        Progress::hidden()
    } else {
        Progress::visible()
    };
    let paren = || {
        let dir = DataDir::resolve(args.run.data_dir.as_deref())?;
        Ok(WashoutData {
            scrub: ParenScrub::load(&dir, Some(args.balanced_fraction), 0)?,
            executor: args.run.executor,
        })
    };
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for &name in &names {
        tracing::info!(counterexample = name, "playing");
        match play(name, &settings, &paren, &progress) {
            Ok(o) => outcomes.push(o),
            // One counterexample asked for: its error is the command's.
            Err(e) if names.len() == 1 => return Err(e),
            Err(e) => {
                tracing::error!(counterexample = name, error = %e, "failed");
                failed.push(named(name, &e));
            }
        }
    }
    let parts_failed = || ScenarioError::PartsFailed {
        total: names.len(),
        failed: failed.clone(),
    };
    if outcomes.is_empty() {
        return Err(parts_failed());
    }
    let stem = match names.as_slice() {
        [one] => format!("counterexample-{one}"),
        _ => "counterexamples".to_string(),
    };
    let json = serde_json::to_string_pretty(&outcomes).expect("outcomes serialise");
    let md = markdown(&outcomes) + &failures_markdown(&failed);
    let written = out.write_or_print(
        &[
            (&format!("{stem}.md"), &md),
            (&format!("{stem}.json"), &json),
        ],
        &json,
    )?;
    if args.run.json {
        for o in &outcomes {
            println!("{}", serde_json::to_string(o).expect("outcome serialises"));
        }
    } else {
        print!("{}", terminal(&outcomes));
        println!("wrote {written}");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(parts_failed())
    }
}

/// The markdown report's section naming the counterexamples that failed (none: empty).
fn failures_markdown(failed: &[String]) -> String {
    if failed.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n## Failed\n\nThese counterexamples did not finish:\n\n");
    for f in failed {
        s.push_str(&format!("- {f}\n"));
    }
    s
}

/// `name: why`, without naming it twice when the error already starts with it.
fn named(name: &str, e: &ScenarioError) -> String {
    let why = e.to_string();
    if why.starts_with(name) {
        why
    } else {
        format!("{name}: {why}")
    }
}
