//! Activation and path patching on a scrubbing graph: a reference datum's graph evaluated
//! with some nodes' values, or one edge's contribution to one port, replaced by those of
//! another datum, and everything downstream recomputed. This is the "actual" effect that
//! attribution patching approximates.

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::scrub::graph::{NodeId, ScrubGraph};

/// What a patch replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// The values of these nodes (one node, or every term of a residual stream), at one row
    /// (sequence position) or all; every reader of them sees the patched values.
    Nodes {
        nodes: Vec<NodeId>,
        row: Option<usize>,
    },
    /// Only `from`'s contribution to port `port` of `to` (direct path patching): `to` is
    /// recomputed, every other reader of `from` keeps the reference value.
    Edge {
        from: NodeId,
        to: NodeId,
        port: usize,
    },
}

impl Site {
    /// The nodes whose corrupted values the patch reads.
    pub fn sources(&self) -> Vec<NodeId> {
        match self {
            Site::Nodes { nodes, .. } => nodes.clone(),
            Site::Edge { from, .. } => vec![*from],
        }
    }
}

/// The output node recomputed from the sum of its inputs' plain values on each `homes[s]`:
/// the unpatched output computed the way patched outputs are, so that their differences
/// hold no rounding of the plain forward's own summation order.
pub fn recomputed_outputs(
    graph: &dyn ScrubGraph,
    homes: &[DatumId],
    reference: &[&[Vec<f32>]],
) -> Result<Vec<Vec<f32>>> {
    let nothing = Site::Nodes {
        nodes: Vec::new(),
        row: None,
    };
    patched_outputs(graph, homes, reference, reference, &nothing)
}

/// The output node's value on each `homes[s]` whose plain node values are `reference[s]`,
/// with `site` patched to the values `corrupted[s]` (plain node values of the other datum,
/// by node index). Samples are recomputed together, one batch per node. The output node is
/// always recomputed, and a node whose patched values equal its reference values counts as
/// unchanged, so a patch that changes nothing gives exactly [`recomputed_outputs`].
pub fn patched_outputs(
    graph: &dyn ScrubGraph,
    homes: &[DatumId],
    reference: &[&[Vec<f32>]],
    corrupted: &[&[Vec<f32>]],
    site: &Site,
) -> Result<Vec<Vec<f32>>> {
    let nodes = graph.nodes();
    let out = graph.output();
    let rows = graph.rows();
    let samples = homes.len();
    if nodes[out.0].ports.is_empty() {
        return Err(ModelError::Executor(format!(
            "the output `{}` reads no other node: there is nothing to patch",
            nodes[out.0].name
        )));
    }
    // changed[i][s]: node i's patched value on sample s, once it differs from the reference.
    let mut changed: Vec<Option<Vec<Vec<f32>>>> = vec![None; nodes.len()];
    let start = match site {
        Site::Nodes { nodes: ns, row } => {
            for &n in ns {
                let width = nodes[n.0].width;
                let patched: Vec<Vec<f32>> = (0..samples)
                    .map(|s| {
                        let mut v = reference[s][n.0].clone();
                        match row {
                            None => v.copy_from_slice(&corrupted[s][n.0]),
                            Some(r) => v[r * width..(r + 1) * width]
                                .copy_from_slice(&corrupted[s][n.0][r * width..(r + 1) * width]),
                        }
                        v
                    })
                    .collect();
                if (0..samples).any(|s| patched[s] != reference[s][n.0]) {
                    changed[n.0] = Some(patched);
                }
            }
            ns.iter().map(|n| n.0 + 1).min().unwrap_or(out.0).min(out.0)
        }
        Site::Edge { to, .. } => to.0,
    };
    if let Some(&n) = site.sources().iter().find(|n| n.0 >= nodes.len()) {
        return Err(ModelError::Executor(format!(
            "node {} is not in the graph",
            n.0
        )));
    }
    for i in start..=out.0 {
        let node = &nodes[i];
        let edge_here = matches!(site, Site::Edge { to, .. } if to.0 == i);
        let reads_changed = node
            .ports
            .iter()
            .any(|p| p.terms.iter().any(|t| changed[t.0].is_some()));
        let needed = i == out.0 || edge_here || reads_changed;
        if node.ports.is_empty() || !needed || changed[i].is_some() {
            continue;
        }
        let mut ports: Vec<Vec<f32>> = Vec::with_capacity(node.ports.len());
        for (p, port) in node.ports.iter().enumerate() {
            let width = nodes[port.terms[0].0].width;
            let mut batched = Vec::with_capacity(samples * rows * width);
            for (s, corr) in corrupted.iter().enumerate() {
                let mut sum = vec![0.0f32; rows * width];
                for t in &port.terms {
                    let v: &[f32] = match (site, &changed[t.0]) {
                        (Site::Edge { from, to, port: q }, _)
                            if to.0 == i && *q == p && from == t =>
                        {
                            &corr[t.0]
                        }
                        (_, Some(v)) => &v[s],
                        (_, None) => &reference[s][t.0],
                    };
                    sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
                batched.extend(sum);
            }
            ports.push(batched);
        }
        let recomputed = graph.recompute_batch(NodeId(i), homes, &ports)?;
        let per = recomputed.len() / samples.max(1);
        let values: Vec<Vec<f32>> = recomputed
            .chunks_exact(per.max(1))
            .map(<[f32]>::to_vec)
            .collect();
        if i == out.0 || (0..samples).any(|s| values[s] != reference[s][i]) {
            changed[i] = Some(values);
        }
    }
    Ok(changed[out.0]
        .take()
        .expect("the output is always recomputed"))
}
