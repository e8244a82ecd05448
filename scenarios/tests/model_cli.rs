//! The binary on Hugging Face folders: `scrub model inspect` on the committed GPT-2 fixtures
//! (table and `--json`), its errors, and a task whose manifest names a Hugging Face folder
//! scored by `scrub eval --task`.

mod common;

use std::path::PathBuf;

use common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/hf")
        .join(name)
}

#[test]
fn inspect_reads_a_llama_folder() {
    let dir = fixture("llama_tiny");
    let v = json(&scrub(&[
        "model",
        "inspect",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["family"], "llama");
    assert_eq!(v["architecture"], "LlamaForCausalLM");
    for (k, want) in [
        ("n_heads", 4),
        ("n_kv_heads", 2),
        ("d_mlp", 48),
        ("n_ctx", 16),
    ] {
        assert_eq!(v[k], want, "{k}");
    }
    assert_eq!(v["act_fn"], "Silu");
    assert_eq!(v["normalization"], "RMSNorm");
    assert_eq!(v["positional"], "Rotary");
    assert_eq!(v["rope_theta"], 10000.0);
    assert_eq!(v["gated_mlp"], true);
    let terms = v["terms"].as_array().unwrap();
    assert!(terms.iter().all(|t| t["alias"] != "pos"), "{terms:?}");
    assert_eq!(terms.len(), 1 + 2 * (4 + 2) + 1);
    let hooks: Vec<&str> = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for h in [
        "blocks.0.attn.hook_rot_q",
        "blocks.1.attn.hook_rot_k",
        "blocks.1.mlp.hook_pre_linear",
    ] {
        assert!(hooks.contains(&h), "{h}: {hooks:?}");
    }
    assert!(!hooks.contains(&"hook_pos_embed"));
    let out = scrub(&["model", "inspect", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("sharing 2 key/value heads") && text.contains("theta 10000"),
        "{text}"
    );
}

#[test]
fn inspect_reads_a_pythia_folder() {
    let dir = fixture("pythia_tiny");
    let v = json(&scrub(&[
        "model",
        "inspect",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["family"], "gpt_neox");
    assert_eq!(v["architecture"], "GPTNeoXForCausalLM");
    for (k, want) in [
        ("n_heads", 4),
        ("d_head", 8),
        ("d_mlp", 64),
        ("rotary_dims", 2),
        ("n_params", 20352),
    ] {
        assert_eq!(v[k], want, "{k}");
    }
    assert_eq!(v["parallel_attn_mlp"], true);
    assert_eq!(v["positional"], "Rotary");
    assert_eq!(v["tie_word_embeddings"], false);
    let hooks: Vec<&str> = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(hooks.contains(&"blocks.0.attn.hook_rot_q"), "{hooks:?}");
    assert!(
        !hooks.iter().any(|h| h.ends_with("hook_resid_mid")),
        "{hooks:?}"
    );
    let out = scrub(&["model", "inspect", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("family         gpt_neox (GPTNeoXForCausalLM)")
            && text.contains("theta 10000, 2 of 8 head dimensions rotate")
            && text.contains("blocks         parallel"),
        "{text}"
    );
    let out = scrub(&[
        "model",
        "inspect",
        fixture("neox_sequential").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("theta 500, 4 of 8 head dimensions rotate")
            && text.contains("blocks         sequential"),
        "{text}"
    );
    // Llama rotates whole heads and says nothing about partial rotation.
    let out = scrub(&["model", "inspect", fixture("llama_tiny").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(theta 10000)") && !text.contains("head dimensions rotate"),
        "{text}"
    );
}

#[test]
fn inspect_prints_the_architecture_terms_and_hooks() {
    let dir = fixture("gpt2_tiny_sharded");
    let v = json(&scrub(&[
        "model",
        "inspect",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["family"], "gpt2");
    assert_eq!(v["architecture"], "GPT2LMHeadModel");
    assert_eq!(v["files"].as_array().unwrap().len(), 4);
    assert_eq!(v["dtypes"], serde_json::json!(["F32"]));
    for (k, want) in [
        ("n_layers", 2),
        ("n_heads", 4),
        ("d_model", 32),
        ("d_head", 8),
        ("d_mlp", 128),
        ("d_vocab", 50),
        ("n_ctx", 16),
        ("n_params", 27584),
    ] {
        assert_eq!(v[k], want, "{k}");
    }
    assert_eq!(v["act_fn"], "GeluTanh");
    assert_eq!(v["normalization"], "PreLayerNorm");
    let terms = v["terms"].as_array().unwrap();
    let alias = |a: &str| {
        terms
            .iter()
            .find(|t| t["alias"] == a)
            .map(|t| t["name"].clone())
    };
    assert_eq!(alias("emb").unwrap(), "embed");
    assert_eq!(alias("pos").unwrap(), "pos_embed");
    assert_eq!(alias("0.3").unwrap(), "blocks.0.attn.head.3");
    assert_eq!(alias("mlp1").unwrap(), "blocks.1.mlp");
    assert_eq!(alias("out").unwrap(), "unembed");
    assert_eq!(terms.len(), 2 + 2 * (4 + 2) + 1);
    let hooks: Vec<&str> = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for h in [
        "blocks.0.hook_resid_pre",
        "blocks.1.attn.hook_pattern",
        "blocks.1.mlp.hook_post",
        "ln_final.hook_normalized",
    ] {
        assert!(hooks.contains(&h), "{h}: {hooks:?}");
    }

    let out = scrub(&[
        "model",
        "inspect",
        fixture("gpt2_tiny_f16").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("family         gpt2 (GPT2LMHeadModel)"),
        "{text}"
    );
    assert!(text.contains("(F16)"), "{text}");
    assert!(
        text.contains("term           0.3 = blocks.0.attn.head.3"),
        "{text}"
    );
}

#[test]
fn inspect_errors_name_the_file_and_field() {
    let d = temp_dir("model-inspect");
    let out = scrub(&["model", "inspect", d.to_str().unwrap()]);
    assert_clean_failure(&out, &["no config.json"]);
    let src = fixture("gpt2_tiny");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), d.join(f)).unwrap();
    }
    let cfg = std::fs::read_to_string(d.join("config.json")).unwrap();
    std::fs::write(
        d.join("config.json"),
        cfg.replace("\"model_type\": \"gpt2\"", "\"model_type\": \"mistral\""),
    )
    .unwrap();
    let out = scrub(&["model", "inspect", d.to_str().unwrap()]);
    assert_clean_failure(
        &out,
        &[
            "config.json",
            "\"mistral\"",
            "supported: gpt2, gpt_neox, llama, qwen2",
        ],
    );
}

#[test]
fn a_task_on_a_hugging_face_folder_is_scored() {
    let d = temp_dir("model-task").join("task");
    std::fs::create_dir_all(&d).unwrap();
    let manifest = format!(
        "Task(model: (hf: {:?}), dataset: \"data.jsonl\", metric: NextToken(mask: \"mask\"))",
        fixture("gpt2_tiny").display().to_string()
    );
    std::fs::write(d.join("task.ron"), manifest).unwrap();
    let data: Vec<String> = (0..40)
        .map(|i| {
            let len = 4 + i % 9;
            let toks: Vec<u32> = (0..len).map(|p| ((i * 11 + p * 7) % 50) as u32).collect();
            let mask: Vec<bool> = (0..len).map(|p| p + 1 < len).collect();
            format!("{{\"tokens\": {toks:?}, \"mask\": {mask:?}}}")
        })
        .collect();
    std::fs::write(d.join("data.jsonl"), data.join("\n")).unwrap();
    let v = json(&scrub(&[
        "eval",
        "--task",
        d.to_str().unwrap(),
        "--executor",
        "cpu",
        "--json",
        "-q",
    ]));
    assert_eq!(v["data"], 40);
    assert!(v["loss"].as_f64().unwrap() > 0.0);
}
