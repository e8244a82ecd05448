//! Rewrites that add derived terms to a graph without changing what it computes: a term
//! `a` becomes `b + (a − b)` for a predictor `b` a scenario supplies, its projection onto
//! a direction plus the orthogonal remainder, or (for an attention head, see
//! [`crate::scrub::masked`]) the part of its output from the source positions a mask keeps
//! plus the part from the rest. Each port that summed `a` sums the two parts instead, so a
//! hypothesis can treat them differently.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::feature::DatumId;
use crate::mask::SourceMask;
use crate::scrub::graph::{GraphNode, NodeId, ScrubGraph};
use crate::scrub::masked::Masked;

/// A rewrite as a hypothesis file names it; resolved against a graph and a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RewriteSpec {
    /// `term = predictor(datum) + (term − predictor(datum))`; the parts are named
    /// `{term}@{predictor}` and `{term}~{predictor}`.
    Predict { term: String, predictor: String },
    /// `term = (term·u)u + (term − (term·u)u)` for the scenario's direction u (row by row);
    /// the parts are named `{term}@{direction}` and `{term}~{direction}`.
    Project { term: String, direction: String },
    /// An attention head's output split by source position: the part attending to the
    /// positions `mask` keeps (`prev`, `cur`, `last3`, ...) plus the part attending to the
    /// rest; named `{term}@{mask}` and `{term}~{mask}`. Each part has the head's own ports.
    Mask { term: String, mask: String },
}

impl RewriteSpec {
    /// The term being split.
    pub fn term(&self) -> &str {
        match self {
            RewriteSpec::Predict { term, .. }
            | RewriteSpec::Project { term, .. }
            | RewriteSpec::Mask { term, .. } => term,
        }
    }

    /// Names of the two derived terms: (predicted or projected part, remainder).
    pub fn part_names(&self, canonical_term: &str) -> (String, String) {
        let by = match self {
            RewriteSpec::Predict { predictor, .. } => predictor,
            RewriteSpec::Project { direction, .. } => direction,
            RewriteSpec::Mask { mask, .. } => mask,
        };
        (
            format!("{canonical_term}@{by}"),
            format!("{canonical_term}~{by}"),
        )
    }
}

/// A scenario's predictor: a function of the datum giving a `[rows, width]` value.
pub type Predictor = Box<dyn Fn(DatumId) -> Vec<f32> + Sync>;

/// Predictors and directions a scenario offers to rewrites, by name.
#[derive(Default)]
pub struct RewriteLibrary {
    predictors: Vec<(String, Predictor)>,
    directions: Vec<(String, Vec<f32>)>,
}

impl RewriteLibrary {
    /// Adds a predictor: a function of the datum giving a `[rows, width]` value.
    pub fn predictor(
        mut self,
        name: impl Into<String>,
        f: impl Fn(DatumId) -> Vec<f32> + Sync + 'static,
    ) -> Self {
        self.predictors.push((name.into(), Box::new(f)));
        self
    }

    /// Adds a direction (length = the width of the terms it will project).
    pub fn direction(mut self, name: impl Into<String>, v: Vec<f32>) -> Self {
        self.directions.push((name.into(), v));
        self
    }

    fn find_predictor(&self, name: &str) -> Option<usize> {
        self.predictors.iter().position(|(n, _)| n == name)
    }

    fn find_direction(&self, name: &str) -> Option<&[f32]> {
        self.directions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn names(&self) -> String {
        let p: Vec<&str> = self.predictors.iter().map(|(n, _)| n.as_str()).collect();
        let d: Vec<&str> = self.directions.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "predictors: [{}], directions: [{}]",
            p.join(", "),
            d.join(", ")
        )
    }
}

/// Why a rewrite cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RewriteError {
    #[error("rewrite of `{0}`: no such term in the graph")]
    UnknownTerm(String),
    #[error(
        "rewrite of `{term}`: the scenario has no {kind} called `{name}` (it has {available})"
    )]
    Unknown {
        term: String,
        kind: &'static str,
        name: String,
        available: String,
    },
    #[error("rewrite of `{term}`: direction `{name}` has length {len}, the term's rows have width {width}")]
    Width {
        term: String,
        name: String,
        len: usize,
        width: usize,
    },
    #[error("rewrite of `{term}`: direction `{name}` is zero")]
    ZeroDirection { term: String, name: String },
    #[error("rewrite of `{0}`: it is not a term of any port")]
    NotATerm(String),
    #[error("rewrite of `{term}`: {error}")]
    Mask {
        term: String,
        error: crate::mask::UnknownMask,
    },
    #[error(
        "rewrite of `{term}`: `{node}` cannot be split by source position (only attention \
         heads and their parts can)"
    )]
    NotMaskable { term: String, node: String },
    #[error("rewrite of `{term}`: the `eye` split replaces a head's attention pattern, so it needs a graph with pattern nodes (a head whose first port is `pattern`)")]
    EyeNeedsPattern { term: String },
    #[error("rewrite of `{0}`: a source-mask split is applied with `rewrite::apply`")]
    NotAProjection(String),
}

/// `spec` applied to `base`; `resolve` maps the spec's term name to a base node.
pub fn apply<'g>(
    base: &'g dyn ScrubGraph,
    spec: &RewriteSpec,
    library: &'g RewriteLibrary,
    resolve: &dyn Fn(&str) -> Option<NodeId>,
) -> Result<Box<dyn ScrubGraph + 'g>, RewriteError> {
    Ok(match spec {
        RewriteSpec::Mask { term, mask } => Box::new(Masked::new(base, term, mask, resolve)?),
        _ => Box::new(Rewritten::new(base, spec, library, resolve)?),
    })
}

