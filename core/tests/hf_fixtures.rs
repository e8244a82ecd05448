//! The CPU reference against transformers' GPT-2, Llama, Qwen2 and GPT-NeoX themselves: checkpoints written by
//! `save_pretrained` (`scripts/export_hf_fixtures.py`, transformers 4.57.6) load through
//! `Model::load_hf(dir)` and give transformers' logits and hidden states; broken folders
//! are errors that name what is wrong. What is particular to the Llama, Qwen2 and NeoX
//! families is in `hf_families.rs`.

use std::path::Path;

mod hf_common;

use hf_common::{copy_of, edit_config, edit_tensors, load_err, max_abs_diff};
use scrub_core::forward::forward;
use scrub_core::hooks::ActivationCache;
use scrub_core::testing::{
    hf_fixture, HF_FIXTURES, HF_FIXTURE_DIR, HF_LLAMA_FIXTURES, HF_NEOX_FIXTURES,
};
use scrub_core::weights::HfCheckpoint;
use scrub_core::{ActFn, Model, Tensor, TokenBatch};

/// Max |Δ| allowed, relative to the largest |value| of the reference (at least 1).
const REL_TOL: f32 = 1e-4;
/// The float16 checkpoint against the float32 model it was rounded from: each weight moved by
/// up to 2^-11 of itself, which moves the logits by about that much of their size times a
/// small factor per layer. (Against the float32 outputs of its own rounded weights it must
/// meet [`REL_TOL`], since widening float16 to f32 is exact.)
const F16_VS_F32_TOL: f32 = 1e-2;

