//! Files as people save them: deep nesting, bytes that are not UTF-8, a byte-order mark, a
//! rewrite of a term that does not exist, a `rows` range with no rows. Each is reported with
//! what is wrong and where.

use super::*;

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scrub-core-hyp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn nesting_past_the_parser_limit_says_nesting_and_where() {
    // Each level is a node, its `inputs` list and the list's element: three levels of RON.
    let depth = 60;
    let mut root = String::from(r#"Node(name: "leaf", reads: ["1.0"])"#);
    for i in 0..depth {
        root = format!("Node(name: \"n{i}\", computes: \"out\",\n inputs: [{root}])");
    }
    let text = file(&root);
    let e = HypothesisFile::parse(&text, Path::new("h.ron"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("h.ron:") && e.contains("nesting deeper than 128 at line"),
        "{e}"
    );
    assert!(!e.contains("recursion_limit"), "{e}");
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_the_bad_byte() {
    let mut bytes = H1B.as_bytes().to_vec();
    let at = H1B.find("count_open").unwrap();
    bytes[at] = 0xff;
    let p = temp_file("latin1.ron", &bytes);
    let e = HypothesisFile::load(&p).unwrap_err().to_string();
    let want = position(H1B, "count_open").replace("h.ron", &p.display().to_string());
    assert!(
        e.starts_with(&want) && e.contains(&format!("byte offset {at}")) && e.contains("UTF-8"),
        "{e}"
    );
}

#[test]
fn a_byte_order_mark_is_accepted_and_positions_are_unchanged() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let p = temp_file("bom.ron", format!("\u{feff}{H1B}").as_bytes());
    let h = HypothesisFile::load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h, parse(H1B));
    let bad = H1B.replace("\"horizon\"", "\"horizn\"");
    let e = error(&g, &format!("\u{feff}{bad}"));
    assert!(e.starts_with(&position(&bad, "Some(\"horizn")), "{e}");
}

#[test]
fn a_rewrite_of_a_missing_term_points_at_the_term() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let text = H1B.replace(
        "sharing: PerParent,",
        "sharing: PerParent,\n    rewrites: [Mask(term: \"0.0\", mask: \"prev\"), Predict(term: \"0.9\", predictor: \"phi\")],",
    );
    let e = parse(&text)
        .check_rewrites(&g, &names)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&position(&text, "\"0.9\""))
            && e.contains("rewrite 2 names unknown term `0.9`")
            && e.contains("blocks.0.attn.head.0@prev"),
        "{e}"
    );
}

#[test]
fn a_rewrite_may_split_what_an_earlier_rewrite_derived() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let names = NameResolver::transformer(&g);
    let text = H1B.replace(
        "sharing: PerParent,",
        "sharing: PerParent,\n    rewrites: [Mask(term: \"0.0\", mask: \"prev\"), Mask(term: \"0.0@prev\", mask: \"cur\")],",
    );
    parse(&text).check_rewrites(&g, &names).unwrap();
    let before = text.replace("Mask(term: \"0.0\", mask: \"prev\"), ", "");
    let e = parse(&before)
        .check_rewrites(&g, &names)
        .unwrap_err()
        .to_string();
    assert!(e.contains("rewrite 1 names unknown term `0.0@prev`"), "{e}");
}

#[test]
fn a_rows_range_with_no_rows_names_the_range() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    for range in ["3..3", "5..2", "4..=3"] {
        let text = H1B.replace(
            r#"Node(name: "2.1", feature: Some("horizon"), reads: ["2.1"])"#,
            &format!(
                r#"Node(name: "2.1", feature: Some("horizon"), rows: "1, {range}", reads: ["2.1"])"#
            ),
        );
        let e = error(&g, &text);
        assert!(
            e.starts_with(&position(&text, "\"1, "))
                && e.contains(&format!("`{range}` contains no rows")),
            "{range}: {e}"
        );
    }
}
