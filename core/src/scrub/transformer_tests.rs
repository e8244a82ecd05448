//! Treeified transformers: every rewrite reproduces the model when all slots share one datum,
//! mixing data changes the output, and malformed trees are rejected naming their nodes.

use super::*;
use crate::config::AttentionKind;
use crate::forward::forward;
use crate::sampler::{Assignment, NodePath};
use crate::scrub::evaluate::evaluate;
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use crate::scrub::validate::validate;
use crate::testing::random_model;

// The shared paren-like model and data, under the names these tests have always used.
pub(crate) use crate::testing::{paren_like_config as config, paren_like_data as data};

/// Every slot of every sample gets datum `samples[s]`.
pub(crate) fn uniform(tree: &Tree, samples: &[u32]) -> Assignment {
    let n_slots = tree.nodes.len() + 1;
    Assignment {
        n_samples: samples.len(),
        n_slots,
        data: samples
            .iter()
            .flat_map(|&d| vec![DatumId(d); n_slots])
            .collect(),
    }
}

fn terms_of(g: &TransformerGraph, port_of: NodeId) -> Vec<NodeId> {
    g.node(port_of).ports[0].terms.clone()
}

/// The root recomputes the output from the given groups of its input terms, each a plain child.
fn split_output(g: &TransformerGraph, groups: Vec<Vec<NodeId>>) -> Tree {
    let out = g.output();
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    for (i, terms) in groups.into_iter().enumerate() {
        let c = t.add(
            TreeId(0),
            format!("out/g{i}"),
            DatumRule::Unimportant,
            TreeBody::Plain { terms },
        );
        t.feed(TreeId(0), 0, c, Rows::All);
    }
    t
}

/// Trees of every rewrite kind the engine expresses directly.
fn rewrites(g: &TransformerGraph) -> Vec<(&'static str, Tree)> {
    let out = g.output();
    let all = terms_of(g, out);
    let head = |l, h| g.node_of(Component::Head { layer: l, head: h }).unwrap();
    let mlp = |l| g.node_of(Component::Mlp { layer: l }).unwrap();
    let mut trees = vec![(
        "plain output",
        Tree::new(
            "out",
            DatumRule::Reference,
            TreeBody::Plain { terms: vec![out] },
        ),
    )];
    trees.push((
        "every term separately",
        split_output(g, all.iter().map(|&t| vec![t]).collect()),
    ));
    let picked = [head(1, 0), head(2, 0), head(2, 1)];
    let rest: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|t| !picked.contains(t))
        .collect();
    trees.push((
        "1a-shaped groups",
        split_output(
            g,
            vec![vec![picked[0]], vec![picked[1]], vec![picked[2]], rest],
        ),
    ));

    // Split by position: each row of the output's input from its own child.
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    for r in 0..g.rows() {
        let c = t.add(
            TreeId(0),
            format!("out/x[{r}]"),
            DatumRule::Unimportant,
            TreeBody::Plain { terms: all.clone() },
        );
        t.feed(TreeId(0), 0, c, Rows::Only(vec![r]));
    }
    trees.push(("split by position", t));

    // Recompute head 2.1 with separate q, k, v inputs, and inside v recompute mlp 1 whose
    // input is split into head 1.0 (recomputed from per-position children) and the rest.
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    let h21 = head(2, 1);
    let c = t.add(
        TreeId(0),
        "out/2.1",
        DatumRule::Unimportant,
        TreeBody::Recompute {
            node: h21,
            ports: vec![vec![], vec![], vec![]],
        },
    );
    t.feed(TreeId(0), 0, c, Rows::All);
    let others = t.add(
        TreeId(0),
        "out/rest",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: all.iter().copied().filter(|&x| x != h21).collect(),
        },
    );
    t.feed(TreeId(0), 0, others, Rows::All);
    let in21 = g.node(h21).ports[0].terms.clone();
    let q = t.add(
        c,
        "out/2.1/q",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: in21.clone(),
        },
    );
    t.feed(c, 0, q, Rows::All);
    let k = t.add(
        c,
        "out/2.1/k",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: in21.clone(),
        },
    );
    t.feed(c, 1, k, Rows::All);
    let m1 = t.add(
        c,
        "out/2.1/v/mlp1",
        DatumRule::Unimportant,
        TreeBody::Recompute {
            node: mlp(1),
            ports: vec![vec![]],
        },
    );
    t.feed(c, 2, m1, Rows::All);
    let vrest = t.add(
        c,
        "out/2.1/v/rest",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: in21.iter().copied().filter(|&x| x != mlp(1)).collect(),
        },
    );
    t.feed(c, 2, vrest, Rows::All);
    let in_m1 = g.node(mlp(1)).ports[0].terms.clone();
    let h10 = t.add(
        m1,
        "out/2.1/v/mlp1/1.0",
        DatumRule::Unimportant,
        TreeBody::Recompute {
            node: head(1, 0),
            ports: vec![vec![], vec![], vec![]],
        },
    );
    t.feed(m1, 0, h10, Rows::All);
    let m1rest = t.add(
        m1,
        "out/2.1/v/mlp1/rest",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: in_m1.iter().copied().filter(|&x| x != head(1, 0)).collect(),
        },
    );
    t.feed(m1, 0, m1rest, Rows::All);
    let in10 = g.node(head(1, 0)).ports[0].terms.clone();
    for port in 0..3 {
        for r in 0..g.rows() {
            let x = t.add(
                h10,
                format!("out/2.1/v/mlp1/1.0/p{port}[{r}]"),
                DatumRule::Unimportant,
                TreeBody::Plain {
                    terms: in10.clone(),
                },
            );
            t.feed(h10, port, x, Rows::Only(vec![r]));
        }
    }
    trees.push((
        "separate q/k/v, nested recomputation, per-position head inputs",
        t,
    ));
    trees
}

