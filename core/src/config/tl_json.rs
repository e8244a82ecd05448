//! TransformerLens configs: `HookedTransformerConfig.to_dict()` saved as JSON
//! (`json.dump(model.cfg.to_dict(), f, default=str)`), mapped onto [`ModelConfig`].
//!
//! Policy, so that a model is never run with a switch silently dropped: every field of
//! TransformerLens 2.x's config (2.18.0 read field by field) is either
//! - mapped onto a [`ModelConfig`] field ([`MAPPED`]),
//! - checked to hold the value under which scrub computes the same function, any other
//!   value being a [`ModelError::TlField`] naming the field and value ([`MUST_BE`], plus
//!   `use_attn_scale` and `attn_scale`),
//! - moot because a checked field already rules out what it configures ([`MOOT`]), or
//! - known not to change the forward pass: device, seeds, initialisation, tokenizer, which
//!   hooks exist ([`HARMLESS`]).
//!
//! Any other key is a [`ModelError::TlUnknownField`]: a later TransformerLens may have added a
//! switch that changes the computation. Fields absent from the file take TransformerLens's
//! defaults (what `HookedTransformerConfig.from_dict` would do); `n_layers`, `d_model`,
//! `n_ctx`, `d_head`, `n_heads` and `d_vocab` have none here and must be present.
//! TransformerLens has no padding token, so `pad_token` is always `None`.

use std::path::Path;

use serde_json::{Map, Value};

use super::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::error::{ModelError, Result};

/// Fields that become [`ModelConfig`] fields.
pub const MAPPED: &[&str] = &[
    "n_layers",
    "d_model",
    "n_ctx",
    "d_head",
    "n_heads",
    "d_mlp",
    "act_fn",
    "d_vocab",
    "d_vocab_out",
    "eps",
    "normalization_type",
    "attention_dir",
    "positional_embedding_type",
    "attn_only",
    "use_attn_scale",
    "attn_scale",
];

/// What a checked field must hold for scrub's forward pass to be TransformerLens's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Must {
    /// `false` (or absent).
    False,
    /// `null` (or absent).
    Null,
    /// A number ≤ 0, TransformerLens's "off" (or absent).
    NotPositive,
}

/// Checked fields: name, required value, and what the other values would switch on.
pub const MUST_BE: &[(&str, Must, &str)] = &[
    (
        "use_local_attn",
        Must::False,
        "local (windowed) attention is not supported",
    ),
    (
        "scale_attn_by_inverse_layer_idx",
        Must::False,
        "scaling attention scores by 1/(layer + 1) is not supported",
    ),
    (
        "use_qk_norm",
        Must::False,
        "query/key normalisation is not supported",
    ),
    (
        "post_embedding_ln",
        Must::False,
        "a LayerNorm after the embedding is not supported",
    ),
    (
        "parallel_attn_mlp",
        Must::False,
        "parallel attention and MLP blocks are not supported",
    ),
    ("final_rms", Must::False, "a final RMSNorm is not supported"),
    ("gated_mlp", Must::False, "gated MLPs are not supported"),
    (
        "use_normalization_before_and_after",
        Must::False,
        "normalisation after each sublayer is not supported",
    ),
    (
        "load_in_4bit",
        Must::False,
        "4-bit quantised weights are not supported",
    ),
    (
        "n_key_value_heads",
        Must::Null,
        "grouped-query attention is not supported",
    ),
    (
        "num_experts",
        Must::Null,
        "mixture-of-experts MLPs are not supported",
    ),
    (
        "experts_per_token",
        Must::Null,
        "mixture-of-experts MLPs are not supported",
    ),
    (
        "attn_scores_soft_cap",
        Must::NotPositive,
        "soft-capped attention scores are not supported",
    ),
    (
        "output_logits_soft_cap",
        Must::NotPositive,
        "soft-capped logits are not supported",
    ),
];

/// Fields that only configure something a mapped or checked field already rules out.
pub const MOOT: &[&str] = &[
    // Rotary embeddings only (`positional_embedding_type` = "rotary" is rejected).
    "rotary_dim",
    "rotary_base",
    "rotary_base_local",
    "rotary_adjacent_pairs",
    "use_NTK_by_parts_rope",
    "NTK_by_parts_low_freq_factor",
    "NTK_by_parts_high_freq_factor",
    "NTK_by_parts_factor",
    "NTK_original_ctx_len",
    // Relative position biases only (that positional type is rejected).
    "relative_attention_max_distance",
    "relative_attention_num_buckets",
    // Local attention only (`use_local_attn` must be false).
    "window_size",
    "attn_types",
    // Grouped-query attention only (`n_key_value_heads` must be null).
    "ungroup_grouped_query_attention",
];

