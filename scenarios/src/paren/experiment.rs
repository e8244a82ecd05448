//! Running a paren hypothesis file end to end: rewrites, tree, scrub, and the metrics the
//! write-up reports, with 0a and 0b measured on the same samples and seed.

use serde::Serialize;

use scrub_core::scrub::hypothesis::{FeatureNames, HypothesisFile, NameResolver};
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::Tree;
use scrub_core::scrub::ScrubGraph;

use super::scrub::{hypothesis_0a, hypothesis_0b, ParenScrub, ScrubStats};
use crate::error::ScenarioError;
use crate::progress::Progress;
use crate::scrub_scenario::{run_with_progress, with_rewrites};
use scrub_core::stats::Baselines;

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

/// Builds `file`'s tree over `graph` with paren names and features.
pub fn build_tree(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
) -> Result<Tree, ScenarioError> {
    let names = NameResolver::transformer(base);
    let features = FeatureNames::new(scrub.features.names(), |n| scrub.features.canonical_name(n));
    Ok(file.build_tree(graph, &names, &features)?)
}

/// Runs `tree` over `graph` on `samples` samples with `seed`.
pub fn scrub_tree(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    tree: &Tree,
    samples: usize,
    seed: u64,
    progress: &Progress,
    label: &str,
) -> Result<Vec<SampleOutcome>, ScenarioError> {
    scrub_tree_cached(scrub, graph, tree, samples, seed, None, progress, label)
}

/// `scrub_tree`, reusing and filling `cache` (which must belong to `graph`).
#[allow(clippy::too_many_arguments)]
pub fn scrub_tree_cached(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    tree: &Tree,
    samples: usize,
    seed: u64,
    cache: Option<&PlainCache>,
    progress: &Progress,
    label: &str,
) -> Result<Vec<SampleOutcome>, ScenarioError> {
    let columns = scrub.columns(&tree.features())?;
    let score = scrub.score();
    let mut spec = scrub.spec(&columns, &score, samples, seed);
    spec.cache = cache;
    run_with_progress(graph, tree, &spec, progress, label)
}

/// The 0a and 0b losses on `samples` samples with `seed`, paired; warns when the pool
/// cannot give a meaningful range (one class, fewer distinct data than samples, no gap).
pub fn baselines(
    scrub: &ParenScrub,
    graph: &dyn ScrubGraph,
    samples: usize,
    seed: u64,
    progress: &Progress,
) -> Result<Baselines, ScenarioError> {
    warn_about_pool(scrub, samples);
    let losses = |tree: &Tree, label| -> Result<Vec<f64>, ScenarioError> {
        let out = scrub_tree(scrub, graph, tree, samples, seed, progress, label)?;
        Ok(out.iter().map(|o| o.loss).collect())
    };
    let a = losses(&hypothesis_0a(graph), "0a")?;
    let b = losses(&hypothesis_0b(graph), "0b")?;
    let l = Baselines::from_paired(&a, &b)?;
    if let Err(why) = l.range() {
        tracing::warn!("{why}");
    }
    Ok(l)
}

/// Says when the scrubbing pool is degenerate for the run about to start.
fn warn_about_pool(scrub: &ParenScrub, samples: usize) {
    let balanced = scrub.pool.iter().filter(|&&d| scrub.balanced(d)).count();
    let n = scrub.pool.len();
    if balanced == 0 || balanced == n {
        let class = if balanced == 0 {
            "unbalanced"
        } else {
            "balanced"
        };
        tracing::warn!(
            "the scrubbing pool holds one class only: all {n} sequences are {class}; \
             resampling cannot destroy the label, so % loss recovered will be undefined"
        );
    } else if balanced.min(n - balanced) < 10 {
        tracing::warn!(
            "the scrubbing pool holds only {} sequences of one class (of {n}): % loss recovered rests on them",
            balanced.min(n - balanced)
        );
    }
    if n < samples {
        tracing::warn!(
            "the scrubbing pool holds {n} distinct sequences, fewer than the {samples} samples asked for: references repeat"
        );
    }
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
    let library = scrub.library();
    file.check_rewrites(base, &NameResolver::transformer(base))?;
    with_rewrites(graph, base, &file.rewrites, &library, &mut |g| {
        let tree = build_tree(scrub, g, base, file)?;
        let outcomes = scrub_tree(scrub, g, &tree, samples, seed, progress, name)?;
        let s = ScrubStats::of(&outcomes, |d| scrub.balanced(d))?;
        let balanced = scrub.pool.iter().filter(|&&d| scrub.balanced(d)).count() as f64
            / scrub.pool.len() as f64;
        Ok(ExperimentResult {
            hypothesis: name.to_string(),
            loss: s.loss,
            stderr: s.stderr,
            accuracy: s.accuracy,
            loss_balanced: s.loss_balanced,
            loss_unbalanced: s.loss_unbalanced,
            pct_recovered: l.pct_recovered(s.loss),
            samples,
            seed,
            baseline_0a: l.low.mean,
            baseline_0b: l.high.mean,
            balanced_fraction: balanced,
            executor: executor.to_string(),
        })
    })
}
