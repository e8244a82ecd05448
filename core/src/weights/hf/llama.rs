//! Llama's and Qwen2's tensor names (`LlamaForCausalLM` / `Qwen2ForCausalLM`, with or without
//! the `model.` prefix that `LlamaModel` / `Qwen2Model` checkpoints lack) mapped onto scrub's
//! weights.
//!
//! | Hugging Face (nn.Linear weights are `[out, in]`)      | scrub                                 |
//! |-------------------------------------------------------|---------------------------------------|
//! | `embed_tokens.weight` [vocab, d]                      | `w_e`; `w_u` = its transpose when tied |
//! | `layers.L.input_layernorm.weight` [d]                 | `blocks[L].ln1.w` (RMSNorm)           |
//! | `layers.L.self_attn.q_proj.{weight,bias}` [h·e, d]    | `w_q` [h, d, e], `b_q` (0 without)    |
//! | `layers.L.self_attn.{k,v}_proj.{weight,bias}` [kv·e, d] | `w_k`/`w_v` [kv, d, e], `b_k`/`b_v` |
//! | `layers.L.self_attn.o_proj.{weight,bias}` [d, h·e]    | `w_o` [h, e, d], `b_o` (0 without)    |
//! | `layers.L.post_attention_layernorm.weight` [d]        | `blocks[L].ln2.w`                     |
//! | `layers.L.mlp.gate_proj.weight` [d_mlp, d]            | `w_gate` [d, d_mlp]                   |
//! | `layers.L.mlp.up_proj.weight` [d_mlp, d]              | `w_in` [d, d_mlp]; `b_in` = 0         |
//! | `layers.L.mlp.down_proj.weight` [d, d_mlp]            | `w_out` [d_mlp, d]; `b_out` = 0       |
//! | `norm.weight` [d]                                     | `ln_final.w`                          |
//! | `lm_head.weight` [vocab, d] (untied)                  | `w_u` = its transpose; `b_u` = 0      |
//!
//! Biases: q/k/v and o when Llama's `attention_bias`, q/k/v only for Qwen2. The rotary
//! `inv_freq` buffers some checkpoints hold (`layers.L.self_attn.rotary_emb.inv_freq`,
//! `rotary_emb.inv_freq`) are recomputed from `rope_theta` and ignored.

use std::path::Path;

use super::{transpose, Tensors};
use crate::config::hf::HfConfig;
use crate::error::Result;
use crate::weights::{AttnWeights, BlockWeights, LayerNorm, MlpWeights, Weights};

/// The name `name` has without the `model.` prefix.
pub(super) fn canonical(name: &str) -> &str {
    name.strip_prefix("model.").unwrap_or(name)
}

/// Rotary buffers, not parameters.
pub(super) fn is_buffer(canon: &str, n_layers: usize) -> bool {
    if canon == "rotary_emb.inv_freq" {
        return true;
    }
    let Some(rest) = canon.strip_prefix("layers.") else {
        return false;
    };
    let Some((layer, what)) = rest.split_once('.') else {
        return false;
    };
    layer.parse::<usize>().is_ok_and(|l| l < n_layers) && what == "self_attn.rotary_emb.inv_freq"
}

/// Canonical name → shape, for a checkpoint holding `n_tensors` tensors.
pub(super) fn expected(
    hf: &HfConfig,
    n_tensors: usize,
    dir: &Path,
) -> Result<Vec<(String, Vec<usize>)>> {
    let c = &hf.config;
    let (d, m) = (c.d_model, c.d_mlp.expect("Llama has MLPs"));
    let (he, kve) = (c.n_heads * c.d_head, c.kv_heads() * c.d_head);
    super::check_layer_count(c, n_tensors, dir, |l| {
        (format!("layers.{l}.self_attn.q_proj.weight"), vec![he, d])
    })?;
    let mut v = vec![
        ("embed_tokens.weight".to_string(), vec![c.d_vocab, d]),
        ("norm.weight".to_string(), vec![d]),
        ("lm_head.weight".to_string(), vec![c.d_vocab_out, d]),
    ];
    for l in 0..c.n_layers {
        let p = format!("layers.{l}");
        for (n, s) in [
            ("input_layernorm.weight", vec![d]),
            ("self_attn.q_proj.weight", vec![he, d]),
            ("self_attn.k_proj.weight", vec![kve, d]),
            ("self_attn.v_proj.weight", vec![kve, d]),
            ("self_attn.o_proj.weight", vec![d, he]),
            ("post_attention_layernorm.weight", vec![d]),
            ("mlp.gate_proj.weight", vec![m, d]),
            ("mlp.up_proj.weight", vec![m, d]),
            ("mlp.down_proj.weight", vec![d, m]),
        ] {
            v.push((format!("{p}.{n}"), s));
        }
        if hf.qkv_bias {
            v.push((format!("{p}.self_attn.q_proj.bias"), vec![he]));
            v.push((format!("{p}.self_attn.k_proj.bias"), vec![kve]));
            v.push((format!("{p}.self_attn.v_proj.bias"), vec![kve]));
        }
        if hf.o_bias {
            v.push((format!("{p}.self_attn.o_proj.bias"), vec![d]));
        }
    }
    Ok(v)
}

