//! `model_type: "gpt_neox"`: transformers' `GPTNeoXConfig` (read field by field in
//! transformers 4.57.6), for `GPTNeoXForCausalLM` / `GPTNeoXModel` checkpoints (Pythia,
//! GPT-NeoX-20B): LayerNorm before attention, the MLP and the unembedding; rotary queries and
//! keys over the first `int(head_size * rotary_pct)` dimensions of each head (rotate-half
//! layout within them, base `rotary_emb_base`, no scaling), the others unrotated; causal
//! attention scaled by 1/sqrt(head_size); a plain MLP with biases; parallel attention and MLP
//! when `use_parallel_residual` (the default), sequential blocks otherwise; biases on the
//! fused q/k/v and output projections when `attention_bias` (the default); the unembedding
//! `embed_out` untied unless `tie_word_embeddings`.
//!
//! `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`,
//! `vocab_size` and `max_position_embeddings` must be present; the others take the
//! `GPTNeoXConfig` defaults when absent. `GPTNeoXConfig` also saves `partial_rotary_factor`
//! and `rope_theta`, copies of `rotary_pct` and `rotary_emb_base` that it overwrites on
//! loading; a copy that disagrees with its original is an error, since which one a model was
//! trained with is then unclear.

use serde_json::Value;

use super::{Fields, HfConfig, HfFamily, Must};
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::error::Result;

/// `architectures` entries whose weights are a GPT-NeoX language model.
pub const ARCHITECTURES: &[&str] = &["GPTNeoXForCausalLM", "GPTNeoXModel"];

/// Fields that become [`HfConfig`] fields.
pub const MAPPED: &[&str] = &[
    "architectures",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "vocab_size",
    "max_position_embeddings",
    "hidden_act",
    "rotary_pct",
    "partial_rotary_factor",
    "rotary_emb_base",
    "rope_theta",
    "rope_scaling",
    "layer_norm_eps",
    "use_parallel_residual",
    "attention_bias",
    "tie_word_embeddings",
];

/// Checked fields: name, required value, and what another value would switch on.
pub const MUST_BE: &[(&str, Must, &str)] = &[
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
    // The classification and QA heads, which `architectures` rules out.
    "classifier_dropout",
    // Cross-attention only.
    "cross_attention_hidden_size",
    "tie_encoder_decoder",
];

/// Fields that do not change what the model computes.
pub const HARMLESS: &[&str] = &[
    // Dropout: off at inference.
    "attention_dropout",
    "hidden_dropout",
    "initializer_range",
    "tf_legacy_loss",
    // GPT-NeoX attention is causal whatever this says.
    "is_decoder",
];

/// `GPTNeoXConfig`'s defaults for the rotary fields.
const ROTARY_PCT: f64 = 0.25;
const ROTARY_EMB_BASE: f64 = 10000.0;

/// Maps a `gpt_neox` config.
pub fn config(f: &Fields) -> Result<HfConfig> {
    f.check_keys(MAPPED, MUST_BE, MOOT, HARMLESS)?;
    if f.present("rope_scaling").is_some() {
        return Err(f.bad(
            "rope_scaling",
            "scaled rotary embeddings (linear, dynamic, yarn, ...) are not supported; it must \
             be null",
        ));
    }
    let architecture = f.architecture(ARCHITECTURES)?;
    let d_model = f.positive("hidden_size")?;
    let n_heads = f.positive("num_attention_heads")?;
    if !d_model.is_multiple_of(n_heads) {
        return Err(f.bad(
            "num_attention_heads",
            &format!(
                "hidden_size = {d_model} is not a multiple of it (head size = hidden_size / \
                 num_attention_heads)"
            ),
        ));
    }
    let d_head = d_model / n_heads;
    let pct = number(f, "rotary_pct", ROTARY_PCT)?;
    if !(pct > 0.0 && pct <= 1.0) {
        return Err(f.bad("rotary_pct", "expected a fraction in (0, 1]"));
    }
    same_as(f, "partial_rotary_factor", "rotary_pct", pct)?;
    // transformers' `int(head_size * rotary_pct)`, truncating the f64 product.
    let rotary_dims = (d_head as f64 * pct) as usize;
    if rotary_dims == 0 || !rotary_dims.is_multiple_of(2) {
        return Err(f.bad(
            "rotary_pct",
            &format!(
                "it rotates int({d_head} * rotary_pct) = {rotary_dims} dimensions of each \
                 head; rotate-half rotary embeddings need an even, positive number"
            ),
        ));
    }
    let base = number(f, "rotary_emb_base", ROTARY_EMB_BASE)?;
    if !(base > 0.0 && base.is_finite()) {
        return Err(f.bad("rotary_emb_base", "expected a positive number"));
    }
    same_as(f, "rope_theta", "rotary_emb_base", base)?;
    let attention_bias = f.flag("attention_bias", true)?;
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
        act_fn: f.act_fn("hidden_act", ActFn::Gelu)?,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        pad_token: None,
        ln_eps: f.positive_f32("layer_norm_eps", 1e-5)?,
        n_kv_heads: None,
        rope_theta: base as f32,
        gated_mlp: false,
        rotary_dim: (rotary_dims < d_head).then_some(rotary_dims),
        parallel_attn_mlp: f.flag("use_parallel_residual", true)?,
    };
    Ok(HfConfig {
        family: HfFamily::GptNeox,
        config,
        tie_word_embeddings: f.flag("tie_word_embeddings", false)?,
        architecture,
        qkv_bias: attention_bias,
        o_bias: attention_bias,
    })
}

/// A number field, `default` when absent.
fn number(f: &Fields, name: &str, default: f64) -> Result<f64> {
    match f.present(name) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| f.bad(name, "expected a number")),
    }
}

/// Checks that `copy`, when present, holds `value`, the value of `original`.
fn same_as(f: &Fields, copy: &str, original: &str, value: f64) -> Result<()> {
    match f.present(copy).map(Value::as_f64) {
        None => Ok(()),
        Some(Some(v)) if v == value => Ok(()),
        Some(_) => Err(f.bad(
            copy,
            &format!(
                "GPTNeoXConfig replaces it with `{original}` = {value} when loading; the two \
                 disagree, so which one the model was trained with is unclear"
            ),
        )),
    }
}
