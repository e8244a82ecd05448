use std::path::Path;

use super::*;
use crate::paren::features::tests::real;

/// `balanced` balanced sequences after `unbalanced` unbalanced ones.
fn dataset(unbalanced: usize, balanced: usize) -> ParenDataset {
    let rows: Vec<(&str, bool)> = std::iter::repeat_n(("((", false), unbalanced)
        .chain(std::iter::repeat_n(("()", true), balanced))
        .collect();
    ParenDataset::parse(
        &serde_json::to_string(&rows).unwrap(),
        Path::new("d.json"),
        42,
    )
    .unwrap()
}

fn balanced_share(ds: &ParenDataset, ids: &[DatumId]) -> f64 {
    ids.iter()
        .filter(|d| ds.examples[d.index()].balanced)
        .count() as f64
        / ids.len() as f64
}

#[test]
fn keeps_every_unbalanced_and_rounds_the_balanced_count() {
    let ds = dataset(6, 10);
    // 0.25 · 6 / 0.75 = 2 balanced beside 6 unbalanced.
    let ids = balanced_subsample(&ds, 0.25, 1).unwrap();
    assert_eq!(ids.len(), 8);
    assert_eq!(&ids[..6], &(0..6).map(DatumId).collect::<Vec<_>>()[..]);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "sorted and distinct: {ids:?}"
    );
    // 0.3 · 6 / 0.7 = 2.57 rounds to 3.
    assert_eq!(balanced_subsample(&ds, 0.3, 1).unwrap().len(), 9);
}

#[test]
fn impossible_fractions_are_errors() {
    let ds = dataset(6, 10);
    for f in [0.0, 1.0, -0.2, 1.5, f64::NAN] {
        let e = balanced_subsample(&ds, f, 0).unwrap_err().to_string();
        assert!(e.contains("strictly between 0 and 1"), "{f}: {e}");
    }
    let e = balanced_subsample(&ds, 0.9, 0).unwrap_err().to_string();
    assert!(e.contains("holds only 10") && e.contains("0.6250"), "{e}");
    let e = balanced_subsample(&ds, 0.01, 0).unwrap_err().to_string();
    assert!(e.contains("no balanced sequence"), "{e}");
    let e = balanced_subsample(&dataset(0, 3), 0.5, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no unbalanced"), "{e}");
}

#[test]
fn real_data_subsamples_to_the_write_ups_balance() {
    let ds = &real().dataset;
    let ids = balanced_subsample(ds, WRITE_UP_BALANCED_FRACTION, 7).unwrap();
    let share = balanced_share(ds, &ids);
    eprintln!(
        "{} of {} sequences kept, balanced share {share:.5}",
        ids.len(),
        ds.len()
    );
    assert!((share - 0.26).abs() < 0.001, "share {share}");
    let unbalanced = ds.examples.iter().filter(|e| !e.balanced).count();
    let kept_unbalanced = ids
        .iter()
        .filter(|d| !ds.examples[d.index()].balanced)
        .count();
    assert_eq!(
        kept_unbalanced, unbalanced,
        "every unbalanced sequence is kept"
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        balanced_subsample(ds, 0.26, 7).unwrap(),
        ids,
        "same seed, same ids"
    );
    assert_ne!(
        balanced_subsample(ds, 0.26, 8).unwrap(),
        ids,
        "another seed, other ids"
    );
}
