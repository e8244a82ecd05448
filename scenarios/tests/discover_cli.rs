//! `scrub discover` as a user runs it, on programs of the ground-truth suite (which checks
//! every program's discovery itself, in `groundtruth.rs`): the found hypothesis holds the
//! true circuit's heads and MLPs (F1 ≥ 0.9), keeps the threshold, survives the adversary,
//! and its written file scores the same when run on its own; the same seed finds the same
//! file; a spent budget still leaves a valid hypothesis; bad arguments fail before any
//! work, writing nothing.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn program(name: &str) -> String {
    format!("{}/groundtruth/tasks/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn discover(target: &str, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "discover",
        target,
        "--executor",
        "cpu",
        "--json",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    json(&scrub(&args))
}

fn found_file(out: &Path, name: &str) -> PathBuf {
    out.join(format!("found-{name}.ron"))
}

#[test]
fn finds_the_true_circuit_writes_it_and_it_survives() {
    for (name, samples) in [("hist", "300"), ("reverse", "300"), ("shuffle_dyck", "200")] {
        let out = temp_dir(&format!("discover-{name}"));
        let r = discover(&program(name), &out, &["--samples", samples]);
        let d = &r["discovery"];
        let truth = &r["truth"];
        let f1 = truth["f1"].as_f64().unwrap();
        assert!(
            f1 >= 0.9,
            "{name}: F1 {f1}: true {} found {}",
            truth["true_components"],
            truth["found_components"]
        );
        let pct = d["score"]["pct_recovered"].as_f64().unwrap();
        assert!(pct >= 90.0, "{name}: {pct}% recovered");
        assert!(
            r["attack"]["survives"].as_bool().unwrap(),
            "{name}: exposed"
        );
        assert!(!d["exhausted"].as_bool().unwrap());
        // Nodes whose component computes a known variable either agree on it (or an
        // equivalent) or on something the scrubs showed enough; never on nothing at all.
        for f in truth["features"].as_array().unwrap() {
            assert!(
                f["chosen"].is_string() || f["relation"] == "finer",
                "{name}: {f}"
            );
        }
        // The file on disk is the hypothesis that was scored: run alone, the same figure.
        let file = found_file(&out, name);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("// Found by `scrub discover`"), "{text}");
        assert!(text.contains("// agrees with its parent on"), "{text}");
        let run = json(&scrub(&[
            "run",
            file.to_str().unwrap(),
            "--executor",
            "cpu",
            "--json",
            "-q",
        ]));
        let again = run["pct_recovered"].as_f64().unwrap();
        assert!(
            (again - pct).abs() < 1e-6,
            "{name}: run gives {again}%, discover {pct}%"
        );
        for report in ["md", "json"] {
            assert!(out.join(format!("discover-{name}.{report}")).is_file());
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn the_same_seed_finds_the_same_file_and_a_spent_budget_still_gives_a_valid_one() {
    let a = temp_dir("discover-seed-a");
    let b = temp_dir("discover-seed-b");
    let args = ["--samples", "120", "--seed", "3", "--no-attack"];
    let ra = discover(&program("sort_unique"), &a, &args);
    let rb = discover(&program("sort_unique"), &b, &args);
    let fa = std::fs::read_to_string(found_file(&a, "sort_unique")).unwrap();
    let fb = std::fs::read_to_string(found_file(&b, "sort_unique")).unwrap();
    assert_eq!(fa, fb);
    assert_eq!(ra["discovery"]["trials"], rb["discovery"]["trials"]);
    assert!(ra["attack"].is_null());

    let c = temp_dir("discover-budget");
    let r = discover(
        &program("sort_unique"),
        &c,
        &["--samples", "120", "--budget", "6", "--no-attack"],
    );
    let d = &r["discovery"];
    assert!(d["exhausted"].as_bool().unwrap());
    assert_eq!(d["scrubs"].as_u64().unwrap(), 6);
    let text = std::fs::read_to_string(found_file(&c, "sort_unique")).unwrap();
    assert!(text.contains("budget"), "{text}");
    let run = json(&scrub(&[
        "run",
        found_file(&c, "sort_unique").to_str().unwrap(),
        "--executor",
        "cpu",
        "--json",
        "-q",
    ]));
    let pct = run["pct_recovered"].as_f64().unwrap();
    assert!(pct >= 90.0, "{pct}");
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn on_paren_one_level_deep_it_matches_1b_with_as_few_heads() {
    // The write-up's 1b reads three heads plainly; the search at --depth 1 reads the
    // output's inputs plainly too, so the two are comparable node for node, on the same
    // references and draws (same samples and seed).
    let data = data_dir();
    let data = data.to_str().unwrap();
    let out = temp_dir("discover-paren");
    let r = discover(
        "paren",
        &out,
        &[
            "--data-dir",
            data,
            "--depth",
            "1",
            "--threshold",
            "95",
            "--samples",
            "300",
            "--no-attack",
        ],
    );
    let d = &r["discovery"];
    let components = d["components"].as_array().unwrap();
    assert!(components.len() <= 3, "{components:?}");
    let found = d["score"]["pct_recovered"].as_f64().unwrap();
    let hb = format!("{}/paren/hypotheses/1b.ron", env!("CARGO_MANIFEST_DIR"));
    let b = json(&scrub(&[
        "run",
        &hb,
        "--data-dir",
        data,
        "--samples",
        "300",
        "--executor",
        "cpu",
        "--json",
        "-q",
    ]));
    let b = b["pct_recovered"].as_f64().unwrap();
    assert!(found >= b, "found {found}% vs 1b {b}%");
    let text = std::fs::read_to_string(found_file(&out, "paren")).unwrap();
    assert!(text.contains("stops at this depth"), "{text}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn bad_arguments_fail_before_any_work_and_write_nothing() {
    let out = temp_dir("discover-bad");
    let reports = out.join("reports");
    let r = reports.to_str().unwrap();
    let hist = program("hist");
    for (args, needle) in [
        (vec!["--threshold", "NaN"], "--threshold"),
        (vec!["--budget", "0"], "--budget must be at least 1"),
        (vec!["--attack-budget", "0"], "--attack-budget"),
        (vec!["--tolerance=-1"], "--tolerance"),
        (vec!["--depth", "0"], "--depth"),
        (vec!["-o", "/proc/found.ron"], "/proc"),
    ] {
        let mut all = vec!["discover", hist.as_str(), "-q", "--out", r];
        all.extend(args);
        assert_clean_failure(&scrub(&all), &[needle]);
        assert!(!reports.exists(), "{all:?} left {}", reports.display());
    }
    let o = scrub(&["discover", "no_such_task", "-q", "--out", r]);
    assert_clean_failure(&o, &["neither a built-in", "task.ron"]);
    let o = scrub(&["discover", "paren", "-q", "--out", r]);
    assert_clean_failure(&o, &["SCRUB_DATA"]);
    assert!(!reports.exists());
    let _ = std::fs::remove_dir_all(&out);
}
