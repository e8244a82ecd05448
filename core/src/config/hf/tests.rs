use std::path::Path;

use super::*;
use crate::config::{ActFn, Normalization};

const GPT2: &str = r#"{"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
    "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024,
    "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1,
    "summary_activation": null, "summary_first_dropout": 0.1, "summary_proj_to_labels": true,
    "summary_type": "cls_index", "summary_use_proj": true,
    "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
    "vocab_size": 50257}"#;

fn parse(text: &str) -> Result<HfConfig> {
    from_hf_json_str(text, Path::new("m/config.json"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn the_hub_gpt2_config_is_gpt2_small() {
    let hf = parse(GPT2).unwrap();
    let c = &hf.config;
    assert_eq!(hf.family, HfFamily::Gpt2);
    assert!(hf.tie_word_embeddings);
    assert_eq!(hf.architecture.as_deref(), Some("GPT2LMHeadModel"));
    assert_eq!(
        (c.n_layers, c.n_heads, c.d_model, c.d_head),
        (12, 12, 768, 64)
    );
    assert_eq!(
        (c.d_mlp, c.d_vocab, c.d_vocab_out, c.n_ctx),
        (Some(3072), 50257, 50257, 1024)
    );
    assert_eq!(c.act_fn, ActFn::GeluTanh);
    assert_eq!(c.ln_eps, 1e-5);
}

#[test]
fn n_inner_and_activation_are_mapped() {
    let t = GPT2.replace(
        "\"n_ctx\": 1024",
        "\"n_inner\": 100, \"activation_function\": \"gelu\"",
    );
    let t = t.replacen("\"activation_function\": \"gelu_new\", ", "", 1);
    let c = parse(&t).unwrap().config;
    assert_eq!((c.d_mlp, c.act_fn), (Some(100), ActFn::Gelu));
    let t = GPT2.replace("\"gelu_new\"", "\"relu\"");
    assert_eq!(parse(&t).unwrap().config.act_fn, ActFn::Relu);
    let t = GPT2.replace("\"gelu_new\"", "\"silu\"");
    let e = err(&t);
    assert!(
        e.contains("m/config.json") && e.contains("`activation_function` = \"silu\""),
        "{e}"
    );
}

#[test]
fn an_unsupported_model_type_lists_the_supported_ones() {
    let e = err(&GPT2.replace("\"gpt2\"", "\"bert\""));
    assert!(
        e.contains("m/config.json")
            && e.contains("\"bert\"")
            && e.contains("supported: gpt2, gpt_neox, llama, qwen2"),
        "{e}"
    );
    let e = err(&GPT2.replace("\"model_type\": \"gpt2\",", ""));
    assert!(e.contains("`model_type`"), "{e}");
}

#[test]
fn fields_of_other_families_are_unknown_and_named() {
    for (field, value) in [
        ("rotary_pct", "0.25"),
        ("num_key_value_heads", "4"),
        ("parallel_attn", "true"),
        ("use_parallel_residual", "true"),
    ] {
        let e = err(&GPT2.replace("\"n_ctx\"", &format!("\"{field}\": {value}, \"n_ctx\"")));
        assert!(
            e.contains("m/config.json") && e.contains(&format!("`{field}`")),
            "{field}: {e}"
        );
    }
}

#[test]
fn checked_fields_must_hold_their_value() {
    for (field, value) in [
        ("scale_attn_weights", "false"),
        ("scale_attn_by_inverse_layer_idx", "true"),
        ("reorder_and_upcast_attn", "true"),
        ("add_cross_attention", "true"),
        ("pruned_heads", "{\"0\": [1]}"),
    ] {
        let e = err(&GPT2.replace("\"n_ctx\"", &format!("\"{field}\": {value}, \"n_ctx\"")));
        assert!(e.contains(&format!("`{field}` = ")), "{field}: {e}");
    }
    let ok = GPT2.replace(
        "\"n_ctx\"",
        "\"scale_attn_weights\": true, \"reorder_and_upcast_attn\": false, \"pruned_heads\": {}, \"n_ctx\"",
    );
    parse(&ok).unwrap();
}

#[test]
fn a_classification_head_is_rejected() {
    let e = err(&GPT2.replace("GPT2LMHeadModel", "GPT2ForSequenceClassification"));
    assert!(
        e.contains("`architectures`") && e.contains("GPT2LMHeadModel"),
        "{e}"
    );
}

#[test]
fn sizes_have_no_silent_defaults() {
    let e = err(&GPT2.replace("\"n_layer\": 12,", ""));
    assert!(e.contains("lacks the required field `n_layer`"), "{e}");
    let e = err(&GPT2.replace("\"n_head\": 12", "\"n_head\": 7"));
    assert!(e.contains("`n_head` = 7") && e.contains("multiple"), "{e}");
}

#[test]
fn a_folder_without_config_json_says_so() {
    let dir = std::env::temp_dir().join(format!("scrub-hf-noconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("no config.json") && e.contains(&dir.display().to_string()),
        "{e}"
    );
    let e = load(&dir.join("absent")).unwrap_err().to_string();
    assert!(e.contains("no such folder"), "{e}");
}

/// EleutherAI/pythia-70m's config.json.
const PYTHIA: &str = r#"{"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0,
    "eos_token_id": 0, "hidden_act": "gelu", "hidden_size": 512, "initializer_range": 0.02,
    "intermediate_size": 2048, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
    "model_type": "gpt_neox", "num_attention_heads": 8, "num_hidden_layers": 6,
    "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false,
    "torch_dtype": "float16", "transformers_version": "4.24.0", "use_cache": true,
    "use_parallel_residual": true, "vocab_size": 50304}"#;

fn pythia_with(extra: &str) -> String {
    PYTHIA.replace("\"bos_token_id\"", &format!("{extra}, \"bos_token_id\""))
}

#[test]
fn the_hub_pythia_config_is_parallel_with_a_quarter_of_each_head_rotating() {
    let hf = parse(PYTHIA).unwrap();
    let c = &hf.config;
    assert_eq!(hf.family, HfFamily::GptNeox);
    assert!(!hf.tie_word_embeddings && hf.qkv_bias && hf.o_bias);
    assert_eq!(
        (c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_mlp),
        (6, 8, 512, 64, Some(2048))
    );
    assert_eq!((c.rotary_dim, c.rotary_dims()), (Some(16), 16));
    assert!(c.parallel_attn_mlp && !c.gated_mlp && !c.has_pos_embed());
    assert_eq!(
        (c.act_fn, c.normalization, c.rope_theta, c.ln_eps),
        (ActFn::Gelu, Normalization::PreLayerNorm, 10000.0, 1e-5)
    );
    assert_eq!((c.d_vocab, c.n_ctx), (50304, 2048));
}

#[test]
fn neox_fields_map_and_take_the_gpt_neox_config_defaults() {
    let t = pythia_with(
        "\"use_parallel_residual\": false, \"rotary_pct\": 1.0, \"attention_bias\": false, \
         \"rotary_emb_base\": 500, \"partial_rotary_factor\": 1.0, \
         \"rope_theta\": 500.0, \"rope_scaling\": null, \"classifier_dropout\": 0.1",
    )
    .replacen("\"rotary_emb_base\": 10000, \"rotary_pct\": 0.25,", "", 1)
    .replacen("\"use_parallel_residual\": true,", "", 1)
    .replacen("\"gelu\"", "\"gelu_new\"", 1);
    let hf = parse(&t).unwrap();
    let c = &hf.config;
    assert!(!c.parallel_attn_mlp && !hf.qkv_bias && !hf.o_bias);
    assert_eq!((c.rotary_dim, c.rotary_dims()), (None, 64));
    assert_eq!((c.act_fn, c.rope_theta), (ActFn::GeluTanh, 500.0));
    // Absent: parallel blocks, a quarter of each head, base 10000, biases, exact GELU.
    let bare = PYTHIA
        .replace("\"hidden_act\": \"gelu\", ", "")
        .replace("\"rotary_emb_base\": 10000, \"rotary_pct\": 0.25, ", "")
        .replace("\"use_parallel_residual\": true, ", "");
    let hf = parse(&bare).unwrap();
    let c = &hf.config;
    assert!(c.parallel_attn_mlp && hf.qkv_bias);
    assert_eq!(
        (c.rotary_dim, c.rope_theta, c.act_fn),
        (Some(16), 10000.0, ActFn::Gelu)
    );
}

#[test]
fn unsupported_neox_fields_and_values_are_named() {
    for (extra, field) in [
        (
            "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}",
            "`rope_scaling` = ",
        ),
        (
            "\"partial_rotary_factor\": 0.5",
            "`partial_rotary_factor` = 0.5",
        ),
        ("\"rope_theta\": 500", "`rope_theta` = 500"),
        ("\"num_key_value_heads\": 4", "`num_key_value_heads`"),
        ("\"head_dim\": 32", "`head_dim`"),
        (
            "\"add_cross_attention\": true",
            "`add_cross_attention` = true",
        ),
    ] {
        let e = err(&pythia_with(extra));
        assert!(
            e.contains("m/config.json") && e.contains(field),
            "{extra}: {e}"
        );
    }
    for (from, to, field) in [
        ("\"gelu\"", "\"silu\"", "`hidden_act` = \"silu\""),
        (
            "\"rotary_pct\": 0.25",
            "\"rotary_pct\": 0.0",
            "`rotary_pct` = 0.0",
        ),
        (
            "\"rotary_pct\": 0.25",
            "\"rotary_pct\": 1.5",
            "`rotary_pct` = 1.5",
        ),
        // int(64 * 0.1) = 6 rotates, but int(64 * 0.05) = 3 cannot.
        (
            "\"rotary_pct\": 0.25",
            "\"rotary_pct\": 0.05",
            "= 3 dimensions",
        ),
        (
            "\"num_attention_heads\": 8",
            "\"num_attention_heads\": 7",
            "`num_attention_heads` = 7",
        ),
        (
            "GPTNeoXForCausalLM",
            "GPTNeoXForSequenceClassification",
            "`architectures`",
        ),
    ] {
        let e = err(&PYTHIA.replace(from, to));
        assert!(e.contains(field), "{to}: {e}");
    }
    assert_eq!(
        parse(&PYTHIA.replace("\"rotary_pct\": 0.25", "\"rotary_pct\": 0.1"))
            .unwrap()
            .config
            .rotary_dim,
        Some(6)
    );
    let e = err(&PYTHIA.replace("\"hidden_size\": 512, ", ""));
    assert!(e.contains("lacks the required field `hidden_size`"), "{e}");
}
