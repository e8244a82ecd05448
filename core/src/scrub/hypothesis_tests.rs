//! Hypothesis files: the write-up's paren hypotheses parse into the trees they describe
//! (generators expanded, unimportant remainders added), those trees reproduce the model on
//! one datum, mistakes are reported with their file position, and files round-trip.

use std::path::Path;

use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::feature::DatumId;
use crate::forward::forward;
use crate::sampler::{Assignment, NodePath};
use crate::scrub::evaluate::evaluate;
use crate::scrub::graph::NodeId;
use crate::scrub::transformer::{Component, TransformerGraph};
use crate::scrub::tree::{DatumRule, Rows, TreeBody, TreeId};
use crate::testing::random_model;
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

const N_CTX: usize = 8;

fn model() -> Model {
    let cfg = ModelConfig {
        n_layers: 3,
        n_heads: 2,
        d_model: 16,
        d_head: 8,
        d_mlp: Some(24),
        d_vocab: 5,
        d_vocab_out: 2,
        n_ctx: N_CTX,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Bidirectional,
        positional: PositionalKind::Standard,
        pad_token: Some(1),
        ln_eps: 1e-5,
    };
    random_model(&cfg, 31, 0.4)
}

/// Paren-like sequences padded to n_ctx.
fn data() -> Vec<Vec<TokenId>> {
    [
        vec![0, 3, 4, 2, 1, 1, 1, 1],
        vec![0, 3, 3, 4, 4, 2, 1, 1],
        vec![0, 4, 3, 3, 4, 4, 3, 2],
        vec![0, 2, 1, 1, 1, 1, 1, 1],
    ]
    .into_iter()
    .map(|s| s.into_iter().map(TokenId).collect())
    .collect()
}

/// The paren features, with `horizon_at(i)` for the test model's positions 1..=6.
fn features() -> FeatureNames<'static> {
    let plain = ["is_balanced", "count_open", "start_open", "horizon"];
    let mut shown: Vec<String> = plain.iter().map(|s| s.to_string()).collect();
    shown.push("horizon_at(i) for i in 1..=6".into());
    FeatureNames::new(shown, move |f| {
        plain.contains(&f)
            || f.strip_prefix("horizon_at(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| (1..=6).contains(&i))
    })
}

fn parse(text: &str) -> HypothesisFile {
    HypothesisFile::parse(text, Path::new("h.ron")).unwrap_or_else(|e| panic!("{e}"))
}

fn build(g: &TransformerGraph, text: &str) -> Result<Tree, HypothesisError> {
    parse(text).build_tree(g, &NameResolver::transformer(g), &features())
}

/// The error `text` gets, parsing or building, as displayed.
fn error(g: &TransformerGraph, text: &str) -> String {
    match HypothesisFile::parse(text, Path::new("h.ron")) {
        Err(e) => e.to_string(),
        Ok(h) => match h.build_tree(g, &NameResolver::transformer(g), &features()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error from\n{text}"),
        },
    }
}

/// A hypothesis file around `root`.
fn file(root: &str) -> String {
    format!("Hypothesis(\n    scenario: \"paren\",\n    root: {root},\n)\n")
}

/// Line and column of the first occurrence of `needle` in `text`, as `h.ron:L:C`.
fn position(text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("h.ron:{line}:{column}")
}

fn id(g: &TransformerGraph, name: &str) -> NodeId {
    NameResolver::transformer(g).resolve(g, name).unwrap()
}

fn ids(g: &TransformerGraph, names: &[&str]) -> Vec<NodeId> {
    names.iter().map(|n| id(g, n)).collect()
}

/// The terms of port 0 of `node`, less `without`, in the port's order.
fn port_terms(g: &TransformerGraph, node: &str, without: &[&str]) -> Vec<NodeId> {
    let drop = ids(g, without);
    g.node(id(g, node)).ports[0]
        .terms
        .iter()
        .copied()
        .filter(|t| !drop.contains(t))
        .collect()
}

fn node<'t>(t: &'t Tree, path: &str) -> &'t crate::scrub::tree::TreeNode {
    &t.nodes[t
        .find(path)
        .unwrap_or_else(|| panic!("no node `{path}` in {:?}", paths(t)))
        .0]
}

fn paths(t: &Tree) -> Vec<&str> {
    t.nodes.iter().map(|n| n.path.0.as_str()).collect()
}

