//! Evaluation of a treeified hypothesis on sampled data. Samples go through in batches:
//! plain values are computed once per distinct datum of the batch, then every tree node is
//! evaluated for the whole batch at once, children before parents, so an executor can run
//! each recomputed node as one batched pass.

use std::collections::HashMap;

use crate::error::Result;
use crate::feature::DatumId;
use crate::sampler::Assignment;
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{Rows, Tree, TreeBody, TreeId};

/// The output value of every sample, `[rows, width]` each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubOutcomes {
    pub outputs: Vec<Vec<f32>>,
}

/// Samples evaluated together by default: their distinct data share one plain pass.
pub const SAMPLE_BATCH: usize = 512;

/// Evaluates `tree` (already validated against `graph`) on every sample of `assignment`,
/// `SAMPLE_BATCH` samples at a time.
pub fn evaluate(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
) -> Result<ScrubOutcomes> {
    evaluate_batched(graph, tree, assignment, SAMPLE_BATCH, &mut |_| {})
}

/// `evaluate` with an explicit batch size, calling `progress(samples done)` after each batch.
pub fn evaluate_batched(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    batch: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<ScrubOutcomes> {
    let mut plain_terms: Vec<NodeId> = tree
        .nodes
        .iter()
        .filter_map(|n| match &n.body {
            TreeBody::Plain { terms } => Some(terms.clone()),
            TreeBody::Recompute { .. } => None,
        })
        .flatten()
        .collect();
    plain_terms.sort();
    plain_terms.dedup();
    let term_index: HashMap<NodeId, usize> = plain_terms
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i))
        .collect();
    let rows = graph.rows();
    let mut outputs = Vec::with_capacity(assignment.n_samples);
    for lo in (0..assignment.n_samples).step_by(batch.max(1)) {
        let samples: Vec<usize> = (lo..(lo + batch.max(1)).min(assignment.n_samples)).collect();
        let datum_of = |s: usize, id: usize| assignment.get(s, Tree::slot(TreeId(id)));
        // Plain values of the distinct data this batch reads.
        let mut data: Vec<DatumId> = samples
            .iter()
            .flat_map(|&s| {
                tree.nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| matches!(n.body, TreeBody::Plain { .. }))
                    .map(move |(i, _)| datum_of(s, i))
            })
            .collect();
        data.sort();
        data.dedup();
        let plain = if plain_terms.is_empty() {
            Vec::new()
        } else {
            graph.plain(&data, &plain_terms)?
        };
        let datum_index: HashMap<DatumId, usize> =
            data.iter().enumerate().map(|(i, &d)| (d, i)).collect();

        // values[i]: node i for every sample of the batch, `[samples, rows, width]`.
        let mut values: Vec<Option<Vec<f32>>> = vec![None; tree.nodes.len()];
        for i in (0..tree.nodes.len()).rev() {
            let value = match &tree.nodes[i].body {
                TreeBody::Plain { terms } => {
                    let mut out = Vec::new();
                    for &s in &samples {
                        let per_datum = &plain[datum_index[&datum_of(s, i)]];
                        let mut acc = per_datum[term_index[&terms[0]]].clone();
                        for t in &terms[1..] {
                            acc.iter_mut()
                                .zip(&per_datum[term_index[t]])
                                .for_each(|(a, b)| *a += b);
                        }
                        out.extend(acc);
                    }
                    out
                }
                TreeBody::Recompute { node, ports } => {
                    let g = graph.node(*node);
                    let mut port_values = Vec::with_capacity(ports.len());
                    for (port, pieces) in g.ports.iter().zip(ports) {
                        let width = graph.node(port.terms[0]).width;
                        let mut acc = vec![0.0f32; samples.len() * rows * width];
                        for p in pieces {
                            let v = values[p.child.0]
                                .as_ref()
                                .expect("children follow their parent in the tree");
                            match &p.rows {
                                Rows::All => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
                                Rows::Only(rs) => {
                                    for s in 0..samples.len() {
                                        for &r in rs {
                                            let at = (s * rows + r) * width;
                                            acc[at..at + width]
                                                .iter_mut()
                                                .zip(&v[at..at + width])
                                                .for_each(|(a, b)| *a += b);
                                        }
                                    }
                                }
                            }
                        }
                        port_values.push(acc);
                    }
                    let homes: Vec<DatumId> = samples.iter().map(|&s| datum_of(s, i)).collect();
                    graph.recompute_batch(*node, &homes, &port_values)?
                }
            };
            values[i] = Some(value);
        }
        let root = values.swap_remove(0).expect("the root is evaluated last");
        let w = root.len() / samples.len();
        outputs.extend(root.chunks_exact(w).map(<[f32]>::to_vec));
        progress(samples.len());
    }
    Ok(ScrubOutcomes { outputs })
}
