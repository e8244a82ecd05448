//! What the adversary and `scrub run` need from a scenario whose hypothesis files they
//! score: its rewrites' predictors, how a file becomes a tree, how a tree is scrubbed on
//! paired samples, the two losses % recovered is measured between, and the features the
//! adversary may join in; and applying a file's rewrites, which every scenario shares.

use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::rewrite::{apply, RewriteLibrary, RewriteSpec};
use scrub_core::scrub::run::{run, RunSpec, SampleOutcome};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::Tree;
use scrub_core::scrub::ScrubGraph;
use scrub_core::stats::Baselines;

use crate::error::ScenarioError;
use crate::progress::Progress;

/// A scenario hypothesis files can be scored and attacked on.
pub trait ScrubScenario: Sync {
    /// Predictors and directions rewrites may name.
    fn library(&self) -> RewriteLibrary;

    /// `file`'s tree over `graph` (already rewritten; `base` names the model's nodes).
    fn build_tree(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        file: &HypothesisFile,
    ) -> Result<Tree, ScenarioError>;

    /// Per-sample losses of `tree` on `samples` samples with `seed`, reusing `cache`.
    #[allow(clippy::too_many_arguments)]
    fn scrub(
        &self,
        graph: &dyn ScrubGraph,
        tree: &Tree,
        samples: usize,
        seed: u64,
        cache: Option<&PlainCache>,
        progress: &Progress,
        label: &str,
    ) -> Result<Vec<SampleOutcome>, ScenarioError>;

    /// The loss counted as 100% recovered and the loss counted as 0%, on the same samples.
    fn reference_baselines(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        samples: usize,
        seed: u64,
        progress: &Progress,
    ) -> Result<Baselines, ScenarioError>;

    /// Features the adversary may join in (templates such as `horizon_at({i})`).
    fn feature_library(&self) -> Vec<String>;
}

/// Applies `specs` in order to `graph`, then calls `f` with the rewritten graph.
pub fn with_rewrites<R>(
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    specs: &[RewriteSpec],
    library: &RewriteLibrary,
    f: &mut dyn FnMut(&dyn ScrubGraph) -> Result<R, ScenarioError>,
) -> Result<R, ScenarioError> {
    match specs.split_first() {
        None => f(graph),
        Some((spec, rest)) => {
            let names = NameResolver::transformer(base);
            let rewritten = apply(graph, spec, library, &|n| names.resolve(graph, n))
                .map_err(|e| ScenarioError::Scrub(e.to_string()))?;
            with_rewrites(rewritten.as_ref(), base, rest, library, f)
        }
    }
}

/// Scrubs `tree` on `graph` as `spec` says, with a progress bar over its samples.
pub fn run_with_progress(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    spec: &RunSpec,
    progress: &Progress,
    label: &str,
) -> Result<Vec<SampleOutcome>, ScenarioError> {
    let bar = progress.bar(spec.samples as u64, &format!("samples ({label})"));
    let out = run(graph, tree, spec, &mut |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    Ok(out)
}
