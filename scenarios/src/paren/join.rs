//! Joining two paren hypothesis files: both built over the same (rewritten) model, joined
//! as trees, and written back as one explicit file that `scrub run` and `scrub attack` take.

use scrub_adversary::join::join;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::validate::validate;

use super::experiment::build_tree;
use super::scrub::ParenScrub;
use crate::error::ScenarioError;
use crate::scrub_scenario::with_rewrites;
use scrub_core::scrub::hypothesis::NameResolver;

/// Refuses two hypotheses about different scenarios, or about one this binary lacks.
pub fn same_scenario(
    (first, second): (&HypothesisFile, &HypothesisFile),
    names: (&str, &str),
) -> Result<(), ScenarioError> {
    if first.scenario != second.scenario {
        return Err(ScenarioError::Scrub(format!(
            "{} is about scenario `{}` and {} about `{}`; only hypotheses about one scenario can be joined",
            names.0, first.scenario, names.1, second.scenario
        )));
    }
    if first.scenario != super::NAME {
        return Err(ScenarioError::Scrub(format!(
            "{}: scenario `{}` is not known here (known: {})",
            names.0,
            first.scenario,
            super::NAME
        )));
    }
    Ok(())
}

/// The join of `first` and `second` (named `names` in messages): the hypothesis permitting a
/// swap exactly when both do. Both must be about the same scenario and rewrite the model
/// the same way; samples, seed and sharing are `first`'s.
pub fn join_files(
    scrub: &ParenScrub,
    base: &TransformerGraph,
    (first, second): (&HypothesisFile, &HypothesisFile),
    names: (&str, &str),
) -> Result<HypothesisFile, ScenarioError> {
    same_scenario((first, second), names)?;
    if first.rewrites != second.rewrites {
        return Err(ScenarioError::Scrub(format!(
            "{} and {} rewrite the model differently ({:?} vs {:?}); a join is defined over one rewritten model",
            names.0, names.1, first.rewrites, second.rewrites
        )));
    }
    for file in [first, second] {
        file.check_rewrites(base, &NameResolver::transformer(base))?;
    }
    with_rewrites(base, base, &first.rewrites, &scrub.library(), &mut |g| {
        let t1 = build_tree(scrub, g, base, first)?;
        let t2 = build_tree(scrub, g, base, second)?;
        let joined = join(&t1, &t2).map_err(|e| {
            ScenarioError::Scrub(format!("joining {} and {}: {e}", names.0, names.1))
        })?;
        validate(&joined, g).map_err(|e| {
            ScenarioError::Scrub(format!("the join of {} and {}: {e}", names.0, names.1))
        })?;
        let mut out = first.with_tree(&joined, g)?;
        out.description = format!(
            "join of {} and {}: permits a swap exactly when both do",
            names.0, names.1
        );
        Ok(out)
    })
}
