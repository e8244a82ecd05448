//! Evaluation of a treeified hypothesis on sampled data. Samples go through in batches.
//! Within a batch, tree nodes that are identical (the same body over identical children,
//! and the same datum in every sample) are computed once: the write-up's induction trees
//! repeat one layer-0 recomputation under the q, k and v ports of several heads. The
//! distinct data that plain nodes read are run once each, in chunks, and each plain node
//! keeps only the rows its parent actually reads (a per-position input of a 41-position
//! split needs one row, not 42); then every recomputed node is evaluated for the whole
//! batch at once, children before parents, so an executor can run each as one batched
//! pass. A value is dropped as soon as its last reader has used it, so recomputed values
//! (`[samples, n_ctx, width]` each) are held only along the tree's frontier. A recomputed
//! node's non-port inputs (a padding mask) come from the datum the tree's `PadMask` names:
//! its own, or its unclaimed inputs'.

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
/// A batch is smaller when its values would not fit the memory budget
/// ([`crate::memory::batch_bytes`], sized by [`batch_bytes_per_sample`]).
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

/// What makes two tree nodes of a batch compute the same value. Children are named by
/// their representatives, so identity is decided bottom-up; `data` numbers the node's data
/// over the batch's samples, and `home` those its non-port inputs are read from (the same
/// as `data` unless the tree's `PadMask` says otherwise).
#[derive(PartialEq, Eq, Hash)]
enum Identity<'t> {
    Plain {
        terms: &'t [NodeId],
        read: &'t [usize],
        data: usize,
    },
    Recompute {
        node: NodeId,
        ports: Vec<Vec<(usize, &'t Rows)>>,
        data: usize,
        home: usize,
    },
}

/// For each tree node, the node whose value stands for it: an identical node, or itself.
/// A representative comes after (is evaluated before) every node it stands for, as children
/// are evaluated before parents. `home[i]` is the node whose data node i reads its
/// non-port inputs from.
fn representatives(
    tree: &Tree,
    read: &[Vec<usize>],
    home: &[TreeId],
    data_of: impl Fn(usize) -> Vec<DatumId>,
) -> Vec<usize> {
    let mut rep: Vec<usize> = (0..tree.nodes.len()).collect();
    let mut data_ids: HashMap<Vec<DatumId>, usize> = HashMap::new();
    let mut number = |d: Vec<DatumId>| {
        let next = data_ids.len();
        *data_ids.entry(d).or_insert(next)
    };
    let mut seen: HashMap<Identity, usize> = HashMap::new();
    for i in (0..tree.nodes.len()).rev() {
        let data = number(data_of(i));
        let key = match &tree.nodes[i].body {
            TreeBody::Plain { terms } => Identity::Plain {
                terms,
                read: &read[i],
                data,
            },
            TreeBody::Recompute { node, ports } => Identity::Recompute {
                node: *node,
                ports: ports
                    .iter()
                    .map(|p| p.iter().map(|pc| (rep[pc.child.0], &pc.rows)).collect())
                    .collect(),
                data,
                home: if home[i].0 == i {
                    data
                } else {
                    number(data_of(home[i].0))
                },
            },
        };
        rep[i] = *seen.entry(key).or_insert(i);
    }
    rep
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
    evaluate_with(graph, tree, assignment, batch, cache, progress, true)
}

/// `evaluate_batched` handing each sample's output to `sink(sample, output)` as its batch
/// finishes and keeping none of them: memory stays bounded by one batch, whatever the
/// sample count (a long run would otherwise hold every sample's logits until the end).
pub fn evaluate_into(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    batch: usize,
    cache: Option<&PlainCache>,
    progress: &mut dyn FnMut(usize),
    sink: &mut dyn FnMut(usize, &[f32]),
) -> Result<()> {
    evaluate_streaming(graph, tree, assignment, batch, cache, progress, true, sink)
}

/// `evaluate_batched`, computing identical tree nodes once only when `dedup` (tests compare
/// the two).
pub(crate) fn evaluate_with(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    batch: usize,
    cache: Option<&PlainCache>,
    progress: &mut dyn FnMut(usize),
    dedup: bool,
) -> Result<ScrubOutcomes> {
    let mut outputs = Vec::with_capacity(assignment.n_samples);
    evaluate_streaming(
        graph,
        tree,
        assignment,
        batch,
        cache,
        progress,
        dedup,
        &mut |_, o| outputs.push(o.to_vec()),
    )?;
    Ok(ScrubOutcomes { outputs })
}

