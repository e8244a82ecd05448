//! Evaluation of a treeified hypothesis on sampled data. Samples go through in batches.
//! Within a batch, the distinct data that plain nodes read are run once each, in chunks,
//! and each plain node keeps only the rows its parent actually reads (a per-position input
//! of a 41-position split needs one row, not 42); then every recomputed node is evaluated
//! for the whole batch at once, children before parents, so an executor can run each as
//! one batched pass.

use std::collections::HashMap;

use crate::error::Result;
use crate::feature::DatumId;
use crate::sampler::Assignment;
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::plain_cache::{GroupId, PlainCache};
use crate::scrub::tree::{Rows, Tree, TreeBody, TreeId};

/// The output value of every sample, `[rows, width]` each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubOutcomes {
    pub outputs: Vec<Vec<f32>>,
}

/// Samples evaluated together by default: their distinct data are run once per batch.
pub const SAMPLE_BATCH: usize = 2048;

/// Distinct data whose plain values are computed (and held in full) at a time.
const DATA_CHUNK: usize = 1024;

/// Evaluates `tree` (already validated against `graph`) on every sample of `assignment`,
/// `SAMPLE_BATCH` samples at a time.
pub fn evaluate(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
) -> Result<ScrubOutcomes> {
    evaluate_batched(graph, tree, assignment, SAMPLE_BATCH, None, &mut |_| {})
}

