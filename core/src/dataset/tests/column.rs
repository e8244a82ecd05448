use super::{lines, TempDir};
use crate::dataset::{Dataset, DatasetError};
use crate::feature::{DatumId, FeatureValue};

fn sample(name: &str) -> (TempDir, Dataset) {
    let dir = TempDir::new(name);
    let p = dir.write(
        "d.jsonl",
        lines(&[
            r#"{"tokens": [1, 2, 3], "n": 5, "b": true, "s": "red", "f": 0.5, "pi": [3, 4, 5], "pb": [true, false, true], "ps": ["a", "b", "c"]}"#,
            r#"{"tokens": [4], "n": 7, "b": false, "s": "blue", "f": 1.5, "pi": [-2], "pb": [false], "ps": ["b"]}"#,
            r#"{"tokens": [5, 6], "n": 5, "b": true, "s": "red", "f": 2, "pi": [9, 9], "pb": [true, true], "ps": ["c", "c"]}"#,
        ]),
    );
    let ds = Dataset::load(&p).unwrap();
    (dir, ds)
}

fn values(v: &[i64]) -> Vec<FeatureValue> {
    v.iter().map(|&x| FeatureValue(x)).collect()
}

#[test]
fn per_datum_features() {
    let (_dir, ds) = sample("col-features");
    let n = ds.column("n").unwrap().feature("n".into()).unwrap();
    assert_eq!(n.values, values(&[5, 7, 5]));
    assert!(n.labels.is_empty());
    let b = ds.column("b").unwrap().feature("is_b".into()).unwrap();
    assert_eq!(b.name, "is_b");
    assert_eq!(b.values, values(&[1, 0, 1]));
    assert_eq!(b.describe(FeatureValue(1)), "true (1)");
    let s = ds.column("s").unwrap().feature("colour".into()).unwrap();
    assert_eq!(s.values, values(&[0, 1, 0]));
    assert_eq!(s.describe(FeatureValue(1)), "blue (1)");
}

#[test]
fn floats_and_per_position_columns_are_not_datum_features() {
    let (_dir, ds) = sample("col-refuse");
    let e = ds.column("f").unwrap().feature("f".into()).unwrap_err();
    assert!(matches!(e, DatasetError::FloatFeature { .. }));
    assert!(e.to_string().contains("targets, not features"), "{e}");
    let e = ds.column("pi").unwrap().feature("pi".into()).unwrap_err();
    assert!(matches!(e, DatasetError::PerPositionFeature { .. }), "{e}");
    let e = ds
        .column("n")
        .unwrap()
        .feature_at(0, "n".into())
        .unwrap_err();
    assert!(matches!(e, DatasetError::NotPerPosition { .. }), "{e}");
}

#[test]
fn features_at_a_position_mark_short_data_absent() {
    let (_dir, ds) = sample("col-at");
    let pi = ds
        .column("pi")
        .unwrap()
        .feature_at(1, "pi@1".into())
        .unwrap();
    // Datum 1 has one token: it gets a value no datum has, below the others.
    assert_eq!(pi.values, values(&[4, 3, 9]));
    assert_eq!(pi.describe(FeatureValue(3)), "(absent) (3)");
    let pi2 = ds
        .column("pi")
        .unwrap()
        .feature_at(2, "pi@2".into())
        .unwrap();
    assert_eq!(pi2.values, values(&[5, 4, 4]));
    assert_eq!(pi2.describe(FeatureValue(4)), "(absent) (4)");
    let pb = ds
        .column("pb")
        .unwrap()
        .feature_at(1, "pb@1".into())
        .unwrap();
    assert_eq!(pb.values, values(&[0, 2, 1]));
    assert_eq!(pb.describe(FeatureValue(2)), "(absent) (2)");
    let ps = ds
        .column("ps")
        .unwrap()
        .feature_at(1, "ps@1".into())
        .unwrap();
    assert_eq!(ps.values, values(&[1, 3, 2]));
    assert_eq!(ps.describe(FeatureValue(3)), "(absent) (3)");
    assert_eq!(ps.describe(FeatureValue(2)), "c (2)");
    // Everyone has position 0: no absent label.
    let p0 = ds
        .column("ps")
        .unwrap()
        .feature_at(0, "ps@0".into())
        .unwrap();
    assert_eq!(p0.labels.len(), 3);
}

#[test]
fn values_for_metrics() {
    let (_dir, ds) = sample("col-metrics");
    let (n, b, f, s) = (
        ds.column("n").unwrap(),
        ds.column("b").unwrap(),
        ds.column("f").unwrap(),
        ds.column("s").unwrap(),
    );
    assert_eq!(n.int(DatumId(1)), Some(7));
    assert_eq!(b.int(DatumId(1)), Some(0));
    assert_eq!(f.int(DatumId(1)), None);
    assert_eq!(f.float(DatumId(2)), Some(2.0));
    assert_eq!(n.float(DatumId(0)), Some(5.0));
    assert_eq!(s.str(DatumId(1)), Some("blue"));
    assert_eq!(n.int(DatumId(3)), None);
    let pi = ds.column("pi").unwrap();
    assert_eq!(pi.int(DatumId(0)), None);
    assert_eq!(pi.ints_at(DatumId(2)), Some(&[9, 9][..]));
    assert_eq!(pi.bools_at(DatumId(2)), None);
    assert_eq!(
        ds.column("pb").unwrap().bools_at(DatumId(0)),
        Some(&[true, false, true][..])
    );
    assert_eq!(n.ints_at(DatumId(0)), None);
}

#[test]
fn distinct_values_spot_constant_features() {
    let (_dir, ds) = sample("col-distinct");
    let d = |c: &str| ds.column(c).unwrap().distinct_values();
    assert_eq!((d("n"), d("b"), d("s"), d("f")), (2, 2, 2, 3));
    assert_eq!((d("pi"), d("pb"), d("ps")), (5, 2, 3));
}
