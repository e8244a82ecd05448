//! Neuron splits: given the same inputs the parts sum to the MLP and hold what their neurons
//! write; the split graph is exact on one datum (for whole-graph trees, nested splits,
//! compositions with other rewrites and a hypothesis file); bad specs are typed errors that
//! name the term, group and neuron; and hypothesis files with the rewrite round-trip.

use std::path::Path;

use super::*;
use crate::config::{AttentionKind, PositionalKind};
use crate::forward::forward;
use crate::scrub::hypothesis::{FeatureNames, HypothesisFile, NameResolver};
use crate::scrub::rewrite::{apply, RewriteLibrary, Rewritten};
use crate::scrub::scalar::ScalarGraph;
use crate::scrub::transformer::tests::{assert_exact, config, data};
use crate::scrub::transformer::{Component, TransformerGraph};
use crate::testing::{random_model, recompute_tree};
use crate::tokens::TokenBatch;
use crate::weights::Model;

fn model() -> Model {
    random_model(
        &config(AttentionKind::Bidirectional, PositionalKind::Standard),
        61,
        0.4,
    )
}

fn groups(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(g, n)| (g.to_string(), n.to_string()))
        .collect()
}

/// The brief's example split.
fn example() -> BTreeMap<String, String> {
    groups(&[("length", "0..8"), ("flag", "8..12,15")])
}

fn split<'g>(base: &'g dyn ScrubGraph, names: &NameResolver, term: &str) -> Neurons<'g> {
    Neurons::new(base, term, &example(), &|n| names.resolve(base, n)).unwrap()
}

fn every() -> Vec<DatumId> {
    (0..data().len() as u32).map(DatumId).collect()
}

/// max |a − b| over max(1, max |b|).
fn relative(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
        / scale
}