/// The rows on which `child` feeds port `port` of its parent.
fn fed_rows(t: &Tree, child: &str, port: usize) -> Vec<Rows> {
    let c = t.find(child).unwrap();
    let parent = t.nodes[c.0].parent.unwrap();
    match &t.nodes[parent.0].body {
        TreeBody::Recompute { ports, .. } => ports[port]
            .iter()
            .filter(|p| p.child == c)
            .map(|p| p.rows.clone())
            .collect(),
        TreeBody::Plain { .. } => panic!("{child}'s parent reads plainly"),
    }
}

fn plain_terms(t: &Tree, path: &str) -> Vec<NodeId> {
    match &node(t, path).body {
        TreeBody::Plain { terms } => terms.clone(),
        b => panic!("{path} is {b:?}"),
    }
}

/// Evaluated with every slot of sample `s` on datum `s`, the tree gives the model's logits.
fn assert_exact(m: &Model, g: &TransformerGraph, tree: &Tree, name: &str) {
    let n_slots = tree.nodes.len() + 1;
    let samples = [0u32, 1, 2, 3];
    let a = Assignment {
        n_samples: samples.len(),
        n_slots,
        data: samples
            .iter()
            .flat_map(|&d| vec![DatumId(d); n_slots])
            .collect(),
    };
    let out = evaluate(g, tree, &a).unwrap_or_else(|e| panic!("{name}: {e}"));
    let seqs = data();
    let plain = forward(
        m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        None,
    );
    let per = N_CTX * 2;
    for (s, o) in out.outputs.iter().enumerate() {
        let want = &plain.data[s * per..(s + 1) * per];
        let diff = o
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "{name}: datum {s} differs by {diff}");
    }
}

const H0A: &str = r#"Hypothesis(scenario: "paren", root: Node(name: "out", feature: Some("is_balanced"), reads: ["out"]))"#;
const H0B: &str = r#"Hypothesis(scenario: "paren", root: Node(name: "out", reads: ["unembed"]))"#;
const H1B: &str = include_str!("testdata/paren_1b.ron");
const H3A: &str = include_str!("testdata/paren_3a.ron");

/// 2a: 1.0 and 2.0 recomputed from 0.0 and the embeddings at position 1.
const H2A: &str = r#"
Hypothesis(
    scenario: "paren",
    root: Node(
        name: "out",
        feature: Some("is_balanced"),
        computes: Some("out"),
        inputs: [
            Node(
                name: "1.0",
                feature: Some("count_open"),
                computes: Some("1.0"),
                inputs: [
                    Node(name: "0.0", feature: Some("count_open"), rows: Some("1"), reads: ["0.0"]),
                    Node(name: "emb", feature: Some("start_open"), rows: Some("1"), reads: ["emb", "pos"]),
                ],
            ),
            Node(
                name: "2.0",
                feature: Some("count_open"),
                computes: Some("2.0"),
                inputs: [
                    Node(name: "0.0", feature: Some("count_open"), rows: Some("1"), reads: ["0.0"]),
                    Node(name: "emb", feature: Some("start_open"), rows: Some("1"), reads: ["emb", "pos"]),
                ],
            ),
            Node(name: "2.1", feature: Some("horizon"), reads: ["2.1"]),
        ],
    ),
)
"#;

/// Separate q, k and v inputs for 2.1; its values come through a recomputed mlp1.
const HQKV: &str = r#"
Hypothesis(
    scenario: "paren",
    sharing: PerTerm,
    root: Node(
        name: "out",
        reference: true,
        computes: "out",
        inputs: [
            Node(
                name: "2.1",
                feature: "horizon",
                computes: "2.1",
                ports: {
                    "q": [Node(name: "q.emb", reads: ["emb", "pos"])],
                    "v": [
                        Node(name: "mlp1", computes: "mlp1", inputs: [
                            Node(name: "1.0", feature: "count_open", reads: ["1.0"]),
                        ]),
                    ],
                },
            ),
        ],
    ),
)
"#;

