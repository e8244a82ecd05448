//! Evaluation of a treeified hypothesis on sampled data (CPU): plain values are computed
//! once per distinct datum of a batch of samples, then each sample's recomputed instances
//! are evaluated bottom-up from their children's values.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::sampler::Assignment;
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{Rows, Tree, TreeBody};

/// The output value of every sample, `[rows, width]` each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubOutcomes {
    pub outputs: Vec<Vec<f32>>,
}

/// Samples evaluated together: their distinct data share one plain pass.
const SAMPLE_BATCH: usize = 512;

/// Evaluates `tree` (already validated against `graph`) on every sample of `assignment`.
pub fn evaluate(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
) -> Result<ScrubOutcomes> {
    let plain_terms: Vec<NodeId> = {
        let mut v: Vec<NodeId> = tree
            .nodes
            .iter()
            .filter_map(|n| match &n.body {
                TreeBody::Plain { terms } => Some(terms.clone()),
                TreeBody::Recompute { .. } => None,
            })
            .flatten()
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let term_index: HashMap<NodeId, usize> = plain_terms
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i))
        .collect();
    let mut outputs = Vec::with_capacity(assignment.n_samples);
    for lo in (0..assignment.n_samples).step_by(SAMPLE_BATCH) {
        let hi = (lo + SAMPLE_BATCH).min(assignment.n_samples);
        // Distinct data whose plain values this batch reads.
        let mut data: Vec<DatumId> = (lo..hi)
            .flat_map(|s| {
                tree.nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| matches!(n.body, TreeBody::Plain { .. }))
                    .map(move |(i, _)| assignment.get(s, Tree::slot(crate::scrub::tree::TreeId(i))))
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
        let batch: Vec<Result<Vec<f32>>> = (lo..hi)
            .into_par_iter()
            .map(|s| {
                evaluate_sample(graph, tree, assignment, s, &|d: DatumId, t: NodeId| {
                    &plain[datum_index[&d]][term_index[&t]]
                })
            })
            .collect();
        for o in batch {
            outputs.push(o?);
        }
    }
    Ok(ScrubOutcomes { outputs })
}

/// One sample: children are listed after their parents, so a reverse sweep sees every
/// child's value before its parent needs it.
fn evaluate_sample<'p>(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    sample: usize,
    plain: &dyn Fn(DatumId, NodeId) -> &'p Vec<f32>,
) -> Result<Vec<f32>> {
    let rows = graph.rows();
    let mut values: Vec<Option<Vec<f32>>> = vec![None; tree.nodes.len()];
    for i in (0..tree.nodes.len()).rev() {
        let datum = assignment.get(sample, Tree::slot(crate::scrub::tree::TreeId(i)));
        let value = match &tree.nodes[i].body {
            TreeBody::Plain { terms } => {
                let mut acc = plain(datum, terms[0]).clone();
                for &t in &terms[1..] {
                    acc.iter_mut()
                        .zip(plain(datum, t))
                        .for_each(|(a, b)| *a += b);
                }
                acc
            }
            TreeBody::Recompute { node, ports } => {
                let g = graph.node(*node);
                let mut port_values = Vec::with_capacity(ports.len());
                for (port, pieces) in g.ports.iter().zip(ports) {
                    let width = graph.node(port.terms[0]).width;
                    let mut acc = vec![0.0f32; rows * width];
                    for p in pieces {
                        let v = values[p.child.0].as_ref().ok_or_else(|| {
                            ModelError::Executor(format!(
                                "tree node {} read before it was computed",
                                tree.nodes[p.child.0].path
                            ))
                        })?;
                        match &p.rows {
                            Rows::All => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
                            Rows::Only(rs) => {
                                for &r in rs {
                                    acc[r * width..(r + 1) * width]
                                        .iter_mut()
                                        .zip(&v[r * width..(r + 1) * width])
                                        .for_each(|(a, b)| *a += b);
                                }
                            }
                        }
                    }
                    port_values.push(acc);
                }
                graph.recompute(*node, datum, &port_values)?
            }
        };
        values[i] = Some(value);
    }
    Ok(values.swap_remove(0).expect("the root is evaluated last"))
}
