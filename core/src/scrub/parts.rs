//! Plain values of the parts of a split that keeps the split node's ports (a head split by
//! source position, an MLP split by hidden neuron). A part has no hook of its own: on a
//! datum it is the part recomputed from the plain values of the split node's port terms on
//! that datum, which given the same inputs is what the parts sum to the node by.

use crate::error::Result;
use crate::feature::DatumId;
use crate::scrub::graph::{NodeId, ScrubGraph};

/// Data whose plain port inputs are held at once while plain values of the parts are
/// computed (a node's ports sum many `[n_ctx, d_model]` terms per datum).
const PLAIN_CHUNK: usize = 64;

/// Part `k` of a split for a batch of samples, from port values laid out as
/// `recompute_batch` takes them.
pub(crate) type PartValue<'a> = dyn Fn(usize, &[DatumId], &[Vec<f32>]) -> Result<Vec<f32>> + 'a;

/// The split of node `of` of `base` into `n_parts` parts, as its graph's `plain` needs it.
pub(crate) struct SplitParts<'a> {
    /// The graph the split node and its port terms belong to.
    pub base: &'a dyn ScrubGraph,
    /// The split node.
    pub of: NodeId,
    /// How many parts the split has.
    pub n_parts: usize,
    /// Which part a node of the split graph is, if it is one.
    pub part: &'a dyn Fn(NodeId) -> Option<usize>,
    /// Part `k` for a batch of samples.
    pub value: &'a PartValue<'a>,
}

impl SplitParts<'_> {
    /// `ScrubGraph::plain` of the split graph: nodes that are no part come from `base`,
    /// parts are computed from `base`'s plain values of `of`'s port terms, `PLAIN_CHUNK`
    /// data at a time.
    pub fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        let part = self.part;
        if nodes.iter().all(|&n| part(n).is_none()) {
            return self.base.plain(data, nodes);
        }
        let split = self.base.node(self.of);
        let mut fetch: Vec<NodeId> = nodes
            .iter()
            .copied()
            .filter(|&n| part(n).is_none())
            .collect();
        for t in split.ports.iter().flat_map(|p| &p.terms) {
            if !fetch.contains(t) {
                fetch.push(*t);
            }
        }
        let at = |n: NodeId| fetch.iter().position(|&f| f == n).expect("fetched");
        let rows = self.base.rows();
        let len = rows * split.width;
        let mut out = Vec::with_capacity(data.len());
        for chunk in data.chunks(PLAIN_CHUNK) {
            let values = self.base.plain(chunk, &fetch)?;
            let ports: Vec<Vec<f32>> = split
                .ports
                .iter()
                .map(|p| {
                    let w = p.terms.first().map_or(0, |&t| self.base.node(t).width);
                    let mut acc = vec![0.0f32; chunk.len() * rows * w];
                    for (k, per_datum) in values.iter().enumerate() {
                        let dest = &mut acc[k * rows * w..(k + 1) * rows * w];
                        for &t in &p.terms {
                            dest.iter_mut()
                                .zip(&per_datum[at(t)])
                                .for_each(|(a, b)| *a += b);
                        }
                    }
                    acc
                })
                .collect();
            let mut parts: Vec<Option<Vec<f32>>> = vec![None; self.n_parts];
            for (k, slot) in parts.iter_mut().enumerate() {
                if nodes.iter().any(|&n| part(n) == Some(k)) {
                    *slot = Some((self.value)(k, chunk, &ports)?);
                }
            }
            // Each nested split passes every value up through here, so values are moved,
            // not copied: 19 masks deep, copying was a fifth of refined 4's time.
            for (k, mut per_datum) in values.into_iter().enumerate() {
                out.push(
                    nodes
                        .iter()
                        .enumerate()
                        .map(|(j, &n)| match part(n) {
                            None if nodes[j + 1..].contains(&n) => per_datum[at(n)].clone(),
                            None => std::mem::take(&mut per_datum[at(n)]),
                            Some(p) => parts[p].as_ref().expect("computed above")
                                [k * len..(k + 1) * len]
                                .to_vec(),
                        })
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}
