//! `scrub join`: two hypothesis files joined into one that `scrub run` takes, features
//! becoming tuples where both name one, and clear errors for files that cannot be joined.

mod common;

use common::*;

fn shipped(name: &str) -> String {
    format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

/// 1b with 2.1 agreeing on `count` instead of `horizon` and 1.0 unimportant.
fn variant(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(shipped("1b")).unwrap();
    let text = text
        .replace(
            r#"Node(name: "2.1", feature: Some("horizon"), reads: ["2.1"])"#,
            r#"Node(name: "2.1", feature: Some("count"), reads: ["2.1"])"#,
        )
        .replace(
            r#"Node(name: "1.0", feature: Some("count_open"), reads: ["1.0"])"#,
            r#"Node(name: "1.0", reads: ["1.0"])"#,
        );
    let p = dir.join("1b_variant.ron");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn joined_files_keep_what_either_claims_and_run() {
    let data = data_dir();
    let data = data.to_str().unwrap();
    let tmp = temp_dir("join");
    let other = variant(&tmp);
    let out = tmp.join("joined.ron");
    let out_s = out.to_str().unwrap();
    let first = shipped("1b");
    let j = json(&scrub(&[
        "join",
        &first,
        &other,
        "-o",
        out_s,
        "--data-dir",
        data,
        "--json",
    ]));
    assert_eq!(j["written"], out_s);
    let text = std::fs::read_to_string(&out).unwrap();
    // 2.1: both features (a tuple); 1.0: important in 1b, so important in the join.
    assert!(
        text.contains(r#"feature: Some("horizon & count")"#),
        "{text}"
    );
    assert!(
        text.contains(r#"Node(name: "1.0", feature: Some("count_open")"#),
        "{text}"
    );
    let r = json(&scrub(&[
        "run",
        out_s,
        "--data-dir",
        data,
        "--samples",
        "300",
        "--executor",
        "cpu",
        "--quiet",
        "--json",
    ]));
    assert!(r["pct_recovered"].as_f64().unwrap().is_finite());
    // Joining again with either input changes nothing.
    let again = tmp.join("again.ron");
    json(&scrub(&[
        "join",
        out_s,
        &other,
        "-o",
        again.to_str().unwrap(),
        "--data-dir",
        data,
        "--json",
    ]));
    let body = |t: &str| t[t.find("root:").unwrap()..].to_string();
    assert_eq!(body(&std::fs::read_to_string(&again).unwrap()), body(&text));
}

#[test]
fn files_that_cannot_be_joined_get_clear_errors() {
    let data = data_dir();
    let data = data.to_str().unwrap();
    let tmp = temp_dir("join-bad");
    let out = tmp.join("never.ron");
    let out_s = out.to_str().unwrap();
    let elsewhere = tmp.join("other_scenario.ron");
    let text = std::fs::read_to_string(shipped("1b"))
        .unwrap()
        .replace(r#"scenario: "paren""#, r#"scenario: "induction""#);
    std::fs::write(&elsewhere, text).unwrap();
    let first = shipped("1b");
    let o = scrub(&[
        "join",
        &first,
        elsewhere.to_str().unwrap(),
        "-o",
        out_s,
        "--data-dir",
        data,
    ]);
    assert_clean_failure(&o, &["`paren`", "`induction`", "one scenario"]);
    // Different splits of the same node: named.
    let o = scrub(&[
        "join",
        &shipped("3a"),
        &shipped("3c"),
        "-o",
        out_s,
        "--data-dir",
        data,
    ]);
    assert_clean_failure(&o, &["split differently"]);
    assert!(!out.exists(), "nothing is written on failure");
}