#[test]
fn every_rewrite_reproduces_the_model_on_one_datum() {
    for attention in [AttentionKind::Bidirectional, AttentionKind::Causal] {
        for positional in [PositionalKind::Standard, PositionalKind::Shortformer] {
            let cfg = config(attention, positional);
            let m = random_model(&cfg, 21, 0.4);
            let seqs = data();
            let g = TransformerGraph::new(&m, seqs.clone()).unwrap();
            let plain = forward(
                &m,
                &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
                None,
            );
            for (name, tree) in rewrites(&g) {
                validate(&tree, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
                let out = evaluate(&g, &tree, &uniform(&tree, &[0, 1, 2, 3])).unwrap();
                for (s, o) in out.outputs.iter().enumerate() {
                    let want = &plain.data[s * 8 * 2..(s + 1) * 8 * 2];
                    let diff = o
                        .iter()
                        .zip(want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f32::max);
                    assert!(
                        diff < 1e-4,
                        "{attention:?} {positional:?} {name}: datum {s} differs by {diff}"
                    );
                }
            }
        }
    }
}

#[test]
fn mixing_data_changes_the_output() {
    let m = random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        22,
        0.4,
    );
    let g = TransformerGraph::new(&m, data()).unwrap();
    let all = terms_of(&g, g.output());
    let half = all.len() / 2;
    let tree = split_output(&g, vec![all[..half].to_vec(), all[half..].to_vec()]);
    validate(&tree, &g).unwrap();
    let a = Assignment {
        n_samples: 1,
        n_slots: 4,
        data: vec![DatumId(0), DatumId(0), DatumId(1), DatumId(2)],
    };
    let mixed = &evaluate(&g, &tree, &a).unwrap().outputs[0];
    let plain = forward(
        &m,
        &TokenBatch::from_sequences(data().iter().map(Vec::as_slice)),
        None,
    );
    for d in 0..3 {
        assert_ne!(mixed.as_slice(), &plain.data[d * 16..(d + 1) * 16]);
    }
}

