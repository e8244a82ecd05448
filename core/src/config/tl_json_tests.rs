use super::*;
use crate::error::ModelError;

/// `json.dumps(HookedTransformer(cfg).cfg.to_dict(), default=str)` from TransformerLens
/// 2.18.0, for n_layers 2, d_model 16, n_ctx 8, d_head 8, n_heads 2, d_vocab 20, act_fn
/// "gelu", normalization_type "LNPre", seed 0.
const TO_DICT: &str = r#"{"n_layers": 2, "d_model": 16, "n_ctx": 8, "d_head": 8, "model_name": "custom", "n_heads": 2, "d_mlp": 64, "act_fn": "gelu", "d_vocab": 20, "eps": 1e-05, "use_attn_result": false, "use_attn_scale": true, "attn_scale": 2.8284271247461903, "use_split_qkv_input": false, "use_hook_mlp_in": false, "use_attn_in": false, "use_qk_norm": false, "use_local_attn": false, "ungroup_grouped_query_attention": false, "original_architecture": null, "from_checkpoint": false, "checkpoint_index": null, "checkpoint_label_type": null, "checkpoint_value": null, "tokenizer_name": null, "window_size": null, "attn_types": null, "init_mode": "gpt2", "normalization_type": "LNPre", "device": "cpu", "n_devices": 1, "attention_dir": "causal", "attn_only": false, "seed": 0, "initializer_range": 0.2, "init_weights": true, "scale_attn_by_inverse_layer_idx": false, "positional_embedding_type": "standard", "final_rms": false, "d_vocab_out": 20, "parallel_attn_mlp": false, "rotary_dim": null, "n_params": 6144, "use_hook_tokens": false, "gated_mlp": false, "default_prepend_bos": true, "dtype": "torch.float32", "tokenizer_prepends_bos": null, "n_key_value_heads": null, "post_embedding_ln": false, "rotary_base": 10000, "rotary_base_local": null, "trust_remote_code": false, "rotary_adjacent_pairs": false, "load_in_4bit": false, "num_experts": null, "experts_per_token": null, "relative_attention_max_distance": null, "relative_attention_num_buckets": null, "decoder_start_token_id": null, "tie_word_embeddings": false, "use_normalization_before_and_after": false, "attn_scores_soft_cap": -1.0, "output_logits_soft_cap": -1.0, "use_NTK_by_parts_rope": false, "NTK_by_parts_low_freq_factor": 1.0, "NTK_by_parts_high_freq_factor": 4.0, "NTK_by_parts_factor": 8.0, "NTK_original_ctx_len": 8192}"#;

fn path() -> &'static Path {
    Path::new("cfg.json")
}

/// TO_DICT with `field` set to the JSON text `value` (added when absent).
fn with(field: &str, value: &str) -> String {
    let mut v: Value = serde_json::from_str(TO_DICT).unwrap();
    v[field] = serde_json::from_str(value).unwrap();
    v.to_string()
}

/// TO_DICT without `field`.
fn without(field: &str) -> String {
    let mut v: Value = serde_json::from_str(TO_DICT).unwrap();
    v.as_object_mut().unwrap().remove(field);
    v.to_string()
}

fn parse(text: &str) -> Result<ModelConfig> {
    from_tl_json_str(text, path())
}

#[test]
fn a_to_dict_dump_maps_every_field() {
    let cfg = parse(TO_DICT).unwrap();
    assert_eq!(
        cfg,
        ModelConfig {
            n_layers: 2,
            n_heads: 2,
            d_model: 16,
            d_head: 8,
            d_mlp: Some(64),
            d_vocab: 20,
            d_vocab_out: 20,
            n_ctx: 8,
            act_fn: ActFn::Gelu,
            normalization: Normalization::LNPre,
            attention: AttentionKind::Causal,
            positional: PositionalKind::Standard,
            pad_token: None,
            ln_eps: 1e-5,
            n_kv_heads: None,
            rope_theta: 10000.0,
            gated_mlp: false,
            rotary_dim: None,
            parallel_attn_mlp: false,
        }
    );
}

