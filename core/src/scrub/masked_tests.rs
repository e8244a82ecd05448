//! Source-mask splits are exact on one datum for both forms of the transformer graph, their
//! parts sum to the head and have the values the masks define, they compose with each
//! other and with predictor rewrites, and bad specs are named.

use super::*;
use crate::config::{AttentionKind, PositionalKind};
use crate::forward::{forward, head_from_pattern};
use crate::scrub::hypothesis::NameResolver;
use crate::scrub::rewrite::{apply, RewriteLibrary, Rewritten};
use crate::scrub::scalar::ScalarGraph;
use crate::scrub::transformer::tests::{assert_exact, config, data};
use crate::scrub::transformer::{Component, TransformerGraph};
use crate::testing::{random_model, recompute_tree};
use crate::tokens::TokenBatch;
use crate::weights::Model;

const MASKS: [&str; 3] = ["prev", "cur", "last3"];

fn model(attention: AttentionKind, positional: PositionalKind) -> Model {
    random_model(&config(attention, positional), 51, 0.4)
}

fn graphs(m: &Model) -> [TransformerGraph<'_>; 2] {
    [
        TransformerGraph::new(m, data()).unwrap(),
        TransformerGraph::with_patterns(m, data()).unwrap(),
    ]
}

fn mask<'g>(base: &'g dyn ScrubGraph, names: &NameResolver, term: &str, m: &str) -> Masked<'g> {
    Masked::new(base, term, m, &|n| names.resolve(base, n)).unwrap()
}

/// `f` on `base` with the source-mask splits `specs` (term, mask) applied in order, each
/// over the graph the previous one made.
fn nested<R>(
    base: &dyn ScrubGraph,
    names: &NameResolver,
    specs: &[(&str, &str)],
    f: impl FnOnce(&dyn ScrubGraph) -> R,
) -> R {
    let Some(((term, mask), rest)) = specs.split_first() else {
        return f(base);
    };
    let spec = RewriteSpec::Mask {
        term: term.to_string(),
        mask: mask.to_string(),
    };
    let lib = RewriteLibrary::default();
    let next = apply(base, &spec, &lib, &|x| names.resolve(base, x)).unwrap();
    nested(next.as_ref(), names, rest, f)
}

#[test]
fn mask_splits_reproduce_the_model_on_one_datum() {
    for (attention, positional) in [
        (AttentionKind::Causal, PositionalKind::Shortformer),
        (AttentionKind::Bidirectional, PositionalKind::Standard),
    ] {
        let m = model(attention, positional);
        for g in &graphs(&m) {
            let names = NameResolver::transformer(g);
            for head in ["1.0", "2.1"] {
                for name in MASKS {
                    let masked = mask(g, &names, head, name);
                    assert!(names.resolve(&masked, &format!("{head}@{name}")).is_some());
                    assert!(names.resolve(&masked, &format!("{head}~{name}")).is_some());
                    for depth in 0..=3 {
                        let what = format!(
                            "{attention:?} patterns {}: {head} by {name}, depth {depth}",
                            g.has_patterns()
                        );
                        assert_exact(&masked, &m, &recompute_tree(&masked, depth), &what);
                    }
                }
            }
        }
    }
}

#[test]
fn parts_sum_to_the_head_and_keep_what_their_masks_say() {
    let m = model(AttentionKind::Causal, PositionalKind::Shortformer);
    let seqs = data();
    let mut caches = Vec::new();
    forward(
        &m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        Some(&mut caches),
    );
    let every: Vec<DatumId> = (0..seqs.len() as u32).map(DatumId).collect();
    for g in &graphs(&m) {
        let names = NameResolver::transformer(g);
        let head = g.node_of(Component::Head { layer: 1, head: 1 }).unwrap();
        let whole = g.plain(&every, &[head]).unwrap();
        for name in MASKS {
            let masked = mask(g, &names, "1.1", name);
            let parts = [
                masked
                    .find(&format!("blocks.1.attn.head.1@{name}"))
                    .unwrap(),
                masked
                    .find(&format!("blocks.1.attn.head.1~{name}"))
                    .unwrap(),
            ];
            let values = masked.plain(&every, &parts).unwrap();
            let kept: SourceMask = name.parse().unwrap();
            for (d, c) in caches.iter().enumerate() {
                let sum: Vec<f32> = values[d][0]
                    .iter()
                    .zip(&values[d][1])
                    .map(|(a, b)| a + b)
                    .collect();
                let diff = |a: &[f32], b: &[f32]| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f32::max)
                };
                assert!(diff(&sum, &whole[d][0]) < 1e-5, "{name}: datum {d}");
                let n = seqs[d].len();
                let pattern = &c.get("blocks.1.attn.hook_pattern").unwrap().data[n * n..2 * n * n];
                let resid = &c.get("blocks.1.hook_resid_pre").unwrap().data;
                let direct = head_from_pattern(&m, 1, 1, pattern, resid, &kept);
                assert!(diff(&direct, &values[d][0]) < 1e-5, "{name}: datum {d}");
            }
        }
    }
}

