//! What the engine needs to know about a model: its nodes, the terms summed into each input
//! port of each node, and how to compute a node's value, plainly on one datum or from port
//! values assembled out of several data.

use rayon::prelude::*;

use crate::error::Result;
use crate::feature::DatumId;

/// Index of a node of a [`ScrubGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// One input of a node: the sum of the values of `terms` (all upstream nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub terms: Vec<NodeId>,
}

/// A node: a named function of its ports (no ports: an input or constant, read on a datum).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub name: String,
    pub ports: Vec<Port>,
    /// Width of one row of the node's value; values are `[rows, width]`, row-major.
    pub width: usize,
}

/// A model as the scrubbing engine sees it. Values are row-major `[rows, width]` with the
/// same `rows` for every node (sequence positions for a transformer, 1 for scalar graphs).
pub trait ScrubGraph: Sync {
    /// All nodes; a node's port terms come before it.
    fn nodes(&self) -> &[GraphNode];

    /// The node whose value the loss is read from.
    fn output(&self) -> NodeId;

    /// Rows of every value.
    fn rows(&self) -> usize;

    /// Plain values of `nodes` on every datum of `data`: `out[i][j]` is node `nodes[j]` on
    /// `data[i]`, each `[rows, width]`.
    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>>;

    /// The value of `node` computed from the given port values (each `[rows, width of the
    /// port's terms]`), with `home` the datum the node's own non-port dependencies (such as
    /// a sequence's padding mask) are read from.
    fn recompute(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>>;

    /// `recompute` for a batch of samples: `homes[s]` is sample `s`'s home datum and
    /// `ports[p]` holds port `p` for every sample back to back (`[samples, rows, width]`);
    /// returns `[samples, rows, width]`. Executors override this to run one dispatch per node.
    fn recompute_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
    ) -> Result<Vec<f32>> {
        let per_sample: Vec<Result<Vec<f32>>> = homes
            .par_iter()
            .enumerate()
            .map(|(s, &home)| {
                let mine: Vec<Vec<f32>> = ports
                    .iter()
                    .map(|p| {
                        let w = p.len() / homes.len();
                        p[s * w..(s + 1) * w].to_vec()
                    })
                    .collect();
                self.recompute(node, home, &mine)
            })
            .collect();
        let mut out = Vec::new();
        for v in per_sample {
            out.extend(v?);
        }
        Ok(out)
    }

    /// The node called `name`, if any.
    fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes().iter().position(|n| n.name == name).map(NodeId)
    }

    /// Node `id`.
    fn node(&self, id: NodeId) -> &GraphNode {
        &self.nodes()[id.0]
    }
}
