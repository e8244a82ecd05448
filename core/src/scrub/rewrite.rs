//! Rewrites that add derived terms to a graph without changing what it computes: a term
//! `a` becomes `b + (a − b)` for a predictor `b` a scenario supplies, or its projection onto
//! a direction plus the orthogonal remainder. Each port that summed `a` sums the two parts
//! instead, so a hypothesis can treat them differently.

use serde::{Deserialize, Serialize};

/// A rewrite as a hypothesis file names it; resolved against a graph and a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RewriteSpec {
    /// `term = predictor(datum) + (term − predictor(datum))`; the parts are named
    /// `{term}@{predictor}` and `{term}~{predictor}`.
    Predict { term: String, predictor: String },
    /// `term = (term·u)u + (term − (term·u)u)` for the scenario's direction u (row by row);
    /// the parts are named `{term}@{direction}` and `{term}~{direction}`.
    Project { term: String, direction: String },
}

impl RewriteSpec {
    /// The term being split.
    pub fn term(&self) -> &str {
        match self {
            RewriteSpec::Predict { term, .. } | RewriteSpec::Project { term, .. } => term,
        }
    }

    /// Names of the two derived terms: (predicted or projected part, remainder).
    pub fn part_names(&self, canonical_term: &str) -> (String, String) {
        let by = match self {
            RewriteSpec::Predict { predictor, .. } => predictor,
            RewriteSpec::Project { direction, .. } => direction,
        };
        (
            format!("{canonical_term}@{by}"),
            format!("{canonical_term}~{by}"),
        )
    }
}
