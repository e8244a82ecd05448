//! Identical tree nodes are computed once per batch, with outputs bit-identical to
//! computing every node.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::{AttentionKind, PositionalKind};
use crate::mask::SourceMask;
use crate::scrub::graph::GraphNode;
use crate::scrub::transformer::tests::{config, data};
use crate::scrub::transformer::TransformerGraph;
use crate::scrub::validate::validate;
use crate::testing::{random_model, recompute_tree};

/// A graph that counts the recomputations asked of it.
struct Counting<'g> {
    base: &'g dyn ScrubGraph,
    calls: AtomicUsize,
}

impl ScrubGraph for Counting<'_> {
    fn nodes(&self) -> &[GraphNode] {
        self.base.nodes()
    }

    fn output(&self) -> NodeId {
        self.base.output()
    }

    fn rows(&self) -> usize {
        self.base.rows()
    }

    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        self.base.plain(data, nodes)
    }

    fn recompute(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        self.base.recompute(node, home, ports)
    }

    fn recompute_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
    ) -> Result<Vec<f32>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.base.recompute_batch(node, homes, ports)
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        self.base.recompute_masked(node, home, ports, mask)
    }
}

#[test]
fn identical_subtrees_are_computed_once_with_identical_outputs() {
    let m = random_model(
        &config(AttentionKind::Causal, PositionalKind::Shortformer),
        61,
        0.4,
    );
    let base = TransformerGraph::with_patterns(&m, data()).unwrap();
    let g = Counting {
        base: &base,
        calls: AtomicUsize::new(0),
    };
    let tree = recompute_tree(&g, 4);
    validate(&tree, &g).unwrap();
    // Every instance of one graph node (under any port of any parent) gets the same datum
    // within a sample, so equal subtrees repeat all over the tree; data differ between
    // nodes and between samples.
    let n_slots = tree.nodes.len() + 1;
    let n_samples = 7;
    let key = |slot: usize| {
        let path = if slot == 0 {
            "out"
        } else {
            tree.nodes[slot - 1].path.0.as_str()
        };
        let last = path.rsplit('/').next().unwrap_or(path);
        let term = last.split_once(':').map_or(last, |(_, t)| t);
        term.bytes().map(usize::from).sum::<usize>()
    };
    let assignment = Assignment {
        n_samples,
        n_slots,
        data: (0..n_samples * n_slots)
            .map(|i| DatumId(((i / n_slots + key(i % n_slots)) % 4) as u32))
            .collect(),
    };
    let run = |dedup: bool| {
        g.calls.store(0, Ordering::Relaxed);
        let out = evaluate_with(&g, &tree, &assignment, 3, None, &mut |_| {}, dedup).unwrap();
        (out, g.calls.load(Ordering::Relaxed))
    };
    let (every, calls_every) = run(false);
    let (once, calls_once) = run(true);
    assert_eq!(once, every, "deduplication changes no bit");
    assert!(
        calls_once * 4 < calls_every,
        "{calls_once} recomputations with deduplication, {calls_every} without"
    );
    // Each batch still computes every distinct recomputed graph node at least once.
    let distinct = (0..tree.nodes.len())
        .filter_map(|i| match &tree.nodes[i].body {
            TreeBody::Recompute { node, .. } => Some(*node),
            TreeBody::Plain { .. } => None,
        })
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(calls_once >= distinct * n_samples.div_ceil(3));
    // The data were mixed: the outputs are not the plain model's on the reference.
    let refs: Vec<DatumId> = (0..n_samples)
        .map(|s| assignment.get(s, Tree::reference_slot()))
        .collect();
    let plain = base.plain(&refs, &[base.output()]).unwrap();
    assert!((0..n_samples).any(|s| plain[s][0] != once.outputs[s]));
}
