//! Rewrites that add derived terms to a graph without changing what it computes: a term
//! `a` becomes `b + (a − b)` for a predictor `b` a scenario supplies, its projection onto
//! a direction plus the orthogonal remainder, or (for an attention head, see
//! [`crate::scrub::masked`]) the part of its output from the source positions a mask keeps
//! plus the part from the rest, or (for an MLP, see [`crate::scrub::neurons`]) one part per
//! group of hidden neurons plus the rest. Each port that summed `a` sums the parts instead,
//! so a hypothesis can treat them differently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::feature::DatumId;
use crate::mask::SourceMask;
use crate::scrub::graph::{GraphNode, NodeId, ScrubGraph};
use crate::scrub::masked::Masked;
use crate::scrub::neurons::{Neurons, REST};

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
    /// An MLP's output split by hidden neuron: one part per group of `groups` (name to
    /// neuron list in the `rows` syntax, `"0..8"`, `"8..12,15"`), named `{term}#{group}`
    /// in the map's order, plus `{term}#rest`, the neurons in no group and the output bias.
    /// Each part has the MLP's own ports.
    Neurons {
        term: String,
        groups: BTreeMap<String, String>,
    },
}

impl RewriteSpec {
    /// The term being split.
    pub fn term(&self) -> &str {
        match self {
            RewriteSpec::Predict { term, .. }
            | RewriteSpec::Project { term, .. }
            | RewriteSpec::Mask { term, .. }
            | RewriteSpec::Neurons { term, .. } => term,
        }
    }

    /// Names of the first and the last derived term: (predicted, projected or masked part,
    /// remainder); for `Neurons`, the first group's part and `{term}#rest`. See
    /// [`RewriteSpec::derived_names`] for every part.
    pub fn part_names(&self, canonical_term: &str) -> (String, String) {
        let mut all = self.derived_names(canonical_term);
        let last = all.pop().expect("every rewrite derives a remainder");
        let first = all.into_iter().next().unwrap_or_else(|| last.clone());
        (first, last)
    }

    /// Names of every derived term, in the order they replace the term in its ports.
    pub fn derived_names(&self, canonical_term: &str) -> Vec<String> {
        let by = match self {
            RewriteSpec::Predict { predictor, .. } => predictor,
            RewriteSpec::Project { direction, .. } => direction,
            RewriteSpec::Mask { mask, .. } => mask,
            RewriteSpec::Neurons { groups, .. } => {
                return groups
                    .keys()
                    .map(String::as_str)
                    .chain([REST])
                    .map(|g| format!("{canonical_term}#{g}"))
                    .collect();
            }
        };
        vec![
            format!("{canonical_term}@{by}"),
            format!("{canonical_term}~{by}"),
        ]
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
    #[error("rewrite of `{0}`: a source-mask or neuron split is applied with `rewrite::apply`")]
    NotAProjection(String),
    /// A neuron split of a model without MLPs.
    #[error("rewrite of `{term}`: the model has no MLPs (it is attention-only), so there are no hidden neurons to split")]
    NoMlps { term: String },
    /// A neuron split of a node that has no hidden neurons (not an MLP or part of one).
    #[error(
        "rewrite of `{term}`: `{node}` cannot be split by hidden neuron (only MLPs and the \
         parts of their neuron splits can)"
    )]
    NotAnMlp { term: String, node: String },
    /// A neuron group named `rest`, the name of the remainder part.
    #[error("rewrite of `{term}`: a neuron group cannot be called `rest`: `{term}#rest` is the part of the neurons in no group (and the output bias)")]
    RestGroup { term: String },
    /// A neuron group whose name would make an ambiguous part name.
    #[error("rewrite of `{term}`: neuron group name `{group}` must be non-empty and contain no `@`, `~`, `#` or whitespace")]
    GroupName { term: String, group: String },
    /// A neuron group with no neurons.
    #[error("rewrite of `{term}`: neuron group `{group}` is empty (`{neurons}`); list at least one neuron")]
    EmptyGroup {
        term: String,
        group: String,
        neurons: String,
    },
    /// A neuron group that does not parse as an index list.
    #[error("rewrite of `{term}`: neuron group `{group}` (`{neurons}`): {message}; write `all`, a neuron such as `3`, a range such as `2..5` or `2..=5`, or a comma-separated list of these")]
    GroupSyntax {
        term: String,
        group: String,
        neurons: String,
        message: String,
    },
    /// A neuron index at or past the MLP's hidden width.
    #[error("rewrite of `{term}`: neuron {neuron} of group `{group}` does not exist; `{node}` has {width} hidden neurons (0 to {})", width.saturating_sub(1))]
    NeuronOutOfRange {
        term: String,
        group: String,
        node: String,
        neuron: usize,
        width: usize,
    },
    /// A neuron listed in two groups.
    #[error("rewrite of `{term}`: neuron {neuron} is in group `{first}` and in group `{second}`; a neuron belongs to at most one group")]
    NeuronInTwoGroups {
        term: String,
        neuron: usize,
        first: String,
        second: String,
    },
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
        RewriteSpec::Neurons { term, groups } => {
            Box::new(Neurons::new(base, term, groups, resolve)?)
        }
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
            RewriteSpec::Mask { .. } | RewriteSpec::Neurons { .. } => {
                return Err(RewriteError::NotAProjection(term.into()))
            }
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

    fn merge_parts(&self, terms: &[NodeId]) -> Vec<NodeId> {
        crate::scrub::graph::merge_split(self.base, self.of, 2, terms)
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
        // Values pass up through every wrapping rewrite, so a base value is moved out at its
        // last use (the split term stays for the parts that derive from it).
        Ok(base
            .into_iter()
            .zip(data)
            .map(|(mut vals, &d)| {
                nodes
                    .iter()
                    .enumerate()
                    .map(|(j, &n)| match n.0.checked_sub(n_base) {
                        None => {
                            let at = base_nodes.iter().position(|&b| b == n).expect("requested");
                            if n == self.of || nodes[j + 1..].contains(&n) {
                                vals[at].clone()
                            } else {
                                std::mem::take(&mut vals[at])
                            }
                        }
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

    fn plain_rows(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        rows: &[usize],
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        crate::scrub::graph::plain_rows_over(self, self.base, data, nodes, rows)
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

    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        (node.0 < self.base.nodes().len())
            .then(|| self.base.hidden_width(node))
            .flatten()
    }

    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> Result<Vec<f32>> {
        self.base
            .recompute_neurons_batch(node, homes, ports, neurons, bias)
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
