//! `scrub counterexample`: each of the write-up's counterexamples through the real binary,
//! with the outcome the write-up describes asserted.

mod common;

use common::*;

fn play(name: &str, extra: &[&str]) -> serde_json::Value {
    let out = temp_dir(&format!("ce-{name}"));
    let out_s = out.to_str().unwrap().to_string();
    let mut args = vec!["counterexample", name, "--json", "--quiet", "--out", &out_s];
    args.extend(extra);
    let j = json(&scrub(&args));
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("counterexample-{name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(saved[0]["naive_pct"], j["naive_pct"]);
    assert!(out.join(format!("counterexample-{name}.md")).is_file());
    for key in [
        "name",
        "naive_pct",
        "adversary_pct",
        "truth_pct",
        "exposed",
        "moves_tried",
    ] {
        assert!(j.get(key).is_some(), "missing `{key}`: {j}");
    }
    j
}

fn f(j: &serde_json::Value, key: &str) -> f64 {
    j[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number: {j}"))
}

/// The datum each node of the first applied move's tree follows, by node path.
fn first_ties(j: &serde_json::Value) -> Vec<(String, String)> {
    j["attack"]["rounds"][0]["move"]["ties"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    (
                        t["follower"].as_str().unwrap().to_string(),
                        t["leader"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn polysemanticity_halves_sampled_apart_look_better_than_the_model_until_tied() {
    let j = play("polysemanticity", &[]);
    let (naive, truth, se) = (
        f(&j, "naive_pct"),
        f(&j, "truth_pct"),
        f(&j, "naive_stderr"),
    );
    // The honest hypothesis recovers about the model's loss; the dishonest split beats the
    // model itself.
    assert!((truth - 100.0).abs() < 4.0, "honest {truth}");
    assert!(
        naive > 100.0 + 3.0 * se && naive > truth + 3.0,
        "naive {naive} ± {se}"
    );
    assert_eq!(j["exposed"], true);
    // The adversary's move samples the two halves on one datum.
    let ties = first_ties(&j);
    let leader = |n: &str| {
        ties.iter()
            .find(|(f, _)| f == n)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| n.to_string())
    };
    assert_eq!(
        leader("ỹ/half2"),
        if leader("ỹ/half1") == "ỹ/half1" {
            "ỹ/half1".to_string()
        } else {
            leader("ỹ/half1")
        },
        "{ties:?}"
    );
    let after = f(&j["attack"]["rounds"][0], "pct_recovered");
    assert!(
        (after - truth).abs() < 6.0,
        "after the tie {after}, honest {truth}"
    );
}

#[test]
fn sneaking_knowledge_scores_far_above_the_model_until_joined_with_the_mode() {
    let j = play("sneaking-knowledge", &[]);
    assert!(f(&j, "naive_pct") > 150.0, "{j}");
    assert_eq!(j["exposed"], true);
    let mv = &j["attack"]["rounds"][0]["move"];
    assert_eq!(mv["kind"], "refine_feature", "{mv}");
    assert_eq!(mv["feature"], "mode");
    assert!(
        (f(&j, "adversary_pct") - f(&j, "truth_pct")).abs() < 5.0,
        "{j}"
    );
}

#[test]
fn inhibition_ignored_scores_100_until_the_inhibitory_term_is_made_important() {
    let j = play("inhibition", &[]);
    assert!((f(&j, "naive_pct") - 100.0).abs() < 1.0, "{j}");
    assert!(j["truth_pct"].is_null());
    assert_eq!(j["exposed"], true);
    let first = &j["attack"]["rounds"][0];
    assert_eq!(first["move"]["kind"], "make_important", "{first}");
    assert_eq!(first["move"]["family"], "logit/inhibitory");
    let (d, se) = (f(first, "delta"), f(first, "delta_stderr"));
    assert!(d.abs() > 10.0 * se, "{d} ± {se}");
}

#[test]
fn paren_washout_the_adversary_brings_3c_back_to_3a() {
    let dir = data_dir();
    let dir = dir.to_str().unwrap();
    let j = play(
        "paren-washout",
        &[
            "--data-dir",
            dir,
            "--samples",
            "1000",
            "--budget",
            "2",
            "--executor",
            "cpu",
        ],
    );
    let also = j["also"].as_array().unwrap();
    assert_eq!(
        (
            also[0]["hypothesis"].as_str(),
            also[1]["hypothesis"].as_str()
        ),
        (Some("3a"), Some("3d"))
    );
    let (p3a, se3a, p3d) = (
        f(&also[0], "pct_recovered"),
        f(&also[0], "pct_stderr"),
        f(&also[1], "pct_recovered"),
    );
    let p3c = f(&j, "naive_pct");
    assert!(p3c > p3a && p3d > p3a, "3a {p3a}, 3c {p3c}, 3d {p3d}");
    assert_eq!(f(&j, "truth_pct"), p3a);
    let a = &j["attack"];
    let first = &a["rounds"][0];
    assert_eq!(first["move"]["kind"], "tie_row_groups", "{first}");
    assert_eq!(first["move"]["parent_family"], "out/2.1");
    let ties = first_ties(&j);
    for i in 1..=41 {
        for fam in ["mlp0", "mlp1", "rest"] {
            let tie = (format!("out/2.1/{fam}[{i}]"), format!("out/2.1/a0[{i}]"));
            assert!(ties.contains(&tie), "missing {tie:?}");
        }
    }
    // The paired difference is measured, well beyond its error bar and the tolerance...
    let (delta, dse) = (f(first, "delta"), f(first, "delta_stderr"));
    assert!(delta < -3.0 && delta < -3.0 * dse, "{delta} ± {dse}");
    // ... and the result is 3a's score within error bars (3c tied is 3a's distribution,
    // drawn from other streams, so the comparison is unpaired).
    let scale = 100.0 / (f(&a["high"], "loss") - f(&a["low"], "loss"));
    let after = f(first, "pct_recovered");
    let after_se = f(first, "stderr") * scale;
    assert!(
        (after - p3a).abs() <= 2.0 * (se3a * se3a + after_se * after_se).sqrt(),
        "after the move {after} ± {after_se}, 3a {p3a}"
    );
    assert_eq!(j["exposed"], true);
    assert!(f(&j, "moves_tried") >= 10.0);
}

#[test]
fn bad_counterexample_input_gets_clear_errors() {
    let out = scrub(&["counterexample", "telepathy"]);
    assert_clean_failure(&out, &["telepathy", "polysemanticity", "all"]);
    let out = scrub(&["counterexample", "inhibition", "--budget", "0"]);
    assert_clean_failure(&out, &["--budget must be at least 1"]);
    let out = scrub(&["counterexample", "paren-washout"]);
    assert_clean_failure(&out, &["--data-dir"]);
}

/// The main job at 80 samples (the fewest at which every counterexample's baselines are
/// apart; each part's numbers are tested at their own sizes elsewhere): every part (the
/// ground-truth suite too) runs and writes its reports, except sneaking-knowledge, which
/// needs 800 samples and says so; the exit code says a part failed.
#[test]
fn one_command_reruns_every_documented_experiment() {
    let dir = data_dir();
    let out = temp_dir("experiments");
    let o = scrub(&[
        "experiments",
        "--data-dir",
        dir.to_str().unwrap(),
        "--samples",
        "80",
        "--executor",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(
        &o,
        &[
            "1 of 4 failed",
            "sneaking-knowledge needs at least 800 samples",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    for needle in ["3c", "polysemanticity", "inhibition", "paren-washout"] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    for f in [
        "paren.md",
        "paren.json",
        "induction.md",
        "induction.json",
        "counterexamples.md",
        "counterexamples.json",
        "groundtruth.md",
        "groundtruth.json",
    ] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("counterexamples.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["paren-washout", "polysemanticity", "inhibition"]);
}