/// An nn.Linear weight `[heads·e, d]` as per-head matrices `[heads, d, e]`.
fn split_heads(w: &[f32], heads: usize, d: usize, e: usize) -> Vec<f32> {
    let mut out = vec![0.0; heads * d * e];
    for h in 0..heads {
        for j in 0..e {
            let row = &w[(h * e + j) * d..(h * e + j + 1) * d];
            for (i, &x) in row.iter().enumerate() {
                out[(h * d + i) * e + j] = x;
            }
        }
    }
    out
}

/// Scrub's weights out of the checkpoint's tensors.
pub(super) fn assemble(hf: &HfConfig, mut t: Tensors) -> Result<Weights> {
    let c = &hf.config;
    let (d, h, e, kv) = (c.d_model, c.n_heads, c.d_head, c.kv_heads());
    let m = c.d_mlp.expect("Llama has MLPs");
    let rms = |t: &mut Tensors, name: &str| -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: t.take(name)?,
            b: vec![0.0; d],
        })
    };
    let bias = |t: &mut Tensors, name: &str, present: bool, n: usize| -> Result<Vec<f32>> {
        match present {
            true => t.take(name),
            false => Ok(vec![0.0; n]),
        }
    };
    let mut blocks = Vec::with_capacity(c.n_layers);
    for l in 0..c.n_layers {
        let p = format!("layers.{l}");
        let a = format!("{p}.self_attn");
        let attn = AttnWeights {
            w_q: split_heads(&t.take(&format!("{a}.q_proj.weight"))?, h, d, e),
            w_k: split_heads(&t.take(&format!("{a}.k_proj.weight"))?, kv, d, e),
            w_v: split_heads(&t.take(&format!("{a}.v_proj.weight"))?, kv, d, e),
            // [d, h·e] transposed is [h·e, d] = [h, e, d].
            w_o: transpose(&t.take(&format!("{a}.o_proj.weight"))?, d, h * e),
            b_q: bias(&mut t, &format!("{a}.q_proj.bias"), hf.qkv_bias, h * e)?,
            b_k: bias(&mut t, &format!("{a}.k_proj.bias"), hf.qkv_bias, kv * e)?,
            b_v: bias(&mut t, &format!("{a}.v_proj.bias"), hf.qkv_bias, kv * e)?,
            b_o: bias(&mut t, &format!("{a}.o_proj.bias"), hf.o_bias, d)?,
        };
        let mlp = MlpWeights {
            w_gate: Some(transpose(
                &t.take(&format!("{p}.mlp.gate_proj.weight"))?,
                m,
                d,
            )),
            w_in: transpose(&t.take(&format!("{p}.mlp.up_proj.weight"))?, m, d),
            b_in: vec![0.0; m],
            w_out: transpose(&t.take(&format!("{p}.mlp.down_proj.weight"))?, d, m),
            b_out: vec![0.0; d],
        };
        blocks.push(BlockWeights {
            ln1: Some(rms(&mut t, &format!("{p}.input_layernorm.weight"))?),
            ln2: Some(rms(
                &mut t,
                &format!("{p}.post_attention_layernorm.weight"),
            )?),
            attn,
            mlp: Some(mlp),
        });
    }
    let w_e = t.take("embed_tokens.weight")?;
    let w_u = t.unembedding(
        hf.tie_word_embeddings,
        &w_e,
        "embed_tokens.weight",
        "lm_head.weight",
        c.d_vocab,
        c.d_vocab_out,
    )?;
    Ok(Weights {
        w_e,
        w_pos: Vec::new(),
        blocks,
        ln_final: Some(rms(&mut t, "norm.weight")?),
        w_u,
        b_u: vec![0.0; c.d_vocab_out],
    })
}