/// Fields that do not change what the model computes.
pub const HARMLESS: &[&str] = &[
    "model_name",
    "device",
    "n_devices",
    "seed",
    "initializer_range",
    "init_mode",
    "init_weights",
    "tokenizer_name",
    "tokenizer_prepends_bos",
    "default_prepend_bos",
    "trust_remote_code",
    "original_architecture",
    "from_checkpoint",
    "checkpoint_index",
    "checkpoint_label_type",
    "checkpoint_value",
    "n_params",
    // Which hooks TransformerLens materialises; the values are the same either way.
    "use_attn_result",
    "use_split_qkv_input",
    "use_hook_mlp_in",
    "use_attn_in",
    "use_hook_tokens",
    // The state dict carries W_U itself, tied or not.
    "tie_word_embeddings",
    // Encoder-decoder (T5) generation only; HookedTransformer never reads it.
    "decoder_start_token_id",
    // Weights are widened to f32 and every executor computes in f32, so a float16/bfloat16
    // model runs at higher precision than in TransformerLens, not as a different function.
    "dtype",
];

/// `text` (a leading byte-order mark dropped) parsed as one JSON object; a syntax error
/// names its line and column in `path`, anything but an object is `not_object`.
pub(crate) fn json_object(text: &str, path: &Path, not_object: &str) -> Result<Map<String, Value>> {
    let text = crate::text::strip_bom(text);
    let value: Value = serde_json::from_str(text).map_err(|e| ModelError::Config {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ModelError::ConfigValue {
            path: path.to_path_buf(),
            message: not_object.into(),
        }),
    }
}

/// Parses TransformerLens config JSON (a leading byte-order mark dropped); `path` names the
/// source in errors.
pub fn from_tl_json_str(text: &str, path: &Path) -> Result<ModelConfig> {
    let map = json_object(
        text,
        path,
        "a TransformerLens config must be a JSON object (cfg.to_dict())",
    )?;
    let cfg = Fields { map: &map, path }.config()?;
    cfg.validate(path)?;
    Ok(cfg)
}

/// The JSON object being mapped, and where it came from.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: &'a Path,
}

