//! The binary on task directories: `scrub task export paren`, `task check` and `run`
//! through the task giving the built-in's floats, the registry's errors, and a join of
//! task files. Every file and the attack are compared in-process in tests/task_identity.rs.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const SHIPPED: [&str; 11] = [
    "0a", "0b", "1a", "1b", "2a", "2b", "3a", "3b", "3c", "3d", "4",
];

fn shipped(name: &str) -> String {
    format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

/// The paren task directory, exported once per test binary run.
fn paren_task() -> PathBuf {
    static TASK: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TASK.get_or_init(|| {
        let dir = temp_dir("paren-task").join("task");
        let data = data_dir();
        let o = scrub(&[
            "task",
            "export",
            "paren",
            dir.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    })
    .clone()
}

fn run_json(file: &str, extra: &[&str]) -> serde_json::Value {
    let data = data_dir();
    let mut args = vec![
        "run",
        file,
        "--samples",
        "200",
        "--seed",
        "5",
        "--executor",
        "cpu",
        "--json",
        "-q",
    ];
    if !file.contains("scrub-e2e") {
        args.extend(["--data-dir", data.to_str().unwrap()]);
    }
    args.extend(extra);
    json(&scrub(&args))
}

#[test]
fn scrub_run_gives_the_built_in_floats_through_the_task_directory() {
    // The binary end to end on one file; every file, the attack and induction are checked
    // in-process in tests/task_identity.rs.
    let task = paren_task();
    let check = json(&scrub(&[
        "task",
        "check",
        task.to_str().unwrap(),
        "--json",
        "-q",
    ]));
    assert_eq!(
        check["hypotheses"].as_array().unwrap().len(),
        SHIPPED.len(),
        "{check}"
    );
    let built_in = run_json(&shipped("2b"), &[]);
    let via_task = run_json(task.join("hypotheses/2b.ron").to_str().unwrap(), &[]);
    for k in [
        "/loss",
        "/stderr",
        "/accuracy",
        "/pct_recovered",
        "/low/loss",
        "/high/loss",
        "/groups/0/loss",
        "/groups/1/loss",
    ] {
        assert!(built_in.pointer(k).is_some(), "2b{k} missing: {built_in}");
        assert_eq!(
            built_in.pointer(k),
            via_task.pointer(k),
            "2b{k}: built-in {built_in}\ntask {via_task}"
        );
    }
    assert_eq!(via_task["scenario"], "task");
}

#[test]
fn a_scenario_that_is_neither_built_in_nor_a_task_is_a_clear_error() {
    let tmp = temp_dir("registry");
    let f = tmp.join("h.ron");
    std::fs::write(
        &f,
        r#"Hypothesis(scenario: "my_task", root: Node(name: "out", reads: ["out"]))"#,
    )
    .unwrap();
    let o = scrub(&["run", f.to_str().unwrap(), "-q"]);
    assert_clean_failure(
        &o,
        &[
            "scenario `my_task` is neither a built-in (paren, induction) nor a task directory",
            "task.ron",
        ],
    );
}

#[test]
fn options_a_task_does_not_read_are_refused_and_joins_keep_the_task_reachable() {
    let task = paren_task();
    let f = task.join("hypotheses/1b.ron");
    let o = scrub(&[
        "run",
        f.to_str().unwrap(),
        "--balanced-fraction",
        "0.3",
        "-q",
    ]);
    assert_clean_failure(&o, &["--balanced-fraction does not apply to scenario `..`"]);
    // The join is written elsewhere; its scenario still names the task, from there.
    let out = temp_dir("task-join").join("sub/j.ron");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let o = scrub(&[
        "join",
        f.to_str().unwrap(),
        task.join("hypotheses/1a.ron").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let scenario = text
        .lines()
        .find(|l| l.contains("scenario:"))
        .unwrap()
        .to_string();
    let rel = scenario.split('"').nth(1).unwrap();
    assert!(
        Path::new(out.parent().unwrap())
            .join(rel)
            .join("task.ron")
            .is_file(),
        "{scenario}"
    );
    let r = run_json(out.to_str().unwrap(), &[]);
    assert!(r["loss"].as_f64().unwrap().is_finite());
}
