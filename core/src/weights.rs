//! Model weights in TransformerLens naming, loaded from safetensors and checked against
//! the config: every tensor present, of the expected shape, finite, and no tensor in the
//! file left unused.

use std::collections::HashMap;
use std::path::Path;

use safetensors::Dtype;

use crate::config::{ModelConfig, Normalization};
use crate::error::{ModelError, Result};

mod hf;
mod store;
mod zero;

pub use hf::{HfCheckpoint, INDEX as HF_INDEX, SAFETENSORS as HF_SAFETENSORS};
use store::TensorStore;

/// LayerNorm scale and shift, each [d_model]; unit scale and zero shift for
/// [`Normalization::LNPre`], whose file holds neither; for [`Normalization::RMSNorm`] the
/// scale and a zero shift (which no executor reads).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl LayerNorm {
    /// Scale 1, shift 0: a LayerNorm that only centres and rescales (TransformerLens's
    /// `LayerNormPre`), exactly, since x·1 + 0 = x in floating point.
    pub fn identity(d_model: usize) -> Self {
        LayerNorm {
            w: vec![1.0; d_model],
            b: vec![0.0; d_model],
        }
    }
}

/// One attention layer; per-head matrices stacked along the first axis. With grouped-query
/// attention the key and value tensors have `n_kv_heads` heads instead of `n_heads`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttnWeights {
    /// [n_heads, d_model, d_head]
    pub w_q: Vec<f32>,
    /// [n_kv_heads, d_model, d_head]
    pub w_k: Vec<f32>,
    /// [n_kv_heads, d_model, d_head]
    pub w_v: Vec<f32>,
    /// [n_heads, d_head, d_model]
    pub w_o: Vec<f32>,
    /// [n_heads, d_head]
    pub b_q: Vec<f32>,
    /// [n_kv_heads, d_head]
    pub b_k: Vec<f32>,
    /// [n_kv_heads, d_head]
    pub b_v: Vec<f32>,
    /// [d_model]
    pub b_o: Vec<f32>,
}

/// One MLP: `W_out · act(W_in · x + b_in) + b_out`, or, gated (`w_gate` given),
/// `W_out · (act(W_gate · x) ⊙ (W_in · x + b_in)) + b_out`.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpWeights {
    /// [d_model, d_mlp], for a gated MLP only.
    pub w_gate: Option<Vec<f32>>,
    /// [d_model, d_mlp]
    pub w_in: Vec<f32>,
    /// [d_mlp]
    pub b_in: Vec<f32>,
    /// [d_mlp, d_model]
    pub w_out: Vec<f32>,
    /// [d_model]
    pub b_out: Vec<f32>,
}

/// One transformer block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockWeights {
    pub ln1: Option<LayerNorm>,
    pub ln2: Option<LayerNorm>,
    pub attn: AttnWeights,
    pub mlp: Option<MlpWeights>,
}

/// All parameters of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// [d_vocab, d_model]
    pub w_e: Vec<f32>,
    /// [n_ctx, d_model]; empty for a rotary model, which has no learned positions.
    pub w_pos: Vec<f32>,
    pub blocks: Vec<BlockWeights>,
    pub ln_final: Option<LayerNorm>,
    /// [d_model, d_vocab_out]
    pub w_u: Vec<f32>,
    /// [d_vocab_out]
    pub b_u: Vec<f32>,
}

/// A config together with weights that fit it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub config: ModelConfig,
    pub weights: Weights,
}

impl Model {
    /// Loads a config (TransformerLens `cfg.to_dict()` JSON when the path ends in `.json`,
    /// scrub's RON otherwise; see [`ModelConfig::load`]) and safetensors weights, checking
    /// every tensor.
    pub fn load(config_path: &Path, weights_path: &Path) -> Result<Model> {
        let config = ModelConfig::load(config_path)?;
        let weights = Weights::load(&config, weights_path)?;
        Ok(Model { config, weights })
    }
}

