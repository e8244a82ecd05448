use super::{lines, TempDir};
use crate::dataset::{Dataset, DatasetError};

const NUMERIC: [&str; 3] = [
    r#"{"tokens": [1, 2, 3], "label": 4, "ok": true, "y": 0.5, "mask": [true, false, true], "pos": [7, 8, 9], "w": [0.5, 1, 2]}"#,
    r#"{"tokens": [5], "label": -2, "ok": false, "y": 2.25, "mask": [false], "pos": [1], "w": [3]}"#,
    r#"{"tokens": [6, 7], "label": 4, "ok": true, "y": -1.25, "mask": [true, true], "pos": [0, 0], "w": [4, 5]}"#,
];

#[test]
fn jsonl_safetensors_and_npy_give_equal_datasets() {
    let dir = TempDir::new("rt-numeric");
    let jsonl = Dataset::load(&dir.write("d.jsonl", lines(&NUMERIC))).unwrap();
    let st = dir.path().join("d.safetensors");
    jsonl.write_safetensors(&st).unwrap();
    let npy = dir.path().join("npy");
    jsonl.write_npy_dir(&npy).unwrap();
    let from_st = Dataset::load(&st).unwrap();
    let from_npy = Dataset::load(&npy).unwrap();
    assert_eq!(jsonl, from_st);
    assert_eq!(jsonl, from_npy);
    // And back out of a columnar format.
    let npy2 = dir.path().join("npy2");
    from_st.write_npy_dir(&npy2).unwrap();
    assert_eq!(Dataset::load(&npy2).unwrap(), jsonl);
}

#[test]
fn strings_round_trip_through_npy() {
    let dir = TempDir::new("rt-strings");
    let text = lines(&[
        r#"{"tokens": [1, 2], "s": "héllo", "ps": ["a", "bb"]}"#,
        r#"{"tokens": [3], "s": "", "ps": ["ccc"]}"#,
        r#"{"tokens": [4, 5], "s": "héllo", "ps": ["bb", ""]}"#,
    ]);
    let jsonl = Dataset::load(&dir.write("d.jsonl", text)).unwrap();
    let npy = dir.path().join("npy");
    jsonl.write_npy_dir(&npy).unwrap();
    assert_eq!(Dataset::load(&npy).unwrap(), jsonl);
    let e = jsonl
        .write_safetensors(&dir.path().join("d.safetensors"))
        .unwrap_err();
    assert!(matches!(e, DatasetError::StringsInSafetensors { ref column } if column == "ps"));
}