#[test]
fn trivial_hypotheses_are_one_node() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let a = build(&g, H0A).unwrap();
    assert_eq!(a.nodes.len(), 1);
    assert_eq!(a.nodes[0].datum, DatumRule::Agrees("is_balanced".into()));
    assert_eq!(plain_terms(&a, "out"), vec![g.output()]);
    let b = build(&g, H0B).unwrap();
    assert_eq!(b.nodes[0].datum, DatumRule::Unimportant);
    assert_eq!(parse(H0B).samples, DEFAULT_SAMPLES);
    assert_eq!(parse(H0B).sharing, crate::sampler::Sharing::PerParent);
    for (name, t) in [("0a", a), ("0b", b)] {
        assert_exact(&m, &g, &t, name);
    }
}

#[test]
fn three_heads_get_one_implicit_remainder() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let h = HypothesisFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scrub/testdata/paren_1b.ron"),
    )
    .unwrap();
    assert_eq!((h.scenario.as_str(), h.samples, h.seed), ("paren", 2000, 0));
    let t = h
        .build_tree(&g, &NameResolver::transformer(&g), &features())
        .unwrap();
    assert_eq!(
        paths(&t),
        ["out", "out/1.0", "out/2.0", "out/2.1", "out/in~rest"]
    );
    assert_eq!(
        node(&t, "out/2.1").datum,
        DatumRule::Agrees("horizon".into())
    );
    assert_eq!(node(&t, "out/in~rest").datum, DatumRule::Unimportant);
    assert_eq!(
        plain_terms(&t, "out/in~rest"),
        port_terms(&g, "out", &["1.0", "2.0", "2.1"])
    );
    assert_eq!(fed_rows(&t, "out/in~rest", 0), vec![Rows::All]);
    assert_exact(&m, &g, &t, "1b");
}

#[test]
fn per_row_children_leave_a_remainder_per_row_pattern() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let t = build(&g, H2A).unwrap();
    // Root, its 3 children and remainder; 1.0 and 2.0 each with 2 listed children and, per
    // port, one remainder for row 1 and one for the other rows.
    assert_eq!(t.nodes.len(), 1 + 3 + 1 + 2 * (2 + 3 * 2));
    for head in ["1.0", "2.0"] {
        let h = format!("out/{head}");
        assert_eq!(
            node(&t, &format!("{h}/emb")).datum,
            DatumRule::Agrees("start_open".into())
        );
        for (p, port) in ["q", "k", "v"].iter().enumerate() {
            assert_eq!(
                fed_rows(&t, &format!("{h}/0.0"), p),
                vec![Rows::Only(vec![1])]
            );
            let rest = format!("{h}/{port}~rest");
            let rest2 = format!("{h}/{port}~rest2");
            assert_eq!(plain_terms(&t, &rest), port_terms(&g, head, &[]));
            assert_eq!(
                fed_rows(&t, &rest, p),
                vec![Rows::Only(vec![0, 2, 3, 4, 5, 6, 7])]
            );
            assert_eq!(
                plain_terms(&t, &rest2),
                port_terms(&g, head, &["0.0", "emb", "pos"])
            );
            assert_eq!(fed_rows(&t, &rest2, p), vec![Rows::Only(vec![1])]);
        }
    }
    // Depth first in file order: 1.0's subtree before 2.0, remainders after listed children.
    let order = paths(&t);
    let at = |p: &str| order.iter().position(|x| *x == p).unwrap();
    assert!(at("out/1.0/v~rest2") < at("out/2.0") && at("out/2.1") < at("out/in~rest"));
    assert_exact(&m, &g, &t, "2a");
}

#[test]
fn for_each_splits_a_head_input_by_position() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let h = parse(H3A);
    assert_eq!((h.samples, h.seed), (500, 7));
    let t = h
        .build_tree(&g, &NameResolver::transformer(&g), &features())
        .unwrap();
    assert_eq!(t.nodes.len(), 1 + 3 + 6 + 3 + 1);
    for i in 1..=6 {
        let x = format!("out/2.1/x2[{i}]");
        assert_eq!(
            node(&t, &x).datum,
            DatumRule::Agrees(format!("horizon_at({i})"))
        );
        assert_eq!(plain_terms(&t, &x), port_terms(&g, "2.1", &[]));
        for p in 0..3 {
            assert_eq!(fed_rows(&t, &x, p), vec![Rows::Only(vec![i])]);
        }
    }
    for (p, port) in ["q", "k", "v"].iter().enumerate() {
        let rest = format!("out/2.1/{port}~rest");
        assert_eq!(plain_terms(&t, &rest), port_terms(&g, "2.1", &[]));
        assert_eq!(fed_rows(&t, &rest, p), vec![Rows::Only(vec![0, 7])]);
    }
    assert_exact(&m, &g, &t, "3a");
}

