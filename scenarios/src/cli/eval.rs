//! `scrub eval`: the unscrubbed model's loss and accuracy.

use super::{EvalArgs, ScenarioName};
use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::eval::{evaluate, EvalReport};
use crate::executor_choice::make_executor;
use crate::paren;
use crate::progress::Progress;

pub(super) fn run(args: EvalArgs) -> Result<(), ScenarioError> {
    if let Some(dir) = &args.task {
        return super::task::eval(dir, args.limit, &args.run);
    }
    let dir = DataDir::resolve(args.run.data_dir.as_deref())?;
    let report = match args.scenario {
        ScenarioName::Paren => {
            let model = paren::load_model(&dir)?;
            let mut data = paren::load_dataset(&dir)?;
            if let Some(n) = args.limit {
                data.truncate(n);
            }
            tracing::info!(
                sequences = data.len(),
                balanced = format!("{:.1}%", 100.0 * data.balanced_fraction()),
                "loaded {}",
                data.path.display()
            );
            let executor = make_executor(args.run.executor, &model)?;
            let progress = if args.run.quiet {
                Progress::hidden()
            } else {
                Progress::visible()
            };
            evaluate(
                paren::NAME,
                executor.as_ref(),
                data.len(),
                |r| (data.batch(r.clone()), data.targets(r)),
                &progress,
            )?
        }
    };
    if args.run.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serialises")
        );
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &EvalReport) {
    let rows = [
        ("scenario", r.scenario.clone()),
        ("sequences", r.n.to_string()),
        ("loss", format!("{:.6} ± {:.6}", r.loss, r.stderr)),
        (
            "accuracy",
            format!("{:.3}% ({} errors)", 100.0 * r.accuracy, r.errors),
        ),
        ("executor", r.executor.clone()),
        ("adapter", r.adapter.clone().unwrap_or_else(|| "-".into())),
        (
            "time",
            format!(
                "{:.2} s ({:.0} sequences/s)",
                r.seconds, r.sequences_per_second
            ),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<10} {v}");
    }
}
