//! Answers a user can trust, through the real binary: no figure from fewer than two samples,
//! no % recovered from a range that may be noise, no option silently ignored, the table
//! read from the files a user edits.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const PAREN_1B: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/paren/hypotheses/1b.ron");
const INDUCTION_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/induction/hypotheses/refined1_q.ron"
);

fn data() -> String {
    data_dir().to_str().unwrap().to_string()
}

#[test]
fn fewer_than_two_samples_are_refused_by_every_command() {
    let d = data();
    for n in ["0", "1"] {
        let cases: Vec<Vec<&str>> = vec![
            vec!["run", PAREN_1B, "--samples", n, "--data-dir", &d],
            vec!["attack", PAREN_1B, "--samples", n, "--data-dir", &d],
            vec!["paren", "--samples", n, "--data-dir", &d],
            vec!["eval", "--limit", n, "--data-dir", &d],
            vec!["induction", "--samples", n],
            vec!["counterexample", "inhibition", "--samples", n],
            vec!["experiments", "--samples", n, "--data-dir", &d],
        ];
        for args in cases {
            let o = scrub(&args);
            assert_clean_failure(&o, &["at least 2"]);
            assert!(o.stdout.is_empty(), "{args:?} printed a result");
        }
    }
    // A file's own `samples: 1` is refused too, naming the file.
    let tmp = temp_dir("one-sample");
    let text = std::fs::read_to_string(PAREN_1B).unwrap().replace(
        "scenario: \"paren\",",
        "scenario: \"paren\",\n    samples: 1,",
    );
    let f = tmp.join("one.ron");
    std::fs::write(&f, text).unwrap();
    let o = scrub(&["run", f.to_str().unwrap(), "--data-dir", &d]);
    assert_clean_failure(&o, &["one.ron", "samples: 1", "at least 2"]);
}