#[test]
fn malformed_trees_name_the_node_at_fault() {
    let m = random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        23,
        0.4,
    );
    let g = TransformerGraph::new(&m, data()).unwrap();
    let all = terms_of(&g, g.output());
    let head = |l, h| g.node_of(Component::Head { layer: l, head: h }).unwrap();

    let missing = split_output(&g, vec![all[1..].to_vec()]);
    let e = validate(&missing, &g).unwrap_err().to_string();
    assert!(
        e.contains("`out`") && e.contains("term `embed` is missing"),
        "{e}"
    );

    let twice = split_output(&g, vec![all.clone(), vec![head(1, 1)]]);
    let e = validate(&twice, &g).unwrap_err().to_string();
    assert!(
        e.contains("blocks.1.attn.head.1")
            && e.contains("supplied 2 times")
            && e.contains("out/g1"),
        "{e}"
    );

    // Head 2.0 as an input of head 1.0: not a homomorphism of the model's graph.
    let mut t = split_output(
        &g,
        vec![all.iter().copied().filter(|&x| x != head(1, 0)).collect()],
    );
    let h10 = t.add(
        TreeId(0),
        "out/1.0",
        DatumRule::Unimportant,
        TreeBody::Recompute {
            node: head(1, 0),
            ports: vec![vec![], vec![], vec![]],
        },
    );
    t.feed(TreeId(0), 0, h10, Rows::All);
    let bad = t.add(
        h10,
        "out/1.0/2.0",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: vec![head(2, 0)],
        },
    );
    for p in 0..3 {
        t.feed(h10, p, bad, Rows::All);
    }
    let e = validate(&t, &g).unwrap_err().to_string();
    assert!(
        e.contains("out/1.0/2.0")
            && e.contains("blocks.2.attn.head.0")
            && e.contains("not an input"),
        "{e}"
    );

    let mut dup = split_output(&g, vec![all.clone()]);
    dup.nodes[1].path = NodePath("out".into());
    assert!(validate(&dup, &g)
        .unwrap_err()
        .to_string()
        .contains("two tree nodes are both called `out`"));

    let root = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: vec![head(0, 0)],
        },
    );
    assert!(validate(&root, &g)
        .unwrap_err()
        .to_string()
        .contains("must compute the model's output `unembed`"));

    let mut orphan = split_output(&g, vec![all.clone()]);
    orphan.add(
        TreeId(0),
        "out/unused",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: vec![head(0, 0)],
        },
    );
    assert!(validate(&orphan, &g)
        .unwrap_err()
        .to_string()
        .contains("`out/unused`: no port of its parent reads it"));
}

#[test]
fn unpadded_sequences_are_rejected() {
    let m = random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        24,
        0.4,
    );
    let short = vec![vec![TokenId(0), TokenId(2)]];
    let err = TransformerGraph::new(&m, short).err().unwrap().to_string();
    assert!(err.contains("padded to n_ctx = 8"), "{err}");
}

#[test]
fn batch_size_does_not_change_results() {
    let m = random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        25,
        0.4,
    );
    let g = TransformerGraph::new(&m, data()).unwrap();
    let tree = rewrites(&g).pop().unwrap().1;
    validate(&tree, &g).unwrap();
    // Mixed data: slot j of sample s gets datum (s + j) % 4.
    let n_slots = tree.nodes.len() + 1;
    let a = Assignment {
        n_samples: 7,
        n_slots,
        data: (0..7 * n_slots)
            .map(|i| DatumId(((i / n_slots + i % n_slots) % 4) as u32))
            .collect(),
    };
    let whole = evaluate(&g, &tree, &a).unwrap();
    let mut seen = 0;
    let small =
        crate::scrub::evaluate::evaluate_batched(&g, &tree, &a, 3, None, &mut |n| seen += n)
            .unwrap();
    assert_eq!(seen, 7);
    assert_eq!(whole, small);

    // Plain values remembered from one run serve another with partly different data, and
    // the outputs are exactly the uncached ones (cold, warm, and after changing slots).
    let cache = crate::scrub::plain_cache::PlainCache::default();
    let cached = |a: &Assignment| {
        crate::scrub::evaluate::evaluate_batched(&g, &tree, a, 3, Some(&cache), &mut |_| {})
            .unwrap()
    };
    assert_eq!(cached(&a), whole);
    let held = cache.bytes();
    assert!(held > 0);
    assert_eq!(cached(&a), whole, "warm cache");
    assert_eq!(cache.bytes(), held, "a warm run adds nothing");
    let mut b = a.clone();
    for s in 0..7 {
        b.data[s * n_slots + n_slots - 1] = DatumId(((s + 1) % 4) as u32);
    }
    assert_eq!(cached(&b), evaluate(&g, &tree, &b).unwrap());
}

