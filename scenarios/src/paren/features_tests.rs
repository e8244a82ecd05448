use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::*;
use crate::data_dir::{DataDir, DATA_ENV};
use crate::paren::{load_dataset, load_model};

/// The real model, its dataset and their features, loaded once per test process.
pub(crate) struct Real {
    pub(crate) model: Model,
    pub(crate) dataset: ParenDataset,
    pub(crate) features: ParenFeatures,
}

/// The real paren data from `SCRUB_DATA`; fails the calling test when it is not set, since
/// these tests exist to check the analyses against the real model.
pub(crate) fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let dir = std::env::var_os(DATA_ENV).unwrap_or_else(|| {
            panic!("this test reads the real paren model and data: set {DATA_ENV} to the folder holding paren/brackets_model.safetensors and paren/brackets_data.json (see README)")
        });
        let dir = PathBuf::from(dir);
        // Relative paths are taken from the workspace root, as the end-to-end tests do.
        let dir = if dir.is_relative() {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)
        } else {
            dir
        };
        let dir = DataDir::resolve(Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
        let model = load_model(&dir).unwrap_or_else(|e| panic!("{e}"));
        let dataset = load_dataset(&dir).unwrap_or_else(|e| panic!("{e}"));
        let features = ParenFeatures::new(&dataset, &model).unwrap_or_else(|e| panic!("{e}"));
        Real {
            model,
            dataset,
            features,
        }
    })
}

/// Sequences and labels for the hand-checked tests.
const STRINGS: [(&str, bool); 7] = [
    ("(())", true),
    ("())(", false),
    ("((", false),
    ("))", false),
    (")(", false),
    ("(()", false),
    ("()()", true),
];

fn hand_made() -> ParenFeatures {
    let json = serde_json::to_string(&STRINGS).unwrap();
    let ds = ParenDataset::parse(&json, Path::new("hand.json"), 42).unwrap();
    ParenFeatures::with_prefix_weights(&ds, PrefixWeights::upper_triangular(40)).unwrap()
}

fn bools(f: &ParenFeatures, name: &str) -> Vec<bool> {
    f.column(name)
        .unwrap()
        .values
        .iter()
        .map(|v| match v.0 {
            0 => false,
            1 => true,
            x => panic!("{name} is boolean but gave {x}"),
        })
        .collect()
}

#[test]
fn per_sequence_features_on_hand_checked_strings() {
    let f = hand_made();
    let (t, n) = (true, false);
    assert_eq!(bools(&f, "is_balanced"), STRINGS.map(|(_, b)| b));
    assert_eq!(bools(&f, "count"), [t, t, n, n, t, n, t]);
    assert_eq!(bools(&f, "start_open"), [t, t, t, n, n, t, t]);
    assert_eq!(bools(&f, "count_open"), [t, t, n, n, n, n, t]);
    assert_eq!(bools(&f, "horizon"), [t, n, n, t, n, n, t]);
    let len: Vec<i64> = f
        .column("length")
        .unwrap()
        .values
        .iter()
        .map(|v| v.0)
        .collect();
    assert_eq!(len, [4, 4, 2, 2, 2, 3, 4]);
}

#[test]
fn horizon_scans_right_to_left_not_left_to_right() {
    let f = hand_made();
    let h = bools(&f, "horizon");
    // "))" dips below zero read left to right, yet every suffix has no more "(" than ")".
    assert!(h[3], "\"))\" must pass the right-to-left horizon test");
    // "((" never dips below zero left to right, yet its suffix "(" is all open.
    assert!(!h[2], "\"((\" must fail the right-to-left horizon test");
}

#[test]
fn horizon_at_has_the_five_position_classes() {
    let f = hand_made();
    let at = |i: usize, d: usize| f.column(&format!("horizon_at({i})")).unwrap().values[d];
    let (open_first, closed_first) = (5, 1); // "(()" and "())("
    assert_eq!(at(1, open_first), PositionClass::Fails.value(), "p_1 = 2/3");
    assert_eq!(
        at(2, open_first),
        PositionClass::Passes.value(),
        "p_2 = 1/2"
    );
    assert_eq!(at(3, open_first), PositionClass::Passes.value(), "p_3 = 0");
    assert_eq!(at(4, open_first), PositionClass::EndAfterClose.value());
    assert_eq!(at(5, open_first), PositionClass::Pad.value());
    assert_eq!(at(41, open_first), PositionClass::Pad.value());
    assert_eq!(at(4, closed_first), PositionClass::Fails.value(), "p_4 = 1");
    assert_eq!(at(5, closed_first), PositionClass::EndAfterOpen.value());
    let col = f.column("horizon_at(4)").unwrap();
    assert_eq!(
        col.describe(PositionClass::EndAfterOpen.value()),
        "[end] after ( (1)"
    );
}

#[test]
fn p1_open_is_the_exact_proportion_of_open_starters() {
    let f = hand_made();
    let col = f.column("p1_open").unwrap();
    let v = &col.values;
    assert_eq!(v[0], v[6], "(()) and ()() both have p_1 = 1/2");
    assert_eq!(v[0], v[1], "())( has p_1 = 1/2 too");
    assert_ne!(v[0], v[5], "(() has p_1 = 2/3");
    assert_ne!(v[0], v[2], "(( has p_1 = 1");
    assert_eq!(v[3], v[4], "sequences starting with ) share one class");
    assert_ne!(v[3], v[0]);
    assert_eq!(col.labels[&v[5]], "p1 = 2/3");
    assert_eq!(col.labels[&v[3]], "does not start with (");
}