#[test]
fn separate_ports_get_their_own_children_and_remainders() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let h = parse(HQKV);
    let t = h
        .build_tree(&g, &NameResolver::transformer(&g), &features())
        .unwrap();
    assert_eq!(t.sharing, crate::sampler::Sharing::PerTerm);
    assert_eq!(t.nodes[0].datum, DatumRule::Reference);
    assert_eq!(
        paths(&t),
        [
            "out",
            "out/2.1",
            "out/2.1/q.emb",
            "out/2.1/mlp1",
            "out/2.1/mlp1/1.0",
            "out/2.1/mlp1/in~rest",
            "out/2.1/q~rest",
            "out/2.1/k~rest",
            "out/2.1/v~rest",
            "out/in~rest",
        ]
    );
    assert_eq!(fed_rows(&t, "out/2.1/q.emb", 0), vec![Rows::All]);
    assert!(fed_rows(&t, "out/2.1/q.emb", 1).is_empty());
    assert!(fed_rows(&t, "out/2.1/q.emb", 2).is_empty());
    assert_eq!(
        plain_terms(&t, "out/2.1/q~rest"),
        port_terms(&g, "2.1", &["emb", "pos"])
    );
    assert_eq!(
        plain_terms(&t, "out/2.1/k~rest"),
        port_terms(&g, "2.1", &[])
    );
    assert_eq!(
        plain_terms(&t, "out/2.1/v~rest"),
        port_terms(&g, "2.1", &["mlp1"])
    );
    assert_eq!(
        plain_terms(&t, "out/2.1/mlp1/in~rest"),
        port_terms(&g, "mlp1", &["1.0"])
    );
    assert_exact(&m, &g, &t, "q/k/v");
}

#[test]
fn nested_generators_and_same_as() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        ForEach(var: "l", from: 0, to: 1, node: ForEach(var: "h", from: 0, to: 1, node:
            Node(name: "{l}.{h}", feature: "count_open", reads: ["{l}.{h}"]))),
        Node(name: "2.0", same_as: "out/1.1", reads: ["2.0"]),
    ])"#,
    );
    let t = build(&g, &text).unwrap();
    assert_eq!(
        paths(&t),
        [
            "out",
            "out/0.0",
            "out/0.1",
            "out/1.0",
            "out/1.1",
            "out/2.0",
            "out/in~rest"
        ]
    );
    assert_eq!(
        plain_terms(&t, "out/1.1"),
        ids(&g, &["blocks.1.attn.head.1"])
    );
    assert_eq!(node(&t, "out/2.0").datum, DatumRule::SameAs(TreeId(4)));
    assert_exact(&m, &g, &t, "nested");
}

#[test]
fn aliases_name_every_transformer_node() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let r = NameResolver::transformer(&g);
    let of = |c| g.node_of(c).unwrap();
    for (alias, c) in [
        ("emb", Component::Embed),
        ("embed", Component::Embed),
        ("pos", Component::PosEmbed),
        ("pos_embed", Component::PosEmbed),
        ("2.1", Component::Head { layer: 2, head: 1 }),
        (
            "blocks.2.attn.head.1",
            Component::Head { layer: 2, head: 1 },
        ),
        ("b1", Component::AttnBias { layer: 1 }),
        ("mlp0", Component::Mlp { layer: 0 }),
        ("blocks.0.mlp", Component::Mlp { layer: 0 }),
        ("out", Component::Output),
        ("unembed", Component::Output),
    ] {
        assert_eq!(r.resolve(&g, alias), Some(of(c)), "{alias}");
    }
    assert_eq!(r.resolve(&g, "3.0"), None);
    // Rewrite-derived terms are named through the alias of the term they split.
    let derived = NameResolver::new(vec![("0.0".into(), NodeId(2))]);
    let toy = Toy::new(&["a", "b", "c", "c@phi", "c~phi"]);
    assert_eq!(derived.resolve(&toy, "0.0@phi"), Some(NodeId(3)));
    assert_eq!(derived.resolve(&toy, "0.0~phi"), Some(NodeId(4)));
    assert_eq!(derived.resolve(&toy, "0.0@psi"), None);
}

/// A graph of input nodes with the given names, for name resolution alone.
struct Toy(Vec<crate::scrub::graph::GraphNode>);

