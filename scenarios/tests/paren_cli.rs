//! `scrub paren` and `scrub run` end to end through the real binary: the write-up's
//! reproducible figures and orderings, CPU and GPU agreement, and bad hypothesis files.

mod common;

use common::*;
use scrub_kernels::test_context;

fn hypothesis(name: &str) -> String {
    format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_table_reproduces_the_write_up_on_its_balance() {
    let dir = data_dir();
    let out = temp_dir("table");
    let j = json(&scrub(&[
        "paren",
        "--data-dir",
        dir.to_str().unwrap(),
        "--balanced-fraction",
        "0.26",
        "--json",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(j["samples"], 2000);
    assert!((j["balanced_fraction"].as_f64().unwrap() - 0.26).abs() < 0.001);
    let rows = j["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["hypothesis"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["0a", "0b", "1a", "1b", "2a", "2b", "3a", "3b", "3c", "3d", "4"]
    );
    let get = |h: &str, k: &str| {
        rows.iter().find(|r| r["hypothesis"] == h).unwrap()[k]
            .as_f64()
            .unwrap()
    };

    // "On this model with the 26% subsample, the write-up's 0b, 1a and 1b figures are
    // reproducible within their error bars": within two combined standard errors.
    for (h, loss, se) in [("0b", 4.30, 0.12), ("1a", 0.52, 0.04), ("1b", 0.30, 0.03)] {
        let (ours, our_se) = (get(h, "loss"), get(h, "stderr"));
        assert!(
            (ours - loss).abs() <= 2.0 * (se * se + our_se * our_se).sqrt(),
            "{h}: {ours} ± {our_se} vs write-up {loss} ± {se}"
        );
    }
    assert!(get("0a", "pct_recovered") == 100.0 && get("0b", "pct_recovered") == 0.0);
    // The write-up's orderings of % loss recovered.
    let pct = |h: &str| get(h, "pct_recovered");
    assert!(pct("1b") > pct("1a"), "1b above 1a");
    assert!(
        pct("3c") > pct("3a") && pct("3d") > pct("3a"),
        "3c and 3d above 3a"
    );
    for h in ["1a", "1b", "2a", "2b", "3a", "3b", "3c", "3d"] {
        assert!(
            pct("4") < pct(h),
            "4 is the lowest of the 1-4 family (vs {h})"
        );
    }
    let md = std::fs::read_to_string(out.join("paren.md")).unwrap();
    assert!(
        md.contains("| 3c |") && md.contains("26.0% balanced"),
        "{md}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("paren.json")).unwrap()).unwrap();
    assert_eq!(saved["rows"], j["rows"]);
}

#[test]
fn run_reports_every_key_and_cpu_and_gpu_agree() {
    let dir = data_dir();
    let args = |ex: &'static str| {
        let h = hypothesis("2b");
        json(&scrub(&[
            "run",
            &h,
            "--data-dir",
            dir.to_str().unwrap(),
            "--samples",
            "300",
            "--seed",
            "3",
            "--executor",
            ex,
            "--json",
            "--quiet",
        ]))
    };
    let cpu = args("cpu");
    for k in [
        "loss",
        "stderr",
        "accuracy",
        "groups",
        "low",
        "high",
        "pct_recovered",
        "samples",
        "seed",
        "hypothesis",
    ] {
        assert!(!cpu[k].is_null(), "missing {k}: {cpu}");
    }
    assert_eq!(
        (
            cpu["samples"].as_u64(),
            cpu["seed"].as_u64(),
            cpu["hypothesis"].as_str()
        ),
        (Some(300), Some(3), Some("2b"))
    );
    if test_context().is_none() {
        return;
    }
    let gpu = args("gpu");
    assert_eq!(gpu["executor"], "gpu");
    for k in [
        "/loss",
        "/low/loss",
        "/high/loss",
        "/groups/0/loss",
        "/groups/1/loss",
    ] {
        let (a, b) = (
            cpu.pointer(k).and_then(|v| v.as_f64()).unwrap(),
            gpu.pointer(k).and_then(|v| v.as_f64()).unwrap(),
        );
        assert!((a - b).abs() <= 1e-4, "{k}: cpu {a} vs gpu {b}");
    }
}

#[test]
fn bad_hypothesis_files_are_clear_errors() {
    let dir = data_dir();
    let tmp = temp_dir("badhyp");
    let write = |name: &str, text: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let run = |p: &str| {
        scrub(&[
            "run",
            p,
            "--data-dir",
            dir.to_str().unwrap(),
            "--samples",
            "10",
            "--executor",
            "cpu",
            "--quiet",
        ])
    };

    let p = write(
        "syntax.ron",
        "Hypothesis(\n  scenario: \"paren\"\n  root: Node(name: \"out\", reads: [\"out\"]),\n)",
    );
    assert_clean_failure(&run(&p), &["syntax.ron:3:"]);

    let p = write(
        "feature.ron",
        r#"Hypothesis(scenario: "paren", root: Node(name: "out", feature: Some("is_balancd"), reads: ["out"]))"#,
    );
    assert_clean_failure(
        &run(&p),
        &[
            "feature.ron:1:",
            "unknown feature `is_balancd`",
            "is_balanced",
            "horizon_at",
        ],
    );

    let p = write(
        "term.ron",
        r#"Hypothesis(scenario: "paren", root: Node(name: "out", computes: Some("out"), inputs: [Node(name: "x", reads: ["3.0"])]))"#,
    );
    assert_clean_failure(&run(&p), &["term.ron:1:", "`3.0`", "2.1"]);

    let p = write(
        "scenario.ron",
        r#"Hypothesis(scenario: "parens", root: Node(name: "out", reads: ["out"]))"#,
    );
    assert_clean_failure(&run(&p), &["scenario `parens`", "paren"]);

    assert_clean_failure(&run("/nonexistent/h.ron"), &["/nonexistent/h.ron"]);
}
