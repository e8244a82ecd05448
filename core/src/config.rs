//! The transformer's hyperparameters, read from a RON file that sits beside the weights, or
//! from a TransformerLens `HookedTransformerConfig.to_dict()` saved as JSON ([`tl_json`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::text::TextError;

pub mod hf;
pub mod tl_json;

/// Nonlinearity of the MLP hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActFn {
    /// max(0, x).
    Relu,
    /// The tanh approximation of GELU (TransformerLens's `gelu_new`).
    GeluTanh,
    /// Exact GELU, 0.5·x·(1 + erf(x/√2)) (TransformerLens's `gelu`, PyTorch's `F.gelu`).
    Gelu,
    /// SiLU (swish), x·σ(x) (Llama's `silu`), used as the gate of a gated MLP.
    Silu,
}

/// Whether a query position may attend to later positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttentionKind {
    /// Each position attends to itself and earlier positions only.
    Causal,
    /// Each position attends to every (non-pad) position.
    Bidirectional,
}

/// Where the LayerNorms sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Normalization {
    /// LayerNorm before attention, before the MLP and before the unembedding.
    PreLayerNorm,
    /// The same LayerNorms without scale or shift, (x − mean)/sqrt(var + eps): what
    /// TransformerLens's `fold_ln` leaves (`normalization_type = "LNPre"`). The file holds no
    /// LayerNorm tensors; the loaded weights carry unit scales and zero shifts, which every
    /// executor applies exactly (x·1 + 0 = x in floating point).
    LNPre,
    /// No normalisation at all.
    None,
    /// RMSNorm before attention, before the MLP and before the unembedding:
    /// x / sqrt(mean(x²) + eps) · w, no centring and no shift (Llama, Qwen2). The loaded
    /// weights carry the scale `w` and a zero shift, which the file does not hold.
    RMSNorm,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionalKind {
    /// `pos_embed.W_pos` added to the residual stream after the token embedding.
    Standard,
    /// `pos_embed.W_pos` added to the (normalised) query and key inputs of every layer only,
    /// never to the values or the residual stream (Press et al., TransformerLens semantics).
    Shortformer,
    /// Rotary position embeddings (RoPE) applied to every head's queries and keys after their
    /// projection, over the first `r` = [`ModelConfig::rotary_dims`] dimensions of each head
    /// (the whole head unless `rotary_dim` says less, as GPT-NeoX's `rotary_pct` does), in
    /// Hugging Face's rotate-half layout (dimension i < r/2 pairs with i + r/2), frequencies
    /// `rope_theta^(-2i/r)`; dimensions from r on pass through. The model has no learned
    /// positional embedding.
    Rotary,
}

/// Hyperparameters of a TransformerLens-style transformer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_model: usize,
    pub d_head: usize,
    /// Hidden width of the MLPs; `None` for attention-only models.
    pub d_mlp: Option<usize>,
    /// Number of input tokens.
    pub d_vocab: usize,
    /// Number of output logits (classes for a classifier, `d_vocab` for a language model).
    pub d_vocab_out: usize,
    /// Longest sequence the model accepts (rows of `pos_embed.W_pos`).
    pub n_ctx: usize,
    pub act_fn: ActFn,
    pub normalization: Normalization,
    pub attention: AttentionKind,
    pub positional: PositionalKind,
    /// Token id whose key positions are masked out of attention, if any.
    #[serde(default)]
    pub pad_token: Option<u32>,
    /// LayerNorm epsilon.
    #[serde(default = "default_ln_eps")]
    pub ln_eps: f32,
    /// Key/value heads of grouped-query attention; `None` for one per query head. Must divide
    /// `n_heads`; query head h reads key/value head h / (n_heads / n_kv_heads).
    #[serde(default)]
    pub n_kv_heads: Option<usize>,
    /// The rotary base θ ([`PositionalKind::Rotary`] only).
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f32,
    /// A gated MLP: `W_out · (act(x·W_gate) ⊙ (x·W_in + b_in)) + b_out` (Llama's SwiGLU with
    /// [`ActFn::Silu`]); a plain one `W_out · act(x·W_in + b_in) + b_out` otherwise.
    #[serde(default)]
    pub gated_mlp: bool,
    /// Rotary models: how many leading dimensions of each head rotate (even, at most
    /// `d_head`); `None` for all of them. TransformerLens's `rotary_dim`.
    #[serde(default)]
    pub rotary_dim: Option<usize>,
    /// Parallel blocks (GPT-NeoX's `use_parallel_residual`, TransformerLens's
    /// `parallel_attn_mlp`): the MLP reads `ln2(resid_pre)` instead of the stream after
    /// attention, and the block adds both outputs, `resid_post = resid_pre + attn_out +
    /// mlp_out`; there is no `hook_resid_mid`.
    #[serde(default)]
    pub parallel_attn_mlp: bool,
}

fn default_ln_eps() -> f32 {
    1e-5
}

fn default_rope_theta() -> f32 {
    10000.0
}

