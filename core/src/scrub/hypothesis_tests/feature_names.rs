//! A feature has one spelling: a name the scenario understands but spells otherwise is
//! rejected at its position with the spelling to write, so that the run, joins and the
//! adversary, which compare names as written, all see one form.

use super::*;

/// The error building 1b gets with its first `count_open` replaced by `feature`, and where
/// that feature is written.
fn with_feature(g: &TransformerGraph, feature: &str) -> (String, String) {
    let text = H1B.replacen("\"count_open\"", &format!("{feature:?}"), 1);
    let at = position(&text, &format!("Some({feature:?})"));
    (error(g, &text), at)
}

#[test]
fn non_canonical_spellings_are_rejected_with_the_canonical_one() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    for (written, canonical) in [
        ("horizon_at(05)", "horizon_at(5)"),
        ("horizon_at( 5)", "horizon_at(5)"),
        (" horizon", "horizon"),
        ("horizon ", "horizon"),
        ("horizon &  count_open", "horizon & count_open"),
        ("horizon & horizon", "horizon"),
        ("horizon_at(+2) & count_open", "horizon_at(2) & count_open"),
    ] {
        let (e, at) = with_feature(&g, written);
        assert!(
            e.starts_with(&at)
                && e.contains(&format!("feature `{written}` is not spelt"))
                && e.contains(&format!("write `{canonical}`")),
            "{written}: {e}"
        );
    }
}

#[test]
fn tuples_written_without_spaces_are_told_how_tuples_are_written() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    let (e, at) = with_feature(&g, "horizon&count_open");
    assert!(
        e.starts_with(&at)
            && e.contains("write `horizon & count_open`")
            && e.contains("tuples of features are written `a & b`"),
        "{e}"
    );
    let (e, _) = with_feature(&g, "horizon&balance");
    assert!(
        e.contains("`balance` in feature `horizon&balance` is no feature")
            && e.contains("tuples of features are written `a & b`"),
        "{e}"
    );
}

#[test]
fn canonical_names_and_joins_build() {
    let m = model();
    let g = TransformerGraph::new(&m, data()).unwrap();
    for f in [
        "horizon_at(5)",
        "horizon & count_open",
        "horizon_at(2) & horizon",
    ] {
        let text = H1B.replacen("\"count_open\"", &format!("{f:?}"), 1);
        let tree = build(&g, &text).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(tree.features().contains(&f.to_string()), "{f}");
    }
}

#[test]
fn feature_names_check_each_part_of_a_join() {
    let names = features();
    assert_eq!(names.check("count_open & horizon_at(3)"), Ok(()));
    assert_eq!(
        names.check("count_open & horizon_at(9)"),
        Err(FeatureNameError::Unknown {
            part: "horizon_at(9)".into()
        })
    );
    assert_eq!(
        names.check("count_open&horizon_at(03)"),
        Err(FeatureNameError::NotCanonical {
            canonical: "count_open & horizon_at(3)".into()
        })
    );
    assert!(!names.contains(""));
    assert!(!names.contains("count_open & "));
}