#[test]
fn mask_rewrites_compose() {
    let m = model(AttentionKind::Causal, PositionalKind::Shortformer);
    let (n, d) = (m.config.n_ctx, m.config.d_model);
    let lib = RewriteLibrary::default().predictor("wiggle", move |x: DatumId| {
        (0..n * d)
            .map(|i| ((i as f32 + 1.0) * 0.37 + x.0 as f32).sin() * 0.3)
            .collect()
    });
    let spec = |s: &str| -> RewriteSpec { ron::from_str(s).unwrap() };
    let chains = [
        [
            r#"Mask(term: "1.0", mask: "prev")"#,
            r#"Predict(term: "2.1", predictor: "wiggle")"#,
        ],
        [
            r#"Mask(term: "1.0", mask: "prev")"#,
            r#"Mask(term: "2.1", mask: "last3")"#,
        ],
        [
            r#"Predict(term: "1.1", predictor: "wiggle")"#,
            r#"Mask(term: "2.0", mask: "cur")"#,
        ],
        [
            r#"Mask(term: "2.0", mask: "last3")"#,
            r#"Predict(term: "2.0@last3", predictor: "wiggle")"#,
        ],
        [
            r#"Mask(term: "2.0", mask: "last3")"#,
            r#"Mask(term: "2.0@last3", mask: "cur")"#,
        ],
    ];
    for g in &graphs(&m) {
        let names = NameResolver::transformer(g);
        for [first, second] in chains {
            let one = apply(g, &spec(first), &lib, &|x| names.resolve(g, x)).unwrap();
            let one = one.as_ref();
            let two = apply(one, &spec(second), &lib, &|x| names.resolve(one, x)).unwrap();
            for depth in 0..=3 {
                let what = format!("{first} then {second}, depth {depth}");
                assert_exact(
                    two.as_ref(),
                    &m,
                    &recompute_tree(two.as_ref(), depth),
                    &what,
                );
            }
        }
    }
}

