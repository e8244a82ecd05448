//! Hypotheses build into the intended trees, and those trees compute the model.

use super::*;

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
fn node_paths_come_from_names() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let t = build(&g, H1B).unwrap();
    assert_eq!(t.nodes[1].path, NodePath("out/1.0".into()));
    assert_eq!(t.nodes[1].parent, Some(TreeId(0)));
    assert_eq!(t.features(), ["is_balanced", "count_open", "horizon"]);
}
