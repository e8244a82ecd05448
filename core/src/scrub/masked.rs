//! The source-mask split of an attention head (`RewriteSpec::Mask`): the head's output
//! becomes two terms, the part that attends to the source positions a mask keeps
//! (`{head}@{mask}`) and the part that attends to the rest (`{head}~{mask}`). Both keep the
//! head's ports, so a hypothesis can recompute each from its own inputs; given the same
//! inputs they sum to the head, which is what keeps the rewrite exact.
//!
//! A part may be split again (its mask intersects the new one), and a head or part of a
//! graph with pattern nodes may be split by `eye`: `{x}@eye` is what it would write with
//! identity attention (each position attends to itself, within the part's mask) and
//! `{x}~eye` the rest, the write-up's `a = b + (a − b)` for self-attending heads.

use crate::error::Result;
use crate::feature::DatumId;
use crate::mask::SourceMask;
use crate::scrub::graph::{GraphNode, NodeId, ScrubGraph};
use crate::scrub::parts::SplitParts;
use crate::scrub::rewrite::{RewriteError, RewriteSpec};

/// A graph with one attention head split by source position; everything else is the base
/// graph's.
pub struct Masked<'g> {
    base: &'g dyn ScrubGraph,
    nodes: Vec<GraphNode>,
    of: NodeId,
    /// What the two parts are.
    parts: [PartKind; 2],
}

/// One part of a split head.
#[derive(Debug, Clone)]
enum PartKind {
    /// The head (or part) restricted to a source mask.
    Mask(SourceMask),
    /// The head with identity attention.
    Eye,
    /// The head minus its identity-attention value.
    EyeRest,
}

/// The mask name of the identity-attention split.
pub const EYE: &str = "eye";

impl<'g> Masked<'g> {
    /// Splits the head `term` of `base` by source mask `mask` (a name such as `prev`, `cur`
    /// or `last3`); `resolve` maps the term name to a base node.
    pub fn new(
        base: &'g dyn ScrubGraph,
        term: &str,
        mask: &str,
        resolve: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, RewriteError> {
        let of = resolve(term).ok_or_else(|| RewriteError::UnknownTerm(term.to_string()))?;
        let head = base.node(of).clone();
        let parts = if mask == EYE {
            if head.ports.first().map(|p| p.name.as_str()) != Some("pattern") {
                return Err(RewriteError::EyeNeedsPattern { term: term.into() });
            }
            [PartKind::Eye, PartKind::EyeRest]
        } else {
            let kept: SourceMask = mask.parse().map_err(|error| RewriteError::Mask {
                term: term.into(),
                error,
            })?;
            let rest = kept.complement();
            [PartKind::Mask(kept), PartKind::Mask(rest)]
        };
        if !base.maskable(of) {
            return Err(RewriteError::NotMaskable {
                term: term.into(),
                node: head.name,
            });
        }
        let spec = RewriteSpec::Mask {
            term: term.into(),
            mask: mask.into(),
        };
        let (a, b) = spec.part_names(&head.name);
        let n = base.nodes().len();
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
        for name in [a, b] {
            nodes.push(GraphNode {
                name,
                ports: head.ports.clone(),
                width: head.width,
            });
        }
        Ok(Masked {
            base,
            nodes,
            of,
            parts,
        })
    }

    /// Which part `node` is (0: kept by the mask, 1: the rest), if it is one.
    fn part(&self, node: NodeId) -> Option<usize> {
        node.0
            .checked_sub(self.base.nodes().len())
            .filter(|&k| k < 2)
    }
}

impl ScrubGraph for Masked<'_> {
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

    /// A part's plain value on a datum is the part recomputed from the plain values of the
    /// head's port terms on that datum.
    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        SplitParts {
            base: self.base,
            of: self.of,
            n_parts: 2,
            part: &|n| self.part(n),
            value: &|k, homes, ports| self.part_value(k, homes, ports, &SourceMask::All),
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
            Some(k) => self.part_value(k, &[home], ports, &SourceMask::All),
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
            Some(k) => self.part_value(k, homes, ports, &SourceMask::All),
            None => self.base.recompute_batch(node, homes, ports),
        }
    }

    fn maskable(&self, node: NodeId) -> bool {
        self.part(node).is_some() || self.base.maskable(node)
    }

    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        match self.part(node) {
            Some(_) => None,
            None => self.base.hidden_width(node),
        }
    }

    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(_) => Err(crate::error::ModelError::Executor(format!(
                "`{}` is part of an attention head and cannot be split by hidden neuron",
                self.nodes[node.0].name
            ))),
            None => self
                .base
                .recompute_neurons_batch(node, homes, ports, neurons, bias),
        }
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        match self.part(node) {
            Some(k) => self.part_value(k, &[home], ports, mask),
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
            Some(k) => self.part_value(k, homes, ports, mask),
            None => self.base.recompute_masked_batch(node, homes, ports, mask),
        }
    }
}

impl Masked<'_> {
    /// Part `k` for a batch of samples, further restricted to `outer` (when the part is
    /// itself split again).
    fn part_value(
        &self,
        k: usize,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        outer: &SourceMask,
    ) -> Result<Vec<f32>> {
        let of = self.of;
        match &self.parts[k] {
            PartKind::Mask(m) => self
                .base
                .recompute_masked_batch(of, homes, ports, &m.and(outer)),
            PartKind::Eye => {
                let eye = self.identity_ports(homes.len(), ports);
                self.base.recompute_masked_batch(of, homes, &eye, outer)
            }
            PartKind::EyeRest => {
                let eye = self.identity_ports(homes.len(), ports);
                let mut all = self.base.recompute_masked_batch(of, homes, ports, outer)?;
                let own = self.base.recompute_masked_batch(of, homes, &eye, outer)?;
                all.iter_mut().zip(own).for_each(|(a, b)| *a -= b);
                Ok(all)
            }
        }
    }

    /// `ports` with the pattern port (the first) replaced by identity attention.
    fn identity_ports(&self, samples: usize, ports: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let n = self.rows();
        let mut eye = vec![0.0f32; samples * n * n];
        for s in 0..samples {
            (0..n).for_each(|t| eye[(s * n + t) * n + t] = 1.0);
        }
        std::iter::once(eye)
            .chain(ports[1..].iter().cloned())
            .collect()
    }
}

#[cfg(test)]
#[path = "masked_tests.rs"]
mod tests;
