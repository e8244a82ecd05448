//! The hidden-neuron split of an MLP (`RewriteSpec::Neurons`). A compiled transformer
//! (Tracr) computes several program variables in one MLP layer, each in its own hidden
//! neurons; to treat each as a term with its own feature, the MLP's output becomes one term
//! per group of neurons, `{mlp}#{group}` (what those neurons write through `W_out`), plus
//! `{mlp}#rest` (the neurons in no group, and the output bias `b_out`). Every part keeps the
//! MLP's ports, so a hypothesis can recompute a part from its own inputs; given the same
//! inputs the parts sum to the MLP's output, which is what keeps the rewrite exact.
//!
//! A part may be split again by neuron: its groups are intersected with the part's neurons
//! (a neuron outside the part adds nothing to the group's part), and only the new rest keeps
//! the bias the part had. Parts are not attention heads and cannot be split by source mask.

use std::collections::BTreeMap;

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::mask::SourceMask;
use crate::scrub::graph::{GraphNode, NodeId, ScrubGraph};
use crate::scrub::hypothesis::rows::{parse_indices, IndexError};
use crate::scrub::parts::SplitParts;
use crate::scrub::rewrite::{RewriteError, RewriteSpec};

/// The group name of the part holding the neurons in no group and the output bias.
pub const REST: &str = "rest";

/// A graph with one MLP split by groups of hidden neurons; everything else is the base
/// graph's.
pub struct Neurons<'g> {
    base: &'g dyn ScrubGraph,
    nodes: Vec<GraphNode>,
    of: NodeId,
    /// The parts in node order: the groups in the map's order, then the rest.
    parts: Vec<NeuronPart>,
}

/// The hidden neurons one part keeps, and whether it adds the output bias.
#[derive(Debug, Clone)]
struct NeuronPart {
    neurons: Vec<usize>,
    bias: bool,
}

impl<'g> Neurons<'g> {
    /// Splits the MLP `term` of `base` into one part per group of `groups` (group name to
    /// neuron list, `"0..8"`, `"8..12,15"`, `"all"`) plus the rest; `resolve` maps the term
    /// name to a base node.
    pub fn new(
        base: &'g dyn ScrubGraph,
        term: &str,
        groups: &BTreeMap<String, String>,
        resolve: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, RewriteError> {
        let any_mlp = (0..base.nodes().len()).any(|i| base.hidden_width(NodeId(i)).is_some());
        if !any_mlp {
            return Err(RewriteError::NoMlps { term: term.into() });
        }
        let of = resolve(term).ok_or_else(|| RewriteError::UnknownTerm(term.to_string()))?;
        let mlp = base.node(of).clone();
        let width = base
            .hidden_width(of)
            .ok_or_else(|| RewriteError::NotAnMlp {
                term: term.into(),
                node: mlp.name.clone(),
            })?;
        let parts = partition(term, &mlp.name, width, groups)?;
        let spec = RewriteSpec::Neurons {
            term: term.into(),
            groups: groups.clone(),
        };
        let names = spec.derived_names(&mlp.name);
        let n = base.nodes().len();
        let mut nodes = base.nodes().to_vec();
        let mut used = false;
        for node in &mut nodes {
            for port in &mut node.ports {
                if let Some(at) = port.terms.iter().position(|&t| t == of) {
                    port.terms
                        .splice(at..at + 1, (n..n + parts.len()).map(NodeId));
                    used = true;
                }
            }
        }
        if !used {
            return Err(RewriteError::NotATerm(term.to_string()));
        }
        for name in names {
            nodes.push(GraphNode {
                name,
                ports: mlp.ports.clone(),
                width: mlp.width,
            });
        }
        Ok(Neurons {
            base,
            nodes,
            of,
            parts,
        })
    }

    /// Which part `node` is (its index among the parts), if it is one.
    fn part(&self, node: NodeId) -> Option<usize> {
        node.0
            .checked_sub(self.base.nodes().len())
            .filter(|&k| k < self.parts.len())
    }

    /// Part `k` for a batch of samples.
    fn part_value(&self, k: usize, homes: &[DatumId], ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        let p = &self.parts[k];
        self.base
            .recompute_neurons_batch(self.of, homes, ports, &p.neurons, p.bias)
    }

    /// The error for splitting part `node` by source position.
    fn not_a_head(&self, node: NodeId) -> ModelError {
        ModelError::Executor(format!(
            "`{}` is part of an MLP and cannot be split by source position",
            self.nodes[node.0].name
        ))
    }
}

/// The parts `groups` define on an MLP of `width` hidden neurons: each group's neurons
/// without the bias, then the rest with it; every neuron is in exactly one part.
fn partition(
    term: &str,
    node: &str,
    width: usize,
    groups: &BTreeMap<String, String>,
) -> Result<Vec<NeuronPart>, RewriteError> {
    let mut owner: Vec<Option<&str>> = vec![None; width];
    let mut parts = Vec::with_capacity(groups.len() + 1);
    for (group, text) in groups {
        if group == REST {
            return Err(RewriteError::RestGroup { term: term.into() });
        }
        if group.is_empty()
            || group.contains(['@', '~', '#'])
            || group.contains(char::is_whitespace)
        {
            return Err(RewriteError::GroupName {
                term: term.into(),
                group: group.clone(),
            });
        }
        let empty = || RewriteError::EmptyGroup {
            term: term.into(),
            group: group.clone(),
            neurons: text.clone(),
        };
        if text.trim().is_empty() {
            return Err(empty());
        }
        let neurons = match parse_indices(text, width) {
            Ok(None) => (0..width).collect(),
            Ok(Some(list)) => list,
            Err(IndexError::Empty { .. }) => return Err(empty()),
            Err(IndexError::OutOfRange { index }) => {
                return Err(RewriteError::NeuronOutOfRange {
                    term: term.into(),
                    group: group.clone(),
                    node: node.into(),
                    neuron: index,
                    width,
                })
            }
            Err(e) => {
                let message = match e {
                    IndexError::NotAnIndex { item } => format!("`{item}` is not a neuron"),
                    IndexError::Twice { index } => format!("neuron {index} is listed twice"),
                    _ => unreachable!("handled above"),
                };
                return Err(RewriteError::GroupSyntax {
                    term: term.into(),
                    group: group.clone(),
                    neurons: text.clone(),
                    message,
                });
            }
        };
        if neurons.is_empty() {
            return Err(empty());
        }
        for &i in &neurons {
            if let Some(first) = owner[i] {
                return Err(RewriteError::NeuronInTwoGroups {
                    term: term.into(),
                    neuron: i,
                    first: first.into(),
                    second: group.clone(),
                });
            }
            owner[i] = Some(group);
        }
        parts.push(NeuronPart {
            neurons,
            bias: false,
        });
    }
    parts.push(NeuronPart {
        neurons: (0..width).filter(|&i| owner[i].is_none()).collect(),
        bias: true,
    });
    Ok(parts)
}

impl ScrubGraph for Neurons<'_> {
    fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    fn output(&self) -> NodeId {
        self.base.output()
    }

