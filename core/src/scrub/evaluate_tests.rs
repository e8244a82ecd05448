//! Identical tree nodes are computed once per batch, with outputs bit-identical to
//! computing every node, and never merged across different home data; under
//! `PadMask::Unclaimed` a recomputed node masks its remainder's datum's `[pad]` keys.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::{AttentionKind, PositionalKind};
use crate::mask::SourceMask;
use crate::sampler::Assignment;
use crate::scrub::graph::GraphNode;
use crate::scrub::hypothesis::{FeatureNames, HypothesisFile, NameResolver};
use crate::scrub::transformer::tests::{config, data};
use crate::scrub::transformer::TransformerGraph;
use crate::scrub::tree::{DatumRule, PadMask};
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

/// The tree `text` describes over `g` (no features), with `pad_mask` set.
fn built(g: &dyn ScrubGraph, names: &NameResolver, text: &str, pad_mask: PadMask) -> Tree {
    let mut h = HypothesisFile::parse(text, std::path::Path::new("h.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    h.pad_mask = pad_mask;
    h.build_tree(g, names, &FeatureNames::new(Vec::new(), |_| None))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Head 0.0 of the bidirectional paren-like model recomputed with every input on a datum
/// without `[pad]` (B) under a root on a short, mostly padded one (A). `Unclaimed` masks
/// the keys of B, the datum of the head's remainders, so the head is B's plain head; `Own`
/// masks those of A, the head node's own datum, so it is B's inputs under A's mask.
#[test]
fn unclaimed_pad_mask_reads_the_remainders_datum() {
    let m = crate::testing::paren_like_model();
    let g = TransformerGraph::new(&m, crate::testing::paren_like_data()).unwrap();
    let names = NameResolver::transformer(&g);
    let text = r#"Hypothesis(scenario: "paren", root: Node(name: "out", reference: true,
        computes: "out", inputs: [
            Node(name: "h", reference: true, computes: "0.0", ports: {
                "q": [Node(name: "e", reads: ["emb"])],
            }),
        ]))"#;
    let (a, b) = (DatumId(3), DatumId(2));
    let head = names.resolve(&g, "0.0").unwrap();
    let out = g.output();
    // Direct: the output recomputed on A from A's residual terms with 0.0 replaced.
    let output_with = |h: &[f32]| {
        let terms = &g.node(out).ports[0].terms;
        let plain = g.plain(&[a], terms).unwrap();
        let mut resid = vec![0.0f32; h.len()];
        for (t, v) in terms.iter().zip(&plain[0]) {
            let v = if *t == head { h } else { v };
            resid.iter_mut().zip(v).for_each(|(r, x)| *r += x);
        }
        g.recompute(out, a, &[resid]).unwrap()
    };
    let on_b = g.plain(&[b], &[head]).unwrap()[0][0].clone();
    let b_ports: Vec<Vec<f32>> = g
        .node(head)
        .ports
        .iter()
        .map(|p| {
            let plain = g.plain(&[b], &p.terms).unwrap();
            let mut sum = vec![0.0f32; plain[0][0].len()];
            plain[0]
                .iter()
                .for_each(|v| sum.iter_mut().zip(v).for_each(|(s, x)| *s += x));
            sum
        })
        .collect();
    let under_a = g.recompute(head, a, &b_ports).unwrap();
    assert!(max_diff(&on_b, &under_a) > 1e-2, "A's mask must matter");

    let mut got = Vec::new();
    for (pad_mask, head_value) in [(PadMask::Own, &under_a), (PadMask::Unclaimed, &on_b)] {
        let tree = built(&g, &names, text, pad_mask);
        validate(&tree, &g).unwrap();
        let rest = tree.find("out/h/q~rest").unwrap();
        let h = tree.find("out/h").unwrap();
        let want_home = if pad_mask == PadMask::Own { h } else { rest };
        assert_eq!(tree.homes(&g)[h.0], want_home);
        // The output keeps its own datum; `out/in~rest` is on A.
        assert_eq!(tree.homes(&g)[0], TreeId(0));
        let n_slots = tree.nodes.len() + 1;
        let on = |slot: usize| {
            let below_h = slot > 0 && tree.nodes[slot - 1].path.0.starts_with("out/h/");
            if below_h {
                b
            } else {
                a
            }
        };
        let assignment = Assignment {
            n_samples: 2,
            n_slots,
            data: (0..2 * n_slots).map(|i| on(i % n_slots)).collect(),
        };
        let outputs = evaluate(&g, &tree, &assignment).unwrap().outputs;
        let want = output_with(head_value);
        for o in &outputs {
            assert!(
                max_diff(o, &want) < 1e-5,
                "{pad_mask:?}: {}",
                max_diff(o, &want)
            );
        }
        got.push(outputs[0].clone());
    }
    assert!(max_diff(&got[0], &got[1]) > 1e-4, "the two readings differ");
}

/// With every slot on one datum the two readings agree and give the model's logits, over
/// the plain graph and over source-mask and predictor rewrites: a node's unclaimed datum is
/// then its own.
#[test]
fn both_pad_masks_reproduce_the_model_on_one_datum() {
    use crate::scrub::masked::Masked;
    use crate::scrub::rewrite::{RewriteLibrary, RewriteSpec, Rewritten};
    use crate::scrub::transformer::tests::assert_exact;
    let m = crate::testing::paren_like_model();
    let g = TransformerGraph::new(&m, crate::testing::paren_like_data()).unwrap();
    let names = NameResolver::transformer(&g);
    let resolve = |n: &str| names.resolve(&g, n);
    let masked = Masked::new(&g, "1.0", "prev", &resolve).unwrap();
    let library = RewriteLibrary::default().predictor("wiggle", |d: DatumId| {
        (0..8 * 16)
            .map(|i| ((i as f32 + 1.0) * 0.37 + d.0 as f32).sin() * 0.3)
            .collect()
    });
    let predicted = Rewritten::new(
        &masked,
        &RewriteSpec::Predict {
            term: "blocks.0.attn.head.1".into(),
            predictor: "wiggle".into(),
        },
        &library,
        &|n| names.resolve(&masked, n),
    )
    .unwrap();
    let plain = r#"Hypothesis(scenario: "paren", root: Node(name: "out", reference: true,
        computes: "out", inputs: [
            Node(name: "1.0", computes: "1.0", inputs: [
                Node(name: "a", rows: "1", reads: ["0.0"]),
                Node(name: "mlp0", rows: "1", computes: "mlp0"),
            ]),
            Node(name: "2.1", computes: "2.1", ports: {"v": [Node(name: "e", reads: ["emb"])]}),
        ]))"#;
    let split = r#"Hypothesis(scenario: "paren", root: Node(name: "out", reference: true,
        computes: "out", inputs: [
            Node(name: "p", computes: "1.0@prev", inputs: [
                Node(name: "a", rows: "1", reads: ["0.0"]),
            ]),
            Node(name: "r", computes: "1.0~prev", ports: {"k": [Node(name: "e", reads: ["emb"])]}),
            Node(name: "2.0", computes: "2.0"),
        ]))"#;
    let graphs: [(&str, &dyn ScrubGraph, &str); 3] = [
        ("plain", &g, plain),
        ("1.0 by prev", &masked, split),
        ("1.0 by prev, 0.1 predicted", &predicted, split),
    ];
    for (what, graph, text) in graphs {
        for pad_mask in [PadMask::Own, PadMask::Unclaimed] {
            let tree = built(graph, &names, text, pad_mask);
            let moved = (0..tree.nodes.len())
                .filter(|&i| tree.homes(graph)[i].0 != i)
                .count();
            assert_eq!(moved > 0, pad_mask == PadMask::Unclaimed, "{what}");
            assert_exact(graph, &m, &tree, &format!("{what}, {pad_mask:?}"));
        }
    }
}