#[test]
fn every_field_of_the_dump_is_classified_once() {
    let v: Value = serde_json::from_str(TO_DICT).unwrap();
    for key in v.as_object().unwrap().keys() {
        let k = key.as_str();
        let n = [
            MAPPED.contains(&k),
            MUST_BE.iter().any(|(n, _, _)| *n == k),
            MOOT.contains(&k),
            HARMLESS.contains(&k),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        assert_eq!(n, 1, "{k}");
    }
}

#[test]
fn the_other_variants_map() {
    let cfg = parse(&with("normalization_type", "null")).unwrap();
    assert_eq!(cfg.normalization, Normalization::None);
    let cfg = parse(&with("normalization_type", "\"LN\"")).unwrap();
    assert_eq!(cfg.normalization, Normalization::PreLayerNorm);
    let cfg = parse(&with("act_fn", "\"gelu_new\"")).unwrap();
    assert_eq!(cfg.act_fn, ActFn::GeluTanh);
    let cfg = parse(&with("act_fn", "\"relu\"")).unwrap();
    assert_eq!(cfg.act_fn, ActFn::Relu);
    let cfg = parse(&with("attention_dir", "\"bidirectional\"")).unwrap();
    assert_eq!(cfg.attention, AttentionKind::Bidirectional);
    let cfg = parse(&with("positional_embedding_type", "\"shortformer\"")).unwrap();
    assert_eq!(cfg.positional, PositionalKind::Shortformer);
    let cfg = parse(&with("d_vocab_out", "-1")).unwrap();
    assert_eq!(cfg.d_vocab_out, 20);
    let cfg = parse(&with("d_vocab_out", "3")).unwrap();
    assert_eq!(cfg.d_vocab_out, 3);
    let cfg = parse(&with("eps", "1e-6")).unwrap();
    assert_eq!(cfg.ln_eps, 1e-6);
}

#[test]
fn attn_only_has_no_mlp_and_needs_no_activation() {
    let text = with("attn_only", "true");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["act_fn"] = Value::Null;
    let cfg = parse(&v.to_string()).unwrap();
    assert_eq!(cfg.d_mlp, None);
    // A model with MLPs whose act_fn is null cannot be run.
    let err = parse(&with("act_fn", "null")).unwrap_err().to_string();
    assert!(err.contains("`act_fn` = null"), "{err}");
}

#[test]
fn unsupported_values_name_the_field_and_the_value() {
    for (field, value) in [
        ("positional_embedding_type", "\"rotary\""),
        ("positional_embedding_type", "\"alibi\""),
        ("normalization_type", "\"RMS\""),
        ("normalization_type", "\"RMSPre\""),
        ("act_fn", "\"silu\""),
        ("act_fn", "\"solu_ln\""),
        ("attention_dir", "\"sideways\""),
        ("use_attn_scale", "false"),
        ("attn_scale", "3.0"),
        ("use_local_attn", "true"),
        ("n_key_value_heads", "1"),
        ("parallel_attn_mlp", "true"),
        ("final_rms", "true"),
        ("gated_mlp", "true"),
        ("use_normalization_before_and_after", "true"),
        ("output_logits_soft_cap", "30.0"),
        ("attn_scores_soft_cap", "50.0"),
        ("scale_attn_by_inverse_layer_idx", "true"),
        ("use_qk_norm", "true"),
        ("post_embedding_ln", "true"),
        ("num_experts", "4"),
        ("load_in_4bit", "true"),
        ("d_model", "0"),
        ("n_layers", "\"2\""),
        ("eps", "0"),
    ] {
        let err = parse(&with(field, value)).unwrap_err();
        assert!(
            matches!(&err, ModelError::TlField { field: f, value: v, .. }
                if f == field && v == value),
            "{field} = {value}: {err}"
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with("cfg.json: ") && shown.contains(&format!("`{field}` = {value}")),
            "{shown}"
        );
    }
}

#[test]
fn an_unknown_field_is_an_error_naming_it() {
    let err = parse(&with("use_magic_attention", "true")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cfg.json: unknown TransformerLens config field `use_magic_attention` = true; scrub does \
         not know whether it changes the model"
    );
}

#[test]
fn a_missing_required_field_is_named() {
    for field in [
        "n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_vocab",
    ] {
        let err = parse(&without(field)).unwrap_err();
        assert!(
            matches!(&err, ModelError::TlMissingField { field: f, .. } if f == field),
            "{field}: {err}"
        );
        assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
    }
}

#[test]
fn absent_optional_fields_take_transformer_lens_defaults() {
    let text = r#"{"n_layers": 1, "d_model": 8, "n_ctx": 4, "d_head": 4, "n_heads": 2,
        "d_vocab": 5, "act_fn": "relu"}"#;
    let cfg = parse(text).unwrap();
    assert_eq!(cfg.d_mlp, Some(32), "TransformerLens's 4 * d_model");
    assert_eq!(cfg.normalization, Normalization::PreLayerNorm);
    assert_eq!(cfg.attention, AttentionKind::Causal);
    assert_eq!(cfg.positional, PositionalKind::Standard);
    assert_eq!(cfg.d_vocab_out, 5);
}

#[test]
fn a_syntax_error_reports_line_and_column() {
    let err = parse("{\n  \"n_layers\": 2,\n  oops}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cfg.json:3:"), "{err}");
    let err = parse("[1, 2]").unwrap_err().to_string();
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn model_config_load_reads_json_by_extension() {
    let dir = std::env::temp_dir().join(format!("scrub-core-tl-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("config.json");
    std::fs::write(&p, TO_DICT).unwrap();
    assert_eq!(ModelConfig::load(&p).unwrap().act_fn, ActFn::Gelu);
    let p = dir.join("config.JSON");
    std::fs::write(&p, "{}").unwrap();
    let err = ModelConfig::load(&p).unwrap_err();
    assert!(matches!(err, ModelError::TlMissingField { .. }), "{err}");
}