impl Toy {
    fn new(names: &[&str]) -> Self {
        Toy(names
            .iter()
            .map(|n| crate::scrub::graph::GraphNode {
                name: n.to_string(),
                ports: vec![],
                width: 1,
            })
            .collect())
    }
}

impl crate::scrub::graph::ScrubGraph for Toy {
    fn nodes(&self) -> &[crate::scrub::graph::GraphNode] {
        &self.0
    }
    fn output(&self) -> NodeId {
        NodeId(0)
    }
    fn rows(&self) -> usize {
        1
    }
    fn plain(&self, _: &[DatumId], _: &[NodeId]) -> crate::Result<Vec<Vec<Vec<f32>>>> {
        unreachable!("only names are looked up")
    }
    fn recompute(&self, _: NodeId, _: DatumId, _: &[Vec<f32>]) -> crate::Result<Vec<f32>> {
        unreachable!("only names are looked up")
    }
}

#[test]
fn syntax_and_schema_errors_give_the_position() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let missing_comma =
        "Hypothesis(\n    scenario: \"paren\"\n    root: Node(name: \"out\", reads: [\"out\"]),\n)";
    let e = error(&g, missing_comma);
    assert!(e.starts_with("h.ron:3:"), "{e}");

    let typo = file(r#"Node(name: "out", feture: "is_balanced", reads: ["out"])"#);
    let e = error(&g, &typo);
    assert!(
        e.starts_with(&position(&typo, "feture"))
            && e.contains("feture")
            && e.contains("`feature`"),
        "{e}"
    );

    let text = file(r#"Node(name: "out", feature: 3, reads: ["out"])"#);
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "3,")) && e.contains("string"),
        "{e}"
    );

    let text =
        file(r#"Node(name: "out", computes: "out", inputs: [Nod(name: "x", reads: ["1.0"])])"#);
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "Nod(")) && e.contains("ForEach"),
        "{e}"
    );

    let zero =
        "Hypothesis(scenario: \"paren\", samples: 0, root: Node(name: \"out\", reads: [\"out\"]))";
    let e = error(&g, zero);
    assert!(
        e.starts_with(&position(zero, "0,")) && e.contains("samples"),
        "{e}"
    );

    let e = HypothesisFile::load(Path::new("/nonexistent/h.ron")).unwrap_err();
    assert!(
        matches!(e, HypothesisError::Io { .. }) && e.to_string().contains("/nonexistent/h.ron")
    );
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "a", reads: ["1.0", "blocks.1.attn.head.O"]),
    ])"#,
    );
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "\"blocks.1.attn.head.O"))
            && e.contains("node `out/a`")
            && e.contains("unknown term `blocks.1.attn.head.O`")
            && e.contains("did you mean `blocks.1.attn.head.0`?")
            && e.contains("`blocks.1.attn.head.1 (1.1)`")
            && e.contains("`embed (emb)`"),
        "{e}"
    );

    let text = file(r#"Node(name: "out", computes: "ln_final", inputs: [])"#);
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "\"ln_final"))
            && e.contains("unknown node `ln_final`")
            && e.contains("`blocks.0.mlp (mlp0)`")
            && !e.contains("`embed"),
        "{e}"
    );

    let text =
        file(r#"Node(name: "out", computes: "out", inputs: [Node(name: "e", computes: "emb")])"#);
    let e = error(&g, &text);
    assert!(
        e.contains("no inputs") && e.contains(r#"reads: ["emb"]"#),
        "{e}"
    );

    let text = file(r#"Node(name: "out", feature: "balanced", reads: ["out"])"#);
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "\"balanced"))
            && e.contains("unknown feature `balanced`")
            && e.contains("`horizon_at(i) for i in 1..=6`"),
        "{e}"
    );
}

#[test]
fn generated_nodes_point_at_their_template() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    // horizon_at(7) is past the positions the scenario defines.
    let text = H3A.replace("to: 6", "to: 7");
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "\"horizon_at({i})"))
            && e.contains("node `out/2.1/x2[7]`")
            && e.contains("unknown feature `horizon_at(7)`"),
        "{e}"
    );

    let text = H3A.replace("rows: \"{i}\"", "rows: \"{j}\"");
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "\"x2[{i}]\"")) && e.contains("`{j}`") && e.contains("`i`"),
        "{e}"
    );

    let text = H3A.replace("to: 6", "to: 0");
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "0, node")) && e.contains("no nodes"),
        "{e}"
    );
}

