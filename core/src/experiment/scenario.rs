//! The narrow interface through which a scenario hands the pipeline its data.

use crate::feature::{DatumId, FeatureColumn};
use crate::scrub::evaluate::SAMPLE_BATCH;
use crate::scrub::hypothesis::{FeatureNames, HypothesisFile};
use crate::scrub::rewrite::RewriteLibrary;
use crate::scrub::run::{Differentiable, MetricKind, Score};
use crate::scrub::transformer::TransformerGraph;

use super::ExperimentError;

/// A reference hypothesis % loss recovered is measured against, with its name in reports.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// `0a`, `model`, `baseline`, ...
    pub name: String,
    pub file: HypothesisFile,
}

/// What a scenario is to the pipeline: data, not behaviour. A built-in scenario computes
/// these from its own files; a task directory reads them.
pub trait Scenario: Sync {
    /// The scenario's name in reports (`paren`, or a task directory's name).
    fn name(&self) -> &str;

    /// The un-rewritten model over the dataset, on the CPU; it also names the nodes.
    fn graph(&self) -> Result<TransformerGraph<'_>, ExperimentError>;

    /// The data references and agreeing draws come from.
    fn pool(&self) -> &[DatumId];

    /// Columns for `names`; a joined name (`a & b`) contributes its parts, which the
    /// sampler joins.
    fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ExperimentError>;

    /// Feature names as hypothesis files spell them, for building trees.
    fn feature_names(&self) -> FeatureNames<'_>;

    /// Features the adversary may join in (templates such as `horizon_at({i})`).
    fn feature_library(&self) -> Vec<String>;

    /// Predictors and directions rewrites may name.
    fn rewrite_library(&self) -> RewriteLibrary;

    /// Loss and correctness of one sample's output against its reference.
    fn score(&self) -> Box<Score<'_>>;

    /// A metric attribution patching can differentiate, with its gradient: the loss, or
    /// the negative log-odds of the label; `None` when this scenario has none of `kind`
    /// (the default).
    fn differentiable(&self, kind: MetricKind) -> Option<Differentiable<'_>> {
        let _ = kind;
        None
    }

    /// The hypotheses counted as 100% (`low`) and 0% (`high`) of the loss recovered.
    fn baselines(&self) -> Result<[Baseline; 2], ExperimentError>;

    /// What one sample's loss is, in words, for reports.
    fn loss_definition(&self) -> String;

    /// Whether "correct" means something for this metric (not for squared error).
    fn has_accuracy(&self) -> bool {
        true
    }

    /// Columns the loss is broken down by in reports.
    fn groups(&self) -> Result<Vec<FeatureColumn>, ExperimentError> {
        Ok(Vec::new())
    }

    /// Refuses a tree this scenario's graph cannot score faithfully (default: none).
    fn check_tree(&self, tree: &crate::scrub::tree::Tree) -> Result<(), ExperimentError> {
        let _ = tree;
        Ok(())
    }

    /// Samples evaluated together; smaller when a recomputed node's value is large.
    fn batch(&self) -> usize {
        SAMPLE_BATCH
    }
}
