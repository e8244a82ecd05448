//! The attention-only transformer in candle, parameterised exactly like the project's CPU
//! reference (`scrub_core::forward`): tensors in TransformerLens naming and shapes, LayerNorm
//! before attention and before the unembedding, shortformer positions added to the
//! normalised query and key inputs only, causal attention, no MLPs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::config::{AttentionKind, Normalization, PositionalKind};
use scrub_core::weights::expected_tensors;
use scrub_core::ModelConfig;

use crate::error::TrainError;

/// Trainable parameters by TransformerLens name.
pub struct AttnOnly {
    pub cfg: ModelConfig,
    pub params: BTreeMap<String, Var>,
}

/// Standard deviation of the normal initialisation (TransformerLens's `init_range`).
const INIT_STD: f64 = 0.02;

impl AttnOnly {
    /// Rejects configs this model does not implement (MLPs, other positions or norms).
    pub fn check_config(cfg: &ModelConfig) -> Result<(), TrainError> {
        let ok = cfg.d_mlp.is_none()
            && cfg.normalization == Normalization::PreLayerNorm
            && cfg.positional == PositionalKind::Shortformer
            && cfg.attention == AttentionKind::Causal
            && cfg.pad_token.is_none()
            && cfg.d_vocab == cfg.d_vocab_out;
        if ok {
            Ok(())
        } else {
            Err(TrainError::Invalid(
                "the trainer implements attention-only, pre-LayerNorm, shortformer, causal language models without padding".into(),
            ))
        }
    }

    /// Fresh parameters: normal(0, 0.02) matrices, zero biases, unit LayerNorm scales; the
    /// numbers come from `seed` alone. `W_pos` starts sinusoidal (Vaswani et al.): shortformer
    /// positions are added to the *normalised* query and key inputs, whose entries are of
    /// order 1, so positions initialised at 0.02 barely reach attention and a
    /// previous-token head (and with it induction) formed very slowly in a first run.
    pub fn init(cfg: &ModelConfig, seed: u64) -> Result<AttnOnly, TrainError> {
        Self::check_config(cfg)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = BTreeMap::new();
        for (name, shape) in expected_tensors(cfg) {
            let n: usize = shape.iter().product();
            let last = name.rsplit('.').next().unwrap_or_default();
            let data: Vec<f32> = if name == "pos_embed.W_pos" {
                sinusoidal(shape[0], shape[1])
            } else if last == "w" {
                vec![1.0; n]
            } else if last.starts_with('b') {
                vec![0.0; n]
            } else {
                (0..n)
                    .map(|_| (normal(&mut rng) * INIT_STD) as f32)
                    .collect()
            };
            let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
            params.insert(name, Var::from_tensor(&t)?);
        }
        Ok(AttnOnly {
            cfg: cfg.clone(),
            params,
        })
    }

    /// Parameters from a safetensors file in TransformerLens naming (extra tensors such as
    /// optimizer moments are ignored).
    pub fn load(cfg: &ModelConfig, path: &Path) -> Result<AttnOnly, TrainError> {
        Self::check_config(cfg)?;
        let mut all = candle_core::safetensors::load(path, &Device::Cpu)?;
        let mut params = BTreeMap::new();
        for (name, shape) in expected_tensors(cfg) {
            let t = all.remove(&name).ok_or_else(|| {
                TrainError::Invalid(format!("{}: no tensor {name}", path.display()))
            })?;
            if t.dims() != shape.as_slice() {
                return Err(TrainError::Invalid(format!(
                    "{}: {name} has shape {:?}, expected {shape:?}",
                    path.display(),
                    t.dims()
                )));
            }
            params.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
        }
        Ok(AttnOnly {
            cfg: cfg.clone(),
            params,
        })
    }

    /// The parameter named `name`.
    pub fn p(&self, name: &str) -> &Tensor {
        self.params[name].as_tensor()
    }