/// Rows of each node that its parent reads (every row for the root and for nodes read whole).
fn rows_read(tree: &Tree, rows: usize) -> Vec<Vec<usize>> {
    let mut read: Vec<Vec<bool>> = vec![vec![false; rows]; tree.nodes.len()];
    read[0] = vec![true; rows];
    for n in &tree.nodes {
        if let TreeBody::Recompute { ports, .. } = &n.body {
            for p in ports.iter().flatten() {
                match &p.rows {
                    Rows::All => read[p.child.0].iter_mut().for_each(|r| *r = true),
                    Rows::Only(rs) => rs.iter().for_each(|&r| read[p.child.0][r] = true),
                }
            }
        }
    }
    read.into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(_, &x)| x)
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// `evaluate` with an explicit batch size, calling `progress(samples done)` after each batch.
/// With a `cache` (which must belong to `graph`), plain values found there are reused and
/// the ones computed are added.
pub fn evaluate_batched(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    batch: usize,
    cache: Option<&PlainCache>,
    progress: &mut dyn FnMut(usize),
) -> Result<ScrubOutcomes> {
    let rows = graph.rows();
    let read = rows_read(tree, rows);
    // position_of[i][r]: where row r of node i sits in its compact value.
    let position_of: Vec<Vec<usize>> = read
        .iter()
        .map(|rs| {
            let mut p = vec![usize::MAX; rows];
            rs.iter().enumerate().for_each(|(k, &r)| p[r] = k);
            p
        })
        .collect();
    let plain_nodes: Vec<usize> = (0..tree.nodes.len())
        .filter(|&i| matches!(tree.nodes[i].body, TreeBody::Plain { .. }))
        .collect();
    let width = |i: usize| match &tree.nodes[i].body {
        TreeBody::Plain { terms } => graph.node(terms[0]).width,
        TreeBody::Recompute { node, .. } => graph.node(*node).width,
    };
    let groups: Vec<Option<GroupId>> = (0..tree.nodes.len())
        .map(|i| match (&tree.nodes[i].body, cache) {
            (TreeBody::Plain { terms }, Some(c)) => Some(c.group(terms, &read[i])),
            _ => None,
        })
        .collect();

    let mut outputs = Vec::with_capacity(assignment.n_samples);
    for lo in (0..assignment.n_samples).step_by(batch.max(1)) {
        let samples: Vec<usize> = (lo..(lo + batch.max(1)).min(assignment.n_samples)).collect();
        let n = samples.len();
        let datum_of = |k: usize, i: usize| assignment.get(samples[k], Tree::slot(TreeId(i)));

        // Plain nodes' compact values: `[samples, rows read, width]`.
        let mut values: Vec<Option<Vec<f32>>> = vec![None; tree.nodes.len()];
        for &i in &plain_nodes {
            values[i] = Some(vec![0.0; n * read[i].len() * width(i)]);
        }
        // Which (sample, plain node) pairs read each datum, less those the cache answers.
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|k| plain_nodes.iter().map(move |&i| (k, i)))
            .collect();
        let cached = match cache {
            Some(c) => c.get_many(
                &pairs
                    .iter()
                    .map(|&(k, i)| (groups[i].expect("grouped above"), datum_of(k, i)))
                    .collect::<Vec<_>>(),
            ),
            None => vec![None; pairs.len()],
        };
        let mut usage: HashMap<DatumId, Vec<(usize, usize)>> = HashMap::new();
        for (&(k, i), hit) in pairs.iter().zip(cached) {
            match hit {
                Some(v) => {
                    let len = read[i].len() * width(i);
                    values[i].as_mut().expect("allocated above")[k * len..(k + 1) * len]
                        .copy_from_slice(&v);
                }
                None => usage.entry(datum_of(k, i)).or_default().push((k, i)),
            }
        }
        // Each datum is run once, only as far into the model as the terms its readers need
        // (a per-position layer-0 node needs one block, not the whole model): data are
        // grouped by that set of terms.
        let mut by_terms: HashMap<Vec<NodeId>, Vec<DatumId>> = HashMap::new();
        for (&d, readers) in &usage {
            let mut need: Vec<NodeId> = readers
                .iter()
                .flat_map(|&(_, i)| match &tree.nodes[i].body {
                    TreeBody::Plain { terms } => terms.clone(),
                    TreeBody::Recompute { .. } => Vec::new(),
                })
                .collect();
            need.sort();
            need.dedup();
            by_terms.entry(need).or_default().push(d);
        }
        let mut jobs: Vec<(Vec<NodeId>, Vec<DatumId>)> = by_terms.into_iter().collect();
        jobs.sort();
        // Progress in samples, spread over the plain chunks (most of the work) and the rest.
        let n_chunks: usize = jobs.iter().map(|(_, d)| d.len().div_ceil(DATA_CHUNK)).sum();
        let mut reported = 0;
        let mut c = 0;
        for (need, mut data) in jobs {
            data.sort();
            let term_index: HashMap<NodeId, usize> =
                need.iter().enumerate().map(|(i, &t)| (t, i)).collect();
            for chunk in data.chunks(DATA_CHUNK) {
                let plain = graph.plain(chunk, &need)?;
                c += 1;
                let due = n * c / (n_chunks + 1);
                progress(due - reported);
                reported = due;
                for (per_datum, d) in plain.iter().zip(chunk) {
                    for &(k, i) in &usage[d] {
                        let TreeBody::Plain { terms } = &tree.nodes[i].body else {
                            unreachable!("plain nodes only")
                        };
                        let (w, len) = (width(i), read[i].len());
                        let dest = values[i].as_mut().expect("allocated above");
                        for (j, &r) in read[i].iter().enumerate() {
                            let out = &mut dest[(k * len + j) * w..(k * len + j + 1) * w];
                            for t in terms {
                                out.iter_mut()
                                    .zip(&per_datum[term_index[t]][r * w..(r + 1) * w])
                                    .for_each(|(a, b)| *a += b);
                            }
                        }
                    }
                }
                if let Some(cache) = cache {
                    let mut fresh = Vec::new();
                    let mut stored = std::collections::HashSet::new();
                    for d in chunk {
                        for &(k, i) in &usage[d] {
                            let g = groups[i].expect("grouped above");
                            if stored.insert((g, *d)) {
                                let len = read[i].len() * width(i);
                                let v = &values[i].as_ref().expect("allocated above");
                                fresh.push(((g, *d), v[k * len..(k + 1) * len].to_vec()));
                            }
                        }
                    }
                    cache.insert_many(fresh);
                }
            }
        }

        // Recomputed nodes, children first: full values `[samples, rows, width]`.
        for i in (0..tree.nodes.len()).rev() {
            let TreeBody::Recompute { node, ports } = &tree.nodes[i].body else {
                continue;
            };
            let g = graph.node(*node);
            let mut port_values = Vec::with_capacity(ports.len());
            for (port, pieces) in g.ports.iter().zip(ports) {
                let w = graph.node(port.terms[0]).width;
                let mut acc = vec![0.0f32; n * rows * w];
                for p in pieces {
                    let c = p.child.0;
                    let v = values[c]
                        .as_ref()
                        .expect("children follow their parent in the tree");
                    // Plain children hold only the rows read; recomputed ones hold every row.
                    let compact = matches!(tree.nodes[c].body, TreeBody::Plain { .. });
                    let len = if compact { read[c].len() } else { rows };
                    let add_row = |acc: &mut [f32], k: usize, r: usize| {
                        let at = if compact { position_of[c][r] } else { r };
                        let src = &v[(k * len + at) * w..(k * len + at + 1) * w];
                        acc[(k * rows + r) * w..(k * rows + r + 1) * w]
                            .iter_mut()
                            .zip(src)
                            .for_each(|(a, b)| *a += b);
                    };
                    for k in 0..n {
                        match &p.rows {
                            Rows::All => (0..rows).for_each(|r| add_row(&mut acc, k, r)),
                            Rows::Only(rs) => rs.iter().for_each(|&r| add_row(&mut acc, k, r)),
                        }
                    }
                }
                port_values.push(acc);
            }
            let homes: Vec<DatumId> = (0..n).map(|k| datum_of(k, i)).collect();
            values[i] = Some(graph.recompute_batch(*node, &homes, &port_values)?);
        }
        let root = values.swap_remove(0).expect("the root is evaluated");
        let w = root.len() / n;
        outputs.extend(root.chunks_exact(w).map(<[f32]>::to_vec));
        progress(n - reported);
    }
    Ok(ScrubOutcomes { outputs })
}
