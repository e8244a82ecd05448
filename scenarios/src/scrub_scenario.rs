//! What the adversary and `scrub run` need from a scenario whose hypothesis files they
//! score: its rewrites' predictors, how a file becomes a tree, how a tree is scrubbed on
//! paired samples, the two losses % recovered is measured between, and the features the
//! adversary may join in.

use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::rewrite::RewriteLibrary;
use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::Tree;
use scrub_core::scrub::ScrubGraph;

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

    /// (the loss counted as 100% recovered, the loss counted as 0%) on the same samples.
    fn baselines(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        samples: usize,
        seed: u64,
        progress: &Progress,
    ) -> Result<(f64, f64), ScenarioError>;

    /// Features the adversary may join in (templates such as `horizon_at({i})`).
    fn feature_library(&self) -> Vec<String>;
}
