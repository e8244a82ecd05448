//! Predictor and projection rewrites keep the model's output on one datum, give the parts
//! their defined values, and reject bad specs by name.

use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::forward::forward;
use crate::sampler::Assignment;
use crate::scrub::evaluate::evaluate;
use crate::scrub::transformer::TransformerGraph;
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use crate::scrub::validate::validate;
use crate::testing::random_model;
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

fn model() -> Model {
    let cfg = ModelConfig {
        n_layers: 2,
        n_heads: 2,
        d_model: 12,
        d_head: 6,
        d_mlp: Some(16),
        d_vocab: 5,
        d_vocab_out: 2,
        n_ctx: 6,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Bidirectional,
        positional: PositionalKind::Standard,
        pad_token: Some(1),
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    };
    random_model(&cfg, 31, 0.4)
}

fn data() -> Vec<Vec<TokenId>> {
    [[0, 3, 4, 2, 1, 1], [0, 3, 3, 4, 4, 2], [0, 4, 3, 2, 1, 1]]
        .into_iter()
        .map(|s| s.into_iter().map(TokenId).collect())
        .collect()
}

/// A predictor whose value depends on the datum, non-zero on every row.
fn library() -> RewriteLibrary {
    RewriteLibrary::default()
        .predictor("wiggle", |d: DatumId| {
            (0..6 * 12)
                .map(|i| ((i as f32 + 1.0) * 0.37 + d.0 as f32).sin() * 0.3)
                .collect()
        })
        .direction("u", (0..12).map(|i| (i as f32 - 5.5) * 0.1).collect())
        .direction("zero", vec![0.0; 12])
        .direction("short", vec![1.0; 3])
}

/// The output recomputed from one plain child per input term, each on its own slot.
fn every_term_apart(g: &dyn ScrubGraph) -> Tree {
    let out = g.output();
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    for (i, &term) in g.node(out).ports[0].terms.clone().iter().enumerate() {
        let c = t.add(
            TreeId(0),
            format!("out/t{i}"),
            DatumRule::Unimportant,
            TreeBody::Plain { terms: vec![term] },
        );
        t.feed(TreeId(0), 0, c, Rows::All);
    }
    t
}

fn resolve<'a>(g: &'a dyn ScrubGraph) -> impl Fn(&str) -> Option<NodeId> + 'a {
    move |name| g.find(name)
}

#[test]
fn split_terms_reproduce_the_model_on_one_datum() {
    let m = model();
    let seqs = data();
    let base = TransformerGraph::new(&m, seqs.clone()).unwrap();
    let lib = library();
    let predicted = Rewritten::new(
        &base,
        &RewriteSpec::Predict {
            term: "blocks.0.attn.head.1".into(),
            predictor: "wiggle".into(),
        },
        &lib,
        &resolve(&base),
    )
    .unwrap();
    // Chained: project the first MLP's output as well.
    let both = Rewritten::new(
        &predicted,
        &RewriteSpec::Project {
            term: "blocks.0.mlp".into(),
            direction: "u".into(),
        },
        &lib,
        &resolve(&predicted),
    )
    .unwrap();
    assert!(
        both.find("blocks.0.attn.head.1@wiggle").is_some() && both.find("blocks.0.mlp~u").is_some()
    );
    let plain = forward(
        &m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        None,
    );
    for g in [&predicted as &dyn ScrubGraph, &both] {
        let tree = every_term_apart(g);
        validate(&tree, g).unwrap();
        let n_slots = tree.nodes.len() + 1;
        let a = Assignment {
            n_samples: 3,
            n_slots,
            data: (0..3u32).flat_map(|d| vec![DatumId(d); n_slots]).collect(),
        };
        let out = evaluate(g, &tree, &a).unwrap();
        for (d, o) in out.outputs.iter().enumerate() {
            let diff = o
                .iter()
                .zip(&plain.data[d * 12..(d + 1) * 12])
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-4, "datum {d}: {diff}");
        }
    }
}

#[test]
fn parts_have_their_defined_values() {
    let m = model();
    let base = TransformerGraph::new(&m, data()).unwrap();
    let lib = library();
    let g = Rewritten::new(
        &base,
        &RewriteSpec::Project {
            term: "blocks.1.attn.head.0".into(),
            direction: "u".into(),
        },
        &lib,
        &resolve(&base),
    )
    .unwrap();
    let (a, along, across) = (
        base.find("blocks.1.attn.head.0").unwrap(),
        g.find("blocks.1.attn.head.0@u").unwrap(),
        g.find("blocks.1.attn.head.0~u").unwrap(),
    );
    let orig = base.plain(&[DatumId(1)], &[a]).unwrap().remove(0).remove(0);
    let parts = g.plain(&[DatumId(1)], &[along, across]).unwrap().remove(0);
    let u: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.1).collect();
    for r in 0..6 {
        let (p, q) = (
            &parts[0][r * 12..(r + 1) * 12],
            &parts[1][r * 12..(r + 1) * 12],
        );
        let cross: f32 = q.iter().zip(&u).map(|(x, y)| x * y).sum();
        assert!(cross.abs() < 1e-5, "the remainder is orthogonal to u");
        let cos: f32 = p.iter().zip(&u).map(|(x, y)| x * y).sum::<f32>()
            / (p.iter().map(|x| x * x).sum::<f32>().sqrt()
                * u.iter().map(|x| x * x).sum::<f32>().sqrt());
        assert!(cos.abs() > 0.9999, "the projection is along u");
        for j in 0..12 {
            assert!(
                (p[j] + q[j] - orig[r * 12 + j]).abs() < 1e-5,
                "the parts sum to the term"
            );
        }
    }
    let g = Rewritten::new(
        &base,
        &RewriteSpec::Predict {
            term: "embed".into(),
            predictor: "wiggle".into(),
        },
        &lib,
        &resolve(&base),
    )
    .unwrap();
    let pred = g
        .plain(&[DatumId(2)], &[g.find("embed@wiggle").unwrap()])
        .unwrap()
        .remove(0)
        .remove(0);
    assert_eq!(pred, (lib.predictors[0].1)(DatumId(2)));
}

#[test]
fn bad_specs_are_named() {
    let m = model();
    let base = TransformerGraph::new(&m, data()).unwrap();
    let lib = library();
    let err = |spec: RewriteSpec| {
        Rewritten::new(&base, &spec, &lib, &resolve(&base))
            .err()
            .unwrap()
            .to_string()
    };
    let e = err(RewriteSpec::Predict {
        term: "blocks.9.mlp".into(),
        predictor: "wiggle".into(),
    });
    assert!(e.contains("`blocks.9.mlp`: no such term"), "{e}");
    let e = err(RewriteSpec::Predict {
        term: "embed".into(),
        predictor: "phi".into(),
    });
    assert!(
        e.contains("no predictor called `phi`") && e.contains("wiggle"),
        "{e}"
    );
    let e = err(RewriteSpec::Project {
        term: "embed".into(),
        direction: "short".into(),
    });
    assert!(e.contains("length 3") && e.contains("width 12"), "{e}");
    let e = err(RewriteSpec::Project {
        term: "embed".into(),
        direction: "zero".into(),
    });
    assert!(e.contains("is zero"), "{e}");
    let e = err(RewriteSpec::Predict {
        term: "unembed".into(),
        predictor: "wiggle".into(),
    });
    assert!(e.contains("not a term of any port"), "{e}");
}
