//! The transformer graph with pattern nodes and with output rows: exact on one datum, a
//! head recomputed from a pattern of one datum and values of another is what
//! `head_from_pattern` gives, and the scored rows are the full computation's.

use super::tests::{assert_exact, config, data, uniform};
use super::*;
use crate::config::AttentionKind;
use crate::forward::{forward, unembed};
use crate::scrub::evaluate::evaluate;
use crate::scrub::hypothesis::NameResolver;
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use crate::scrub::validate::validate;
use crate::testing::{random_model, recompute_tree};

const FORMS: [(AttentionKind, PositionalKind); 4] = [
    (AttentionKind::Bidirectional, PositionalKind::Standard),
    (AttentionKind::Bidirectional, PositionalKind::Shortformer),
    (AttentionKind::Causal, PositionalKind::Standard),
    (AttentionKind::Causal, PositionalKind::Shortformer),
];

#[test]
fn the_pattern_graph_reproduces_the_model_on_one_datum() {
    for (attention, positional) in FORMS {
        let m = random_model(&config(attention, positional), 41, 0.4);
        let g = TransformerGraph::with_patterns(&m, data()).unwrap();
        for node in g.nodes() {
            for port in &node.ports {
                let patterns = port
                    .terms
                    .iter()
                    .filter(|&&t| matches!(g.component(t), Component::Pattern { .. }));
                let expected = usize::from(port.name == "pattern");
                assert_eq!(patterns.count(), expected, "{}.{}", node.name, port.name);
            }
        }
        // Depth 4 recomputes heads inside the q and k ports of a recomputed pattern.
        for depth in 0..=4 {
            let what = format!("{attention:?} {positional:?} depth {depth}");
            assert_exact(&g, &m, &recompute_tree(&g, depth), &what);
        }
    }
}

#[test]
fn a_head_takes_its_pattern_and_its_values_from_different_data() {
    let m = random_model(
        &config(AttentionKind::Causal, PositionalKind::Shortformer),
        42,
        0.4,
    );
    let g = TransformerGraph::with_patterns(&m, data()).unwrap();
    let head = g.node_of(Component::Head { layer: 2, head: 0 }).unwrap();
    let pattern = g.node_of(Component::Pattern { layer: 2, head: 0 }).unwrap();
    let out = g.output();
    let others: Vec<NodeId> = g.node(out).ports[0]
        .terms
        .iter()
        .copied()
        .filter(|&t| t != head)
        .collect();
    let v_terms = g.node(head).ports[1].terms.clone();
    // out <- [2.0 (pattern <- plain on A, v <- plain on B), everything else plain on A].
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    let h = t.add(
        TreeId(0),
        "out/2.0",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: head,
            ports: vec![vec![], vec![]],
        },
    );
    t.feed(TreeId(0), 0, h, Rows::All);
    let rest = t.add(
        TreeId(0),
        "out/rest",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: others.clone(),
        },
    );
    t.feed(TreeId(0), 0, rest, Rows::All);
    let p = t.add(
        h,
        "out/2.0/pattern",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: vec![pattern],
        },
    );
    t.feed(h, 0, p, Rows::All);
    let v = t.add(
        h,
        "out/2.0/v",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: v_terms.clone(),
        },
    );
    t.feed(h, 1, v, Rows::All);
    validate(&t, &g).unwrap();
    let (a, b) = (DatumId(1), DatumId(2));
    let mut assignment = uniform(&t, &[a.0]);
    assignment.data[Tree::slot(v).0] = b;
    let got = &evaluate(&g, &t, &assignment).unwrap().outputs[0];

    let sum = |vals: &[Vec<f32>]| {
        let mut acc = vec![0.0f32; vals[0].len()];
        vals.iter()
            .for_each(|x| acc.iter_mut().zip(x).for_each(|(s, y)| *s += y));
        acc
    };
    let pattern_a = g.plain(&[a], &[pattern]).unwrap().remove(0).remove(0);
    let v_b = sum(&g.plain(&[b], &v_terms).unwrap()[0]);
    let direct = head_from_pattern(&m, 2, 0, &pattern_a, &v_b, &SourceMask::All);
    let recomputed = g.recompute(head, a, &[pattern_a, v_b]).unwrap();
    assert_eq!(recomputed, direct);
    let mut resid = sum(&g.plain(&[a], &others).unwrap()[0]);
    resid.iter_mut().zip(&direct).for_each(|(r, x)| *r += x);
    let want = unembed(&m, &resid);
    let diff = got
        .iter()
        .zip(&want)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "{diff}");
    let plain_a = g.plain(&[a], &[out]).unwrap().remove(0).remove(0);
    assert!(
        got.iter().zip(&plain_a).any(|(x, y)| (x - y).abs() > 1e-3),
        "values from another datum change the output"
    );
}

#[test]
fn patterns_have_short_names() {
    let m = random_model(
        &config(AttentionKind::Causal, PositionalKind::Standard),
        43,
        0.4,
    );
    let g = TransformerGraph::with_patterns(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let want = g.node_of(Component::Pattern { layer: 1, head: 0 });
    assert!(want.is_some());
    assert_eq!(names.resolve(&g, "1.0.pattern"), want);
    assert_eq!(names.resolve(&g, "blocks.1.attn.pattern.0"), want);
    assert_eq!(
        names.resolve(&g, "1.0"),
        g.node_of(Component::Head { layer: 1, head: 0 })
    );
}

#[test]
fn output_rows_are_the_full_computation_and_the_rest_is_zero() {
    let rows = vec![vec![0, 3], vec![7], vec![], vec![1, 2, 5]];
    for (attention, positional) in [FORMS[0], FORMS[3]] {
        let m = random_model(&config(attention, positional), 44, 0.4);
        let seqs = data();
        let full = forward(
            &m,
            &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
            None,
        );
        let v = m.config.d_vocab_out;
        for patterns in [false, true] {
            let g = match patterns {
                false => TransformerGraph::new(&m, seqs.clone()),
                true => TransformerGraph::with_patterns(&m, seqs.clone()),
            };
            let g = g.unwrap().with_output_rows(rows.clone()).unwrap();
            for depth in 0..=2 {
                let tree = recompute_tree(&g, depth);
                validate(&tree, &g).unwrap();
                let out = evaluate(&g, &tree, &uniform(&tree, &[0, 1, 2, 3])).unwrap();
                for (d, o) in out.outputs.iter().enumerate() {
                    for r in 0..m.config.n_ctx {
                        let got = &o[r * v..(r + 1) * v];
                        let what = format!("{attention:?} {patterns} {depth}: datum {d} row {r}");
                        if rows[d].contains(&r) {
                            let want = &full.data[(d * m.config.n_ctx + r) * v..][..v];
                            let diff = got
                                .iter()
                                .zip(want)
                                .map(|(x, y)| (x - y).abs())
                                .fold(0.0, f32::max);
                            assert!(diff < 1e-4, "{what}: {diff}");
                        } else {
                            assert!(got.iter().all(|&x| x == 0.0), "{what}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn bad_output_rows_are_rejected() {
    let m = random_model(
        &config(AttentionKind::Causal, PositionalKind::Standard),
        45,
        0.4,
    );
    let g = || TransformerGraph::new(&m, data()).unwrap();
    let e = g()
        .with_output_rows(vec![vec![0]])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("1 data") && e.contains("has 4"), "{e}");
    let e = g()
        .with_output_rows(vec![vec![0], vec![8], vec![], vec![]])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("row 8 of datum 1"), "{e}");
}
