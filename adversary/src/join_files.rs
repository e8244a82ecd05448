//! Joining two hypothesis files of one scenario: both built over the same (rewritten)
//! model, joined as trees, and written back as one explicit file that `scrub run` and
//! `scrub attack` take.

use scrub_core::experiment::{build_tree, with_rewrites, ExperimentError, Scenario};
use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::validate::validate;

use crate::join::{join, JoinError};

/// Why two files cannot be joined.
#[derive(Debug, thiserror::Error)]
pub enum JoinFilesError {
    #[error("{first} and {second} rewrite the model differently ({a:?} vs {b:?}); a join is defined over one rewritten model")]
    Rewrites {
        first: String,
        second: String,
        a: Vec<scrub_core::scrub::rewrite::RewriteSpec>,
        b: Vec<scrub_core::scrub::rewrite::RewriteSpec>,
    },
    #[error("joining {first} and {second}: {source}")]
    Join {
        first: String,
        second: String,
        source: JoinError,
    },
    #[error("the join of {first} and {second}: {message}")]
    Invalid {
        first: String,
        second: String,
        message: String,
    },
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
}

impl From<scrub_core::scrub::rewrite::RewriteError> for JoinFilesError {
    fn from(e: scrub_core::scrub::rewrite::RewriteError) -> Self {
        JoinFilesError::Experiment(e.into())
    }
}

/// The join of `first` and `second` (named `names` in messages): the hypothesis permitting a
/// swap exactly when both do. Both must rewrite the model the same way; samples, seed,
/// sharing, pad mask and scenario are `first`'s (the caller checks both name one scenario).
pub fn join_files(
    scenario: &dyn Scenario,
    base: &TransformerGraph,
    (first, second): (&HypothesisFile, &HypothesisFile),
    names: (&str, &str),
) -> Result<HypothesisFile, JoinFilesError> {
    let (n1, n2) = (names.0.to_string(), names.1.to_string());
    if first.rewrites != second.rewrites {
        return Err(JoinFilesError::Rewrites {
            first: n1,
            second: n2,
            a: first.rewrites.clone(),
            b: second.rewrites.clone(),
        });
    }
    for file in [first, second] {
        file.check_rewrites(base, &NameResolver::transformer(base))
            .map_err(ExperimentError::from)?;
    }
    let library = scenario.rewrite_library();
    with_rewrites(base, base, &first.rewrites, &library, &mut |g| {
        let t1 = build_tree(scenario, g, base, first)?;
        let t2 = build_tree(scenario, g, base, second)?;
        let joined = join(&t1, &t2).map_err(|source| JoinFilesError::Join {
            first: n1.clone(),
            second: n2.clone(),
            source,
        })?;
        validate(&joined, g).map_err(|e| JoinFilesError::Invalid {
            first: n1.clone(),
            second: n2.clone(),
            message: e.to_string(),
        })?;
        let mut out = first.with_tree(&joined, g).map_err(ExperimentError::from)?;
        out.description = format!(
            "join of {} and {}: permits a swap exactly when both do",
            names.0, names.1
        );
        Ok(out)
    })
}