/// Two recomputations alike in body, children and data are one value only when their
/// non-port inputs come from the same data too.
#[test]
fn nodes_with_different_homes_are_not_merged() {
    let m = crate::testing::paren_like_model();
    let g = TransformerGraph::new(&m, crate::testing::paren_like_data()).unwrap();
    let head = NameResolver::transformer(&g).resolve(&g, "0.0").unwrap();
    let recompute = || TreeBody::Recompute {
        node: head,
        ports: vec![Vec::new(); 3],
    };
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Plain { terms: vec![] },
    );
    let x = t.add(TreeId(0), "out/x", DatumRule::Unimportant, recompute());
    let y = t.add(TreeId(0), "out/y", DatumRule::Unimportant, recompute());
    let hx = t.add(TreeId(0), "out/hx", DatumRule::Unimportant, recompute());
    let hy = t.add(TreeId(0), "out/hy", DatumRule::Unimportant, recompute());
    let read = vec![Vec::new(); t.nodes.len()];
    // x and y on datum 0; hx on datum 1, hy on datum 1 or 2.
    for (hy_datum, merged) in [(1, true), (2, false)] {
        let data = |i: usize| vec![DatumId([0, 0, 0, 1, hy_datum][i])];
        let mut home: Vec<TreeId> = (0..t.nodes.len()).map(TreeId).collect();
        home[x.0] = hx;
        home[y.0] = hy;
        let rep = representatives(&t, &read, &home, data);
        assert_eq!(
            rep[x.0] == rep[y.0],
            merged,
            "homes on datum 1 and {hy_datum}"
        );
        let own: Vec<TreeId> = (0..t.nodes.len()).map(TreeId).collect();
        let rep = representatives(&t, &read, &own, data);
        assert_eq!(rep[x.0], rep[y.0], "with own homes x and y are alike");
    }
}

#[test]
fn a_batch_is_sized_by_the_values_live_at_its_widest_point() {
    let m = random_model(
        &config(AttentionKind::Causal, PositionalKind::Shortformer),
        5,
        0.4,
    );
    let g = TransformerGraph::with_patterns(&m, data()).unwrap();
    let (rows, out) = (g.rows(), g.node(g.output()));
    // One recomputed root over plain children: at the root the children (every row read),
    // the port sums as wide as them and the output twice over are live.
    let shallow = recompute_tree(&g, 1);
    let read = rows_read(&shallow, rows);
    let ports: usize = out
        .ports
        .iter()
        .map(|p| rows * g.node(p.terms[0]).width)
        .sum();
    let plain: usize = shallow
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match &n.body {
            TreeBody::Plain { terms } => Some(read[i].len() * g.node(terms[0]).width),
            TreeBody::Recompute { .. } => None,
        })
        .sum();
    assert_eq!(
        batch_bytes_per_sample(&g, &shallow, &read),
        4 * (plain + ports + 2 * rows * out.width)
    );
    // A deeper tree holds more at its widest point, never less than any plain value set.
    let deep = recompute_tree(&g, 3);
    let deep_read = rows_read(&deep, rows);
    assert!(
        batch_bytes_per_sample(&g, &deep, &deep_read) > batch_bytes_per_sample(&g, &shallow, &read)
    );
}