#[test]
fn malformed_nodes_are_reported_at_their_position() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let cases: [(&str, &str, &[&str]); 9] = [
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", reads: ["1.0"], computes: "1.0")])"#,
            "\"1.0\")",
            &["`out/x`", "not both"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", feature: "horizon")])"#,
            "\"x\"",
            &["`out/x`", "`reads: [terms]`"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", rows: "1..x", reads: ["1.0"])])"#,
            "\"1..x\"",
            &["`out/x`", "`x` is not a row", "`2..=5`"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", rows: "3,8", reads: ["1.0"])])"#,
            "\"3,8\"",
            &["row 8 does not exist", "8 rows"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", feature: "horizon", reference: true, reads: ["1.0"])])"#,
            "\"x\"",
            &["at most one of `feature`, `same_as`, `reference` and `shares`"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", reads: ["1.0"]), Node(name: "x", reads: ["2.0"])])"#,
            "\"x\", reads: [\"2.0",
            &["`out/x`", "another node has this path"],
        ),
        (
            r#"Node(name: "out", computes: "out", inputs: [Node(name: "x", reads: ["1.0"], inputs: [Node(name: "y", reads: ["emb"])])])"#,
            "[Node(name: \"y\"",
            &["`out/x`", "`computes` instead of `reads`"],
        ),
        (
            r#"Node(name: "out", reads: ["2.1"])"#,
            "[\"2.1\"]",
            &["the root stands for the model's output", "`unembed (out)`"],
        ),
        (
            r#"Node(name: "a/b", reads: ["out"])"#,
            "\"a/b\"",
            &["free of `/`"],
        ),
    ];
    for (root, at, wants) in cases {
        let text = file(root);
        let e = error(&g, &text);
        let pos = position(&text, at);
        assert!(e.starts_with(&pos), "{e}\nshould start with {pos}");
        for w in wants {
            assert!(e.contains(w), "{e}\nshould contain {w}");
        }
    }
}

#[test]
fn same_as_must_name_an_earlier_node() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let later = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "a", same_as: "out/b", reads: ["1.0"]),
        Node(name: "b", reads: ["2.0"]),
    ])"#,
    );
    let e = error(&g, &later);
    assert!(
        e.starts_with(&position(&later, "\"out/b\""))
            && e.contains("node `out/a`")
            && e.contains("comes after it"),
        "{e}"
    );
    let missing = later.replace("same_as: \"out/b\"", "same_as: \"out/c\"");
    let e = error(&g, &missing);
    assert!(
        e.starts_with(&position(&missing, "\"out/c\""))
            && e.contains("no node has that path")
            && (e.contains("did you mean `out/a`?") || e.contains("did you mean `out/b`?")),
        "{e}"
    );
}

#[test]
fn inputs_must_follow_the_model_graph() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    // Head 2.0 as an input of head 1.0: not a homomorphism of the model's graph.
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "1.0", computes: "1.0", inputs: [
            Node(name: "2.0", feature: "count_open", reads: ["2.0"]),
        ]),
    ])"#,
    );
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "[\"2.0\"]"))
            && e.contains("node `out/1.0/2.0`")
            && e.contains("`blocks.2.attn.head.0 (2.0)`")
            && e.contains("port `q` of `out/1.0`")
            && e.contains("follow the model's graph"),
        "{e}"
    );

    let twice = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "a", reads: ["1.0", "2.0"]),
        Node(name: "b", rows: "2..=3", reads: ["2.0"]),
    ])"#,
    );
    let e = error(&g, &twice);
    assert!(
        e.starts_with(&position(&twice, "\"b\""))
            && e.contains("node `out/b`")
            && e.contains("both from it and from `out/a` at rows 2, 3"),
        "{e}"
    );

    let port = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "2.1", computes: "2.1", ports: { "query": [Node(name: "e", reads: ["emb"])] }),
    ])"#,
    );
    let e = error(&g, &port);
    assert!(
        e.starts_with(&position(&port, "\"query\""))
            && e.contains("no port `query`")
            && e.contains("`q`, `k`, `v`"),
        "{e}"
    );
}