/// How a derived term is computed from the plain value `a` of the term it splits.
enum Part {
    /// `b(datum)`.
    Predicted(usize),
    /// `a − b(datum)`.
    PredictionError(usize),
    /// `(a·u)u` row by row, `u` unit length.
    Along(Vec<f32>),
    /// `a − (a·u)u`.
    Across(Vec<f32>),
}

/// A graph with one term split into two derived terms; everything else is the base graph's.
pub struct Rewritten<'g> {
    base: &'g dyn ScrubGraph,
    library: &'g RewriteLibrary,
    nodes: Vec<GraphNode>,
    of: NodeId,
    parts: [Part; 2],
}

impl<'g> Rewritten<'g> {
    /// Applies `spec` to `base`; `resolve` maps the spec's term name to a base node.
    pub fn new(
        base: &'g dyn ScrubGraph,
        spec: &RewriteSpec,
        library: &'g RewriteLibrary,
        resolve: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, RewriteError> {
        let term = spec.term();
        let of = resolve(term).ok_or_else(|| RewriteError::UnknownTerm(term.to_string()))?;
        let width = base.node(of).width;
        let unknown = |kind, name: &str| RewriteError::Unknown {
            term: term.into(),
            kind,
            name: name.into(),
            available: library.names(),
        };
        let parts = match spec {
            RewriteSpec::Predict { predictor, .. } => {
                let i = library
                    .find_predictor(predictor)
                    .ok_or_else(|| unknown("predictor", predictor))?;
                [Part::Predicted(i), Part::PredictionError(i)]
            }
            RewriteSpec::Project { direction, .. } => {
                let v = library
                    .find_direction(direction)
                    .ok_or_else(|| unknown("direction", direction))?;
                if v.len() != width {
                    return Err(RewriteError::Width {
                        term: term.into(),
                        name: direction.clone(),
                        len: v.len(),
                        width,
                    });
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm == 0.0 {
                    return Err(RewriteError::ZeroDirection {
                        term: term.into(),
                        name: direction.clone(),
                    });
                }
                let u: Vec<f32> = v.iter().map(|x| x / norm).collect();
                [Part::Along(u.clone()), Part::Across(u)]
            }
            RewriteSpec::Mask { .. } => return Err(RewriteError::NotAProjection(term.into())),
        };
        let n = base.nodes().len();
        let (a, b) = spec.part_names(&base.node(of).name);
        let mut nodes = base.nodes().to_vec();
        let mut used = false;
        for node in &mut nodes {
            for port in &mut node.ports {
                if let Some(at) = port.terms.iter().position(|&t| t == of) {
                    port.terms.splice(at..at + 1, [NodeId(n), NodeId(n + 1)]);
                    used = true;
                }
            }
        }
        if !used {
            return Err(RewriteError::NotATerm(term.to_string()));
        }
        nodes.push(GraphNode {
            name: a,
            ports: vec![],
            width,
        });
        nodes.push(GraphNode {
            name: b,
            ports: vec![],
            width,
        });
        Ok(Rewritten {
            base,
            library,
            nodes,
            of,
            parts,
        })
    }

    fn derive(&self, part: &Part, a: &[f32], datum: DatumId) -> Vec<f32> {
        let w = self.base.node(self.of).width;
        let predict = |i: usize| (self.library.predictors[i].1)(datum);
        match part {
            Part::Predicted(i) => predict(*i),
            Part::PredictionError(i) => a.iter().zip(predict(*i)).map(|(x, p)| x - p).collect(),
            Part::Along(u) | Part::Across(u) => {
                let mut out = Vec::with_capacity(a.len());
                for row in a.chunks_exact(w) {
                    let dot: f32 = row.iter().zip(u).map(|(x, y)| x * y).sum();
                    match part {
                        Part::Along(_) => out.extend(u.iter().map(|y| dot * y)),
                        _ => out.extend(row.iter().zip(u).map(|(x, y)| x - dot * y)),
                    }
                }
                out
            }
        }
    }
}

impl ScrubGraph for Rewritten<'_> {
    fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    fn output(&self) -> NodeId {
        self.base.output()
    }

    fn rows(&self) -> usize {
        self.base.rows()
    }

    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        let n_base = self.base.nodes().len();
        let mut base_nodes: Vec<NodeId> = nodes.iter().copied().filter(|n| n.0 < n_base).collect();
        if nodes.iter().any(|n| n.0 >= n_base) && !base_nodes.contains(&self.of) {
            base_nodes.push(self.of);
        }
        let base = self.base.plain(data, &base_nodes)?;
        let of_at = base_nodes.iter().position(|&n| n == self.of);
        Ok(base
            .into_iter()
            .zip(data)
            .map(|(vals, &d)| {
                nodes
                    .iter()
                    .map(|&n| match n.0.checked_sub(n_base) {
                        None => vals[base_nodes.iter().position(|&b| b == n).expect("requested")]
                            .clone(),
                        Some(k) => self.derive(
                            &self.parts[k],
                            &vals[of_at.expect("the split term is fetched")],
                            d,
                        ),
                    })
                    .collect()
            })
            .collect())
    }

    fn recompute(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        self.base.recompute(node, home, ports)
    }

    fn recompute_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
    ) -> Result<Vec<f32>> {
        self.base.recompute_batch(node, homes, ports)
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        self.base.recompute_masked(node, home, ports, mask)
    }

    fn recompute_masked_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        self.base.recompute_masked_batch(node, homes, ports, mask)
    }

    fn maskable(&self, node: NodeId) -> bool {
        node.0 < self.base.nodes().len() && self.base.maskable(node)
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