#[allow(clippy::too_many_arguments)]
fn evaluate_streaming(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    assignment: &Assignment,
    batch: usize,
    cache: Option<&PlainCache>,
    progress: &mut dyn FnMut(usize),
    dedup: bool,
    sink: &mut dyn FnMut(usize, &[f32]),
) -> Result<()> {
    let rows = graph.rows();
    let read = rows_read(tree, rows);
    let home = tree.homes(graph);
    // position_of[i][r]: where row r of node i sits in its compact value.
    let position_of: Vec<Vec<usize>> = read
        .iter()
        .map(|rs| {
            let mut p = vec![usize::MAX; rows];
            rs.iter().enumerate().for_each(|(k, &r)| p[r] = k);
            p
        })
        .collect();
    let width = |i: usize| match &tree.nodes[i].body {
        TreeBody::Plain { terms } => graph.node(terms[0]).width,
        TreeBody::Recompute { node, .. } => graph.node(*node).width,
    };
    // The terms each plain node's value is summed from, with complete sets of a split's
    // parts read as the whole: refined 4's `rest` reads all 28 parts of the eight layer-0
    // heads on one datum, which is just the heads.
    let plain_terms: Vec<Vec<NodeId>> = tree
        .nodes
        .iter()
        .map(|n| match &n.body {
            TreeBody::Plain { terms } => graph.merge_parts(terms),
            TreeBody::Recompute { .. } => Vec::new(),
        })
        .collect();
    let groups: Vec<Option<GroupId>> = (0..tree.nodes.len())
        .map(|i| match (&tree.nodes[i].body, cache) {
            (TreeBody::Plain { terms }, Some(c)) => Some(c.group(terms, &read[i])),
            _ => None,
        })
        .collect();

    // The batch's share of the budget: a third for the plain values being computed (fewer
    // data per chunk when each needs many wide terms: every term before layer 1 of the
    // induction model is `[256, 256]`), the rest for the samples' node values.
    let data_chunk_bytes = crate::memory::batch_bytes() / 3;
    let per_sample = batch_bytes_per_sample(graph, tree, &read);
    let fits = ((crate::memory::batch_bytes() - data_chunk_bytes) / per_sample.max(1)).max(1);
    let batch = batch.clamp(1, fits);
    if batch < assignment.n_samples {
        tracing::debug!(
            batch,
            mb_per_sample = per_sample as f64 / 1e6,
            "samples per batch (the memory budget's batch share holds {fits})"
        );
    }

    for lo in (0..assignment.n_samples).step_by(batch) {
        crate::cancel::check()?;
        let samples: Vec<usize> = (lo..(lo + batch).min(assignment.n_samples)).collect();
        let n = samples.len();
        let datum_of = |k: usize, i: usize| assignment.get(samples[k], Tree::slot(TreeId(i)));
        let rep = if dedup {
            representatives(tree, &read, &home, |i| {
                (0..n).map(|k| datum_of(k, i)).collect()
            })
        } else {
            (0..tree.nodes.len()).collect()
        };
        let plain_nodes: Vec<usize> = (0..tree.nodes.len())
            .filter(|&i| rep[i] == i && matches!(tree.nodes[i].body, TreeBody::Plain { .. }))
            .collect();
        // Readers left for each representative's value; the root's is kept for the output.
        let mut readers = vec![0usize; tree.nodes.len()];
        readers[rep[0]] += 1;
        for (i, node) in tree.nodes.iter().enumerate() {
            if let (true, TreeBody::Recompute { ports, .. }) = (rep[i] == i, &node.body) {
                ports
                    .iter()
                    .flatten()
                    .for_each(|p| readers[rep[p.child.0]] += 1);
            }
        }

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
        // and by the rows they read, when not every row (a per-position node reads one).
        let mut by_terms: HashMap<Job, Vec<DatumId>> = HashMap::new();
        for (&d, readers) in &usage {
            let mut need: Vec<NodeId> = readers
                .iter()
                .flat_map(|&(_, i)| plain_terms[i].iter().copied())
                .collect();
            need.sort();
            need.dedup();
            let mut rows_read: Vec<usize> = readers
                .iter()
                .flat_map(|&(_, i)| read[i].iter().copied())
                .collect();
            rows_read.sort();
            rows_read.dedup();
            by_terms.entry((need, rows_read)).or_default().push(d);
        }
        let mut jobs: Vec<(Job, Vec<DatumId>)> = by_terms.into_iter().collect();
        jobs.sort();
        // Progress in samples, spread over the plain chunks (most of the work) and the rest.
        let chunk_of = |need: &[NodeId]| {
            let per_datum: usize = need.iter().map(|&t| rows * graph.node(t).width * 4).sum();
            (data_chunk_bytes / per_datum.max(1)).clamp(1, DATA_CHUNK)
        };
        let n_chunks: usize = jobs
            .iter()
            .map(|((need, _), d)| d.len().div_ceil(chunk_of(need)))
            .sum();
        let mut reported = 0;
        let mut c = 0;
        for ((need, rows_read), mut data) in jobs {
            data.sort();
            let term_index: HashMap<NodeId, usize> =
                need.iter().enumerate().map(|(i, &t)| (t, i)).collect();
            for chunk in data.chunks(chunk_of(&need)) {
                crate::cancel::check()?;
                // Whole values, or compact ones holding `rows_read` only.
                let whole = rows_read.len() == rows;
                let plain = match whole {
                    true => graph.plain(chunk, &need)?,
                    false => graph.plain_rows(chunk, &need, &rows_read)?,
                };
                let src_row = |r: usize| match whole {
                    true => r,
                    false => rows_read.binary_search(&r).expect("a row read by a reader"),
                };
                c += 1;
                let due = n * c / (n_chunks + 1);
                progress(due - reported);
                reported = due;
                for (per_datum, d) in plain.iter().zip(chunk) {
                    for &(k, i) in &usage[d] {
                        let terms = &plain_terms[i];
                        let (w, len) = (width(i), read[i].len());
                        let dest = values[i].as_mut().expect("allocated above");
                        for (j, &r) in read[i].iter().enumerate() {
                            let out = &mut dest[(k * len + j) * w..(k * len + j + 1) * w];
                            let at = src_row(r);
                            for t in terms {
                                out.iter_mut()
                                    .zip(&per_datum[term_index[t]][at * w..(at + 1) * w])
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
            if rep[i] != i {
                continue;
            }
            let g = graph.node(*node);
            let mut port_values = Vec::with_capacity(ports.len());
            for (port, pieces) in g.ports.iter().zip(ports) {
                let w = graph.node(port.terms[0]).width;
                let mut acc = vec![0.0f32; n * rows * w];
                for p in pieces {
                    let c = rep[p.child.0];
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
                    readers[c] -= 1;
                    if readers[c] == 0 {
                        values[c] = None;
                    }
                }
                port_values.push(acc);
            }
            let homes: Vec<DatumId> = (0..n).map(|k| datum_of(k, home[i].0)).collect();
            values[i] = Some(graph.recompute_batch(*node, &homes, &port_values)?);
        }
        let root = values.swap_remove(rep[0]).expect("the root is evaluated");
        let w = root.len() / n;
        for (k, out) in root.chunks_exact(w).enumerate() {
            sink(samples[k], out);
        }
        progress(n - reported);
    }
    Ok(())
}

/// The terms a plain pass computes and the rows its readers read.
type Job = (Vec<NodeId>, Vec<usize>);

/// Bytes one sample of a batch holds at the most (f32 values): every plain node's compact
/// value, which lives from the start of the batch until its readers are done, plus, at each
/// recomputed node in evaluation order, the values still live, its port sums and its output
/// twice over (an executor's scratch: attention patterns, an MLP's hidden layer). Identical
/// nodes computed once only lower the true figure.
pub fn batch_bytes_per_sample(graph: &dyn ScrubGraph, tree: &Tree, read: &[Vec<usize>]) -> usize {
    let rows = graph.rows();
    let mut readers = vec![0usize; tree.nodes.len()];
    readers[0] = 1;
    for n in &tree.nodes {
        if let TreeBody::Recompute { ports, .. } = &n.body {
            ports.iter().flatten().for_each(|p| readers[p.child.0] += 1);
        }
    }
    let mut size = vec![0usize; tree.nodes.len()];
    let mut live = 0usize;
    for (i, n) in tree.nodes.iter().enumerate() {
        if let TreeBody::Plain { terms } = &n.body {
            size[i] = read[i].len() * graph.node(terms[0]).width;
            live += size[i];
        }
    }
    let mut peak = live;
    for i in (0..tree.nodes.len()).rev() {
        let TreeBody::Recompute { node, ports } = &tree.nodes[i].body else {
            continue;
        };
        let g = graph.node(*node);
        let port_sums: usize = g
            .ports
            .iter()
            .map(|p| rows * graph.node(p.terms[0]).width)
            .sum();
        size[i] = rows * g.width;
        peak = peak.max(live + port_sums + 2 * size[i]);
        for p in ports.iter().flatten() {
            readers[p.child.0] -= 1;
            if readers[p.child.0] == 0 {
                live -= size[p.child.0];
            }
        }
        live += size[i];
    }
    peak * std::mem::size_of::<f32>()
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
