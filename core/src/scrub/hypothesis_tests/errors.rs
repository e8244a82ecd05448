//! Mistakes in hypothesis files are reported with their position and what was expected.

use super::*;

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