#[test]
fn nested_and_identity_splits_keep_what_they_say() {
    let m = model(AttentionKind::Causal, PositionalKind::Shortformer);
    let g = TransformerGraph::with_patterns(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let specs = [
        ("2.0", "last3"),
        ("2.0@last3", "cur"),
        ("2.0@last3@cur", "eye"),
    ];
    nested(&g, &names, &specs, |three| {
        for depth in 0..=3 {
            assert_exact(
                three,
                &m,
                &recompute_tree(three, depth),
                &format!("depth {depth}"),
            );
        }
        // The parts' plain values: last3∖cur keeps t-1 and t-2 only; eye is OV(v) at the
        // current position; eye + rest is the current-position part.
        let head = names.resolve(&g, "2.0").unwrap();
        let pattern = names.resolve(&g, "2.0.pattern").unwrap();
        let port_terms = &g.node(head).ports[1].terms;
        let mut fetch: Vec<NodeId> = port_terms.clone();
        fetch.push(pattern);
        let d = DatumId(1);
        let plain = g.plain(&[d], &fetch).unwrap().remove(0);
        let mut v = vec![0.0f32; plain[0].len()];
        for t in &plain[..port_terms.len()] {
            v.iter_mut().zip(t).for_each(|(a, b)| *a += b);
        }
        let pat = plain.last().unwrap();
        let n = m.config.n_ctx;
        let mut eye = vec![0.0f32; n * n];
        (0..n).for_each(|t| eye[t * n + t] = 1.0);
        let expect_eye = head_from_pattern(&m, 2, 0, &eye, &v, &SourceMask::All);
        let expect_near = head_from_pattern(
            &m,
            2,
            0,
            pat,
            &v,
            &SourceMask::Last(3).and(&SourceMask::Current.complement()),
        );
        let expect_cur = head_from_pattern(&m, 2, 0, pat, &v, &SourceMask::Current);
        let find = |name: &str| names.resolve(three, name).unwrap();
        let got = three
            .plain(
                &[d],
                &[
                    find("2.0@last3@cur@eye"),
                    find("2.0@last3@cur~eye"),
                    find("2.0@last3~cur"),
                ],
            )
            .unwrap()
            .remove(0);
        let close = |a: &[f32], b: &[f32], what: &str| {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{what}: max |Δ| {worst}");
        };
        close(&got[0], &expect_eye, "eye");
        let cur: Vec<f32> = got[0].iter().zip(&got[1]).map(|(a, b)| a + b).collect();
        close(&cur, &expect_cur, "eye + rest");
        close(&got[2], &expect_near, "last3 without cur");
    });
}

#[test]
fn bad_mask_specs_are_named() {
    let m = model(AttentionKind::Causal, PositionalKind::Shortformer);
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let lib = RewriteLibrary::default();
    let err = |g: &dyn ScrubGraph, term: &str, mask: &str| {
        let spec = RewriteSpec::Mask {
            term: term.into(),
            mask: mask.into(),
        };
        apply(g, &spec, &lib, &|n| names.resolve(g, n))
            .err()
            .unwrap()
            .to_string()
    };
    let e = err(&g, "1.0", "last0");
    assert!(
        e.contains("`1.0`") && e.contains("`last0`") && e.contains("`prev`"),
        "{e}"
    );
    let e = err(&g, "mlp1", "prev");
    assert!(
        e.contains("`blocks.1.mlp` cannot be split by source position"),
        "{e}"
    );
    let e = err(&g, "9.9", "prev");
    assert!(e.contains("`9.9`: no such term"), "{e}");
    let masked = mask(&g, &names, "1.0", "prev");
    let e = err(&masked, "1.0@prev", "eye");
    assert!(e.contains("needs a graph with pattern nodes"), "{e}");
    let e = err(&masked, "1.0", "cur");
    assert!(e.contains("not a term of any port"), "{e}");
    let spec = RewriteSpec::Mask {
        term: "1.0".into(),
        mask: "prev".into(),
    };
    let e = Rewritten::new(&g, &spec, &lib, &|n| names.resolve(&g, n))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("rewrite::apply"), "{e}");

    // A graph without attention heads cannot split anything.
    let mut s = ScalarGraph::default();
    let x = s.input("x", vec![1.0]);
    let y = s.function("y", &[&[x]], |p| 2.0 * p[0]);
    assert!(!s.maskable(y));
    let e = s
        .recompute_masked(y, DatumId(0), &[vec![1.0]], &SourceMask::Previous)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ScalarGraph cannot split `y`"), "{e}");
    let e = err(&s, "y", "prev");
    assert!(e.contains("`y` cannot be split"), "{e}");
}

#[test]
fn mask_specs_read_and_write_as_ron() {
    let spec: RewriteSpec = ron::from_str(r#"Mask(term: "0.3", mask: "last3")"#).unwrap();
    assert_eq!(
        spec,
        RewriteSpec::Mask {
            term: "0.3".into(),
            mask: "last3".into()
        }
    );
    assert_eq!(
        spec.part_names("blocks.0.attn.head.3"),
        (
            "blocks.0.attn.head.3@last3".to_string(),
            "blocks.0.attn.head.3~last3".to_string()
        )
    );
    let back: RewriteSpec = ron::from_str(&ron::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn complete_sets_of_parts_are_read_as_the_term_they_split() {
    let m = model(AttentionKind::Causal, PositionalKind::Shortformer);
    let g = TransformerGraph::with_patterns(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    nested(
        &g,
        &names,
        &[("2.0", "last3"), ("2.0@last3", "cur")],
        |two| {
            let find = |name: &str| names.resolve(two, name).unwrap();
            let sorted = |mut v: Vec<NodeId>| {
                v.sort();
                v
            };
            let emb = find("emb");
            let (cur, near, far) = (
                find("2.0@last3@cur"),
                find("2.0@last3~cur"),
                find("2.0~last3"),
            );
            // All three parts are the head, whichever split they came from.
            assert_eq!(
                sorted(two.merge_parts(&[cur, emb, far, near])),
                sorted(vec![emb, find("2.0")])
            );
            // The inner split's two parts are its part of the outer split.
            assert_eq!(
                sorted(two.merge_parts(&[cur, near])),
                vec![find("2.0@last3")]
            );
            // An incomplete set stays as it is.
            assert_eq!(sorted(two.merge_parts(&[far, cur])), sorted(vec![far, cur]));
            assert_eq!(two.merge_parts(&[emb]), vec![emb]);
            // The merged terms sum to what the parts sum to.
            let d = [DatumId(2)];
            let parts = two.plain(&d, &[cur, near, far]).unwrap().remove(0);
            let whole = two.plain(&d, &[find("2.0")]).unwrap().remove(0);
            let worst = (0..whole[0].len())
                .map(|i| (parts.iter().map(|p| p[i]).sum::<f32>() - whole[0][i]).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "parts and head differ by {worst}");
        },
    );
}
