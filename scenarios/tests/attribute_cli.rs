//! `scrub attribute` as a user runs it, on the example task: the three reports, every
//! candidate kind, attributions that add up as linearity says they must (a node's
//! attribution is the sum of its edges'), the same numbers for the same seed, and clear
//! errors for bad arguments.

mod common;

use std::collections::HashMap;

use common::*;

fn task() -> String {
    format!(
        "{}/../examples/tasks/first_last",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn attribute(out: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let t = task();
    let mut args = vec![
        "attribute",
        t.as_str(),
        "--samples",
        "24",
        "--seed",
        "3",
        "--json",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    json(&scrub(&args))
}

#[test]
fn reports_every_kind_and_edges_sum_to_their_node() {
    let dir = temp_dir("attribute");
    let report = attribute(&dir, &["--edges", "--positions", "0,3"]);
    for ext in ["md", "json", "svg"] {
        let p = dir.join(format!("attribution-first_last.{ext}"));
        assert!(p.is_file(), "{} was not written", p.display());
    }
    let svg = std::fs::read_to_string(dir.join("attribution-first_last.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<circle"));
    let cands = report["candidates"].as_array().unwrap();
    let by_name: HashMap<&str, &serde_json::Value> = cands
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c))
        .collect();
    for name in [
        "embed",
        "blocks.0.attn.head.1",
        "blocks.0.mlp",
        "resid into unembed",
        "resid into unembed @3",
        "embed -> blocks.0.attn.head.0.q",
    ] {
        assert!(by_name.contains_key(name), "no candidate {name}");
    }
    let groups: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    for g in [
        "head output",
        "MLP 0 output",
        "residual stream (one position)",
        "edge",
    ] {
        assert!(groups.contains(&g), "no group {g}: {groups:?}");
    }
    // ∂m/∂(node value) is the sum of the gradients of the ports reading it, so a node's
    // attribution is the sum of its outgoing edges' (per sample, hence in the mean).
    let attr = |c: &serde_json::Value| c["attribution"]["mean"].as_f64().unwrap();
    for c in cands.iter().filter(|c| c["kind"] == "node") {
        let name = c["name"].as_str().unwrap();
        let edges: f64 = cands
            .iter()
            .filter(|e| e["kind"] == "edge")
            .filter(|e| {
                e["name"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{name} -> "))
            })
            .map(attr)
            .sum();
        let node = attr(c);
        assert!(
            (node - edges).abs() <= 1e-5 * (1.0 + node.abs()),
            "{name}: node {node} vs its edges {edges}"
        );
        assert!(c["actual"]["mean"].as_f64().unwrap().is_finite());
    }
    // A constant node has nothing to attribute.
    let bias = by_name["blocks.0.attn.b_O"];
    assert_eq!(bias["constant"], true);
    // The same seed gives the same numbers.
    let again = attribute(
        &temp_dir("attribute-again"),
        &["--edges", "--positions", "0,3"],
    );
    assert_eq!(report["candidates"], again["candidates"]);
}

/// Every candidate's mean attribution and actual effect on `--executor gpu` (the WGSL
/// forward, recompute and backward kernels) agree with the CPU reference's.
#[test]
fn on_the_gpu_it_gives_the_cpus_numbers() {
    let Some(_ctx) = scrub_kernels::test_context() else {
        return;
    };
    let dir = temp_dir("attribute-gpu");
    let extra = ["--edges", "--positions", "0,3"];
    let cpu = attribute(&dir, &[&extra[..], &["--executor", "cpu"]].concat());
    let gpu = attribute(&dir, &[&extra[..], &["--executor", "gpu"]].concat());
    assert_eq!(cpu["executor"], "cpu");
    assert_eq!(gpu["executor"], "gpu");
    let (c, g) = (
        cpu["candidates"].as_array().unwrap(),
        gpu["candidates"].as_array().unwrap(),
    );
    assert_eq!(c.len(), g.len());
    let mut moved = 0;
    for (a, b) in c.iter().zip(g) {
        assert_eq!(a["name"], b["name"]);
        for field in ["attribution", "actual"] {
            let (x, y) = (
                a[field]["mean"].as_f64().unwrap(),
                b[field]["mean"].as_f64().unwrap(),
            );
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "{} {field}: cpu {x} vs gpu {y}",
                a["name"]
            );
            moved += usize::from(x.abs() > 1e-3);
        }
    }
    assert!(
        moved > 10,
        "only {moved} figures differ from 0: nothing was compared"
    );
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = temp_dir("attribute-bad");
    let out = dir.to_str().unwrap();
    let t = task();
    assert_clean_failure(
        &scrub(&["attribute", "--out", out]),
        &["task directory or built-in scenario"],
    );
    assert_clean_failure(
        &scrub(&["attribute", &t, "--positions", "99", "--out", out]),
        &["position 99 is outside"],
    );
    assert_clean_failure(
        &scrub(&["attribute", &t, "--positions", "x", "--out", out]),
        &["`x` is not a position"],
    );
    assert_clean_failure(
        &scrub(&["attribute", "no_such_task", "--out", out]),
        &["neither a built-in"],
    );
    assert_clean_failure(
        &scrub(&[
            "attribute",
            &t,
            "--agree",
            "no_feature",
            "--samples",
            "4",
            "--out",
            out,
        ]),
        &["no_feature"],
    );
}