impl Fields<'_> {
    fn config(&self) -> Result<ModelConfig> {
        for (key, value) in self.map {
            let k = key.as_str();
            let known = MAPPED.contains(&k)
                || MUST_BE.iter().any(|(n, _, _)| *n == k)
                || MOOT.contains(&k)
                || HARMLESS.contains(&k);
            if !known {
                return Err(ModelError::TlUnknownField {
                    path: self.path.to_path_buf(),
                    field: key.clone(),
                    value: value.to_string(),
                });
            }
        }
        for &(name, must, why) in MUST_BE {
            let Some(v) = self.present(name) else {
                continue;
            };
            let ok = match must {
                Must::False => v == &Value::Bool(false),
                Must::Null => false,
                Must::NotPositive => v.as_f64().is_some_and(|x| x <= 0.0),
            };
            if !ok {
                return Err(self.bad(name, why));
            }
        }

        let d_model = self.positive("d_model")?;
        let d_head = self.positive("d_head")?;
        let attn_only = self.flag("attn_only", false)?;
        let d_mlp = if attn_only {
            // TransformerLens builds no MLP then, whatever d_mlp says.
            None
        } else {
            match self.present("d_mlp") {
                // TransformerLens's own default for a model with MLPs.
                None => Some(4 * d_model),
                Some(_) => Some(self.positive("d_mlp")?),
            }
        };
        let act_fn = match self.present("act_fn") {
            // Never applied: there is no MLP.
            None if attn_only => ActFn::Relu,
            None if self.map.contains_key("act_fn") => {
                return Err(self.bad("act_fn", "a model with MLPs (attn_only false) needs one"))
            }
            None => {
                return Err(ModelError::TlMissingField {
                    path: self.path.to_path_buf(),
                    field: "act_fn".into(),
                })
            }
            Some(_) => match self.string("act_fn")? {
                "relu" => ActFn::Relu,
                "gelu" => ActFn::Gelu,
                // gelu_fast and gelu_pytorch_tanh are the same tanh formula as gelu_new,
                // written differently (they differ from it by float rounding only).
                "gelu_new" | "gelu_fast" | "gelu_pytorch_tanh" => ActFn::GeluTanh,
                _ => {
                    return Err(self.bad(
                        "act_fn",
                        "supported: \"relu\", \"gelu\" (exact), \"gelu_new\", \"gelu_fast\", \
                         \"gelu_pytorch_tanh\" (tanh approximation)",
                    ))
                }
            },
        };
        let normalization = match self.present("normalization_type") {
            None => Normalization::PreLayerNorm,
            Some(Value::Null) => Normalization::None,
            Some(_) => match self.string("normalization_type")? {
                "LN" => Normalization::PreLayerNorm,
                "LNPre" => Normalization::LNPre,
                "RMS" | "RMSPre" => {
                    return Err(self.bad("normalization_type", "RMSNorm is not supported yet"))
                }
                _ => {
                    return Err(
                        self.bad("normalization_type", "supported: \"LN\", \"LNPre\" or null")
                    )
                }
            },
        };
        let positional = match self.present("positional_embedding_type") {
            None => PositionalKind::Standard,
            Some(_) => match self.string("positional_embedding_type")? {
                "standard" => PositionalKind::Standard,
                "shortformer" => PositionalKind::Shortformer,
                _ => {
                    return Err(self.bad(
                        "positional_embedding_type",
                        "supported: \"standard\", \"shortformer\"",
                    ))
                }
            },
        };
        let attention = match self.present("attention_dir") {
            None => AttentionKind::Causal,
            Some(_) => match self.string("attention_dir")? {
                "causal" => AttentionKind::Causal,
                "bidirectional" => AttentionKind::Bidirectional,
                _ => {
                    return Err(
                        self.bad("attention_dir", "supported: \"causal\", \"bidirectional\"")
                    )
                }
            },
        };
        if !self.flag("use_attn_scale", true)? {
            return Err(self.bad(
                "use_attn_scale",
                "scores are always scaled by 1/sqrt(d_head) here",
            ));
        }
        if let Some(v) = self.present("attn_scale") {
            let want = (d_head as f64).sqrt();
            // -1 is TransformerLens's "not set yet", which __post_init__ turns into sqrt(d_head).
            let ok = v
                .as_f64()
                .is_some_and(|s| s == -1.0 || (s - want).abs() <= 1e-6 * want);
            if !ok {
                return Err(self.bad(
                    "attn_scale",
                    &format!("only sqrt(d_head) = {want} is supported"),
                ));
            }
        }
        let d_vocab = self.positive("d_vocab")?;
        let d_vocab_out = match self.present("d_vocab_out") {
            None => d_vocab,
            Some(v) if v.as_i64() == Some(-1) => d_vocab,
            Some(_) => self.positive("d_vocab_out")?,
        };
        let ln_eps = match self.present("eps") {
            None => 1e-5,
            Some(v) => match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => x as f32,
                _ => return Err(self.bad("eps", "expected a positive number")),
            },
        };
        Ok(ModelConfig {
            n_layers: self.positive("n_layers")?,
            n_heads: self.positive("n_heads")?,
            d_model,
            d_head,
            d_mlp,
            d_vocab,
            d_vocab_out,
            n_ctx: self.positive("n_ctx")?,
            act_fn,
            normalization,
            attention,
            positional,
            pad_token: None,
            ln_eps,
            n_kv_heads: None,
            rope_theta: 10000.0,
            gated_mlp: false,
            rotary_dim: None,
            parallel_attn_mlp: false,
        })
    }

    /// The field's value, `None` when absent. `null` counts as absent (TransformerLens's
    /// "unset") for every field but `normalization_type`, where it means no normalisation.
    fn present(&self, name: &str) -> Option<&Value> {
        match self.map.get(name) {
            None => None,
            Some(Value::Null) if !matches!(name, "normalization_type") => None,
            v => v,
        }
    }

    fn bad(&self, name: &str, message: &str) -> ModelError {
        ModelError::TlField {
            path: self.path.to_path_buf(),
            field: name.into(),
            value: self.map.get(name).map_or("null".into(), Value::to_string),
            message: message.into(),
        }
    }

    /// A required positive integer.
    fn positive(&self, name: &str) -> Result<usize> {
        let v = self
            .present(name)
            .ok_or_else(|| ModelError::TlMissingField {
                path: self.path.to_path_buf(),
                field: name.into(),
            })?;
        match v.as_u64() {
            Some(n) if n > 0 => {
                usize::try_from(n).map_err(|_| self.bad(name, "does not fit this machine's usize"))
            }
            _ => Err(self.bad(name, "expected a positive integer")),
        }
    }

    /// A boolean, `default` when absent.
    fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.present(name) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(name, "expected true or false")),
        }
    }

    /// A string field that is present.
    fn string(&self, name: &str) -> Result<&str> {
        self.present(name)
            .and_then(Value::as_str)
            .ok_or_else(|| self.bad(name, "expected a string"))
    }
}

#[cfg(test)]
#[path = "tl_json_tests.rs"]
mod tests;