/// Tensor name → expected shape, in TransformerLens naming, for `cfg`.
pub fn expected_tensors(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (d, h, e) = (cfg.d_model, cfg.n_heads, cfg.d_head);
    let kv = cfg.kv_heads();
    let mut v = vec![("embed.W_E".to_string(), vec![cfg.d_vocab, d])];
    if cfg.has_pos_embed() {
        v.push(("pos_embed.W_pos".to_string(), vec![cfg.n_ctx, d]));
    }
    // LNPre normalises too, but has no tensors to load; RMSNorm has a scale only.
    let ln = cfg.normalization == Normalization::PreLayerNorm;
    let rms = cfg.normalization == Normalization::RMSNorm;
    let norm = |v: &mut Vec<(String, Vec<usize>)>, p: &str| {
        if ln || rms {
            v.push((format!("{p}.w"), vec![d]));
        }
        if ln {
            v.push((format!("{p}.b"), vec![d]));
        }
    };
    for l in 0..cfg.n_layers {
        let p = format!("blocks.{l}");
        for (n, s) in [
            ("attn.W_Q", vec![h, d, e]),
            ("attn.W_K", vec![kv, d, e]),
            ("attn.W_V", vec![kv, d, e]),
            ("attn.W_O", vec![h, e, d]),
            ("attn.b_Q", vec![h, e]),
            ("attn.b_K", vec![kv, e]),
            ("attn.b_V", vec![kv, e]),
            ("attn.b_O", vec![d]),
        ] {
            v.push((format!("{p}.{n}"), s));
        }
        norm(&mut v, &format!("{p}.ln1"));
        if let Some(m) = cfg.d_mlp {
            norm(&mut v, &format!("{p}.ln2"));
            if cfg.gated_mlp {
                v.push((format!("{p}.mlp.W_gate"), vec![d, m]));
            }
            v.push((format!("{p}.mlp.W_in"), vec![d, m]));
            v.push((format!("{p}.mlp.b_in"), vec![m]));
            v.push((format!("{p}.mlp.W_out"), vec![m, d]));
            v.push((format!("{p}.mlp.b_out"), vec![d]));
        }
    }
    norm(&mut v, "ln_final");
    v.push(("unembed.W_U".into(), vec![d, cfg.d_vocab_out]));
    v.push(("unembed.b_U".into(), vec![cfg.d_vocab_out]));
    v
}

