//! `model_type: "llama"` and `"qwen2"`: transformers' `LlamaConfig` and `Qwen2Config` (read
//! field by field in transformers 4.57.6), for `LlamaForCausalLM` / `LlamaModel` and
//! `Qwen2ForCausalLM` / `Qwen2Model` checkpoints: RMSNorm before attention, the MLP and the
//! unembedding, rotary queries and keys over the whole head (rotate-half layout, no scaling),
//! grouped-query attention, a SwiGLU MLP without biases, causal attention scaled by
//! 1/sqrt(head_dim). Llama's projections carry biases when `attention_bias` is true (q, k, v
//! and o alike); Qwen2's q, k and v projections always do and its o projection never does.
//!
//! `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`,
//! `vocab_size` and `max_position_embeddings` must be present; the others take the
//! transformers defaults when absent.

use super::{Fields, HfConfig, HfFamily, Must};
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::error::Result;

/// `architectures` entries whose weights are a Llama language model.
pub const LLAMA_ARCHITECTURES: &[&str] = &["LlamaForCausalLM", "LlamaModel"];
/// `architectures` entries whose weights are a Qwen2 language model.
pub const QWEN2_ARCHITECTURES: &[&str] = &["Qwen2ForCausalLM", "Qwen2Model"];

/// Fields that become [`HfConfig`] fields.
pub const MAPPED: &[&str] = &[
    "architectures",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "rms_norm_eps",
    "rope_theta",
    "max_position_embeddings",
    "vocab_size",
    "hidden_act",
    "tie_word_embeddings",
    "attention_bias",
    "rope_scaling",
];

/// Checked fields: name, required value, and what another value would switch on.
pub const MUST_BE: &[(&str, Must, &str)] = &[
    (
        "mlp_bias",
        Must::False,
        "biases on the gate, up and down projections are not supported",
    ),
    (
        "use_sliding_window",
        Must::False,
        "sliding-window attention is not supported",
    ),
    (
        "add_cross_attention",
        Must::False,
        "cross-attention is not supported",
    ),
    (
        "is_encoder_decoder",
        Must::False,
        "encoder-decoder models are not supported",
    ),
    (
        "pruned_heads",
        Must::EmptyObject,
        "pruned attention heads are not supported",
    ),
];

/// Fields that only configure something a checked field already rules out.
pub const MOOT: &[&str] = &[
    // Sliding windows only (`use_sliding_window` must be false).
    "sliding_window",
    "max_window_layers",
    // Cross-attention only.
    "cross_attention_hidden_size",
    "tie_encoder_decoder",
];

/// Fields that do not change what the model computes.
pub const HARMLESS: &[&str] = &[
    "attention_dropout",
    "initializer_range",
    // Read by no forward pass of transformers 4.57 (the tensor-parallel split of old Llama
    // checkpoints computes the same products).
    "pretraining_tp",
    "tf_legacy_loss",
    "is_decoder",
];

/// Maps a `llama` or `qwen2` config.
pub fn config(f: &Fields, family: HfFamily) -> Result<HfConfig> {
    let qwen2 = family == HfFamily::Qwen2;
    let harmless: Vec<&str> = HARMLESS.iter().copied().chain(["layer_types"]).collect();
    f.check_keys(MAPPED, MUST_BE, MOOT, &harmless)?;
    if let Some(v) = f.present("layer_types") {
        let all_full = v
            .as_array()
            .is_some_and(|a| a.iter().all(|t| t.as_str() == Some("full_attention")));
        if !all_full {
            return Err(f.bad(
                "layer_types",
                "only \"full_attention\" layers are supported (no sliding windows)",
            ));
        }
    }
    if f.present("rope_scaling").is_some() {
        return Err(f.bad(
            "rope_scaling",
            "scaled rotary embeddings (linear, dynamic, yarn, llama3, ...) are not supported; \
             it must be null",
        ));
    }
    let architecture = f.architecture(match family {
        HfFamily::Qwen2 => QWEN2_ARCHITECTURES,
        _ => LLAMA_ARCHITECTURES,
    })?;
    let d_model = f.positive("hidden_size")?;
    let n_heads = f.positive("num_attention_heads")?;
    let n_kv = match f.present("num_key_value_heads") {
        None => n_heads,
        Some(_) => f.positive("num_key_value_heads")?,
    };
    if !n_heads.is_multiple_of(n_kv) {
        return Err(f.bad(
            "num_key_value_heads",
            &format!(
                "it must divide num_attention_heads = {n_heads} (grouped-query attention \
                 shares each key/value head among num_attention_heads / num_key_value_heads \
                 query heads)"
            ),
        ));
    }
    let d_head = match f.present("head_dim") {
        Some(_) => f.positive("head_dim")?,
        None => {
            if !d_model.is_multiple_of(n_heads) {
                return Err(f.bad(
                    "num_attention_heads",
                    &format!(
                        "hidden_size = {d_model} is not a multiple of it and config.json \
                         gives no head_dim (head_dim = hidden_size / num_attention_heads)"
                    ),
                ));
            }
            d_model / n_heads
        }
    };
    if !d_head.is_multiple_of(2) {
        return Err(f.bad(
            "head_dim",
            &format!("rotary embeddings need an even head dimension, got {d_head}"),
        ));
    }
    if f.present("hidden_act").is_some() && f.string("hidden_act")? != "silu" {
        return Err(f.bad("hidden_act", "supported: \"silu\" (SwiGLU)"));
    }
    let attention_bias = f.flag("attention_bias", false)?;
    let (qkv_bias, o_bias) = if qwen2 {
        (true, false)
    } else {
        (attention_bias, attention_bias)
    };
    let d_vocab = f.positive("vocab_size")?;
    let config = ModelConfig {
        n_layers: f.positive("num_hidden_layers")?,
        n_heads,
        d_model,
        d_head,
        d_mlp: Some(f.positive("intermediate_size")?),
        d_vocab,
        d_vocab_out: d_vocab,
        n_ctx: f.positive("max_position_embeddings")?,
        act_fn: ActFn::Silu,
        normalization: Normalization::RMSNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        pad_token: None,
        ln_eps: f.positive_f32("rms_norm_eps", 1e-6)?,
        n_kv_heads: (n_kv != n_heads).then_some(n_kv),
        rope_theta: f.positive_f32("rope_theta", 10000.0)?,
        gated_mlp: true,
        rotary_dim: None,
        parallel_attn_mlp: false,
    };
    Ok(HfConfig {
        family,
        config,
        tie_word_embeddings: f.flag("tie_word_embeddings", false)?,
        architecture,
        qkv_bias,
        o_bias,
    })
}
