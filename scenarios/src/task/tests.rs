//! Task directories built in a temporary folder around a committed TransformerLens fixture
//! model: one that opens and scores, and each kind of bad input as a clear error.

use std::path::{Path, PathBuf};

use scrub_core::experiment::{
    evaluate_model, reference_baselines, run_hypothesis, RunSettings, Scenario, Silent,
};
use scrub_core::scrub::hypothesis::HypothesisFile;

use super::{Task, TaskError};

/// The fixture's model: 2 layers, causal, d_vocab 20 = d_vocab_out, n_ctx 10.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/tl/ln_relu_causal")
}

/// A fresh task folder `name` with `task.ron` = `manifest` and `data.jsonl` = `data`.
fn task_dir(name: &str, manifest: &str, data: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scrub-task-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("hypotheses")).unwrap();
    std::fs::write(dir.join("task.ron"), manifest).unwrap();
    std::fs::write(dir.join("data.jsonl"), data).unwrap();
    dir
}

fn manifest(metric: &str, extra: &str) -> String {
    let f = fixture();
    format!(
        "Task(model: (config: {:?}, weights: {:?}), dataset: \"data.jsonl\", metric: {metric}, {extra})",
        f.join("config.json").display().to_string(),
        f.join("model.safetensors").display().to_string()
    )
}

