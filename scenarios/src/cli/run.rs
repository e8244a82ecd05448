//! `scrub run FILE`: score one hypothesis, with 0a and 0b on the same samples.

use super::hypothesis_args::{HypothesisArgs, LoadedHypothesis};

use clap::Args;

use super::RunOptions;
use crate::cells::{loss, pct};
use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::induction::experiment::{reference_losses, score_file};
use crate::induction::scrub::InductionScrub;
use crate::paren::experiment::{baselines, run_file, ExperimentResult};
use crate::paren::scrub::ParenScrub;
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
    args.hypothesis.check_data_dir_applies(&file, &args.run)?;
    if file.scenario == crate::induction::scrub::NAME {
        let scrub = args.hypothesis.induction()?;
        return run_induction(&scrub, &file, &name, samples, seed, &args.run);
    }
    let dir = DataDir::resolve(args.run.data_dir.as_deref())?;
    let scrub = ParenScrub::load(&dir, args.hypothesis.balanced_fraction, 0)?;
    let progress = args.run.progress();
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
        &l,
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
            format!("loss {} on balanced references", loss(r.loss_balanced)),
        ),
        (
            "unbalanced",
            format!("loss {} on unbalanced references", loss(r.loss_unbalanced)),
        ),
        (
            "recovered",
            format!(
                "{} of the loss (0a {:.4}, 0b {:.4})",
                pct(r.pct_recovered, 1),
                r.baseline_0a,
                r.baseline_0b
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
    let progress = run.progress();
    let base = scrub.graph()?;
    let exec = ScrubExecutor::new(run.executor, &base)?;
    let graph = exec.graph();
    let refs = reference_losses(
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
    let p = refs.pct_recovered(l.loss);
    let (model, baseline) = (refs.low.mean, refs.high.mean);
    if run.json {
        let v = serde_json::json!({
            "hypothesis": name, "loss": l.loss, "stderr": l.stderr, "pct_recovered": p,
            "model_loss": model, "baseline_loss": baseline,
            "samples": samples, "seed": seed, "executor": exec.name(),
        });
        println!("{v}");
    } else {
        println!("hypothesis  {name}");
        println!("loss        {:.4} ± {:.4}", l.loss, l.stderr);
        println!(
            "recovered   {} (model {model:.4}, baseline {baseline:.4}; {samples} samples, seed {seed}, {} executor)",
            pct(p, 1),
            exec.name()
        );
    }
    Ok(())
}
