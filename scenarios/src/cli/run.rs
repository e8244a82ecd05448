//! `scrub run FILE`: score one hypothesis, with its scenario's two baselines on the same
//! samples.

use super::hypothesis_args::{HypothesisArgs, LoadedHypothesis};

use clap::Args;

use scrub_core::experiment::{HypothesisResult, RunSettings, Shard};

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
        first_sample: 0,
        seed,
        cache: None,
        progress: &progress,
    };
    // Through a shard, as the Python package runs it, so both give the same numbers.
    let result = Shard::run(
        scenario.as_ref(),
        exec.graph(),
        &base,
        &file,
        &name,
        &settings,
        exec.name(),
    )?
    .result()?;
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
