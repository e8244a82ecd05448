//! `scrub eval` end to end on the real paren model, through the real binary.

mod common;

use common::*;

#[test]
fn cpu_eval_of_all_sequences_reproduces_the_known_figures() {
    let dir = data_dir();
    let out = scrub(&[
        "eval",
        "--scenario",
        "paren",
        "--data-dir",
        dir.to_str().unwrap(),
        "--executor",
        "cpu",
        "--json",
        "--quiet",
    ]);
    let j = json(&out);
    assert_eq!(j["n"], 100_000);
    let loss = j["loss"].as_f64().unwrap();
    assert!(
        (loss - 0.00028).abs() < 0.00001,
        "loss {loss}, known ≈ 0.00028"
    );
    assert_eq!(
        j["errors"], 7,
        "the write-up's model gets 7 of the 100,000 wrong"
    );
    assert!((j["accuracy"].as_f64().unwrap() - 0.99993).abs() < 1e-9);
    assert_eq!(j["executor"], "cpu");
    assert!(j["adapter"].is_null());
}

#[test]
fn limit_and_env_data_dir() {
    let dir = data_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(["eval", "--executor", "cpu", "--json", "--limit", "500"])
        .env("SCRUB_DATA", &dir)
        .output()
        .unwrap();
    let j = json(&out);
    assert_eq!(j["n"], 500);
    assert!(j["loss"].as_f64().unwrap() >= 0.0);
}

#[test]
fn table_output_names_loss_and_accuracy() {
    let dir = data_dir();
    let out = scrub(&[
        "eval",
        "--data-dir",
        dir.to_str().unwrap(),
        "--executor",
        "cpu",
        "--limit",
        "300",
    ]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("loss") && s.contains("accuracy") && s.contains("300"),
        "{s}"
    );
}

#[test]
fn missing_data_dir_is_a_clear_error() {
    let out = scrub(&[
        "eval",
        "--data-dir",
        "/nonexistent/scrub-data",
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["/nonexistent/scrub-data", "--data-dir"]);
    let out = scrub(&["eval", "--executor", "cpu"]);
    assert_clean_failure(&out, &["SCRUB_DATA"]);
}

#[test]
fn missing_weights_file_is_named() {
    let d = temp_dir("noweights");
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["brackets_model.safetensors", "is missing"]);
}

/// A data dir with the real weights and the given data file text.
fn with_data(name: &str, data: &str) -> std::path::PathBuf {
    let d = temp_dir(name);
    std::fs::copy(
        data_dir().join("paren/brackets_model.safetensors"),
        d.join("paren/brackets_model.safetensors"),
    )
    .unwrap();
    std::fs::write(d.join("paren/brackets_data.json"), data).unwrap();
    d
}

#[test]
fn malformed_data_file_reports_file_line_and_column() {
    let d = with_data("malformed", "[[\"()\", true],\n[\"(()\", fals]]");
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["brackets_data.json:2:", "malformed data file"]);
}

#[test]
fn sequence_longer_than_context_is_named() {
    let long = "(".repeat(41);
    let d = with_data("long", &format!("[[\"()\", true], [\"{long}\", false]]"));
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(
        &out,
        &[
            "brackets_data.json",
            "sequence 1",
            "41 parens",
            "at most 40",
        ],
    );
}

#[test]
fn bad_character_is_named() {
    let d = with_data("char", "[[\"(]\", true]]");
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["sequence 0", "']'", "index 1"]);
}

/// Rewrites the real weights with one tensor changed (`None` removes it).
fn with_weights(
    name: &str,
    tensor: &str,
    change: impl Fn(&mut Vec<usize>, &mut Vec<f32>) -> bool,
) -> std::path::PathBuf {
    let d = temp_dir(name);
    let cfg = scrub_scenarios::paren::config();
    let real =
        scrub_core::Weights::load(&cfg, &data_dir().join("paren/brackets_model.safetensors"))
            .unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (n, s, t) in real.named_tensors(&cfg) {
        let (mut s, mut t) = (s, t.to_vec());
        if n == tensor && !change(&mut s, &mut t) {
            continue;
        }
        tensors.push((n, s, t.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &d.join("paren/brackets_model.safetensors"))
        .unwrap();
    std::fs::copy(
        data_dir().join("paren/brackets_data.json"),
        d.join("paren/brackets_data.json"),
    )
    .unwrap();
    d
}

#[test]
fn bad_weights_name_the_tensor() {
    let d = with_weights("nan", "blocks.1.attn.W_O", |_, t| {
        t[7] = f32::NAN;
        true
    });
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["blocks.1.attn.W_O", "non-finite", "index 7"]);

    let d = with_weights("missing", "blocks.2.mlp.W_in", |_, _| false);
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["missing tensor `blocks.2.mlp.W_in`", "[56, 56]"]);

    let d = with_weights("shape", "embed.W_E", |s, t| {
        *s = vec![4, 56];
        t.truncate(4 * 56);
        true
    });
    let out = scrub(&[
        "eval",
        "--data-dir",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
    ]);
    assert_clean_failure(&out, &["`embed.W_E` has shape [4, 56], expected [5, 56]"]);
}