/// 60 ragged sequences; `label` is whether the first token is even, `first` the first
/// token mod 3, `tok` each token mod 2, `mask` every position but the last.
fn data() -> String {
    (0..60)
        .map(|i| {
            let len = 3 + i % 7;
            let toks: Vec<u32> = (0..len).map(|p| ((i * 7 + p * 3) % 20) as u32).collect();
            let tok: Vec<u32> = toks.iter().map(|t| t % 2).collect();
            let mask: Vec<bool> = (0..len).map(|p| p + 1 < len).collect();
            format!(
                "{{\"tokens\": {toks:?}, \"label\": {}, \"first\": {}, \"tok\": {tok:?}, \"mask\": {mask:?}, \"y\": {}, \"c\": 1, \"same\": 0}}",
                toks[0].is_multiple_of(2) as u32,
                toks[0] % 3,
                toks[0] as f64 * 0.5,
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn open_err(name: &str, manifest: &str, data: &str) -> String {
    match Task::open(&task_dir(name, manifest, data)) {
        Ok(_) => panic!("{name}: opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_task_opens_and_scores_every_metric() {
    for (i, metric) in [
        "CrossEntropy(label: \"label\", position: Last)",
        "NextToken(mask: \"mask\")",
        "LogitDiff(correct: \"first\", incorrect: \"label\", position: At(0))",
        "SquaredError(target: \"y\", position: Last, output: 3)",
    ]
    .iter()
    .enumerate()
    {
        let dir = task_dir(
            &format!("ok{i}"),
            &manifest(
                metric,
                "features: Some([\"first\", \"tok\", \"same\"]), groups: [\"first\"]",
            ),
            &data(),
        );
        let task = Task::open(&dir).unwrap_or_else(|e| panic!("{metric}: {e}"));
        assert_eq!(task.pool().len(), 60, "{metric}");
        assert!(
            task.warnings.iter().any(|w| w.contains("`same`")),
            "{:?}",
            task.warnings
        );
        let graph = task.graph().unwrap();
        let s = evaluate_model(&task, &graph, &Silent).unwrap();
        assert_eq!(s.loss.n, 60);
        assert_eq!(s.accuracy.is_some(), !metric.starts_with("Squared"));
        assert_eq!(s.groups.len(), 3, "first mod 3 has three groups");
        // A hypothesis in the task's folder scores between its baselines' losses' range
        // of definitions, with the per-position feature spelt either way.
        let h = dir.join("hypotheses/h.ron");
        std::fs::write(
            &h,
            r#"Hypothesis(scenario: "..", root: Node(name: "out", feature: Some("first"), computes: Some("out"), inputs: [Node(name: "emb", feature: Some("tok[1]"), reads: ["emb"])]))"#,
        )
        .unwrap();
        let file = HypothesisFile::load(&h).unwrap();
        let run = RunSettings {
            samples: 50,
            first_sample: 0,
            seed: 0,
            cache: None,
            progress: &Silent,
        };
        let refs = reference_baselines(&task, &graph, &graph, &run).unwrap();
        let r = run_hypothesis(&task, &graph, &graph, &file, "h", &run, &refs, "cpu").unwrap();
        assert!(r.loss.is_finite(), "{metric}: {r:?}");
        assert_eq!(
            (r.low.name.as_str(), r.high.name.as_str()),
            ("model", "random")
        );
    }
}

#[test]
fn the_default_low_baseline_is_the_unscrubbed_model() {
    let dir = task_dir(
        "base",
        &manifest("CrossEntropy(label: \"label\", position: Last)", ""),
        &data(),
    );
    let task = Task::open(&dir).unwrap();
    let graph = task.graph().unwrap();
    let run = RunSettings {
        samples: 200,
        first_sample: 0,
        seed: 3,
        cache: None,
        progress: &Silent,
    };
    let refs = reference_baselines(&task, &graph, &graph, &run).unwrap();
    // The model on its own references: every sample's loss is the model's on that datum,
    // so the mean lies within the range of per-datum losses and below the random one.
    let all = evaluate_model(&task, &graph, &Silent).unwrap();
    assert!((refs.low.mean - all.loss.mean).abs() < 4.0 * all.loss.stderr + 1e-9);
}

#[test]
fn bad_input_is_a_clear_error() {
    let ce = "CrossEntropy(label: \"label\", position: Last)";
    let cases: Vec<(&str, String, String, Vec<&str>)> = vec![
        ("missing-dataset", manifest(ce, "").replace("data.jsonl", "nothere.jsonl"), data(), vec!["`dataset` names", "nothere.jsonl", "does not exist"]),
        ("missing-column", manifest("CrossEntropy(label: \"lbl\", position: Last)", ""), data(), vec!["column `lbl`", "its columns are", "label"]),
        ("missing-feature-column", manifest(ce, "features: Some([\"nope\"])"), data(), vec!["`features` names column `nope`"]),
        ("label-range", manifest("CrossEntropy(label: \"first\", position: Last)", "").replace("\"first\"", "\"y\""), data(), vec!["column `y`", "an int or bool column"]),
        ("where-not-bool", manifest("CrossEntropy(label: \"label\", position: Where(\"tok\"))", ""), data(), vec!["column `tok`", "a per-position bool column"]),
        ("logitdiff-where", manifest("LogitDiff(correct: \"label\", incorrect: \"label\", position: Where(\"mask\"))", ""), data(), vec!["LogitDiff reads one position per datum"]),
        ("float-feature", manifest(ce, "features: Some([\"y\"])"), data(), vec!["floats are targets, not features"]),
        ("position", manifest("CrossEntropy(label: \"label\", position: At(5))", ""), data(), vec!["datum 0 (line 1)", "position 5", "outside its 3 tokens"]),
        ("mask-last", manifest("NextToken(mask: \"lastmask\")", ""), data().replace("\"mask\"", "\"lastmask\"").replace("false]", "true]"), vec!["selects the last position"]),
        ("manifest-syntax", "Task(model: ".into(), data(), vec!["task.ron:1:", "invalid task manifest"]),
        ("manifest-field", manifest(ce, "colour: 3"), data(), vec!["task.ron:", "colour"]),
        ("token-vocab", manifest(ce, ""), data().replacen("\"tokens\": [0", "\"tokens\": [25", 1), vec!["25", "d_vocab"]),
        ("too-long", manifest(ce, ""), "{\"tokens\": [1, 2], \"label\": 0}\n{\"tokens\": [0, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1], \"label\": 1}".into(), vec!["n_ctx", "datum 1 (line 2)"]),
        ("per-position-length", manifest(ce, ""), data().replacen("\"tok\": [0, 1, 0]", "\"tok\": [0, 1]", 1), vec!["data.jsonl:1:", "column `tok` has 2 per-position values"]),
        ("group-per-position", manifest(ce, "groups: [\"tok\"]"), data(), vec!["`tok`", "per-datum column to group"]),
    ];
    for (name, m, d, needles) in cases {
        let err = open_err(name, &m, &d);
        for n in needles {
            assert!(err.contains(n), "{name}: `{n}` not in: {err}");
        }
    }
}

#[test]
fn a_one_logit_classifier_is_refused() {
    let m = manifest("CrossEntropy(label: \"label\", position: Last)", "");
    let d = data();
    let dir = task_dir("onelogit", &m, &d);
    // A config whose model has one output: rewrite the fixture's config and drop the
    // unembedding rows so the weights still fit.
    let err = super::metric::Metric::new(
        &super::manifest::MetricSpec::CrossEntropy {
            label: "label".into(),
            position: super::Position::Last,
        },
        &scrub_core::dataset::Dataset::load(&dir.join("data.jsonl")).unwrap(),
        &scrub_core::ModelConfig {
            d_vocab_out: 1,
            ..scrub_core::testing::paren_like_config(
                scrub_core::AttentionKind::Causal,
                scrub_core::PositionalKind::Standard,
            )
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, TaskError::OneLogitClassifier { width: 1 }),
        "{err}"
    );
    assert!(err.to_string().contains("SquaredError"), "{err}");
}

#[test]
fn a_hypothesis_naming_a_missing_feature_lists_the_task_features() {
    let dir = task_dir(
        "unknownfeature",
        &manifest(
            "CrossEntropy(label: \"label\", position: Last)",
            "features: Some([\"first\", \"tok\"])",
        ),
        &data(),
    );
    let task = Task::open(&dir).unwrap();
    let graph = task.graph().unwrap();
    let h = dir.join("hypotheses/h.ron");
    std::fs::write(
        &h,
        r#"Hypothesis(scenario: "..", root: Node(name: "out", feature: Some("colour"), reads: ["out"]))"#,
    )
    .unwrap();
    let file = HypothesisFile::load(&h).unwrap();
    let err = scrub_core::experiment::build_tree(&task, &graph, &graph, &file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("colour") && err.contains("first") && err.contains("tok[i]"),
        "{err}"
    );
}

#[test]
fn a_scrubbed_output_of_a_shorter_datum_is_scored_at_the_reference_rows() {
    // Ragged data, read at the last position: the root's datum (agreeing on `label` only)
    // is often shorter or longer than the reference. Its logits must exist at the
    // reference's row; a zero logit row would give exactly ln(20) for 20 outputs.
    let dir = task_dir(
        "ragged",
        &manifest("CrossEntropy(label: \"label\", position: Last)", ""),
        &data(),
    );
    let task = Task::open(&dir).unwrap();
    let graph = task.graph().unwrap();
    let h = dir.join("hypotheses/h.ron");
    std::fs::write(
        &h,
        r#"Hypothesis(scenario: "..", root: Node(name: "out", feature: Some("label"), reads: ["out"]))"#,
    )
    .unwrap();
    let file = HypothesisFile::load(&h).unwrap();
    let run = RunSettings {
        samples: 300,
        first_sample: 0,
        seed: 1,
        cache: None,
        progress: &Silent,
    };
    let out = scrub_core::experiment::scrub_file(&task, &graph, &graph, &file, &run, "h").unwrap();
    let zero_row = (20f64).ln();
    let lengths = |d: scrub_core::DatumId| task.dataset.seq_len(d);
    assert!(
        out.iter()
            .map(|o| lengths(o.reference))
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1
    );
    for o in &out {
        assert!(
            (o.loss - zero_row).abs() > 1e-4,
            "sample scored on a zero row: {o:?}"
        );
    }
}

/// The committed Hugging Face GPT-2 fixture: 2 layers, causal, vocab 50, n_positions 16.
fn hf_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/hf")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_task_opens_a_hugging_face_folder() {
    for name in ["gpt2_tiny", "gpt2_tiny_sharded"] {
        let dir = task_dir(
            &format!("hf-{name}"),
            &format!(
                "Task(model: (hf: {:?}), dataset: \"data.jsonl\", metric: NextToken(mask: \"mask\"))",
                hf_fixture(name)
            ),
            &data(),
        );
        let task = Task::open(&dir).unwrap();
        assert_eq!(task.model.config.n_ctx, 16);
        assert_eq!(
            task.model,
            scrub_core::Model::load_hf(Path::new(&hf_fixture("gpt2_tiny"))).unwrap()
        );
        let graph = task.graph().unwrap();
        let s = evaluate_model(&task, &graph, &Silent).unwrap();
        assert_eq!(s.loss.n, 60);
        assert!(s.loss.mean.is_finite() && s.loss.mean > 0.0);
    }
}

#[test]
fn a_model_is_given_in_exactly_one_form() {
    let f = fixture();
    let (config, weights) = (
        f.join("config.json").display().to_string(),
        f.join("model.safetensors").display().to_string(),
    );
    let hf = hf_fixture("gpt2_tiny");
    let metric = "NextToken(mask: \"mask\")";
    for (name, model, needle) in [
        (
            "both",
            format!("(config: {config:?}, weights: {weights:?}, hf: {hf:?})"),
            "names both a Hugging Face folder and model files",
        ),
        (
            "neither",
            "(pad_token: Some(1))".to_string(),
            "names no model",
        ),
        (
            "config-only",
            format!("(config: {config:?})"),
            "has `config` without `weights`",
        ),
        ("missing-hf", "(hf: \"nowhere/\")".to_string(), "model.hf"),
    ] {
        let m = format!("Task(model: {model}, dataset: \"data.jsonl\", metric: {metric})");
        let e = open_err(&format!("form-{name}"), &m, &data());
        assert!(e.contains("task.ron") && e.contains(needle), "{name}: {e}");
    }
    let m = format!(
        "Task(model: (hf: {hf:?}, wieghts: \"x\"), dataset: \"data.jsonl\", metric: {metric})"
    );
    let e = open_err("form-typo", &m, &data());
    assert!(e.contains("wieghts"), "{e}");
}
