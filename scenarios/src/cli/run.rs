//! `scrub run FILE`: score one hypothesis, with its scenario's two baselines on the same
//! samples.

use super::hypothesis_args::{HypothesisArgs, LoadedHypothesis};

use clap::Args;

use scrub_core::experiment::{reference_baselines, run_hypothesis, HypothesisResult, RunSettings};

use super::RunOptions;
use crate::cells::pct;
use crate::error::ScenarioError;
use crate::scrub_graph::ScrubExecutor;

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
    let scenario = args.hypothesis.open(&file, &args.run)?;
    let progress = args.run.progress();
    let base = scenario.graph()?;
    let exec = ScrubExecutor::new(args.run.executor, &base)?;
    let settings = RunSettings {
        samples,
        seed,
        cache: None,
        progress: &progress,
    };
    let refs = reference_baselines(scenario.as_ref(), exec.graph(), &base, &settings)?;
    let result = run_hypothesis(
        scenario.as_ref(),
        exec.graph(),
        &base,
        &file,
        &name,
        &settings,
        &refs,
        exec.name(),
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

/// The result as a terminal table: loss, accuracy, % recovered, the breakdown, settings.
fn print_result(r: &HypothesisResult) {
    let mut rows = vec![
        ("hypothesis", r.hypothesis.clone()),
        ("scenario", r.scenario.clone()),
        ("loss", format!("{:.4} ± {:.4}", r.loss, r.stderr)),
    ];
    if let Some(a) = r.accuracy {
        rows.push(("accuracy", format!("{:.1}%", 100.0 * a)));
    }
    rows.push((
        "recovered",
        format!(
            "{} of the loss ({} {:.4}, {} {:.4})",
            pct(r.pct_recovered, 1),
            r.low.name,
            r.low.loss,
            r.high.name,
            r.high.loss
        ),
    ));
    for g in &r.groups {
        rows.push((
            "by group",
            format!(
                "loss {:.4} on {} references with {} = {}",
                g.loss, g.n, g.column, g.value
            ),
        ));
    }
    rows.push((
        "samples",
        format!("{} (seed {}, {} executor)", r.samples, r.seed, r.executor),
    ));
    for (k, v) in rows {
        println!("{k:<11} {v}");
    }
}
