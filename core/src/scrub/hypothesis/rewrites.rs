//! The terms a hypothesis's rewrites split, checked before any rewrite is applied so that a
//! misspelt term is reported at its place in the file. A rewrite may split a term an earlier
//! rewrite derived (`0.0@phi`), so the derived names are tracked as the list is read.

use super::names::{did_you_mean, list, NameResolver};
use super::{HypothesisError, HypothesisFile};
use crate::scrub::graph::ScrubGraph;

impl HypothesisFile {
    /// Checks that every rewrite names a term of `graph` (the model before any rewrite) or
    /// one an earlier rewrite derives; the error points at the `term` written in the file.
    pub fn check_rewrites(
        &self,
        graph: &dyn ScrubGraph,
        names: &NameResolver,
    ) -> Result<(), HypothesisError> {
        let mut derived: Vec<String> = Vec::new();
        for (i, r) in self.rewrites.iter().enumerate() {
            let term = r.term();
            let spelled = names.spelled(graph, term);
            let known = names.resolve(graph, term).is_some()
                || spelled.as_ref().is_some_and(|s| derived.contains(s));
            let Some(spelled) = spelled.filter(|_| known) else {
                let site = self.origin.source.as_deref().and_then(|d| {
                    let r = d.field("rewrites")?.element(i)?;
                    r.field("term").or(Some(r))
                });
                let mut terms = names.describe(graph, |_| true);
                terms.extend(derived.iter().cloned());
                return Err(HypothesisError::File {
                    at: self.location(site),
                    message: format!(
                        "rewrite {} names unknown term `{term}`{}; the terms are {}",
                        i + 1,
                        did_you_mean(names.suggest(graph, term)),
                        list(&terms)
                    ),
                });
            };
            derived.extend(r.derived_names(&spelled));
        }
        Ok(())
    }
}
