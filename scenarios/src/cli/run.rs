//! `scrub run FILE`: score one hypothesis, with 0a and 0b on the same samples.

use super::hypothesis_args::{HypothesisArgs, LoadedHypothesis};

use clap::Args;

use super::RunOptions;
use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::induction::experiment::{reference_losses, score_file};
use crate::induction::scrub::InductionScrub;
use crate::paren::experiment::{baselines, run_file, ExperimentResult};
use crate::paren::scrub::pct_recovered;
use crate::paren::scrub::ParenScrub;
use crate::progress::Progress;
use crate::scrub_graph::ScrubExecutor;
use scrub_core::scrub::hypothesis::HypothesisFile;

/// `scrub run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub hypothesis: HypothesisArgs,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: RunArgs) -> Result<(), ScenarioError> {
    let LoadedHypothesis {
        file,
        name,
        samples,
        seed,
    } = args.hypothesis.load()?;
    if file.scenario == crate::induction::scrub::NAME {
        let scrub = args.hypothesis.induction()?;
        return run_induction(&scrub, &file, &name, samples, seed, &args.run);
    }
    let dir = DataDir::resolve(args.run.data_dir.as_deref())?;
    let scrub = ParenScrub::load(&dir, args.hypothesis.balanced_fraction, 0)?;
    let progress = if args.run.quiet {
        Progress::hidden()
    } else {
        Progress::visible()
    };
    let base = scrub.graph()?;
    let exec = ScrubExecutor::new(args.run.executor, &base)?;
    let graph = exec.graph();
    let l = baselines(&scrub, graph, samples, seed, &progress)?;
    let result = run_file(
        &scrub,
        graph,
        &base,
        &file,
        &name,
        samples,
        seed,
        l,
        exec.name(),
        &progress,
    )?;
    if args.run.json {
        println!(
            "{}",
            serde_json::to_string(&result).expect("result serialises")
        );
    } else {
        print_result(&result);
    }
    Ok(())
}

fn print_result(r: &ExperimentResult) {
    let rows = [
        ("hypothesis", r.hypothesis.clone()),
        ("loss", format!("{:.4} ± {:.4}", r.loss, r.stderr)),
        ("accuracy", format!("{:.1}%", 100.0 * r.accuracy)),
        (
            "balanced",
            format!("loss {:.4} on balanced references", r.loss_balanced),
        ),
        (
            "unbalanced",
            format!("loss {:.4} on unbalanced references", r.loss_unbalanced),
        ),
        (
            "recovered",
            format!(
                "{:.1}% of the loss (0a {:.4}, 0b {:.4})",
                r.pct_recovered, r.baseline_0a, r.baseline_0b
            ),
        ),
        (
            "samples",
            format!(
                "{} (seed {}, pool {:.0}% balanced)",
                r.samples,
                r.seed,
                100.0 * r.balanced_fraction
            ),
        ),
        ("executor", r.executor.clone()),
    ];
    for (k, v) in rows {
        println!("{k:<11} {v}");
    }
}

/// `scrub run` on an induction file: its loss beside the unscrubbed model's and the
/// baseline's on the same samples.
fn run_induction(
    scrub: &InductionScrub,
    file: &HypothesisFile,
    name: &str,
    samples: usize,
    seed: u64,
    run: &RunOptions,
) -> Result<(), ScenarioError> {
    let progress = if run.quiet {
        Progress::hidden()
    } else {
        Progress::visible()
    };
    let base = scrub.graph()?;
    let exec = ScrubExecutor::new(run.executor, &base)?;
    let graph = exec.graph();
    let (model, baseline) = reference_losses(
        scrub,
        graph,
        &base,
        &scrub.hypotheses_dir,
        samples,
        seed,
        None,
        &progress,
    )?;
    let l = score_file(
        scrub, graph, &base, file, samples, seed, None, &progress, name,
    )?;
    let pct = pct_recovered(l.loss, model.loss, baseline.loss);
    if run.json {
        let v = serde_json::json!({
            "hypothesis": name, "loss": l.loss, "stderr": l.stderr, "pct_recovered": pct,
            "model_loss": model.loss, "baseline_loss": baseline.loss,
            "samples": samples, "seed": seed, "executor": exec.name(),
        });
        println!("{v}");
    } else {
        println!("hypothesis  {name}");
        println!("loss        {:.4} ± {:.4}", l.loss, l.stderr);
        println!(
            "recovered   {pct:.1}% (model {:.4}, baseline {:.4}; {samples} samples, seed {seed}, {} executor)",
            model.loss,
            baseline.loss,
            exec.name()
        );
    }
    Ok(())
}
