//! `scrub task check DIR` and `scrub eval --task DIR`: a task directory validated, and its
//! model scored on its own data.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use scrub_core::experiment::{build_tree, evaluate_model, with_rewrites, Scenario, Summary};
use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};

use super::RunOptions;
use crate::error::ScenarioError;
use crate::registry::{self, Resolved};
use crate::scrub_graph::ScrubExecutor;
use crate::task::Task;

/// `scrub task ...`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Open a task directory, check everything it names (model, dataset, columns, metric,
    /// baselines, rewrite data) and every hypothesis file in its `hypotheses/` folder.
    Check(CheckArgs),
    /// Write a built-in scenario as a task directory (its features as columns, its
    /// predictors as files, its hypotheses pointed at the task); weights are referenced
    /// from the data directory, never copied.
    Export(ExportArgs),
}

/// `scrub task export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The built-in scenario (`paren`, `induction`).
    pub scenario: String,
    /// The folder to write the task into (created).
    pub out: PathBuf,
    /// Induction: the model directory (default: the committed one).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// `scrub task check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The task directory (holding `task.ron`).
    pub dir: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(cmd: TaskCommand) -> Result<(), ScenarioError> {
    match cmd {
        TaskCommand::Check(a) => check(&a),
        TaskCommand::Export(a) => {
            let options = registry::OpenOptions {
                data_dir: a.run.data_dir.clone(),
                model_dir: a.model_dir.clone(),
                ..Default::default()
            };
            registry::export(&a.scenario, &options, &a.out)?;
            println!("wrote {}", a.out.display());
            Ok(())
        }
    }
}

/// What `scrub task check` found, for `--json`.
#[derive(Debug, serde::Serialize)]
struct CheckReport {
    task: String,
    data: usize,
    pool: usize,
    max_len: usize,
    columns: Vec<String>,
    features: Vec<String>,
    metric: String,
    baselines: [String; 2],
    /// Heads and MLPs whose output is zero on every input (a compiled model's empty
    /// sublayers): terms no hypothesis needs to mention.
    zero: Vec<String>,
    hypotheses: Vec<String>,
    warnings: Vec<String>,
}

fn check(a: &CheckArgs) -> Result<(), ScenarioError> {
    let task = Task::open(&a.dir)?;
    let base = task.graph()?;
    let mut hypotheses = Vec::new();
    let mut failed = Vec::new();
    let folder = task.dir.join("hypotheses");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "ron"));
    files.sort();
    for path in files {
        match check_file(&task, &base, &path) {
            Ok(()) => hypotheses.push(path.display().to_string()),
            Err(e) => failed.push(format!("{}: {e}", path.display())),
        }
    }
    let [low, high] = task.baselines()?;
    let report = CheckReport {
        task: task.dir.display().to_string(),
        data: task.dataset.len(),
        pool: task.pool().len(),
        max_len: task.dataset.max_len(),
        columns: task
            .dataset
            .columns()
            .iter()
            .map(|c| {
                format!(
                    "{} ({:?} {}, {} values)",
                    c.name,
                    c.scope,
                    c.kind(),
                    c.distinct_values()
                )
            })
            .collect(),
        features: task.feature_list(),
        metric: task.loss_definition(),
        baselines: [low.name, high.name],
        zero: task.model.zero_components(),
        hypotheses,
        warnings: task.warnings.clone(),
    };
    if a.run.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serialises")
        );
    } else {
        let c = &task.model.config;
        println!("task        {}", report.task);
        println!(
            "model       {} layers, {} heads, d_model {}, d_vocab {} → {}, n_ctx {}",
            c.n_layers, c.n_heads, c.d_model, c.d_vocab, c.d_vocab_out, c.n_ctx
        );
        println!(
            "dataset     {} data (longest {} tokens), pool {}",
            report.data, report.max_len, report.pool
        );
        for col in &report.columns {
            println!("column      {col}");
        }
        println!("features    {}", report.features.join(", "));
        println!("metric      {}", report.metric);
        println!(
            "baselines   {} (100%), {} (0%)",
            report.baselines[0], report.baselines[1]
        );
        if !report.zero.is_empty() {
            println!("always zero {}", report.zero.join(", "));
        }
        for h in &report.hypotheses {
            println!("ok          {h}");
        }
        for w in &report.warnings {
            println!("warning     {w}");
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::PartsFailed {
            total: failed.len() + report.hypotheses.len(),
            failed,
        })
    }
}

/// A hypothesis file of the task's folder: it names this task, and its rewrites and tree
/// build on the task's model with the task's features.
fn check_file(
    task: &Task,
    base: &scrub_core::scrub::transformer::TransformerGraph,
    path: &Path,
) -> Result<(), ScenarioError> {
    let file = HypothesisFile::load(path)?;
    match registry::resolve(&file.scenario, path)? {
        Resolved::Task(d) if d == task.dir => {}
        other => {
            return Err(ScenarioError::Scrub(format!(
                "it names scenario `{}` ({other:?}), not this task",
                file.scenario
            )))
        }
    }
    file.check_rewrites(base, &NameResolver::transformer(base))?;
    with_rewrites(
        base,
        base,
        &file.rewrites,
        &task.rewrite_library(),
        &mut |g| {
            build_tree(task, g, base, &file)?;
            Ok::<_, ScenarioError>(())
        },
    )
}

/// `scrub eval --task DIR`: the model on every datum of the pool (or the first `limit`).
pub(super) fn eval(
    dir: &Path,
    limit: Option<usize>,
    run: &RunOptions,
) -> Result<(), ScenarioError> {
    if limit.is_some() {
        return Err(ScenarioError::Scrub(
            "--limit does not apply to --task (the pool is the task's; choose it with `pool` in task.ron)".into(),
        ));
    }
    let task = Task::open(dir)?;
    let base = task.graph()?;
    let exec = ScrubExecutor::new(run.executor, &base)?;
    let start = std::time::Instant::now();
    let s: Summary = evaluate_model(&task, exec.graph(), &run.progress())?;
    let seconds = start.elapsed().as_secs_f64();
    if run.json {
        let v = serde_json::json!({
            "task": task.dir, "data": s.loss.n, "loss": s.loss.mean, "stderr": s.loss.stderr,
            "accuracy": s.accuracy, "groups": s.groups, "metric": task.loss_definition(),
            "executor": exec.name(), "seconds": seconds,
        });
        println!("{v}");
    } else {
        println!("task       {}", task.dir.display());
        println!("data       {}", s.loss.n);
        println!("metric     {}", task.loss_definition());
        println!("loss       {:.6} ± {:.6}", s.loss.mean, s.loss.stderr);
        if let Some(a) = s.accuracy {
            println!("accuracy   {:.3}%", 100.0 * a);
        }
        for g in &s.groups {
            println!(
                "by group   {} = {}: loss {:.6} on {} data",
                g.column, g.value, g.loss, g.n
            );
        }
        println!("executor   {} ({seconds:.2} s)", exec.name());
    }
    Ok(())
}
