//! The built-in paren scenario written as a task directory (`scrub task export paren`)
//! and run through the task path: every shipped hypothesis gives the built-in's numbers
//! exactly (the same floats), and the adversary plays the same rounds on 3c. This is the
//! proof that nothing paren-specific is left in the pipeline. Also: the registry's errors
//! and a join of task files.

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
fn every_shipped_hypothesis_gives_identical_numbers_through_the_task_directory() {
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
    for name in SHIPPED {
        let built_in = run_json(&shipped(name), &[]);
        let via_task = run_json(
            task.join(format!("hypotheses/{name}.ron"))
                .to_str()
                .unwrap(),
            &[],
        );
        for k in [
            "/loss",
            "/stderr",
            "/accuracy",
            "/pct_recovered",
            "/low/loss",
            "/high/loss",
            "/low/stderr",
            "/high/stderr",
            "/groups/0/loss",
            "/groups/1/loss",
        ] {
            let (a, b) = (built_in.pointer(k), via_task.pointer(k));
            assert!(a.is_some(), "{name}{k} missing: {built_in}");
            // The same floats, not close ones.
            assert_eq!(a, b, "{name}{k}: built-in {built_in}\ntask {via_task}");
        }
        assert_eq!(via_task["scenario"], "task");
    }
}

/// The report with per-position features spelt as the built-in spells them.
fn normalised(v: &serde_json::Value) -> String {
    let s = v.to_string();
    let mut out = String::new();
    let mut in_pos = false;
    for (i, c) in s.char_indices() {
        match c {
            '[' if s[..i].ends_with("horizon_at") || s[..i].ends_with("horizon_adj_at") => {
                in_pos = true;
                out.push('(')
            }
            ']' if in_pos => {
                in_pos = false;
                out.push(')')
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn the_adversary_plays_the_same_rounds_on_the_task_directory() {
    let task = paren_task();
    let data = data_dir();
    let out = temp_dir("paren-task-attack");
    let attack = |file: &str, with_data: bool| {
        let mut args = vec![
            "attack",
            file,
            "--budget",
            "2",
            "--samples",
            "200",
            "--executor",
            "cpu",
            "--json",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        if with_data {
            args.extend(["--data-dir", data.to_str().unwrap()]);
        }
        json(&scrub(&args))
    };
    let built_in = attack(&shipped("3c"), true);
    let via_task = attack(task.join("hypotheses/3c.ron").to_str().unwrap(), false);
    assert!(
        !built_in["rounds"].as_array().unwrap().is_empty()
            || !built_in["last_scan"].as_array().unwrap().is_empty()
    );
    for k in [
        "rounds",
        "last_scan",
        "final",
        "initial",
        "survives",
        "moves_available",
        "low",
        "high",
        "deciding_move",
    ] {
        assert_eq!(
            normalised(&built_in[k]),
            normalised(&via_task[k]),
            "{k} differs:\nbuilt-in {}\ntask {}",
            built_in[k],
            via_task[k]
        );
    }
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

#[test]
fn induction_hypotheses_give_identical_numbers_through_the_task_directory() {
    let dir = temp_dir("induction-task").join("task");
    let o = scrub(&["task", "export", "induction", dir.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A naive file and one conditioning on `typical_at` at every position, with patterns
    // recomputed from other inputs.
    for name in ["naive_q", "refined5_all"] {
        let run = |file: &Path| {
            let f = file.to_str().unwrap().to_string();
            json(&scrub(&[
                "run",
                &f,
                "--samples",
                "32",
                "--seed",
                "2",
                "--executor",
                "cpu",
                "--json",
                "-q",
            ]))
        };
        let built_in = run(&PathBuf::from(format!(
            "{}/induction/hypotheses/{name}.ron",
            env!("CARGO_MANIFEST_DIR")
        )));
        let via_task = run(&dir.join(format!("hypotheses/{name}.ron")));
        for k in [
            "/loss",
            "/stderr",
            "/pct_recovered",
            "/low/loss",
            "/high/loss",
        ] {
            assert!(
                built_in.pointer(k).is_some(),
                "{name}{k} missing: {built_in}"
            );
            assert_eq!(
                built_in.pointer(k),
                via_task.pointer(k),
                "{name}{k}: built-in {built_in}\ntask {via_task}"
            );
        }
    }
}
