//! `scrub induction` on the committed induction model, through the real binary: heads
//! measured and named by the rules, the token subset non-empty, and mismatched files clear
//! errors.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("induction/model")
}

#[test]
fn heads_are_named_from_the_scores_by_the_rules() {
    // The command's defaults (100 repeated sequences, 50 text sequences): the goals below
    // (a layer-1 head with prefix matching >= 0.4, a layer-0 head with previous-token
    // score >= 0.6, a second half far below the first) are measured on them.
    let out = scrub(&["induction", "heads", "--json"]);
    let j = json(&out);
    let scores = |key: &str, layer: usize| -> Vec<f64> {
        j[key][layer]
            .as_array()
            .unwrap_or_else(|| panic!("`{key}` lacks layer {layer}: {j}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert_eq!(j["prefix_matching"].as_array().unwrap().len(), 2);
    let prefix = scores("prefix_matching", 1);
    let prev = scores("previous_token", 0);
    assert_eq!((prefix.len(), prev.len()), (8, 8));
    assert!(prefix
        .iter()
        .chain(&prev)
        .all(|&x| (0.0..=1.0).contains(&x)));
    // Attention to one chosen key among up to 256 is rare by chance; the trained heads
    // already attend there far more often than uniform attention would.
    assert!(
        prefix.iter().cloned().fold(0.0, f64::max) >= 0.4,
        "goal: a layer-1 head with prefix matching >= 0.4: {prefix:?}"
    );
    assert!(prev.iter().cloned().fold(0.0, f64::max) > 0.2, "{prev:?}");
    // Named exactly by the rules: layer-1 heads at >= 0.4; the best layer-0 head at >= 0.6.
    let named: Vec<u64> = j["induction_heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert_eq!(h["layer"], 1);
            h["head"].as_u64().unwrap()
        })
        .collect();
    let expected: Vec<u64> = (0..8).filter(|&h| prefix[h as usize] >= 0.4).collect();
    let mut sorted = named.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let best_prev = prev.iter().cloned().fold(0.0, f64::max);
    assert_eq!(j["previous_token_head"].is_null(), best_prev < 0.6, "{j}");
    assert!(
        best_prev >= 0.6,
        "goal: a layer-0 head with previous-token score >= 0.6: {prev:?}"
    );
    let first = j["repeated_first_half_loss"].as_f64().unwrap();
    let second = j["repeated_second_half_loss"].as_f64().unwrap();
    assert!(first.is_finite() && second.is_finite() && first > 0.0 && second > 0.0);
    assert!(
        second < first - 3.0,
        "goal: the second half of repeated random tokens far below the first: {first} -> {second}"
    );
}

#[test]
fn table_output_names_the_heads() {
    let out = scrub(&[
        "induction",
        "heads",
        "--sequences",
        "4",
        "--text-sequences",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("induction heads") && s.contains("previous-token head"),
        "{s}"
    );
}

#[test]
fn saved_subset_is_non_empty_and_selects_evaluation_examples() {
    let j = json(&scrub(&["induction", "subset", "--json"]));
    let n = j["n_tokens"].as_u64().unwrap();
    assert!(n > 0);
    assert_eq!(j["tokens"].as_array().unwrap().len() as u64, n);
    assert!(j["beta"].as_f64().unwrap() > 0.0);
    let examples = j["evaluation_examples"].as_u64().unwrap();
    let total = j["validation_examples"].as_u64().unwrap();
    assert!(examples > 0 && examples < total, "{examples} of {total}");
    println!("subset: {n} tokens, {examples} of {total} validation examples");
}

/// A copy of the committed model directory to break in one way.
fn copy_model(name: &str) -> PathBuf {
    let d = temp_dir(name).join("model");
    std::fs::create_dir_all(&d).unwrap();
    for e in std::fs::read_dir(model_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
        }
    }
    d
}

#[test]
fn a_tokenizer_of_another_vocabulary_is_a_clear_error() {
    let d = copy_model("vocab");
    let t = d.join("tokenizer.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&t).unwrap()).unwrap();
    let vocab = j["model"]["vocab"].as_object_mut().unwrap();
    let last = vocab.len() as u64;
    vocab.insert("extra-token".into(), last.into());
    std::fs::write(&t, j.to_string()).unwrap();
    let out = scrub(&["induction", "heads", "--model-dir", d.to_str().unwrap()]);
    assert_clean_failure(
        &out,
        &["tokenizer", "tokens but the model", "d_vocab = 2048"],
    );
}

#[test]
fn a_missing_model_directory_is_a_clear_error() {
    let out = scrub(&[
        "induction",
        "subset",
        "--model-dir",
        "/nonexistent/induction",
    ]);
    assert_clean_failure(&out, &["/nonexistent/induction", "does not exist"]);
}
