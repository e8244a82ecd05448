//! `model_type: "gpt2"`: transformers' `GPT2Config` (read field by field in transformers
//! 4.57.6), for `GPT2LMHeadModel` and `GPT2Model` checkpoints. GPT-2 is scrub's own
//! architecture: LayerNorm before attention, the MLP and the unembedding, learned positions,
//! causal attention scaled by 1/sqrt(d_head), biases everywhere, the unembedding tied to the
//! token embedding unless `tie_word_embeddings` is false.
//!
//! `n_layer`, `n_head`, `n_embd`, `vocab_size` and `n_positions` must be present (no model is
//! silently given GPT-2 small's sizes); the others take `GPT2Config`'s defaults when absent.

use super::{Fields, HfConfig, HfFamily, Must};
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::error::Result;

/// `architectures` entries whose weights are a GPT-2 language model.
pub const ARCHITECTURES: &[&str] = &["GPT2LMHeadModel", "GPT2Model"];

/// Fields that become [`HfConfig`] fields.
pub const MAPPED: &[&str] = &[
    "architectures",
    "n_layer",
    "n_head",
    "n_embd",
    "n_inner",
    "vocab_size",
    "n_positions",
    "activation_function",
    "layer_norm_epsilon",
    "tie_word_embeddings",
];

/// Checked fields: name, required value, and what another value would switch on.
pub const MUST_BE: &[(&str, Must, &str)] = &[
    (
        "scale_attn_weights",
        Must::True,
        "attention scores are always scaled by 1/sqrt(d_head) here",
    ),
    (
        "scale_attn_by_inverse_layer_idx",
        Must::False,
        "scaling attention scores by 1/(layer + 1) is not supported",
    ),
    (
        "reorder_and_upcast_attn",
        Must::False,
        "the reordered, upcast attention computation is not supported",
    ),
    (
        "add_cross_attention",
        Must::False,
        "cross-attention (an encoder-decoder GPT-2) is not supported",
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
    // The sequence-summary head of GPT2DoubleHeadsModel / classification models, which
    // `architectures` rules out.
    "summary_type",
    "summary_use_proj",
    "summary_activation",
    "summary_proj_to_labels",
    "summary_first_dropout",
    // Cross-attention only (`add_cross_attention` must be false).
    "cross_attention_hidden_size",
    "tie_encoder_decoder",
];

/// Fields that do not change what the model computes.
pub const HARMLESS: &[&str] = &[
    // Dropout: off at inference.
    "attn_pdrop",
    "embd_pdrop",
    "resid_pdrop",
    "initializer_range",
    // The old name of n_positions, which GPT2Config no longer reads.
    "n_ctx",
    // GPT-2 attention is causal whatever this says.
    "is_decoder",
];

/// Maps a `gpt2` config.
pub fn config(f: &Fields) -> Result<HfConfig> {
    f.check_keys(MAPPED, MUST_BE, MOOT, HARMLESS)?;
    let architecture = f.architecture(ARCHITECTURES)?;
    let d_model = f.positive("n_embd")?;
    let n_heads = f.positive("n_head")?;
    if d_model % n_heads != 0 {
        return Err(f.bad(
            "n_head",
            &format!("n_embd = {d_model} is not a multiple of it (d_head = n_embd / n_head)"),
        ));
    }
    let d_mlp = match f.present("n_inner") {
        None => 4 * d_model,
        Some(_) => f.positive("n_inner")?,
    };
    let act_fn = f.act_fn("activation_function", ActFn::GeluTanh)?;
    let d_vocab = f.positive("vocab_size")?;
    let config = ModelConfig {
        n_layers: f.positive("n_layer")?,
        n_heads,
        d_model,
        d_head: d_model / n_heads,
        d_mlp: Some(d_mlp),
        d_vocab,
        d_vocab_out: d_vocab,
        n_ctx: f.positive("n_positions")?,
        act_fn,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Standard,
        pad_token: None,
        ln_eps: f.positive_f32("layer_norm_epsilon", 1e-5)?,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    };
    Ok(HfConfig {
        family: HfFamily::Gpt2,
        config,
        tie_word_embeddings: f.flag("tie_word_embeddings", true)?,
        architecture,
        qkv_bias: true,
        o_bias: true,
    })
}