fn scale(t: &Tensor) -> f32 {
    t.data.iter().fold(1.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn every_fixture_matches_transformers_logits_and_hidden_states() {
    for name in HF_FIXTURES
        .iter()
        .chain(HF_LLAMA_FIXTURES)
        .chain(HF_NEOX_FIXTURES)
    {
        let f = hf_fixture(name);
        let cfg = &f.model.config;
        let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
        batch.validate(cfg).unwrap();
        let mut caches: Vec<ActivationCache> = Vec::new();
        let logits = forward(&f.model, &batch, Some(&mut caches));
        let want = &f.expected["logits"];
        assert_eq!(logits.shape, want.shape, "{name}");
        let diff = max_abs_diff(&logits.data, &want.data);
        let s = scale(want);
        eprintln!("{name}: max |Δ logit| = {diff:.2e} (logits up to {s:.2})");
        assert!(s > 1.0, "{name}: logits too small to test anything");
        assert!(diff <= REL_TOL * s, "{name}: max |Δ logit| = {diff}");

        // hidden_states[i] is the residual stream before block i; the last is after ln_f.
        let mut worst = 0.0f32;
        for i in 0..=cfg.n_layers {
            let hook = if i < cfg.n_layers {
                format!("blocks.{i}.hook_resid_pre")
            } else {
                "ln_final.hook_normalized".to_string()
            };
            let got: Vec<f32> = caches
                .iter()
                .flat_map(|c| c.get(&hook).unwrap().data.clone())
                .collect();
            let want = &f.expected[&format!("hidden/{i}")];
            let diff = max_abs_diff(&got, &want.data);
            assert!(
                diff <= REL_TOL * scale(want),
                "{name}: hidden_states[{i}] vs {hook}: max |Δ| = {diff}"
            );
            worst = worst.max(diff / scale(want));
        }
        eprintln!("{name}: max |Δ hidden state| = {worst:.2e} of its scale");
        if let Some(f32_model) = f.expected.get("logits_f32_model") {
            let diff = max_abs_diff(&logits.data, &f32_model.data);
            let s = scale(f32_model);
            eprintln!("{name}: max |Δ logit| vs the float32 model = {diff:.2e}");
            assert!(diff <= F16_VS_F32_TOL * s, "{name}: {diff}");
            assert!(diff > 0.0, "{name}: the float16 copy is not rounded");
        }
    }
}

#[test]
fn the_copies_of_one_model_load_to_the_same_weights() {
    let tiny = hf_fixture("gpt2_tiny").model;
    for name in ["gpt2_tiny_sharded", "gpt2_tiny_base"] {
        assert_eq!(hf_fixture(name).model, tiny, "{name}");
    }
    let c = &tiny.config;
    assert_eq!((c.n_layers, c.n_heads, c.d_model, c.d_head), (2, 4, 32, 8));
    assert_eq!((c.d_mlp, c.d_vocab, c.n_ctx), (Some(128), 50, 16));
    assert_eq!(c.act_fn, ActFn::GeluTanh);
    let untied = hf_fixture("gpt2_untied").model.config;
    assert_eq!((untied.d_mlp, untied.act_fn), (Some(48), ActFn::Gelu));
}

#[test]
fn the_checkpoint_reports_its_files_dtype_and_parameters() {
    let dir = Path::new(HF_FIXTURE_DIR);
    let c = HfCheckpoint::load(&dir.join("gpt2_tiny_sharded")).unwrap();
    assert_eq!(c.files.len(), 4);
    assert_eq!(c.dtypes, ["F32"]);
    // What transformers' num_parameters() says (the export script prints the index's total).
    assert_eq!(c.n_params, 27584);
    assert!(c.tie_word_embeddings);
    let c = HfCheckpoint::load(&dir.join("gpt2_tiny_f16")).unwrap();
    assert_eq!(c.dtypes, ["F16"]);
    assert_eq!(c.architecture.as_deref(), Some("GPT2LMHeadModel"));
    let c = HfCheckpoint::load(&dir.join("gpt2_untied")).unwrap();
    assert!(!c.tie_word_embeddings);
}

/// A copy of fixture `name` in a fresh temporary folder.
#[test]
fn a_folder_without_config_json_says_so() {
    let d = copy_of("gpt2_tiny", "noconfig");
    std::fs::remove_file(d.join("config.json")).unwrap();
    let e = load_err(&d);
    assert!(
        e.contains(&d.display().to_string()) && e.contains("no config.json"),
        "{e}"
    );
}

#[test]
fn a_folder_without_weights_says_so() {
    let d = copy_of("gpt2_tiny", "noweights");
    std::fs::remove_file(d.join("model.safetensors")).unwrap();
    let e = load_err(&d);
    assert!(
        e.contains("neither model.safetensors nor model.safetensors.index.json"),
        "{e}"
    );
}

#[test]
fn an_unsupported_model_type_lists_the_supported_ones() {
    let d = copy_of("gpt2_tiny", "mistral");
    edit_config(
        &d,
        "\"model_type\": \"gpt2\"",
        "\"model_type\": \"mistral\"",
    );
    let e = load_err(&d);
    assert!(
        e.contains("config.json")
            && e.contains("`model_type` \"mistral\"")
            && e.contains("supported: gpt2, gpt_neox, llama, qwen2"),
        "{e}"
    );
}

#[test]
fn unsupported_config_fields_are_named_with_the_file() {
    for (tag, from, to, field) in [
        (
            "rotary",
            "\"n_embd\"",
            "\"rotary_pct\": 0.25, \"n_embd\"",
            "`rotary_pct`",
        ),
        (
            "gqa",
            "\"n_embd\"",
            "\"num_key_value_heads\": 2, \"n_embd\"",
            "`num_key_value_heads`",
        ),
        (
            "parallel",
            "\"n_embd\"",
            "\"parallel_attn\": true, \"n_embd\"",
            "`parallel_attn`",
        ),
        (
            "layeridx",
            "\"scale_attn_by_inverse_layer_idx\": false",
            "\"scale_attn_by_inverse_layer_idx\": true",
            "`scale_attn_by_inverse_layer_idx` = true",
        ),
        (
            "silu",
            "\"gelu_new\"",
            "\"silu\"",
            "`activation_function` = \"silu\"",
        ),
    ] {
        let d = copy_of("gpt2_tiny", tag);
        edit_config(&d, from, to);
        let e = load_err(&d);
        let file = d.join("config.json").display().to_string();
        assert!(e.contains(&file) && e.contains(field), "{tag}: {e}");
    }
}

#[test]
fn untied_embeddings_without_lm_head_are_an_error() {
    let d = copy_of("gpt2_tiny", "untied");
    edit_config(
        &d,
        "\"use_cache\"",
        "\"tie_word_embeddings\": false, \"use_cache\"",
    );
    let e = load_err(&d);
    assert!(
        e.contains("`lm_head.weight`") && e.contains("`tie_word_embeddings` false"),
        "{e}"
    );
}

#[test]
fn a_missing_shard_is_named() {
    let d = copy_of("gpt2_tiny_sharded", "shard");
    std::fs::remove_file(d.join("model-00003-of-00004.safetensors")).unwrap();
    let e = load_err(&d);
    assert!(
        e.contains("model.safetensors.index.json")
            && e.contains("`model-00003-of-00004.safetensors`"),
        "{e}"
    );
}

#[test]
fn a_wrong_shaped_tensor_is_named_with_the_expected_shape() {
    let d = copy_of("gpt2_tiny", "shape");
    edit_tensors(&d, |ts| {
        let t = ts
            .iter_mut()
            .find(|t| t.0 == "transformer.wpe.weight")
            .unwrap();
        t.1 = vec![8, 32];
        t.2.truncate(8 * 32 * 4);
    });
    let e = load_err(&d);
    assert!(
        e.contains("`transformer.wpe.weight` has shape [8, 32], expected [16, 32]"),
        "{e}"
    );
}

#[test]
fn an_unknown_tensor_is_named_and_buffers_are_ignored() {
    let d = copy_of("gpt2_tiny", "unknown");
    edit_tensors(&d, |ts| {
        ts.push((
            "transformer.h.0.attn.bias".into(),
            vec![1, 1, 16, 16],
            vec![0; 1024],
        ));
        ts.push((
            "transformer.h.1.attn.masked_bias".into(),
            vec![],
            vec![0; 4],
        ));
    });
    Model::load_hf(&d).unwrap();
    edit_tensors(&d, |ts| {
        ts.push((
            "transformer.h.0.attn.rotary_emb.inv_freq".into(),
            vec![4],
            vec![0; 16],
        ));
    });
    let e = load_err(&d);
    assert!(
        e.contains("`transformer.h.0.attn.rotary_emb.inv_freq`")
            || e.contains("rotary_emb.inv_freq"),
        "{e}"
    );
}

#[test]
fn layer_counts_that_do_not_match_the_file_are_errors() {
    let d = copy_of("gpt2_tiny", "layers3");
    edit_config(&d, "\"n_layer\": 2", "\"n_layer\": 3");
    let e = load_err(&d);
    assert!(e.contains("missing tensor `h.2."), "{e}");
    let d = copy_of("gpt2_tiny", "layers1");
    edit_config(&d, "\"n_layer\": 2", "\"n_layer\": 1");
    let e = load_err(&d);
    assert!(
        e.contains("transformer.h.1.attn.c_attn.weight") && e.contains("n_layer = 1"),
        "{e}"
    );
}
