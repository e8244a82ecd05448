use super::{lines, TempDir};
use crate::dataset::{Dataset, DatasetError, Format, Scope, Values};
use crate::feature::DatumId;
use crate::tokens::TokenId;

fn load(dir: &TempDir, text: &str) -> Result<Dataset, DatasetError> {
    Dataset::load(&dir.write("data.jsonl", text))
}

/// The message of loading `text`, which must fail.
fn error(name: &str, text: &str) -> String {
    let dir = TempDir::new(name);
    let e = load(&dir, text).expect_err("the file should be refused");
    let msg = e.to_string();
    // Every message names the file.
    assert!(msg.contains("data.jsonl"), "{msg}");
    msg
}

#[test]
fn reads_every_kind_of_column() {
    let dir = TempDir::new("jsonl-kinds");
    let ds = load(
        &dir,
        &lines(&[
            r#"{"tokens": [1, 2, 3], "label": 4, "ok": true, "name": "a", "y": 0.5, "mask": [true, false, true], "pos": [7, 8, 9], "tag": ["x", "y", "x"]}"#,
            r#"{"pos": [1], "tokens": [5], "label": -2, "ok": false, "name": "b\"q", "y": 2, "mask": [false], "tag": ["z"]}"#,
            r#"{"tokens": [6, 7], "label": 4, "ok": true, "name": "a", "y": -1.25, "mask": [true, true], "pos": [0, 0], "tag": ["y", "y"]}"#,
            "",
            "  ",
        ]),
    )
    .unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.format(), Format::Jsonl);
    assert_eq!(ds.tokens(DatumId(0)), &[1, 2, 3]);
    assert_eq!(ds.tokens(DatumId(1)), &[5]);
    assert_eq!(ds.max_len(), 3);
    assert_eq!(ds.offsets(), &[0, 3, 4, 6]);
    assert_eq!(
        ds.padded_tokens(3, 0)[1],
        vec![TokenId(5), TokenId(0), TokenId(0)]
    );
    assert_eq!(ds.line_of(DatumId(2)), Some(3));
    let names: Vec<&str> = ds.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["label", "mask", "name", "ok", "pos", "tag", "y"]);

    let label = ds.column("label").unwrap();
    assert_eq!((label.scope, label.kind()), (Scope::PerDatum, "int"));
    assert_eq!(label.values, Values::Int(vec![4, -2, 4]));
    assert_eq!(
        ds.column("ok").unwrap().values,
        Values::Bool(vec![true, false, true])
    );
    // An int among floats makes a float column.
    assert_eq!(
        ds.column("y").unwrap().values,
        Values::Float(vec![0.5, 2.0, -1.25])
    );
    assert_eq!(
        ds.column("name").unwrap().values,
        Values::Str {
            dict: vec!["a".into(), "b\"q".into()],
            codes: vec![0, 1, 0]
        }
    );
    let mask = ds.column("mask").unwrap();
    assert_eq!((mask.scope, mask.kind()), (Scope::PerPosition, "bool"));
    assert_eq!(mask.bools_at(DatumId(2)), Some(&[true, true][..]));
    assert_eq!(
        ds.column("pos").unwrap().ints_at(DatumId(1)),
        Some(&[1][..])
    );
    assert_eq!(
        ds.column("tag").unwrap().values,
        Values::Str {
            dict: vec!["x".into(), "y".into(), "z".into()],
            codes: vec![0, 1, 0, 2, 1, 1]
        }
    );
    assert!(ds.column("tokens").is_none());
}

#[test]
fn tolerates_crlf_and_a_byte_order_mark() {
    let dir = TempDir::new("jsonl-crlf");
    let ds = load(
        &dir,
        "\u{feff}{\"tokens\": [1], \"a\": 1}\r\n{\"tokens\": [2, 3], \"a\": 2}\r\n\r\n",
    )
    .unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.column("a").unwrap().values, Values::Int(vec![1, 2]));
}

#[test]
fn tokens_only() {
    let dir = TempDir::new("jsonl-tokens-only");
    let ds = load(&dir, "{\"tokens\": [0, 4294967295]}").unwrap();
    assert_eq!(ds.tokens(DatumId(0)), &[0, u32::MAX]);
    assert!(ds.columns().is_empty());
}

#[test]
fn blank_line_between_data_is_an_error() {
    let msg = error("jsonl-blank", "{\"tokens\": [1]}\n\n{\"tokens\": [2]}\n");
    assert!(msg.contains("data.jsonl:2: blank line"), "{msg}");
}