    fn merge_parts(&self, terms: &[NodeId]) -> Vec<NodeId> {
        crate::scrub::graph::merge_split(self.base, self.of, self.parts.len(), terms)
    }

    fn rows(&self) -> usize {
        self.base.rows()
    }

    /// A part's plain value on a datum is the part recomputed from the plain values of the
    /// MLP's port terms on that datum.
    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        SplitParts {
            base: self.base,
            of: self.of,
            n_parts: self.parts.len(),
            part: &|n| self.part(n),
            value: &|k, homes, ports| self.part_value(k, homes, ports),
        }
        .plain(data, nodes)
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
        match self.part(node) {
            Some(k) => self.part_value(k, &[home], ports),
            None => self.base.recompute(node, home, ports),
        }
    }

    fn recompute_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(k) => self.part_value(k, homes, ports),
            None => self.base.recompute_batch(node, homes, ports),
        }
    }

    fn maskable(&self, node: NodeId) -> bool {
        self.part(node).is_none() && self.base.maskable(node)
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(_) => Err(self.not_a_head(node)),
            None => self.base.recompute_masked(node, home, ports, mask),
        }
    }

    fn recompute_masked_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(_) => Err(self.not_a_head(node)),
            None => self.base.recompute_masked_batch(node, homes, ports, mask),
        }
    }

    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        match self.part(node) {
            Some(_) => self.base.hidden_width(self.of),
            None => self.base.hidden_width(node),
        }
    }

    /// A part restricted to `neurons` is the MLP restricted to the neurons in both, with
    /// the bias only where the part has it too.
    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(k) => {
                let p = &self.parts[k];
                let both: Vec<usize> = neurons
                    .iter()
                    .copied()
                    .filter(|i| p.neurons.contains(i))
                    .collect();
                self.base
                    .recompute_neurons_batch(self.of, homes, ports, &both, bias && p.bias)
            }
            None => self
                .base
                .recompute_neurons_batch(node, homes, ports, neurons, bias),
        }
    }
}

#[cfg(test)]
#[path = "neurons_tests.rs"]
mod tests;
