//! `scrub attack FILE`: the adversary plays against one hypothesis file and reports each
//! round, the verdict, and `attack-<name>.md` / `.json`.

use super::hypothesis_args::{HypothesisArgs, LoadedHypothesis};
use std::path::PathBuf;

use clap::Args;

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::Move;

use super::RunOptions;
use crate::error::ScenarioError;
use crate::output::ReportDir;
use crate::scrub_graph::ScrubExecutor;
use scrub_adversary::{attack_file, AttackSettings};

/// `scrub attack`.
#[derive(Debug, Args)]
pub struct AttackArgs {
    #[command(flatten)]
    pub hypothesis: HypothesisArgs,
    /// Rounds: moves the adversary may apply.
    #[arg(long, default_value_t = 8)]
    pub budget: usize,
    /// A move fails the hypothesis when it changes % loss recovered by more than this many
    /// points (and more than --tolerance-stderrs paired standard errors).
    #[arg(long, default_value_t = 3.0)]
    pub tolerance: f64,
    /// ... and by more than this many paired standard errors.
    #[arg(long, default_value_t = 3.0)]
    pub tolerance_stderrs: f64,
    /// Score every move on 1/--prune-divisor of the samples first, then re-score on all of
    /// them this many of the most harmful and every move whose cheap estimate (± 3 standard
    /// errors) reaches beyond the tolerance, so pruning never changes the verdict; 0 scores
    /// every move on all samples.
    #[arg(long, default_value_t = 3)]
    pub prune_keep: usize,
    /// The cheap first pass scores each move on this fraction (1/N) of the samples.
    #[arg(long, default_value_t = 8)]
    pub prune_divisor: usize,
    /// A JSON file of moves (an array, each as a report's `move`) applied before the search;
    /// the report lists them and gives the file's own score beside the starting one.
    #[arg(long)]
    pub moves: Option<PathBuf>,
    /// Sampling-together moves only: no joins with features of the scenario's library.
    #[arg(long)]
    pub ties_only: bool,
    /// Folder for `attack-<name>.md` and `attack-<name>.json`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: AttackArgs) -> Result<(), ScenarioError> {
    // The reports' folder is checked before any work, so a long attack is never lost to it.
    let out = ReportDir::prepare(&args.out)?;
    if args.budget == 0 {
        return Err(ScenarioError::Scrub(
            "--budget must be at least 1 round".into(),
        ));
    }
    let tolerance = Tolerance {
        points: args.tolerance,
        stderrs: args.tolerance_stderrs,
    };
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    if !ok(tolerance.points) || !ok(tolerance.stderrs) {
        return Err(ScenarioError::Scrub(
            "--tolerance and --tolerance-stderrs must be finite and non-negative".into(),
        ));
    }
    let given: Vec<Move> = match &args.moves {
        None => Vec::new(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ScenarioError::Read {
                path: p.clone(),
                source,
            })?;
            serde_json::from_str(&text).map_err(|e| {
                ScenarioError::Scrub(format!(
                    "{}:{}:{}: not a JSON array of moves: {e}",
                    p.display(),
                    e.line(),
                    e.column()
                ))
            })?
        }
    };
    let LoadedHypothesis {
        file,
        name,
        samples,
        seed,
    } = args.hypothesis.load()?;
    let scenario = args.hypothesis.open(&file, &args.run)?;
    let progress = args.run.progress();
    let settings = AttackSettings {
        library: match args.ties_only {
            true => Vec::new(),
            false => scenario.feature_library(),
        },
        samples,
        seed,
        budget: args.budget,
        tolerance,
        prune: (args.prune_keep > 0).then_some(Prune {
            divisor: args.prune_divisor.max(1),
            keep: args.prune_keep,
        }),
        given,
    };
    let base = scenario.graph()?;
    let exec = ScrubExecutor::new(args.run.executor, &base)?;
    let (report, _) = attack_file(
        scenario.as_ref(),
        exec.graph(),
        &base,
        &file,
        &name,
        &settings,
        &progress,
    )?;
    let json = serde_json::to_string_pretty(&report).expect("report serialises");
    let written = out.write_or_print(
        &[
            (&format!("attack-{name}.md"), &report.markdown()),
            (&format!("attack-{name}.json"), &json),
        ],
        &json,
    )?;
    if args.run.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serialises")
        );
    } else {
        print!("{}", report.terminal());
        println!("wrote {written}");
    }
    Ok(())
}