#[test]
fn syntax_error_names_line_and_column() {
    let msg = error(
        "jsonl-syntax",
        &lines(&[r#"{"tokens": [1]}"#, r#"{"tokens": [1,, 2]}"#]),
    );
    assert!(msg.contains("data.jsonl:2:15: expected value"), "{msg}");
    let msg = error("jsonl-syntax1", "{\"tokens\": [1]\n");
    assert!(msg.contains("data.jsonl:1:"), "{msg}");
    let msg = error(
        "jsonl-trailing",
        &lines(&[r#"{"tokens": [1]}"#, r#"{"tokens": [1]} x"#]),
    );
    assert!(
        msg.contains("data.jsonl:2:17: trailing characters"),
        "{msg}"
    );
    let msg = error(
        "jsonl-not-object",
        &lines(&[r#"{"tokens": [1]}"#, "[1, 2]"]),
    );
    assert!(msg.contains("data.jsonl:2:1: invalid type"), "{msg}");
}

#[test]
fn missing_tokens() {
    let msg = error("jsonl-no-tokens1", "{\"a\": 1}\n");
    assert!(msg.contains("data.jsonl:1: no `tokens`"), "{msg}");
    let msg = error(
        "jsonl-no-tokens2",
        &lines(&[r#"{"tokens": [1], "a": 1}"#, r#"{"a": 2}"#]),
    );
    assert!(msg.contains("data.jsonl:2: no `tokens`"), "{msg}");
}

#[test]
fn bad_tokens_name_line_and_index() {
    for (name, toks, found) in [
        ("neg", "[1, -1]", "is -1"),
        ("float", "[1, 1.5]", "is 1.5"),
        ("str", "[1, \"a\"]", "is the string \"a\""),
        ("big", "[1, 4294967296]", "is 4294967296"),
        ("null", "[1, null]", "is null"),
        ("nested", "[1, [2]]", "is an array"),
    ] {
        let msg = error(
            &format!("jsonl-token-{name}"),
            &lines(&[r#"{"tokens": [1]}"#, &format!("{{\"tokens\": {toks}}}")]),
        );
        assert!(
            msg.contains(&format!("data.jsonl:2: tokens[1] {found}")),
            "{msg}"
        );
    }
    let msg = error("jsonl-tokens-scalar", "{\"tokens\": 5}\n");
    assert!(
        msg.contains("data.jsonl:1: `tokens` must be an array"),
        "{msg}"
    );
    assert!(msg.contains("found 5"), "{msg}");
}

#[test]
fn empty_tokens_is_an_error() {
    let msg = error("jsonl-empty-tokens", "{\"tokens\": []}\n");
    assert!(msg.contains("data.jsonl:1: `tokens` is empty"), "{msg}");
}

#[test]
fn keys_must_match_line_one() {
    let msg = error(
        "jsonl-missing-key",
        &lines(&[
            r#"{"tokens": [1], "a": 1, "b": 2}"#,
            r#"{"tokens": [1], "b": 2}"#,
        ]),
    );
    assert!(msg.contains("data.jsonl:2: no key `a`"), "{msg}");
    let msg = error(
        "jsonl-extra-key",
        &lines(&[
            r#"{"tokens": [1], "a": 1}"#,
            r#"{"tokens": [1], "a": 1, "c": 3}"#,
        ]),
    );
    assert!(
        msg.contains("data.jsonl:2: key `c` is not in line 1"),
        "{msg}"
    );
    let msg = error(
        "jsonl-dup-key",
        &lines(&[r#"{"tokens": [1], "a": 1, "a": 2}"#]),
    );
    assert!(msg.contains("data.jsonl:1: key `a` appears twice"), "{msg}");
    let msg = error("jsonl-dup-tokens", "{\"tokens\": [1], \"tokens\": [2]}\n");
    assert!(msg.contains("key `tokens` appears twice"), "{msg}");
    let msg = error("jsonl-lengths", "{\"tokens\": [1], \"lengths\": 1}\n");
    assert!(
        msg.contains("data.jsonl:1: key `lengths` is reserved"),
        "{msg}"
    );
}

#[test]
fn mixed_kinds_name_both_lines() {
    let msg = error(
        "jsonl-mixed",
        &lines(&[
            r#"{"tokens": [1], "a": 1}"#,
            r#"{"tokens": [1], "a": 2}"#,
            r#"{"tokens": [1], "a": "x"}"#,
        ]),
    );
    assert!(
        msg.contains("column `a` is int in line 1 but string in line 3"),
        "{msg}"
    );
    let msg = error(
        "jsonl-mixed-scope",
        &lines(&[r#"{"tokens": [1], "a": [1]}"#, r#"{"tokens": [1], "a": 2}"#]),
    );
    assert!(
        msg.contains("column `a` is per-position int in line 1 but int in line 2"),
        "{msg}"
    );
    let msg = error(
        "jsonl-mixed-elems",
        &lines(&[r#"{"tokens": [1, 2], "a": [1, true]}"#]),
    );
    assert!(
        msg.contains("per-position int in line 1 but per-position bool in line 1"),
        "{msg}"
    );
}

#[test]
fn mixed_kinds_across_parallel_chunks() {
    // Lines past the first chunk are parsed by another task; the merge must still catch it.
    let mut ls: Vec<String> = (0..5000)
        .map(|i| format!("{{\"tokens\": [{i}], \"a\": {i}}}"))
        .collect();
    ls[4499] = "{\"tokens\": [1], \"a\": false}".into();
    let text: String = ls.iter().map(|l| format!("{l}\n")).collect();
    let msg = error("jsonl-mixed-chunks", &text);
    assert!(
        msg.contains("is int in line 1 but bool in line 4500"),
        "{msg}"
    );
    // And a good file of that size reads in order.
    ls[4499] = "{\"tokens\": [4499], \"a\": 4499}".into();
    let dir = TempDir::new("jsonl-chunks-ok");
    let ds = load(
        &dir,
        &ls.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    assert_eq!(ds.len(), 5000);
    assert_eq!(ds.tokens(DatumId(4321)), &[4321]);
    assert_eq!(ds.column("a").unwrap().int(DatumId(4999)), Some(4999));
}

#[test]
fn strings_merge_across_chunks_in_first_appearance_order() {
    let text: String = (0..5000)
        .map(|i| format!("{{\"tokens\": [1], \"s\": \"v{}\"}}\n", (5000 - i) / 1000))
        .collect();
    let dir = TempDir::new("jsonl-str-chunks");
    let ds = load(&dir, &text).unwrap();
    let Values::Str { dict, codes } = &ds.column("s").unwrap().values else {
        panic!("a string column")
    };
    assert_eq!(dict, &["v5", "v4", "v3", "v2", "v1", "v0"]);
    assert_eq!(codes.len(), 5000);
    assert_eq!(ds.column("s").unwrap().str(DatumId(4999)), Some("v0"));
}

#[test]
fn per_position_length_must_match_tokens() {
    let msg = error(
        "jsonl-poslen",
        &lines(&[r#"{"a": [1, 2], "tokens": [1, 2, 3]}"#]),
    );
    assert!(
        msg.contains("data.jsonl:1: column `a` has 2 per-position values but `tokens` has 3"),
        "{msg}"
    );
}

#[test]
fn values_that_are_not_values() {
    for (name, v, what) in [
        ("null", "null", "null is not a value"),
        ("object", "{\"x\": 1}", "an object is not a value"),
        (
            "big",
            "9223372036854775808",
            "9223372036854775808 does not fit in a 64-bit",
        ),
        ("nested", "[[1]]", "element 0 is an array"),
    ] {
        let msg = error(
            &format!("jsonl-value-{name}"),
            &format!("{{\"tokens\": [1], \"a\": {v}}}\n"),
        );
        assert!(
            msg.contains(&format!("data.jsonl:1: column `a`: {what}")),
            "{msg}"
        );
    }
}

#[test]
fn empty_file() {
    let msg = error("jsonl-empty", "\n\n");
    assert!(msg.contains("has no data"), "{msg}");
}

#[test]
fn check_tokens_names_datum_and_line() {
    let dir = TempDir::new("jsonl-check");
    let ds = load(
        &dir,
        &lines(&[
            r#"{"tokens": [1, 2]}"#,
            r#"{"tokens": [1, 9]}"#,
            r#"{"tokens": [1, 2, 3, 4]}"#,
        ]),
    )
    .unwrap();
    let msg = ds.check_tokens(9, 8).unwrap_err().to_string();
    assert!(
        msg.contains("datum 1 (line 2): token 9 at position 1 is not below d_vocab = 9"),
        "{msg}"
    );
    let msg = ds.check_tokens(10, 3).unwrap_err().to_string();
    assert!(
        msg.contains("datum 2 (line 3): 4 tokens, more than n_ctx = 3"),
        "{msg}"
    );
    ds.check_tokens(10, 4).unwrap();
}

#[test]
fn unknown_and_missing_paths() {
    let dir = TempDir::new("jsonl-paths");
    let p = dir.write("data.csv", "tokens\n1\n");
    let msg = Dataset::load(&p).unwrap_err().to_string();
    assert!(msg.contains("not a dataset"), "{msg}");
    let msg = Dataset::load(&dir.path().join("nope.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cannot read") && msg.contains("nope.jsonl"),
        "{msg}"
    );
}