impl Weights {
    /// Reads a safetensors file and checks it against `cfg`. Every tensor in the file must be
    /// used, except buffers exporters leave in (`attn.mask`, `attn.IGNORE`, rotary tables);
    /// F16 and BF16 tensors are widened to f32.
    pub fn load(cfg: &ModelConfig, path: &Path) -> Result<Weights> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_safetensors_bytes(cfg, &bytes, path)
    }

    /// Parses safetensors bytes; `path` names the source in errors.
    pub fn from_safetensors_bytes(cfg: &ModelConfig, bytes: &[u8], path: &Path) -> Result<Weights> {
        let st = store::open(bytes, path)?;
        // Listing every expected tensor of a config claiming millions of layers would not fit
        // in memory; a file of n tensors lacks one of the first n + 1 layers' W_Q anyway.
        for l in 0..cfg.n_layers.min(st.len() + 1) {
            let name = format!("blocks.{l}.attn.W_Q");
            if st.tensor(&name).is_err() {
                return Err(ModelError::MissingTensor {
                    path: path.to_path_buf(),
                    name,
                    expected: vec![cfg.n_heads, cfg.d_model, cfg.d_head],
                });
            }
        }
        let mut store = TensorStore::new(st, path, expected_tensors(cfg).into_iter().collect());
        let d = cfg.d_model;
        let norm = |store: &mut TensorStore, prefix: &str| -> Result<Option<LayerNorm>> {
            Ok(match cfg.normalization {
                Normalization::PreLayerNorm => Some(store.layer_norm(prefix)?),
                Normalization::RMSNorm => Some(LayerNorm {
                    w: store.get(&format!("{prefix}.w"))?,
                    b: vec![0.0; d],
                }),
                Normalization::LNPre => Some(LayerNorm::identity(d)),
                Normalization::None => None,
            })
        };
        let mut blocks = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let p = format!("blocks.{l}");
            let attn = AttnWeights {
                w_q: store.get(&format!("{p}.attn.W_Q"))?,
                w_k: store.get(&format!("{p}.attn.W_K"))?,
                w_v: store.get(&format!("{p}.attn.W_V"))?,
                w_o: store.get(&format!("{p}.attn.W_O"))?,
                b_q: store.get(&format!("{p}.attn.b_Q"))?,
                b_k: store.get(&format!("{p}.attn.b_K"))?,
                b_v: store.get(&format!("{p}.attn.b_V"))?,
                b_o: store.get(&format!("{p}.attn.b_O"))?,
            };
            let ln1 = norm(&mut store, &format!("{p}.ln1"))?;
            let (ln2, mlp) = match cfg.d_mlp {
                Some(_) => (
                    norm(&mut store, &format!("{p}.ln2"))?,
                    Some(MlpWeights {
                        w_gate: match cfg.gated_mlp {
                            true => Some(store.get(&format!("{p}.mlp.W_gate"))?),
                            false => None,
                        },
                        w_in: store.get(&format!("{p}.mlp.W_in"))?,
                        b_in: store.get(&format!("{p}.mlp.b_in"))?,
                        w_out: store.get(&format!("{p}.mlp.W_out"))?,
                        b_out: store.get(&format!("{p}.mlp.b_out"))?,
                    }),
                ),
                None => (None, None),
            };
            blocks.push(BlockWeights {
                ln1,
                ln2,
                attn,
                mlp,
            });
        }
        let weights = Weights {
            w_e: store.get("embed.W_E")?,
            w_pos: match cfg.has_pos_embed() {
                true => store.get("pos_embed.W_pos")?,
                false => Vec::new(),
            },
            blocks,
            ln_final: norm(&mut store, "ln_final")?,
            w_u: store.get("unembed.W_U")?,
            b_u: store.get("unembed.b_U")?,
        };
        store.finish(cfg)?;
        Ok(weights)
    }

    /// Named tensors with their shapes, for writing back to safetensors (without the
    /// implied unit LayerNorms of an LNPre model, which its files never hold).
    pub fn named_tensors(&self, cfg: &ModelConfig) -> Vec<(String, Vec<usize>, &[f32])> {
        let shapes: HashMap<String, Vec<usize>> = expected_tensors(cfg).into_iter().collect();
        let lnpre = cfg.normalization == Normalization::LNPre;
        let rms = cfg.normalization == Normalization::RMSNorm;
        fn stored(n: &Option<LayerNorm>, lnpre: bool) -> Option<&LayerNorm> {
            n.as_ref().filter(|_| !lnpre)
        }
        let mut out: Vec<(String, &[f32])> = vec![("embed.W_E".into(), &self.w_e)];
        if cfg.has_pos_embed() {
            out.push(("pos_embed.W_pos".into(), &self.w_pos));
        }
        for (l, b) in self.blocks.iter().enumerate() {
            let p = format!("blocks.{l}");
            let a = &b.attn;
            for (n, t) in [
                ("attn.W_Q", &a.w_q),
                ("attn.W_K", &a.w_k),
                ("attn.W_V", &a.w_v),
                ("attn.W_O", &a.w_o),
                ("attn.b_Q", &a.b_q),
                ("attn.b_K", &a.b_k),
                ("attn.b_V", &a.b_v),
                ("attn.b_O", &a.b_o),
            ] {
                out.push((format!("{p}.{n}"), t));
            }
            for (n, norm) in [("ln1", &b.ln1), ("ln2", &b.ln2)] {
                if let Some(norm) = stored(norm, lnpre) {
                    out.push((format!("{p}.{n}.w"), &norm.w));
                    if !rms {
                        out.push((format!("{p}.{n}.b"), &norm.b));
                    }
                }
            }
            if let Some(m) = &b.mlp {
                if let Some(g) = &m.w_gate {
                    out.push((format!("{p}.mlp.W_gate"), g));
                }
                out.push((format!("{p}.mlp.W_in"), &m.w_in));
                out.push((format!("{p}.mlp.b_in"), &m.b_in));
                out.push((format!("{p}.mlp.W_out"), &m.w_out));
                out.push((format!("{p}.mlp.b_out"), &m.b_out));
            }
        }
        if let Some(n) = stored(&self.ln_final, lnpre) {
            out.push(("ln_final.w".into(), &n.w));
            if !rms {
                out.push(("ln_final.b".into(), &n.b));
            }
        }
        out.push(("unembed.W_U".into(), &self.w_u));
        out.push(("unembed.b_U".into(), &self.b_u));
        out.into_iter()
            .map(|(n, t)| {
                let s = shapes[&n].clone();
                (n, s, t)
            })
            .collect()
    }
}

impl Weights {
    /// Writes the weights as a safetensors file in TransformerLens naming.
    pub fn save(&self, cfg: &ModelConfig, path: &Path) -> Result<()> {
        let named = self.named_tensors(cfg);
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = named
            .into_iter()
            .map(|(n, s, t)| (n, s, t.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
            .iter()
            .map(|(n, s, b)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b)
                        .expect("shape matches data"),
                )
            })
            .collect();
        safetensors::serialize_to_file(views, None, path).map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
#[path = "weights_tests.rs"]
mod tests;
