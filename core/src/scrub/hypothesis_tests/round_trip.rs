//! Hypotheses and built trees write back as files that parse to the same thing.

use super::*;

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
        pad_mask: PadMask::Unclaimed,
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
    assert!(written.contains("    pad_mask: Unclaimed,\n"), "{written}");
}

#[test]
fn pad_mask_round_trips_and_its_default_is_left_out() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let own = parse(H2A);
    assert_eq!(own.pad_mask, PadMask::Own);
    assert!(!own.to_ron().contains("pad_mask"), "{}", own.to_ron());
    let text = H2A.replacen("scenario:", "pad_mask: Unclaimed,\n    scenario:", 1);
    let unclaimed = parse(&text);
    assert_eq!(unclaimed.pad_mask, PadMask::Unclaimed);
    assert_eq!(parse(&unclaimed.to_ron()), unclaimed);
    for h in [own, unclaimed] {
        let t = h.build_tree(&g, &names, &features()).unwrap();
        assert_eq!(t.pad_mask, h.pad_mask);
        // `with_tree` takes the tree's setting, not the file's it starts from.
        let written = HypothesisFile::new("paren", h.root.clone())
            .with_tree(&t, &g)
            .unwrap();
        assert_eq!(written.pad_mask, h.pad_mask);
        let again = parse(&written.to_ron())
            .build_tree(&g, &names, &features())
            .unwrap();
        assert_eq!(again.pad_mask, h.pad_mask);
        // The remainders keep their names, so the unclaimed datum is the same node's.
        let homes = |t: &Tree| {
            let mut v: Vec<(String, String)> = t
                .homes(&g)
                .iter()
                .enumerate()
                .map(|(i, h)| (t.nodes[i].path.0.clone(), t.nodes[h.0].path.0.clone()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(homes(&again), homes(&t));
        let moved = homes(&t).iter().filter(|(n, h)| n != h).count();
        match h.pad_mask {
            PadMask::Own => assert_eq!(moved, 0),
            // 1.0 and 2.0; the output keeps its own datum.
            PadMask::Unclaimed => assert_eq!(moved, 2, "{:?}", homes(&t)),
        }
    }
    let bad = H2A.replacen("scenario:", "pad_mask: Mine,\n    scenario:", 1);
    let e = HypothesisFile::parse(&bad, Path::new("h.ron")).unwrap_err();
    assert!(e.to_string().contains("Mine"), "{e}");
}

#[test]
fn sharing_groups_round_trip() {
    let text = file(
        r#"Node(name: "out", computes: "out", inputs: [
        Node(name: "a", shares: "g1", reads: ["1.0"]),
        Node(name: "b", shares: "g2", reads: ["2.0"]),
    ])"#,
    );
    let h = parse(&text);
    let written = h.to_ron();
    assert!(written.contains("shares: Some(\"g1\")"), "{written}");
    assert_eq!(parse(&written), h, "{written}");
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