#[test]
fn nested_row_restricted_recomputation_matches_per_sample_evaluation() {
    // A recomputed child read on one row only (as the MLPs under 1.0 in experiment 2a), with
    // mixed data, checked against evaluating each sample on its own through `recompute`.
    let m = random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        26,
        0.4,
    );
    let g = TransformerGraph::new(&m, data()).unwrap();
    let tree = rewrites(&g).pop().unwrap().1;
    let mut t = tree.clone();
    // Restrict the nested mlp1 (read by 2.1's v port) to row 2.
    let m1 = t.find("out/2.1/v/mlp1").unwrap();
    let parent = t.nodes[m1.0].parent.unwrap();
    if let TreeBody::Recompute { ports, .. } = &mut t.nodes[parent.0].body {
        for p in ports.iter_mut().flatten().filter(|p| p.child == m1) {
            p.rows = Rows::Only(vec![2]);
        }
    }
    // The rest of the v port must now cover mlp1 on the other rows.
    let others: Vec<usize> = (0..8).filter(|&r| r != 2).collect();
    let mlp1 = g.node_of(Component::Mlp { layer: 1 }).unwrap();
    let fill = t.add(
        parent,
        "out/2.1/v/mlp1-elsewhere",
        DatumRule::Unimportant,
        TreeBody::Plain { terms: vec![mlp1] },
    );
    t.feed(parent, 2, fill, Rows::Only(others));
    validate(&t, &g).unwrap();
    let n_slots = t.nodes.len() + 1;
    let a = Assignment {
        n_samples: 5,
        n_slots,
        data: (0..5 * n_slots)
            .map(|i| DatumId(((i / n_slots + 2 * (i % n_slots)) % 4) as u32))
            .collect(),
    };
    let batched = evaluate(&g, &t, &a).unwrap();
    for s in 0..5 {
        let one = Assignment {
            n_samples: 1,
            n_slots,
            data: a.sample(s).to_vec(),
        };
        let single =
            crate::scrub::evaluate::evaluate_batched(&g, &t, &one, 1, None, &mut |_| {}).unwrap();
        assert_eq!(single.outputs[0], batched.outputs[s]);
    }
    // And the split is exact on one datum.
    let plain = forward(
        &m,
        &TokenBatch::from_sequences(data().iter().map(Vec::as_slice)),
        None,
    );
    let out = evaluate(&g, &t, &uniform(&t, &[1])).unwrap();
    let diff = out.outputs[0]
        .iter()
        .zip(&plain.data[16..32])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "{diff}");
}

/// Evaluates `tree` over `g` (a graph of model `m` over `data()`, possibly rewritten) with
/// every slot on one datum, for each datum, and checks it gives the plain model's logits.
pub(crate) fn assert_exact(g: &dyn ScrubGraph, m: &crate::weights::Model, tree: &Tree, what: &str) {
    validate(tree, g).unwrap_or_else(|e| panic!("{what}: {e}"));
    let seqs = data();
    let plain = forward(
        m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        None,
    );
    let ids: Vec<u32> = (0..seqs.len() as u32).collect();
    let out = evaluate(g, tree, &uniform(tree, &ids)).unwrap();
    let w = plain.data.len() / seqs.len();
    for (s, o) in out.outputs.iter().enumerate() {
        let diff = o
            .iter()
            .zip(&plain.data[s * w..(s + 1) * w])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "{what}: datum {s} differs by {diff}");
    }
}