#[test]
fn positions_are_not_borrowed_from_an_edited_hypothesis() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let mut h = parse(H1B);
    let bad = NodeSpec {
        name: "bad".into(),
        reads: vec!["nope".into()],
        ..NodeSpec::default()
    };
    h.root.inputs.insert(0, Child::Node(bad));
    let e = h
        .build_tree(&g, &NameResolver::transformer(&g), &features())
        .unwrap_err();
    let at = e.location().unwrap();
    assert_eq!((at.line, at.column), (None, None), "{e}");
    assert!(e.to_string().starts_with("h.ron: node `out/bad`"), "{e}");
}

#[test]
fn rows_strings() {
    use super::rows::parse_rows;
    assert_eq!(parse_rows("all", 8), Ok(Rows::All));
    assert_eq!(parse_rows(" 3 ", 8), Ok(Rows::Only(vec![3])));
    assert_eq!(parse_rows("1,3,5", 8), Ok(Rows::Only(vec![1, 3, 5])));
    assert_eq!(parse_rows("2..=4", 8), Ok(Rows::Only(vec![2, 3, 4])));
    assert_eq!(parse_rows("2..4, 7", 8), Ok(Rows::Only(vec![2, 3, 7])));
    for (bad, why) in [
        ("", "is not a row"),
        ("x", "is not a row"),
        ("-1", "is not a row"),
        ("3..3", "contains no rows"),
        ("5..=2", "contains no rows"),
        ("0..9", "row 8 does not exist"),
        ("1,1", "listed twice"),
        ("1..", "is not a row"),
    ] {
        let e = parse_rows(bad, 8).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn files_round_trip() {
    for text in [H0A, H0B, H1B, H2A, H3A, HQKV] {
        let h = parse(text);
        let written = h.to_ron();
        let back = parse(&written);
        assert_eq!(back, h, "{written}");
        assert_eq!(back.to_ron(), written);
    }
    // Leaves stay on one line; a node with children spreads over several.
    let written = parse(H1B).to_ron();
    assert!(
        written.contains(
            "\n            Node(name: \"1.0\", feature: Some(\"count_open\"), reads: [\"1.0\"]),\n"
        ),
        "{written}"
    );
    assert!(
        written.contains("    root: Node(\n        name: \"out\",\n"),
        "{written}"
    );

    // Everything the format can say, including strings that need escaping.
    let h = HypothesisFile {
        scenario: "paren".into(),
        description: "join of \"1b\" and 3a\\n".into(),
        samples: 10,
        seed: u64::MAX,
        sharing: crate::sampler::Sharing::Global,
        rewrites: vec![crate::scrub::rewrite::RewriteSpec::Predict {
            term: "0.0".into(),
            predictor: "phi".into(),
        }],
        root: NodeSpec {
            name: "out".into(),
            reference: true,
            computes: Some("out".into()),
            inputs: vec![
                Child::Node(NodeSpec {
                    name: "a\"b".into(),
                    same_as: Some("out".into()),
                    rows: Some("1..=3".into()),
                    reads: vec!["1.0".into(), "2.0".into()],
                    ..NodeSpec::default()
                }),
                Child::ForEach(ForEachSpec {
                    var: "i".into(),
                    from: 1,
                    to: 3,
                    node: Box::new(Child::Node(NodeSpec {
                        name: "x{i}".into(),
                        computes: Some("2.1".into()),
                        ports: PortMap(vec![(
                            "v".into(),
                            vec![Child::Node(NodeSpec {
                                name: "e".into(),
                                feature: Some("horizon_at({i})".into()),
                                reads: vec!["emb".into()],
                                ..NodeSpec::default()
                            })],
                        )]),
                        ..NodeSpec::default()
                    })),
                }),
            ],
            ..NodeSpec::default()
        },
        origin: Origin::default(),
    };
    let written = h.to_ron();
    let back = parse(&written);
    assert_eq!(back, h, "{written}");
    assert_eq!(back.root.name, "out");
    assert_eq!(back.description, "join of \"1b\" and 3a\\n");
    assert!(
        written.contains("Predict(term: \"0.0\", predictor: \"phi\")"),
        "{written}"
    );
}

#[test]
fn duplicate_port_names_are_rejected() {
    let text = file(r#"Node(name: "out", computes: "2.1", ports: { "q": [], "q": [] })"#);
    let e = HypothesisFile::parse(&text, Path::new("h.ron"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("h.ron:3:") && e.contains("port `q` is listed twice"),
        "{e}"
    );
}

#[test]
fn node_paths_come_from_names() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let t = build(&g, H1B).unwrap();
    assert_eq!(t.nodes[1].path, NodePath("out/1.0".into()));
    assert_eq!(t.nodes[1].parent, Some(TreeId(0)));
    assert_eq!(t.features(), ["is_balanced", "count_open", "horizon"]);
}

/// Each node as its path, parent, datum (sampled-with as a path), body and pieces by path:
/// what sampling and evaluation depend on, whatever the order of siblings.
fn canonical(t: &Tree) -> Vec<String> {
    let path = |id: TreeId| t.nodes[id.0].path.0.clone();
    let mut out: Vec<String> = t
        .nodes
        .iter()
        .map(|n| {
            let datum = match &n.datum {
                DatumRule::SameAs(o) => format!("same as {}", path(*o)),
                d => format!("{d:?}"),
            };
            let body = match &n.body {
                TreeBody::Plain { terms } => format!("reads {terms:?}"),
                TreeBody::Recompute { node, ports } => {
                    let ports: Vec<Vec<String>> = ports
                        .iter()
                        .map(|pieces| {
                            let mut v: Vec<String> = pieces
                                .iter()
                                .map(|p| format!("{} {:?}", path(p.child), p.rows))
                                .collect();
                            v.sort();
                            v
                        })
                        .collect();
                    format!("computes {node:?} from {ports:?}")
                }
            };
            format!("{} < {:?}: {datum}; {body}", n.path, n.parent.map(path))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn built_trees_write_back_as_explicit_hypotheses() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let nested = file(
        r#"Node(name: "out", computes: "out", inputs: [
        ForEach(var: "l", from: 0, to: 1, node: Node(name: "{l}.0", reads: ["{l}.0"])),
        Node(name: "2.0", same_as: "out/1.0", reads: ["2.0"]),
    ])"#,
    );
    for text in [H0A, H1B, H2A, H3A, HQKV, nested.as_str()] {
        let h = parse(text);
        let t = h.build_tree(&g, &names, &features()).unwrap();
        let written = h.with_tree(&t, &g).unwrap().to_ron();
        assert!(!written.contains("ForEach"), "{written}");
        let again = parse(&written)
            .build_tree(&g, &names, &features())
            .unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(canonical(&again), canonical(&t), "{written}");
        assert_eq!(again.sharing, t.sharing);
    }

    // The adversary's use: sample one generated node together with another.
    let h = parse(H3A);
    let t = h.build_tree(&g, &names, &features()).unwrap();
    let mut e = h.with_tree(&t, &g).unwrap();
    let Child::Node(h21) = &mut e.root.inputs[2] else {
        panic!("2.1 is a node")
    };
    assert!(matches!(&h21.inputs[5], Child::Node(n) if n.name == "x2[6]"));
    // Remainders feed one port each, so they are listed under it.
    assert_eq!(h21.inputs.len(), 6);
    let (port, rest) = &h21.ports.0[0];
    assert!(
        port == "q"
            && matches!(&rest[..], [Child::Node(n)]
                if n.name == "q~rest" && n.rows.as_deref() == Some("0,7")),
        "{:?}",
        h21.ports
    );
    let Child::Node(x2) = &mut h21.inputs[1] else {
        panic!("x2[2] is a node")
    };
    x2.feature = None;
    x2.same_as = Some("out/2.1/x2[1]".into());
    let t = e.build_tree(&g, &names, &features()).unwrap();
    assert_eq!(
        node(&t, "out/2.1/x2[2]").datum,
        DatumRule::SameAs(t.find("out/2.1/x2[1]").unwrap())
    );
}

#[test]
fn runaway_generators_are_refused() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        ForEach(var: "a", from: 0, to: 99999, node: ForEach(var: "b", from: 0, to: 99999,
            node: Node(name: "{a}.{b}", reads: ["1.0"]))),
    ])"#,
    );
    let e = error(&g, &text);
    assert!(e.contains("more than 200000 nodes"), "{e}");
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        ForEach(var: "a", from: 0, to: 100000, node: Node(name: "{a}", reads: ["1.0"])),
    ])"#,
    );
    let e = error(&g, &text);
    assert!(
        e.starts_with(&position(&text, "100000")) && e.contains("more than 100000 nodes"),
        "{e}"
    );
}