    /// Parameters as plain tensors by name (for saving).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// Writes the parameters as safetensors in TransformerLens naming, loadable by
    /// `scrub_core::Model::load`.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        candle_core::safetensors::save(&self.tensors(), path)?;
        Ok(())
    }

    /// Logits `[batch, pos, d_vocab]` for token ids `[batch, pos]` (u32).
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, TrainError> {
        self.forward_embedded(&self.embed(tokens)?)
    }

    /// The token embeddings `[batch, pos, d_model]` of token ids `[batch, pos]`: the
    /// residual stream before the first block.
    pub fn embed(&self, tokens: &Tensor) -> Result<Tensor, TrainError> {
        let (b, t) = tokens.dims2()?;
        Ok(self
            .p("embed.W_E")
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, self.cfg.d_model))?)
    }

    /// Logits from the residual stream before the first block (what [`AttnOnly::embed`]
    /// gives), so a gradient can be taken with respect to it.
    pub fn forward_embedded(&self, embedded: &Tensor) -> Result<Tensor, TrainError> {
        let cfg = &self.cfg;
        let (b, t, _) = embedded.dims3()?;
        let (d, h, e) = (cfg.d_model, cfg.n_heads, cfg.d_head);
        let eps = cfg.ln_eps as f64;
        let mut resid = embedded.clone();
        let pos = self.p("pos_embed.W_pos").narrow(0, 0, t)?;
        let mask = causal_mask(t)?;
        for l in 0..cfg.n_layers {
            let n = |s: &str| format!("blocks.{l}.{s}");
            let x = layer_norm(&resid, self.p(&n("ln1.w")), self.p(&n("ln1.b")), eps)?;
            let qk_in = x.broadcast_add(&pos)?;
            let heads = |input: &Tensor, w: &str, bias: &str| -> Result<Tensor, TrainError> {
                // [h, d, e] -> [d, h*e] so one matmul projects every head.
                let w = self.p(&n(w)).permute((1, 0, 2))?.reshape((d, h * e))?;
                let y = input
                    .reshape((b * t, d))?
                    .matmul(&w)?
                    .broadcast_add(&self.p(&n(bias)).reshape(h * e)?)?;
                Ok(y.reshape((b, t, h, e))?.transpose(1, 2)?.contiguous()?)
            };
            let q = heads(&qk_in, "attn.W_Q", "attn.b_Q")?;
            let k = heads(&qk_in, "attn.W_K", "attn.b_K")?;
            let v = heads(&x, "attn.W_V", "attn.b_V")?;
            let scores = (q.matmul(&k.t()?)? * (1.0 / (e as f64).sqrt()))?;
            let pattern = candle_nn::ops::softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
            let z = pattern
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * t, h * e))?;
            let w_o = self.p(&n("attn.W_O")).reshape((h * e, d))?;
            let out = z
                .matmul(&w_o)?
                .broadcast_add(self.p(&n("attn.b_O")))?
                .reshape((b, t, d))?;
            resid = (resid + out)?;
        }
        let fin = layer_norm(&resid, self.p("ln_final.w"), self.p("ln_final.b"), eps)?;
        let logits = fin
            .reshape((b * t, d))?
            .matmul(self.p("unembed.W_U"))?
            .broadcast_add(self.p("unembed.b_U"))?;
        Ok(logits.reshape((b, t, cfg.d_vocab_out))?)
    }

    /// Mean next-token cross-entropy of `inputs` `[batch, pos]` against `targets`.
    pub fn loss(&self, inputs: &Tensor, targets: &Tensor) -> Result<Tensor, TrainError> {
        let logits = self.forward(inputs)?;
        let (b, t, v) = logits.dims3()?;
        Ok(candle_nn::loss::cross_entropy(
            &logits.reshape((b * t, v))?,
            &targets.reshape(b * t)?,
        )?)
    }
}

/// `[t, t]`: 0 where a query may see a key, a large negative number after it (which the
/// softmax turns into exactly 0, like the reference's `-inf`, without NaN gradients).
fn causal_mask(t: usize) -> Result<Tensor, TrainError> {
    let m: Vec<f32> = (0..t)
        .flat_map(|q| (0..t).map(move |k| if k > q { -1e9 } else { 0.0 }))
        .collect();
    Ok(Tensor::from_vec(m, (t, t), &Device::Cpu)?)
}

/// LayerNorm over the last axis with biased variance, as TransformerLens.
fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor, TrainError> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(xc
        .broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(w)?
        .broadcast_add(b)?)
}

/// `[n_ctx, d]` sinusoidal position codes: sin and cos of `pos / 10000^(2i/d)`.
fn sinusoidal(n_ctx: usize, d: usize) -> Vec<f32> {
    (0..n_ctx)
        .flat_map(|p| {
            (0..d).map(move |j| {
                let freq = 1.0 / 10000f64.powf((2 * (j / 2)) as f64 / d as f64);
                let a = p as f64 * freq;
                (if j % 2 == 0 { a.sin() } else { a.cos() }) as f32
            })
        })
        .collect()
}

/// One standard normal draw (Box–Muller), so initialisation depends on the seed alone.
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
