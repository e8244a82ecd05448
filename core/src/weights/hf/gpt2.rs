//! GPT-2's tensor names (`transformers`' `GPT2LMHeadModel`, with or without the
//! `transformer.` prefix that `GPT2Model` checkpoints lack) mapped onto scrub's weights.
//!
//! | Hugging Face (Conv1D weights are `[in, out]`)   | scrub                                  |
//! |-------------------------------------------------|----------------------------------------|
//! | `wte.weight` [vocab, d]                         | `w_e`; `w_u` = its transpose when tied |
//! | `wpe.weight` [n_positions, d]                   | `w_pos`                                |
//! | `h.L.ln_1.{weight,bias}`                        | `blocks[L].ln1`                        |
//! | `h.L.attn.c_attn.{weight,bias}` [d, 3d], [3d]    | q \| k \| v along the output, split into heads: `w_q/w_k/w_v` [heads, d, d_head], `b_q/b_k/b_v` |
//! | `h.L.attn.c_proj.{weight,bias}` [d, d], [d]      | `w_o` [heads, d_head, d] (rows are heads' outputs in order), `b_o` |
//! | `h.L.ln_2.{weight,bias}`                        | `blocks[L].ln2`                        |
//! | `h.L.mlp.c_fc.{weight,bias}` [d, d_mlp]          | `w_in`, `b_in`                         |
//! | `h.L.mlp.c_proj.{weight,bias}` [d_mlp, d]        | `w_out`, `b_out`                       |
//! | `ln_f.{weight,bias}`                            | `ln_final`                             |
//! | `lm_head.weight` [vocab, d] (untied)            | `w_u` = its transpose; `b_u` = 0       |
//!
//! `h.L.attn.bias` and `h.L.attn.masked_bias` (the causal mask and its fill value, which
//! older transformers saved) are buffers and ignored.

use std::path::Path;

use super::Tensors;
use crate::config::hf::HfConfig;
use crate::error::Result;
use crate::weights::{AttnWeights, BlockWeights, LayerNorm, MlpWeights, Weights};

/// The name `name` has without the `transformer.` prefix.
pub(super) fn canonical(name: &str) -> &str {
    match name.strip_prefix("transformer.") {
        Some(rest) if !rest.starts_with("lm_head.") => rest,
        _ => name,
    }
}

/// Per-layer buffers, not parameters.
pub(super) fn is_buffer(canon: &str, n_layers: usize) -> bool {
    let Some(rest) = canon.strip_prefix("h.") else {
        return false;
    };
    let Some((layer, what)) = rest.split_once('.') else {
        return false;
    };
    layer.parse::<usize>().is_ok_and(|l| l < n_layers)
        && matches!(what, "attn.bias" | "attn.masked_bias")
}

/// Canonical name → shape, for a checkpoint holding `n_tensors` tensors.
pub(super) fn expected(
    hf: &HfConfig,
    n_tensors: usize,
    dir: &Path,
) -> Result<Vec<(String, Vec<usize>)>> {
    let c = &hf.config;
    let (d, m) = (c.d_model, c.d_mlp.expect("GPT-2 has MLPs"));
    super::check_layer_count(c, n_tensors, dir, |l| {
        (format!("h.{l}.attn.c_attn.weight"), vec![d, 3 * d])
    })?;
    let mut v = vec![
        ("wte.weight".to_string(), vec![c.d_vocab, d]),
        ("wpe.weight".to_string(), vec![c.n_ctx, d]),
        ("ln_f.weight".to_string(), vec![d]),
        ("ln_f.bias".to_string(), vec![d]),
        ("lm_head.weight".to_string(), vec![c.d_vocab_out, d]),
    ];
    for l in 0..c.n_layers {
        for (n, s) in [
            ("ln_1.weight", vec![d]),
            ("ln_1.bias", vec![d]),
            ("attn.c_attn.weight", vec![d, 3 * d]),
            ("attn.c_attn.bias", vec![3 * d]),
            ("attn.c_proj.weight", vec![d, d]),
            ("attn.c_proj.bias", vec![d]),
            ("ln_2.weight", vec![d]),
            ("ln_2.bias", vec![d]),
            ("mlp.c_fc.weight", vec![d, m]),
            ("mlp.c_fc.bias", vec![m]),
            ("mlp.c_proj.weight", vec![m, d]),
            ("mlp.c_proj.bias", vec![d]),
        ] {
            v.push((format!("h.{l}.{n}"), s));
        }
    }
    Ok(v)
}

/// Scrub's weights out of the checkpoint's tensors.
pub(super) fn assemble(hf: &HfConfig, mut t: Tensors) -> Result<Weights> {
    let c = &hf.config;
    let (d, h, e) = (c.d_model, c.n_heads, c.d_head);
    let ln = |t: &mut Tensors, p: &str| -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: t.take(&format!("{p}.weight"))?,
            b: t.take(&format!("{p}.bias"))?,
        })
    };
    let mut blocks = Vec::with_capacity(c.n_layers);
    for l in 0..c.n_layers {
        let p = format!("h.{l}");
        let qkv = t.take(&format!("{p}.attn.c_attn.weight"))?;
        let qkv_b = t.take(&format!("{p}.attn.c_attn.bias"))?;
        // Output column `which·d + head·d_head + j` of the fused [d, 3d] matrix is column j
        // of head `head` of q (which 0), k (1) or v (2).
        let split = |which: usize| -> (Vec<f32>, Vec<f32>) {
            let mut w = vec![0.0; h * d * e];
            for head in 0..h {
                for i in 0..d {
                    let from = i * 3 * d + which * d + head * e;
                    let to = (head * d + i) * e;
                    w[to..to + e].copy_from_slice(&qkv[from..from + e]);
                }
            }
            (w, qkv_b[which * d..(which + 1) * d].to_vec())
        };
        let ((w_q, b_q), (w_k, b_k), (w_v, b_v)) = (split(0), split(1), split(2));
        drop(qkv);
        let attn = AttnWeights {
            w_q,
            w_k,
            w_v,
            // [h·e, d] is [h, e, d] already: row head·d_head + j is head's output j.
            w_o: t.take(&format!("{p}.attn.c_proj.weight"))?,
            b_q,
            b_k,
            b_v,
            b_o: t.take(&format!("{p}.attn.c_proj.bias"))?,
        };
        blocks.push(BlockWeights {
            ln1: Some(ln(&mut t, &format!("{p}.ln_1"))?),
            ln2: Some(ln(&mut t, &format!("{p}.ln_2"))?),
            attn,
            mlp: Some(MlpWeights {
                w_gate: None,
                w_in: t.take(&format!("{p}.mlp.c_fc.weight"))?,
                b_in: t.take(&format!("{p}.mlp.c_fc.bias"))?,
                w_out: t.take(&format!("{p}.mlp.c_proj.weight"))?,
                b_out: t.take(&format!("{p}.mlp.c_proj.bias"))?,
            }),
        });
    }
    let w_e = t.take("wte.weight")?;
    let w_u = t.unembedding(
        hf.tie_word_embeddings,
        &w_e,
        "wte.weight",
        "lm_head.weight",
        c.d_vocab,
        c.d_vocab_out,
    )?;
    Ok(Weights {
        w_e,
        w_pos: t.take("wpe.weight")?,
        blocks,
        ln_final: Some(ln(&mut t, "ln_f")?),
        w_u,
        b_u: vec![0.0; c.d_vocab_out],
    })
}
