use std::path::Path;

use super::*;
use crate::config::ActFn;

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
            && e.contains("supported: gpt2, llama, qwen2"),
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
