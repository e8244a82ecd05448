//! What the engine needs to know about a model: its nodes, the terms summed into each input
//! port of each node, and how to compute a node's value, plainly on one datum or from port
//! values assembled out of several data.

use rayon::prelude::*;

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::mask::SourceMask;

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
    /// All nodes; a node's port terms come before it, except the parts a rewrite appends.
    fn nodes(&self) -> &[GraphNode];

    /// The node whose value the loss is read from.
    fn output(&self) -> NodeId;

    /// Rows of every value.
    fn rows(&self) -> usize;

    /// Plain values of `nodes` on every datum of `data`: `out[i][j]` is node `nodes[j]` on
    /// `data[i]`, each `[rows, width]`.
    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>>;

    /// `plain` on rows `rows` (ascending) only: each value `[rows.len(), width]`, those rows
    /// in order (a per-position node reads one row of its datum's value).
    fn plain_rows(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        rows: &[usize],
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        Ok(pick_rows(self, nodes, self.plain(data, nodes)?, rows))
    }

    /// The value of `node` computed from the given port values (each `[rows, width of the
    /// port's terms]`), with `home` the datum the node's non-port dependencies (such as a
    /// sequence's padding mask) are read from: the tree node's own datum or that of its
    /// unclaimed inputs, as the tree's `PadMask` says.
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
        per_sample(homes, ports, |home, mine| self.recompute(node, home, mine))
    }

    /// The value of attention head `node` restricted to the source positions `mask` keeps,
    /// from port values as `recompute` takes them (a source-mask split's parts). Graphs
    /// without attention heads keep this default, an error.
    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        let _ = (home, ports);
        let kind = std::any::type_name::<Self>();
        let kind = kind.split('<').next().unwrap_or(kind);
        Err(ModelError::Executor(format!(
            "{} cannot split `{}` by source position (mask `{mask}`)",
            kind.rsplit("::").next().unwrap_or(kind),
            self.nodes().get(node.0).map_or("?", |n| n.name.as_str())
        )))
    }

    /// Gradients with respect to each of `node`'s port values (`[rows, width of the port's
    /// terms]` each) of a loss whose gradient with respect to `recompute(node, home, ports)`
    /// is `d_out`. Graphs that cannot differentiate keep this default, an error.
    fn recompute_vjp(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        d_out: &[f32],
    ) -> Result<Vec<Vec<f32>>> {
        let _ = (home, ports, d_out);
        let kind = std::any::type_name::<Self>();
        let kind = kind.split('<').next().unwrap_or(kind);
        Err(ModelError::Executor(format!(
            "{} cannot differentiate `{}` (gradients exist for the un-rewritten transformer)",
            kind.rsplit("::").next().unwrap_or(kind),
            self.nodes().get(node.0).map_or("?", |n| n.name.as_str())
        )))
    }

    /// Whether `recompute_masked` can split `node` (an attention head).
    fn maskable(&self, node: NodeId) -> bool {
        let _ = node;
        false
    }

    /// `recompute_masked` for a batch of samples, laid out as in `recompute_batch`.
    fn recompute_masked_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        per_sample(homes, ports, |home, mine| {
            self.recompute_masked(node, home, mine, mask)
        })
    }

    /// How many hidden neurons `node` has that `recompute_neurons_batch` can restrict it to
    /// (an MLP's `d_mlp`); `None` for nodes that cannot be split by neuron.
    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        let _ = node;
        None
    }

    /// The value of `node` (an MLP, see `hidden_width`) with every hidden neuron outside
    /// `neurons` zeroed before the output weights, plus its output bias only when `bias`
    /// (the parts of a neuron split), for a batch laid out as in `recompute_batch`. Graphs
    /// without MLPs keep this default, an error.
    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> Result<Vec<f32>> {
        let _ = (homes, ports, neurons, bias);
        let kind = std::any::type_name::<Self>();
        let kind = kind.split('<').next().unwrap_or(kind);
        Err(ModelError::Executor(format!(
            "{} cannot split `{}` by hidden neuron",
            kind.rsplit("::").next().unwrap_or(kind),
            self.nodes().get(node.0).map_or("?", |n| n.name.as_str())
        )))
    }

    /// `terms` (summed on one datum) with every complete set of a split's parts replaced by
    /// the term they split, which they sum to given the same inputs: a value read whole is
    /// then fetched once instead of recomputed part by part. Graphs without splits keep
    /// this default, `terms` as they are.
    fn merge_parts(&self, terms: &[NodeId]) -> Vec<NodeId> {
        terms.to_vec()
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

/// `plain_rows` for a graph that appends nodes to `base`'s: a request for `base`'s nodes
/// alone goes down with its rows (their values are `base`'s), any other is `plain`'s rows.
pub(crate) fn plain_rows_over(
    graph: &dyn ScrubGraph,
    base: &dyn ScrubGraph,
    data: &[DatumId],
    nodes: &[NodeId],
    rows: &[usize],
) -> Result<Vec<Vec<Vec<f32>>>> {
    let n_base = base.nodes().len();
    match nodes.iter().all(|n| n.0 < n_base) {
        true => base.plain_rows(data, nodes, rows),
        false => Ok(pick_rows(graph, nodes, graph.plain(data, nodes)?, rows)),
    }
}

/// Rows `rows` of whole plain values (`values[i][j]` of `nodes[j]`), as `plain_rows` gives them.
pub(crate) fn pick_rows<G: ScrubGraph + ?Sized>(
    graph: &G,
    nodes: &[NodeId],
    values: Vec<Vec<Vec<f32>>>,
    rows: &[usize],
) -> Vec<Vec<Vec<f32>>> {
    let widths: Vec<usize> = nodes.iter().map(|&n| graph.node(n).width).collect();
    values
        .into_iter()
        .map(|per_datum| {
            per_datum
                .iter()
                .zip(&widths)
                .map(|(v, &w)| {
                    rows.iter()
                        .flat_map(|&r| v[r * w..(r + 1) * w].iter().copied())
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `merge_parts` for a graph that adds the `n_parts` parts of `of` to `base`'s nodes: if
/// every part is among `terms` they become `of`, and the terms of `base` go on down to it.
pub(crate) fn merge_split(
    base: &dyn ScrubGraph,
    of: NodeId,
    n_parts: usize,
    terms: &[NodeId],
) -> Vec<NodeId> {
    let first = base.nodes().len();
    let (mut lower, parts): (Vec<NodeId>, Vec<NodeId>) = terms.iter().partition(|t| t.0 < first);
    let whole = (first..first + n_parts).all(|p| parts.contains(&NodeId(p)));
    if whole {
        lower.push(of);
    }
    let mut merged = base.merge_parts(&lower);
    if !whole {
        merged.extend(parts);
    }
    merged
}

/// Runs `f` on each sample's slice of batched `ports` (`[samples, rows, width]` each, split
/// evenly by `homes`), in parallel, and concatenates the results in sample order.
fn per_sample(
    homes: &[DatumId],
    ports: &[Vec<f32>],
    f: impl Fn(DatumId, &[Vec<f32>]) -> Result<Vec<f32>> + Sync,
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
            f(home, &mine)
        })
        .collect();
    let per_sample = per_sample.into_iter().collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(per_sample.iter().map(Vec::len).sum());
    per_sample.iter().for_each(|v| out.extend_from_slice(v));
    Ok(out)
}
