//! The committed example task `examples/tasks/first_last` (a TransformerLens model, its data
//! and two hypotheses, made by its `make_task.py`), through the real binary as the README's
//! "Scrub your own model" runs it: the task checks, the model beats the random baseline, the
//! right hypothesis recovers far more than the wrong one, and the adversary breaks only the
//! wrong one.

mod common;

use common::*;

const TASK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tasks/first_last");

fn hypothesis(name: &str) -> String {
    format!("{TASK}/hypotheses/{name}.ron")
}

fn run(name: &str, seed: &str) -> serde_json::Value {
    json(&scrub(&[
        "run",
        &hypothesis(name),
        "--samples",
        "400",
        "--seed",
        seed,
        "--json",
        "--executor",
        "cpu",
    ]))
}

#[test]
fn the_example_task_checks_and_its_model_beats_random() {
    let out = scrub(&["task", "check", TASK]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "task check failed: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    for h in ["match.ron", "copy.ron"] {
        assert!(
            text.lines().any(|l| l.starts_with("ok") && l.ends_with(h)),
            "task check does not say {h} is ok: {text}"
        );
    }
    let eval = json(&scrub(&[
        "eval",
        "--task",
        TASK,
        "--json",
        "--executor",
        "cpu",
    ]));
    assert_eq!(eval["data"].as_u64(), Some(3000));
    let loss = eval["loss"].as_f64().unwrap();
    let random = run("match", "0")["high"]["loss"].as_f64().unwrap();
    // The model is near perfect (2e-5 nats measured); the random datum costs ~5 nats.
    assert!(
        loss < 0.01 && loss < random / 100.0,
        "model loss {loss} vs random {random}"
    );
}

#[test]
fn the_right_hypothesis_recovers_far_more_than_the_wrong_one() {
    // Measured at 400 samples, seeds 0..8: match 100.0% every time, copy between −2.2% and
    // 20.3%. Asserted: match ≥ 95% and at least 50 points above copy, at two seeds.
    for seed in ["0", "3"] {
        let good = run("match", seed)["pct_recovered"].as_f64().unwrap();
        let bad = run("copy", seed)["pct_recovered"].as_f64().unwrap();
        assert!(good >= 95.0, "seed {seed}: match recovers {good}%");
        assert!(
            good - bad >= 50.0,
            "seed {seed}: match {good}% vs copy {bad}%: no clear margin"
        );
    }
}

#[test]
fn the_adversary_breaks_the_wrong_hypothesis_only() {
    let tmp = temp_dir("example-task");
    let attack = |name: &str| {
        let out = tmp.join(name);
        let o = scrub(&[
            "attack",
            &hypothesis(name),
            "--budget",
            "2",
            "--samples",
            "300",
            "--executor",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "attack on {name} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(out.join(format!("attack-{name}.json"))).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let good = attack("match");
    assert_eq!(good["survives"], serde_json::Value::Bool(true), "{good}");
    let bad = attack("copy");
    assert_eq!(bad["survives"], serde_json::Value::Bool(false), "{bad}");
    // The deciding move is the fix: the heads' outputs depend on the last token too.
    let fix = bad["deciding_move"]["move"]["description"]
        .as_str()
        .unwrap();
    assert!(fix.contains("out/heads"), "deciding move: {fix}");
    let _ = std::fs::remove_dir_all(&tmp);
}
