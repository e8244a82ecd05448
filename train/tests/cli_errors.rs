//! `scrub-train` on bad input, through the real binary: clear one-line errors, no panics.

use std::process::{Command, Output};

fn train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scrub-train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("scrub-train runs")
}

fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

#[test]
fn missing_and_empty_corpus_directories() {
    let out = train(&[
        "tokenizer",
        "--corpus",
        "/nonexistent/corpus",
        "--out",
        "/tmp/x.json",
    ]);
    assert_clean_failure(
        &out,
        &["/nonexistent/corpus", "does not exist", "corpus.sh"],
    );
    let dir = std::env::temp_dir().join(format!("scrub-train-empty-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("train")).unwrap();
    let out = train(&[
        "tokenizer",
        "--corpus",
        dir.to_str().unwrap(),
        "--out",
        "/tmp/x.json",
    ]);
    assert_clean_failure(&out, &["no train documents"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tokenizer_file_that_is_not_one() {
    let dir = std::env::temp_dir().join(format!("scrub-train-badtok-{}", std::process::id()));
    for split in ["train", "validation"] {
        std::fs::create_dir_all(dir.join(split)).unwrap();
        std::fs::write(dir.join(split).join("a.txt"), "some text").unwrap();
    }
    let tok = dir.join("tokenizer.json");
    std::fs::write(&tok, "{}").unwrap();
    let out = train(&[
        "tokenize",
        "--corpus",
        dir.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--train-out",
        dir.join("t.u16").to_str().unwrap(),
        "--validation-out",
        dir.join("v.u16").to_str().unwrap(),
    ]);
    assert_clean_failure(&out, &["tokenizer", "tokenizer.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn repeat_options_that_copy_nothing() {
    let base = [
        "train",
        "--train-tokens",
        "/nonexistent/train.u16",
        "--validation-tokens",
        "/nonexistent/validation.u16",
        "--out",
        "/nonexistent/run",
        "--repeat-fraction",
        "0.5",
    ];
    let with = |extra: &[&str]| train(&[&base[..], extra].concat());
    assert_clean_failure(&with(&["--repeat-min-len", "1"]), &["--repeat-min-len 1"]);
    assert_clean_failure(
        &with(&["--repeat-min-len", "6", "--repeat-max-len", "4"]),
        &["--repeat-min-len 6", "--repeat-max-len 4"],
    );
    assert_clean_failure(
        &with(&["--repeats-per-window", "0"]),
        &["--repeats-per-window 0"],
    );
}