impl ModelConfig {
    /// Parses a config from RON text (a leading byte-order mark dropped); `path` is only used
    /// to name the source in errors.
    pub fn from_ron_str(text: &str, path: &Path) -> Result<Self> {
        let cfg: ModelConfig = crate::text::parse_ron(text).map_err(|f| ModelError::Config {
            path: path.to_path_buf(),
            line: f.line,
            column: f.column,
            message: f.message,
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Reads and parses a config file: a TransformerLens JSON config when the extension is
    /// `.json` (see [`tl_json`]), RON otherwise.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::text::read(path).map_err(|e| match e {
            TextError::Io(source) => ModelError::Io {
                path: path.to_path_buf(),
                source,
            },
            TextError::NotUtf8(n) => ModelError::Config {
                path: path.to_path_buf(),
                line: n.line,
                column: n.column,
                message: n.to_string(),
            },
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            tl_json::from_tl_json_str(&text, path)
        } else {
            Self::from_ron_str(&text, path)
        }
    }

    /// Rejects configurations no forward pass can run.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |message: String| {
            Err(ModelError::ConfigValue {
                path: path.to_path_buf(),
                message,
            })
        };
        for (name, v) in [
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("d_model", self.d_model),
            ("d_head", self.d_head),
            ("d_vocab", self.d_vocab),
            ("d_vocab_out", self.d_vocab_out),
            ("n_ctx", self.n_ctx),
        ] {
            if v == 0 {
                return bad(format!("`{name}` must be positive"));
            }
        }
        if self.d_mlp == Some(0) {
            return bad("`d_mlp` must be positive, or None for an attention-only model".into());
        }
        if let Some(p) = self.pad_token {
            if p as usize >= self.d_vocab {
                return bad(format!(
                    "`pad_token` {p} is outside the vocabulary (d_vocab = {})",
                    self.d_vocab
                ));
            }
        }
        if let Some(kv) = self.n_kv_heads {
            if kv == 0 || !self.n_heads.is_multiple_of(kv) {
                return bad(format!(
                    "`n_kv_heads` = {kv} must be positive and divide `n_heads` = {} \
                     (grouped-query attention shares each key/value head among \
                     n_heads / n_kv_heads query heads)",
                    self.n_heads
                ));
            }
        }
        if self.rotary_dim.is_some() && self.positional != PositionalKind::Rotary {
            return bad("`rotary_dim` is set but `positional` is not Rotary".into());
        }
        if self.positional == PositionalKind::Rotary {
            match self.rotary_dim {
                None if !self.d_head.is_multiple_of(2) => {
                    return bad(format!(
                        "rotary positions need an even `d_head`, got {}",
                        self.d_head
                    ));
                }
                Some(r) if r == 0 || !r.is_multiple_of(2) || r > self.d_head => {
                    return bad(format!(
                        "`rotary_dim` must be even, positive and at most `d_head` = {}, got {r}",
                        self.d_head
                    ));
                }
                _ => {}
            }
            if !(self.rope_theta > 0.0 && self.rope_theta.is_finite()) {
                return bad(format!(
                    "`rope_theta` must be a positive finite number, got {}",
                    self.rope_theta
                ));
            }
        }
        if self.gated_mlp && self.d_mlp.is_none() {
            return bad("`gated_mlp` needs an MLP (`d_mlp` is None)".into());
        }
        if !(self.ln_eps > 0.0 && self.ln_eps.is_finite()) {
            return bad(format!(
                "`ln_eps` must be a positive finite number, got {}",
                self.ln_eps
            ));
        }
        Ok(())
    }

    /// Whether the model normalises the residual stream before each sublayer and the
    /// unembedding (with or without learned scale and shift).
    pub fn has_layer_norm(&self) -> bool {
        self.normalization != Normalization::None
    }

    /// Width of one head's q/k/v block across all heads (`n_heads * d_head`).
    pub fn d_heads_total(&self) -> usize {
        self.n_heads * self.d_head
    }

    /// Key/value heads (`n_heads` without grouped-query attention).
    pub fn kv_heads(&self) -> usize {
        self.n_kv_heads.unwrap_or(self.n_heads)
    }

    /// The key/value head query head `head` reads.
    pub fn kv_head_of(&self, head: usize) -> usize {
        head / (self.n_heads / self.kv_heads())
    }

    /// The leading dimensions of each head that rotary models rotate (`rotary_dim`, else
    /// `d_head`).
    pub fn rotary_dims(&self) -> usize {
        self.rotary_dim.unwrap_or(self.d_head)
    }

    /// Whether the model has learned positions (`pos_embed.W_pos`).
    pub fn has_pos_embed(&self) -> bool {
        self.positional != PositionalKind::Rotary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAREN: &str = r#"(n_layers: 3, n_heads: 2, d_model: 56, d_head: 28, d_mlp: Some(56), d_vocab: 5,
        d_vocab_out: 2, n_ctx: 42, act_fn: Relu, normalization: PreLayerNorm,
        attention: Bidirectional, positional: Standard, pad_token: Some(1))"#;

    #[test]
    fn parses_a_full_config_with_default_eps() {
        let cfg = ModelConfig::from_ron_str(PAREN, Path::new("m.ron")).unwrap();
        assert_eq!(cfg.d_mlp, Some(56));
        assert_eq!(cfg.ln_eps, 1e-5);
    }

    #[test]
    fn configs_without_the_llama_fields_keep_their_meaning() {
        let cfg = ModelConfig::from_ron_str(PAREN, Path::new("m.ron")).unwrap();
        assert_eq!((cfg.n_kv_heads, cfg.gated_mlp), (None, false));
        assert_eq!((cfg.kv_heads(), cfg.kv_head_of(1)), (2, 1));
        assert!(cfg.has_pos_embed());
    }

    #[test]
    fn a_llama_config_parses_and_checks_its_key_value_heads() {
        let llama = PAREN
            .replace("n_heads: 2", "n_heads: 4")
            .replace("d_head: 28", "d_head: 14")
            .replace("act_fn: Relu", "act_fn: Silu")
            .replace("PreLayerNorm", "RMSNorm")
            .replace("positional: Standard", "positional: Rotary")
            .replace(
                "pad_token: Some(1)",
                "pad_token: None, n_kv_heads: Some(2), rope_theta: 500000.0, gated_mlp: true",
            );
        let cfg = ModelConfig::from_ron_str(&llama, Path::new("m.ron")).unwrap();
        assert_eq!(
            (cfg.kv_heads(), cfg.kv_head_of(1), cfg.kv_head_of(2)),
            (2, 0, 1)
        );
        assert!(!cfg.has_pos_embed() && cfg.gated_mlp);
        let err = ModelConfig::from_ron_str(
            &llama.replace("n_kv_heads: Some(2)", "n_kv_heads: Some(3)"),
            Path::new("m.ron"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`n_kv_heads` = 3") && err.contains("`n_heads` = 4"),
            "{err}"
        );
        let err = ModelConfig::from_ron_str(
            &llama.replace("d_head: 14", "d_head: 13"),
            Path::new("m.ron"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("even `d_head`"), "{err}");
    }

    #[test]
    fn partial_rotary_and_parallel_blocks_parse_and_are_checked() {
        let neox = PAREN
            .replace("n_heads: 2", "n_heads: 4")
            .replace("d_head: 28", "d_head: 14")
            .replace("positional: Standard", "positional: Rotary")
            .replace(
                "pad_token: Some(1)",
                "pad_token: None, rotary_dim: Some(4), parallel_attn_mlp: true",
            );
        let cfg = ModelConfig::from_ron_str(&neox, Path::new("m.ron")).unwrap();
        assert_eq!((cfg.rotary_dims(), cfg.parallel_attn_mlp), (4, true));
        // An odd d_head is fine when only an even number of its dimensions rotate.
        let odd = neox.replace("d_head: 14", "d_head: 13");
        assert_eq!(
            ModelConfig::from_ron_str(&odd, Path::new("m.ron"))
                .unwrap()
                .rotary_dims(),
            4
        );
        for bad in ["Some(3)", "Some(0)", "Some(16)"] {
            let text = neox.replace("rotary_dim: Some(4)", &format!("rotary_dim: {bad}"));
            let err = ModelConfig::from_ron_str(&text, Path::new("m.ron"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("`rotary_dim` must be even"), "{bad}: {err}");
        }
        let err = ModelConfig::from_ron_str(
            &neox.replace("positional: Rotary", "positional: Standard"),
            Path::new("m.ron"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`rotary_dim` is set"), "{err}");
        let cfg = ModelConfig::from_ron_str(PAREN, Path::new("m.ron")).unwrap();
        assert_eq!((cfg.rotary_dims(), cfg.parallel_attn_mlp), (28, false));
    }

    #[test]
    fn syntax_error_reports_line_and_column() {
        let text = "(n_layers: 3,\n  n_heads: two)";
        let err = ModelConfig::from_ron_str(text, Path::new("m.ron"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.ron:2:"), "{err}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let text = PAREN.replace("n_ctx: 42", "n_ctx: 42, n_ctxx: 3");
        let err = ModelConfig::from_ron_str(&text, Path::new("m.ron"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("n_ctxx"), "{err}");
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let cfg = ModelConfig::from_ron_str(&format!("\u{feff}{PAREN}"), Path::new("m.ron"));
        assert_eq!(cfg.unwrap().n_layers, 3);
    }

    #[test]
    fn a_config_that_is_not_utf8_is_reported_at_the_bad_byte() {
        let dir = std::env::temp_dir().join(format!("scrub-core-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("latin1.ron");
        let mut bytes = PAREN.as_bytes().to_vec();
        let at = PAREN.find("Relu").unwrap();
        bytes[at] = 0xe9;
        std::fs::write(&p, &bytes).unwrap();
        let err = ModelConfig::load(&p).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2:", p.display()))
                && err.contains(&format!("byte offset {at}")),
            "{err}"
        );
    }

    #[test]
    fn pad_outside_vocab_is_rejected() {
        let text = PAREN.replace("pad_token: Some(1)", "pad_token: Some(9)");
        let err = ModelConfig::from_ron_str(&text, Path::new("m.ron"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pad_token"), "{err}");
    }
}
