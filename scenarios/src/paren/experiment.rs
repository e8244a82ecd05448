//! A paren hypothesis file through the experiment pipeline, reported with the figures the
//! write-up's table has (loss on balanced and unbalanced references, 0a and 0b).

use serde::Serialize;

use scrub_core::experiment::{reference_baselines, run_hypothesis, HypothesisResult, RunSettings};
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::ScrubGraph;
use scrub_core::stats::Baselines;

pub use scrub_core::experiment::build_tree;

use super::scrub::ParenScrub;
use crate::error::ScenarioError;
use crate::progress::Progress;

/// What one hypothesis scored, with the run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentResult {
    pub hypothesis: String,
    pub loss: f64,
    pub stderr: f64,
    pub accuracy: f64,
    /// `None` (null) when no sampled reference is balanced.
    pub loss_balanced: Option<f64>,
    /// `None` (null) when no sampled reference is unbalanced.
    pub loss_unbalanced: Option<f64>,
    /// `None` (null in JSON) when 0b does not lose clearly more than 0a on these samples.
    pub pct_recovered: Option<f64>,
    pub samples: usize,
    pub seed: u64,
    pub baseline_0a: f64,
    pub baseline_0b: f64,
    pub balanced_fraction: f64,
    pub executor: String,
}

impl ExperimentResult {
    /// The paren table's view of a pipeline result: the `is_balanced` breakdown as two
    /// columns, 0a and 0b by their write-up names.
    pub fn of(r: HypothesisResult, scrub: &ParenScrub) -> Self {
        let group = |balanced: bool| {
            r.groups
                .iter()
                .find(|g| g.column == "is_balanced" && g.code == balanced as i64)
                .map(|g| g.loss)
        };
        let balanced = scrub.pool.iter().filter(|&&d| scrub.balanced(d)).count() as f64
            / scrub.pool.len() as f64;
        ExperimentResult {
            loss_balanced: group(true),
            loss_unbalanced: group(false),
            hypothesis: r.hypothesis,
            loss: r.loss,
            stderr: r.stderr,
            accuracy: r.accuracy.unwrap_or(f64::NAN),
            pct_recovered: r.pct_recovered,
            samples: r.samples,
            seed: r.seed,
            baseline_0a: r.low.loss,
            baseline_0b: r.high.loss,
            balanced_fraction: balanced,
            executor: r.executor,
        }
    }
}

/// The 0a and 0b losses on `samples` samples with `seed`, paired.
pub fn baselines(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    samples: usize,
    seed: u64,
    progress: &Progress,
) -> Result<Baselines, ScenarioError> {
    let run = RunSettings {
        samples,
        first_sample: 0,
        seed,
        cache: None,
        progress,
    };
    Ok(reference_baselines(scrub, graph, base, &run)?)
}

/// Scores `file` on `graph` (the un-rewritten model) against known baselines.
#[allow(clippy::too_many_arguments)]
pub fn run_file(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    name: &str,
    samples: usize,
    seed: u64,
    l: &Baselines,
    executor: &str,
    progress: &Progress,
) -> Result<ExperimentResult, ScenarioError> {
    let run = RunSettings {
        samples,
        first_sample: 0,
        seed,
        cache: None,
        progress,
    };
    let r = run_hypothesis(scrub, graph, base, file, name, &run, l, executor)?;
    Ok(ExperimentResult::of(r, scrub))
}