#[test]
fn parts_sum_to_the_mlp_and_hold_what_their_neurons_write() {
    let m = model();
    let seqs = data();
    let mut caches = Vec::new();
    forward(
        &m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        Some(&mut caches),
    );
    for g in [
        TransformerGraph::new(&m, data()).unwrap(),
        TransformerGraph::with_patterns(&m, data()).unwrap(),
    ] {
        let names = NameResolver::transformer(&g);
        for (layer, term) in [(0, "mlp0"), (2, "mlp2")] {
            let mlp = g.node_of(Component::Mlp { layer }).unwrap();
            let whole = g.plain(&every(), &[mlp]).unwrap();
            let s = split(&g, &names, term);
            let parts: Vec<NodeId> = ["length", "flag", "rest"]
                .iter()
                .map(|p| names.resolve(&s, &format!("{term}#{p}")).unwrap())
                .collect();
            // The parts replace the MLP in every port that summed it, in the map's order.
            let out = &s.node(s.output()).ports[0].terms;
            let at = out.iter().position(|&t| t == parts[1]).unwrap();
            assert_eq!(out[at..at + 3], [parts[1], parts[0], parts[2]]);
            assert!(!out.contains(&mlp));
            assert_eq!(s.node(parts[0]).ports, g.node(mlp).ports);
            let values = s.plain(&every(), &parts).unwrap();
            let w = &m.weights.blocks[layer].mlp.as_ref().unwrap();
            let (d, width) = (m.config.d_model, m.config.d_mlp.unwrap());
            for (k, c) in caches.iter().enumerate() {
                let mut sum = vec![0.0f32; whole[k][0].len()];
                for v in &values[k] {
                    sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
                let diff = relative(&sum, &whole[k][0]);
                assert!(diff < 1e-5, "{term}: datum {k}: relative |Δ| {diff}");
                // Each part is what its neurons' activations write through W_out.
                let post = &c
                    .get(&format!("blocks.{layer}.mlp.hook_post"))
                    .unwrap()
                    .data;
                let write = |neurons: &[usize], bias: bool| -> Vec<f32> {
                    let mut out = Vec::new();
                    for row in post.chunks_exact(width) {
                        out.extend((0..d).map(|j| {
                            let b = if bias { w.b_out[j] } else { 0.0 };
                            b + neurons
                                .iter()
                                .map(|&i| row[i] * w.w_out[i * d + j])
                                .sum::<f32>()
                        }));
                    }
                    out
                };
                let rest: Vec<usize> = (12..width).filter(|&i| i != 15).collect();
                let want = [
                    write(&(0..8).collect::<Vec<_>>(), false),
                    write(&[8, 9, 10, 11, 15], false),
                    write(&rest, true),
                ];
                for (p, want) in want.iter().enumerate() {
                    let diff = relative(&values[k][p], want);
                    assert!(diff < 1e-5, "{term} part {p}: datum {k}: {diff}");
                }
            }
        }
    }
}

/// Calls `f` with `g` after applying `specs` in order.
fn with_chain(
    g: &dyn ScrubGraph,
    specs: &[RewriteSpec],
    lib: &RewriteLibrary,
    names: &NameResolver,
    f: &mut dyn FnMut(&dyn ScrubGraph),
) {
    match specs.split_first() {
        None => f(g),
        Some((spec, rest)) => {
            let next = apply(g, spec, lib, &|x| names.resolve(g, x)).unwrap();
            with_chain(next.as_ref(), rest, lib, names, f);
        }
    }
}

#[test]
fn neuron_splits_reproduce_the_model_on_one_datum() {
    let m = model();
    let lib = RewriteLibrary::default().predictor("wiggle", |x: DatumId| {
        (0..8 * 16)
            .map(|i| ((i as f32 + 1.0) * 0.37 + x.0 as f32).sin() * 0.3)
            .collect()
    });
    let spec = |s: &str| -> RewriteSpec { ron::from_str(s).unwrap() };
    let chains: [&[&str]; 5] = [
        &[r#"Neurons(term: "mlp1", groups: {"length": "0..8", "flag": "8..12,15"})"#],
        &[r#"Neurons(term: "mlp0", groups: {"all": "all"})"#],
        &[
            r#"Neurons(term: "mlp1", groups: {"a": "0..=11"})"#,
            r#"Neurons(term: "mlp1#a", groups: {"low": "0..4", "odd": "5,7,9,20"})"#,
        ],
        &[
            r#"Mask(term: "1.0", mask: "prev")"#,
            r#"Neurons(term: "mlp1", groups: {"x": "3,1,4"})"#,
            r#"Predict(term: "mlp1#x", predictor: "wiggle")"#,
        ],
        &[
            r#"Neurons(term: "mlp0", groups: {"x": "0..12"})"#,
            r#"Mask(term: "2.1", mask: "last3")"#,
        ],
    ];
    for g in [
        TransformerGraph::new(&m, data()).unwrap(),
        TransformerGraph::with_patterns(&m, data()).unwrap(),
    ] {
        let names = NameResolver::transformer(&g);
        for chain in chains {
            let specs: Vec<RewriteSpec> = chain.iter().map(|s| spec(s)).collect();
            with_chain(&g, &specs, &lib, &names, &mut |top| {
                for depth in 0..=3 {
                    let what = format!("{chain:?}, depth {depth}");
                    assert_exact(top, &m, &recompute_tree(top, depth), &what);
                }
            });
        }
    }
}

#[test]
fn a_split_part_split_again_keeps_only_its_own_neurons() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let once = split(&g, &names, "mlp1");
    let inner = groups(&[("low", "0..4"), ("far", "20")]);
    let twice = Neurons::new(&once, "mlp1#length", &inner, &|n| names.resolve(&once, n)).unwrap();
    let find = |n: &str| names.resolve(&twice, n).unwrap();
    let got = twice
        .plain(
            &every(),
            &[
                find("mlp1#length#low"),
                find("mlp1#length#far"),
                find("mlp1#length#rest"),
                find("mlp1#length"),
            ],
        )
        .unwrap();
    let mlp = g.node_of(Component::Mlp { layer: 1 }).unwrap();
    let input = g.plain(&every(), &g.node(mlp).ports[0].terms).unwrap();
    for (k, (vals, terms)) in got.iter().zip(&input).enumerate() {
        let mut x = vec![0.0f32; terms[0].len()];
        for t in terms {
            x.iter_mut().zip(t).for_each(|(a, b)| *a += b);
        }
        let homes = [DatumId(k as u32)];
        let only = |n: &[usize]| {
            g.recompute_neurons_batch(mlp, &homes, &[x.clone()], n, false)
                .unwrap()
        };
        assert!(relative(&vals[0], &only(&[0, 1, 2, 3])) < 1e-6);
        // Neuron 20 is outside `length` (0..8): its part there is zero.
        assert!(vals[1].iter().all(|&v| v == 0.0), "{:?}", vals[1]);
        assert!(relative(&vals[2], &only(&[4, 5, 6, 7])) < 1e-6);
        let sum: Vec<f32> = vals[0].iter().zip(&vals[2]).map(|(a, b)| a + b).collect();
        assert!(relative(&sum, &vals[3]) < 1e-5);
    }
}

#[test]
fn a_hypothesis_with_a_neuron_split_parses_builds_round_trips_and_is_exact() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let text = r#"
Hypothesis(
    scenario: "paren",
    rewrites: [Neurons(term: "mlp0", groups: {"length": "0..8", "flag": "8..12,15"})],
    root: Node(
        name: "out",
        feature: Some("is_balanced"),
        computes: Some("out"),
        inputs: [
            Node(
                name: "flag",
                feature: Some("count_open"),
                computes: Some("mlp0#flag"),
                inputs: [Node(name: "emb", feature: Some("count_open"), reads: ["emb", "pos"])],
            ),
            Node(name: "length", feature: Some("horizon"), reads: ["mlp0#length"]),
        ],
    ),
)
"#;
    let h = HypothesisFile::parse(text, Path::new("h.ron")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        h.rewrites,
        vec![RewriteSpec::Neurons {
            term: "mlp0".into(),
            groups: example(),
        }]
    );
    h.check_rewrites(&g, &names).unwrap();
    let written = h.to_ron();
    assert!(
        written
            .contains(r#"Neurons(term: "mlp0", groups: {"flag": "8..12,15", "length": "0..8"}),"#),
        "{written}"
    );
    let back = HypothesisFile::parse(&written, Path::new("h.ron")).unwrap();
    assert_eq!(back, h, "{written}");
    assert_eq!(back.to_ron(), written);

    let lib = RewriteLibrary::default();
    let s = apply(&g, &h.rewrites[0], &lib, &|n| names.resolve(&g, n)).unwrap();
    let features = FeatureNames::exact(vec![
        "is_balanced".into(),
        "count_open".into(),
        "horizon".into(),
    ]);
    let tree = h
        .build_tree(s.as_ref(), &names, &features)
        .unwrap_or_else(|e| panic!("{e}"));
    let flag = names.resolve(s.as_ref(), "mlp0#flag").unwrap();
    assert!(tree.nodes.iter().any(|n| matches!(
        n.body,
        crate::scrub::tree::TreeBody::Recompute { node, .. } if node == flag
    )));
    assert_exact(s.as_ref(), &m, &tree, "hypothesis file");

    // A file naming a derived part that no rewrite makes is told so.
    let wrong = text.replace(r#"term: "mlp0""#, r#"term: "mlp9""#);
    let e = HypothesisFile::parse(&wrong, Path::new("h.ron"))
        .unwrap()
        .check_rewrites(&g, &names)
        .unwrap_err()
        .to_string();
    assert!(e.contains("rewrite 1 names unknown term `mlp9`"), "{e}");
}

#[test]
fn bad_neuron_specs_are_typed_errors_that_name_what_is_wrong() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let lib = RewriteLibrary::default();
    let err = |g: &dyn ScrubGraph, term: &str, pairs: &[(&str, &str)]| {
        let spec = RewriteSpec::Neurons {
            term: term.into(),
            groups: groups(pairs),
        };
        apply(g, &spec, &lib, &|n| names.resolve(g, n))
            .err()
            .unwrap()
    };
    let e = err(&g, "mlp0", &[("rest", "0..3")]);
    assert_eq!(
        e,
        RewriteError::RestGroup {
            term: "mlp0".into()
        }
    );
    assert!(e.to_string().contains("`mlp0#rest`"), "{e}");

    for empty in ["", "  ", "3..3", "5..=4"] {
        let e = err(&g, "mlp0", &[("a", "1"), ("flag", empty)]);
        assert_eq!(
            e,
            RewriteError::EmptyGroup {
                term: "mlp0".into(),
                group: "flag".into(),
                neurons: empty.into()
            }
        );
        assert!(e.to_string().contains("group `flag` is empty"), "{e}");
    }

    let e = err(&g, "mlp0", &[("length", "0..8"), ("flag", "7,12")]);
    assert_eq!(
        e,
        RewriteError::NeuronInTwoGroups {
            term: "mlp0".into(),
            neuron: 7,
            first: "flag".into(),
            second: "length".into(),
        }
    );
    assert!(
        e.to_string()
            .contains("neuron 7 is in group `flag` and in group `length`"),
        "{e}"
    );

    for (list, neuron) in [("24", 24), ("20..30", 24), ("3,99", 99), ("0..=24", 24)] {
        let e = err(&g, "mlp1", &[("flag", list)]);
        assert_eq!(
            e,
            RewriteError::NeuronOutOfRange {
                term: "mlp1".into(),
                group: "flag".into(),
                node: "blocks.1.mlp".into(),
                neuron,
                width: 24,
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("neuron {neuron} of group `flag` does not exist"))
                && msg.contains("`blocks.1.mlp` has 24 hidden neurons (0 to 23)"),
            "{msg}"
        );
    }
    // A huge range fails at once rather than being walked.
    let e = err(&g, "mlp1", &[("flag", "0..18446744073709551615")]);
    assert!(matches!(
        e,
        RewriteError::NeuronOutOfRange { neuron: 24, .. }
    ));

    let e = err(&g, "mlp0", &[("flag", "1,x")]).to_string();
    assert!(
        e.contains("group `flag` (`1,x`): `x` is not a neuron"),
        "{e}"
    );
    let e = err(&g, "mlp0", &[("flag", "1,2,1")]).to_string();
    assert!(e.contains("neuron 1 is listed twice"), "{e}");
    for bad in ["", "a#b", "a b", "x@y"] {
        let e = err(&g, "mlp0", &[(bad, "1")]);
        assert!(matches!(e, RewriteError::GroupName { .. }), "{bad}: {e}");
    }

    let e = err(&g, "1.0", &[("flag", "1")]);
    assert_eq!(
        e,
        RewriteError::NotAnMlp {
            term: "1.0".into(),
            node: "blocks.1.attn.head.0".into()
        }
    );
    assert!(
        e.to_string()
            .contains("`blocks.1.attn.head.0` cannot be split by hidden neuron"),
        "{e}"
    );
    let e = err(&g, "mlp7", &[("flag", "1")]);
    assert_eq!(e, RewriteError::UnknownTerm("mlp7".into()));
    // A part of a head split is no MLP either; an MLP already split is no longer a term.
    let masked =
        crate::scrub::masked::Masked::new(&g, "1.0", "prev", &|n| names.resolve(&g, n)).unwrap();
    let e = err(&masked, "1.0@prev", &[("flag", "1")]);
    assert!(matches!(e, RewriteError::NotAnMlp { .. }), "{e}");
    let once = split(&g, &names, "mlp0");
    let e = err(&once, "mlp0", &[("flag", "1")]);
    assert_eq!(e, RewriteError::NotATerm("mlp0".into()));
    // Nor can a neuron split's part be split by source position.
    let e =
        crate::scrub::masked::Masked::new(&once, "mlp0#flag", "prev", &|n| names.resolve(&once, n))
            .err()
            .unwrap();
    assert!(matches!(e, RewriteError::NotMaskable { .. }), "{e}");
    // Rewritten only projects and predicts.
    let spec = RewriteSpec::Neurons {
        term: "mlp0".into(),
        groups: example(),
    };
    let e = Rewritten::new(&g, &spec, &lib, &|n| names.resolve(&g, n))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("rewrite::apply"), "{e}");

    // An attention-only model has no neurons to split.
    let mut cfg = config(AttentionKind::Bidirectional, PositionalKind::Standard);
    cfg.d_mlp = None;
    let attn_only = random_model(&cfg, 62, 0.4);
    let a = TransformerGraph::new(&attn_only, data()).unwrap();
    let a_names = NameResolver::transformer(&a);
    let spec = RewriteSpec::Neurons {
        term: "mlp0".into(),
        groups: example(),
    };
    let e = apply(&a, &spec, &lib, &|n| a_names.resolve(&a, n))
        .err()
        .unwrap();
    assert_eq!(
        e,
        RewriteError::NoMlps {
            term: "mlp0".into()
        }
    );
    assert!(e.to_string().contains("attention-only"), "{e}");

    // A graph without MLPs keeps the trait's defaults.
    let mut s = ScalarGraph::default();
    let x = s.input("x", vec![1.0]);
    let y = s.function("y", &[&[x]], |p| 2.0 * p[0]);
    assert_eq!(s.hidden_width(y), None);
    let e = s
        .recompute_neurons_batch(y, &[DatumId(0)], &[vec![1.0]], &[0], true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ScalarGraph cannot split `y` by hidden neuron"),
        "{e}"
    );
}

#[test]
fn the_transformer_graph_checks_what_it_is_asked_to_recompute() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let mlp = g.node_of(Component::Mlp { layer: 0 }).unwrap();
    let head = g.node_of(Component::Head { layer: 0, head: 0 }).unwrap();
    assert_eq!(g.hidden_width(mlp), Some(24));
    assert_eq!(g.hidden_width(head), None);
    let x = vec![(0..2 * 8 * 16)
        .map(|i| (i as f32 * 0.37).sin())
        .collect::<Vec<f32>>()];
    let homes = [DatumId(0), DatumId(1)];
    let e = g
        .recompute_neurons_batch(mlp, &homes, &x, &[24], true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("24 hidden neurons; there is no neuron 24"),
        "{e}"
    );
    let e = g
        .recompute_neurons_batch(mlp, &homes[..1], &x, &[1], true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("one port of 1 samples"), "{e}");
    let e = g
        .recompute_neurons_batch(head, &homes, &x, &[1], true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an MLP"), "{e}");
    // Every neuron with the bias is the MLP itself, sample by sample.
    let all: Vec<usize> = (0..24).collect();
    let batch = g
        .recompute_neurons_batch(mlp, &homes, &x, &all, true)
        .unwrap();
    for (s, &home) in homes.iter().enumerate() {
        let mine = x[0][s * 8 * 16..(s + 1) * 8 * 16].to_vec();
        let one = g.recompute(mlp, home, &[mine]).unwrap();
        assert!(relative(&batch[s * 8 * 16..(s + 1) * 8 * 16], &one) < 1e-6);
    }
}

#[test]
fn neuron_specs_read_and_write_as_ron() {
    let spec: RewriteSpec =
        ron::from_str(r#"Neurons(term: "mlp0", groups: {"length": "0..8", "flag": "8..12,15"})"#)
            .unwrap();
    assert_eq!(
        spec,
        RewriteSpec::Neurons {
            term: "mlp0".into(),
            groups: example(),
        }
    );
    assert_eq!(spec.term(), "mlp0");
    assert_eq!(
        spec.derived_names("blocks.0.mlp"),
        [
            "blocks.0.mlp#flag",
            "blocks.0.mlp#length",
            "blocks.0.mlp#rest"
        ]
    );
    assert_eq!(
        spec.part_names("blocks.0.mlp"),
        (
            "blocks.0.mlp#flag".to_string(),
            "blocks.0.mlp#rest".to_string()
        )
    );
    let back: RewriteSpec = ron::from_str(&ron::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    // The two-part rewrites name their parts as before.
    let mask: RewriteSpec = ron::from_str(r#"Mask(term: "0.3", mask: "prev")"#).unwrap();
    assert_eq!(mask.derived_names("h"), ["h@prev", "h~prev"]);
}