#[test]
fn adjusted_features_equal_plain_ones_for_an_upper_triangular_head() {
    let f = hand_made();
    assert_eq!(bools(&f, "horizon_adj"), bools(&f, "horizon"));
    for i in f.positions() {
        let plain = f.column(&format!("horizon_at({i})")).unwrap();
        let adj = f.column(&format!("horizon_adj_at({i})")).unwrap();
        assert_eq!(plain.values, adj.values, "position {i}");
        assert_eq!(adj.name, format!("horizon_adj_at({i})"));
    }
}

#[test]
fn p_accessors_cover_paren_positions_only() {
    let f = hand_made();
    let d = DatumId(5); // "(()"
    assert_eq!(f.p(d, 1), Some(2.0 / 3.0));
    assert_eq!(f.p(d, 3), Some(0.0));
    assert_eq!(f.p(d, 0), None);
    assert_eq!(f.p(d, 4), None, "position 4 is [end]");
    assert_eq!(f.p_adj(d, 2), Some(0.5));
    assert_eq!(f.p(DatumId(99), 1), None);
}

#[test]
fn names_parse_with_whitespace_into_canonical_columns() {
    let f = hand_made();
    assert_eq!(
        f.column("  horizon_at ( 3 ) ").unwrap().name,
        "horizon_at(3)"
    );
    assert_eq!(f.column("count_open ").unwrap().name, "count_open");
    let names = f.names();
    assert!(
        names.contains(&"horizon_at(i) for i in 1..=41".to_string()),
        "{names:?}"
    );
    for n in names.iter().filter(|n| !n.contains("(i)")) {
        assert_eq!(&f.column(n).unwrap().name, n);
    }
}

#[test]
fn bad_names_are_errors_that_say_what_is_valid() {
    let f = hand_made();
    let err = |name: &str| f.column(name).unwrap_err().to_string();
    let e = err("horizn");
    assert!(
        e.contains("`horizn`")
            && e.contains("count_open")
            && e.contains("horizon_adj_at(i) for i in 1..=41"),
        "{e}"
    );
    for out_of_range in ["horizon_at(0)", "horizon_at(42)", "horizon_adj_at(100)"] {
        let e = err(out_of_range);
        assert!(e.contains("1..=41"), "{e}");
    }
    assert!(err("horizon_at(x)").contains("not a token position"));
    assert!(err("horizon_at(-1)").contains("not a token position"));
    assert!(err("horizon_at(3").contains("`)`"));
    assert!(err("horizon_at").contains("needs a token position"));
    assert!(err("count(3)").contains("takes no parameter"));
}

#[test]
fn sequences_longer_than_the_weights_cover_are_rejected() {
    let ds = ParenDataset::parse(r#"[["(()", false]]"#, Path::new("d.json"), 42).unwrap();
    let err = ParenFeatures::with_prefix_weights(&ds, PrefixWeights::upper_triangular(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sequence 0 has 3 parens"), "{err}");
}

/// Number of data per value of a column, described, largest first.
fn class_sizes(col: &FeatureColumn) -> Vec<(String, usize)> {
    let mut counts: HashMap<FeatureValue, usize> = HashMap::new();
    for v in &col.values {
        *counts.entry(*v).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(v, c)| (col.describe(v), c))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[test]
fn real_labels_are_count_open_and_horizon() {
    let r = real();
    let f = &r.features;
    let (bal, co, h) = (
        bools(f, "is_balanced"),
        bools(f, "count_open"),
        bools(f, "horizon"),
    );
    let wrong: Vec<usize> = (0..f.len())
        .filter(|&d| bal[d] != (co[d] && h[d]))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} labels disagree, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    for name in [
        "is_balanced",
        "count",
        "start_open",
        "count_open",
        "horizon",
        "horizon_adj",
        "horizon_at(1)",
        "horizon_at(40)",
        "horizon_at(41)",
    ] {
        eprintln!("{name}: {:?}", class_sizes(&f.column(name).unwrap()));
    }
    eprintln!(
        "p1_open: {} classes",
        class_sizes(&f.column("p1_open").unwrap()).len()
    );
}

#[test]
fn left_to_right_depth_check_disagrees_on_about_a_fifth_of_real_data() {
    let r = real();
    let h = bools(&r.features, "horizon");
    let never_below_zero = |text: &str| {
        let mut depth = 0i32;
        text.bytes().all(|b| {
            depth += if b == b'(' { 1 } else { -1 };
            depth >= 0
        })
    };
    let disagree = r
        .dataset
        .examples
        .iter()
        .zip(&h)
        .filter(|(e, &h)| never_below_zero(&e.text) != h)
        .count();
    let frac = disagree as f64 / h.len() as f64;
    eprintln!(
        "left-to-right vs right-to-left horizon disagree on {disagree} of {} ({frac:.4})",
        h.len()
    );
    assert!((0.18..0.20).contains(&frac), "disagreement {frac}");
}