#[test]
fn a_pool_without_a_clear_gap_gives_no_percentage() {
    // 0.0001 balanced keeps 5 balanced sequences among 53,983: 0b cannot lose clearly more
    // than 0a, and the old ratio of two near-zero numbers came out at −51,130%.
    let o = scrub(&[
        "run",
        PAREN_1B,
        "--balanced-fraction",
        "0.0001",
        "--samples",
        "200",
        "--executor",
        "cpu",
        "--json",
        "--quiet",
        "--data-dir",
        &data(),
    ]);
    let j = json(&o);
    assert!(j["pct_recovered"].is_null(), "{j}");
    assert!(j["loss"].as_f64().unwrap().is_finite());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("% loss recovered is undefined"), "{err}");
    assert!(
        err.contains("only 5 data with `is_balanced` = balanced (1)"),
        "{err}"
    );
    // No balanced reference was drawn: the breakdown has no balanced row (not a loss of 0).
    let groups = j["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| g["code"] != 1), "{j}");
    assert!(groups.iter().any(|g| g["code"] == 0), "{j}");

    // The terminal table says "undefined" rather than a number.
    let o = scrub(&[
        "run",
        PAREN_1B,
        "--balanced-fraction",
        "0.0001",
        "--samples",
        "200",
        "--executor",
        "cpu",
        "--quiet",
        "--data-dir",
        &data(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("undefined of the loss"), "{out}");

    // A healthy pool still gets its percentage.
    let j = json(&scrub(&[
        "run",
        PAREN_1B,
        "--samples",
        "200",
        "--executor",
        "cpu",
        "--json",
        "--quiet",
        "--data-dir",
        &data(),
    ]));
    assert!(j["pct_recovered"].as_f64().unwrap() > 50.0, "{j}");
}

#[test]
fn a_negative_fraction_is_a_bad_value_not_an_unknown_option() {
    for v in ["-0.1", "0", "1", "1.5", "x"] {
        let o = scrub(&[
            "run",
            PAREN_1B,
            "--balanced-fraction",
            v,
            "--data-dir",
            &data(),
        ]);
        assert_clean_failure(&o, &[&format!("'{v}' for '--balanced-fraction")]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("unexpected argument"), "{err}");
    }
    let o = scrub(&[
        "paren",
        "--balanced-fraction",
        "-0.1",
        "--data-dir",
        &data(),
    ]);
    assert_clean_failure(&o, &["-0.1 is not a fraction"]);
}

#[test]
fn options_a_scenario_does_not_read_are_refused() {
    let d = data();
    let o = scrub(&["run", PAREN_1B, "--model-dir", "/tmp", "--data-dir", &d]);
    assert_clean_failure(
        &o,
        &["--model-dir does not apply to scenario `paren`", "1b.ron"],
    );
    let o = scrub(&["attack", PAREN_1B, "--model-dir", "/tmp", "--data-dir", &d]);
    assert_clean_failure(&o, &["--model-dir does not apply"]);
    let o = scrub(&["run", INDUCTION_FILE, "--balanced-fraction", "0.26"]);
    assert_clean_failure(
        &o,
        &["--balanced-fraction does not apply to scenario `induction`"],
    );
    let o = scrub(&["run", INDUCTION_FILE, "--data-dir", &d]);
    assert_clean_failure(&o, &["--data-dir does not apply to scenario `induction`"]);
}

#[test]
fn an_empty_scrub_data_counts_as_unset() {
    let o = Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(["eval", "--limit", "10"])
        .env("SCRUB_DATA", "")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_clean_failure(&o, &["no data directory"]);
    // And a set one is used without the flag.
    let o = Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(["eval", "--limit", "10", "--executor", "cpu", "--json"])
        .env("SCRUB_DATA", data())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(json(&o)["n"], 10);
}

#[test]
fn quiet_is_accepted_by_every_subcommand() {
    let subcommands: &[&[&str]] = &[
        &["eval"],
        &["run"],
        &["paren"],
        &["attack"],
        &["counterexample"],
        &["experiments"],
        &["join"],
        &["induction"],
        &["induction", "heads"],
        &["induction", "subset"],
        &["induction", "hypotheses"],
    ];
    for sub in subcommands {
        for q in ["-q", "--quiet"] {
            let mut args = sub.to_vec();
            args.extend([q, "--help"]);
            let o = scrub(&args);
            assert!(
                o.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// Copies the committed paren hypothesis files into a fresh folder.
fn copy_hypotheses(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name).join("hypotheses");
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("paren/hypotheses");
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn the_paren_table_reads_the_hypothesis_files_a_user_edits() {
    let dir = copy_hypotheses("edited-table");
    // 1b becomes the randomized baseline: its row must then equal 0b's, sample for sample.
    let zero_b = std::fs::read_to_string(dir.join("0b.ron")).unwrap();
    std::fs::write(dir.join("1b.ron"), zero_b).unwrap();
    let out = dir.parent().unwrap().join("out");
    let j = json(&scrub(&[
        "paren",
        "--hypotheses",
        dir.to_str().unwrap(),
        "--samples",
        "30",
        "--executor",
        "cpu",
        "--json",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        &data(),
    ]));
    let row = |h: &str| {
        j["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["hypothesis"] == h)
            .unwrap_or_else(|| panic!("no row {h}: {j}"))
            .clone()
    };
    assert_eq!(row("1b")["loss"], row("0b")["loss"]);
    assert_ne!(row("1b")["loss"], row("1a")["loss"]);
    assert_eq!(j["hypotheses"], dir.to_str().unwrap());

    // A broken file is found before any scrubbing, with its path and position.
    std::fs::write(
        dir.join("3c.ron"),
        "Hypothesis(scenario: \"paren\", root: Nod(",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args([
            "paren",
            "--hypotheses",
            dir.to_str().unwrap(),
            "--samples",
            "30",
            "--quiet",
        ])
        .args(["--out", out.to_str().unwrap(), "--data-dir", &data()])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_clean_failure(&o, &["3c.ron:1:"]);
    let err = String::from_utf8_lossy(&o.stderr);
    // The table logs `scrubbing hypothesis="0a"` as it starts on the first row.
    assert!(
        !err.contains("\"0a\""),
        "work started before the check: {err}"
    );
}

#[test]
fn sneaking_knowledge_says_how_many_samples_it_needs() {
    let o = scrub(&["counterexample", "sneaking-knowledge", "--samples", "10"]);
    assert_clean_failure(
        &o,
        &["sneaking-knowledge needs at least 800 samples", "got 10"],
    );
}
