//! GPT-NeoX's tensor names (`GPTNeoXForCausalLM`, with or without the `gpt_neox.` prefix
//! that `GPTNeoXModel` checkpoints lack) mapped onto scrub's weights.
//!
//! | Hugging Face (nn.Linear weights are `[out, in]`)          | scrub                                 |
//! |-----------------------------------------------------------|---------------------------------------|
//! | `embed_in.weight` [vocab, d]                              | `w_e`; `w_u` = its transpose when tied |
//! | `layers.L.input_layernorm.{weight,bias}`                  | `blocks[L].ln1`                       |
//! | `layers.L.attention.query_key_value.{weight,bias}` [3d, d], [3d] | output `(head·3 + which)·e + j` is column j of head `head` of q (which 0), k (1) or v (2): `w_q/w_k/w_v` [h, d, e], `b_q/b_k/b_v` (0 without `attention_bias`) |
//! | `layers.L.attention.dense.{weight,bias}` [d, d]           | `w_o` [h, e, d], `b_o` (0 without)    |
//! | `layers.L.post_attention_layernorm.{weight,bias}`         | `blocks[L].ln2`                       |
//! | `layers.L.mlp.dense_h_to_4h.{weight,bias}` [d_mlp, d]     | `w_in` [d, d_mlp], `b_in`             |
//! | `layers.L.mlp.dense_4h_to_h.{weight,bias}` [d, d_mlp]     | `w_out` [d_mlp, d], `b_out`           |
//! | `final_layer_norm.{weight,bias}`                          | `ln_final`                            |
//! | `embed_out.weight` [vocab, d] (untied)                    | `w_u` = its transpose; `b_u` = 0      |
//!
//! The head interleaving is transformers' `qkv.view(..., heads, 3 * head_size)` followed by
//! `chunk(3)`. The buffers older checkpoints hold (`layers.L.attention.bias`, the causal
//! mask; `layers.L.attention.masked_bias`; the rotary `inv_freq` tables) are recomputed or
//! unneeded, and ignored.

use std::path::Path;

use super::{transpose, Tensors};
use crate::config::hf::HfConfig;
use crate::error::Result;
use crate::weights::{AttnWeights, BlockWeights, LayerNorm, MlpWeights, Weights};

/// The name `name` has without the `gpt_neox.` prefix.
pub(super) fn canonical(name: &str) -> &str {
    name.strip_prefix("gpt_neox.").unwrap_or(name)
}

/// Attention-mask and rotary buffers, not parameters.
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
    layer.parse::<usize>().is_ok_and(|l| l < n_layers)
        && matches!(
            what,
            "attention.bias" | "attention.masked_bias" | "attention.rotary_emb.inv_freq"
        )
}

/// Canonical name → shape, for a checkpoint holding `n_tensors` tensors.
pub(super) fn expected(
    hf: &HfConfig,
    n_tensors: usize,
    dir: &Path,
) -> Result<Vec<(String, Vec<usize>)>> {
    let c = &hf.config;
    let (d, m) = (c.d_model, c.d_mlp.expect("GPT-NeoX has MLPs"));
    super::check_layer_count(c, n_tensors, dir, |l| {
        (
            format!("layers.{l}.attention.query_key_value.weight"),
            vec![3 * d, d],
        )
    })?;
    let mut v = vec![
        ("embed_in.weight".to_string(), vec![c.d_vocab, d]),
        ("final_layer_norm.weight".to_string(), vec![d]),
        ("final_layer_norm.bias".to_string(), vec![d]),
        ("embed_out.weight".to_string(), vec![c.d_vocab_out, d]),
    ];
    for l in 0..c.n_layers {
        let p = format!("layers.{l}");
        for (n, s) in [
            ("input_layernorm.weight", vec![d]),
            ("input_layernorm.bias", vec![d]),
            ("attention.query_key_value.weight", vec![3 * d, d]),
            ("attention.dense.weight", vec![d, d]),
            ("post_attention_layernorm.weight", vec![d]),
            ("post_attention_layernorm.bias", vec![d]),
            ("mlp.dense_h_to_4h.weight", vec![m, d]),
            ("mlp.dense_h_to_4h.bias", vec![m]),
            ("mlp.dense_4h_to_h.weight", vec![d, m]),
            ("mlp.dense_4h_to_h.bias", vec![d]),
        ] {
            v.push((format!("{p}.{n}"), s));
        }
        if hf.qkv_bias {
            v.push((format!("{p}.attention.query_key_value.bias"), vec![3 * d]));
            v.push((format!("{p}.attention.dense.bias"), vec![d]));
        }
    }
    Ok(v)
}

/// Scrub's weights out of the checkpoint's tensors.
pub(super) fn assemble(hf: &HfConfig, mut t: Tensors) -> Result<Weights> {
    let c = &hf.config;
    let (d, h, e) = (c.d_model, c.n_heads, c.d_head);
    let m = c.d_mlp.expect("GPT-NeoX has MLPs");
    let ln = |t: &mut Tensors, p: &str| -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: t.take(&format!("{p}.weight"))?,
            b: t.take(&format!("{p}.bias"))?,
        })
    };
    let mut blocks = Vec::with_capacity(c.n_layers);
    for l in 0..c.n_layers {
        let p = format!("layers.{l}");
        let a = format!("{p}.attention");
        let qkv = t.take(&format!("{a}.query_key_value.weight"))?;
        let qkv_b = match hf.qkv_bias {
            true => t.take(&format!("{a}.query_key_value.bias"))?,
            false => vec![0.0; 3 * d],
        };
        // Row `(head·3 + which)·e + j` of the [3d, d] matrix is output j of head `head` of
        // q (which 0), k (1) or v (2).
        let split = |which: usize| -> (Vec<f32>, Vec<f32>) {
            let mut w = vec![0.0; h * d * e];
            let mut b = vec![0.0; h * e];
            for head in 0..h {
                for j in 0..e {
                    let row = (head * 3 + which) * e + j;
                    for (i, &x) in qkv[row * d..(row + 1) * d].iter().enumerate() {
                        w[(head * d + i) * e + j] = x;
                    }
                    b[head * e + j] = qkv_b[row];
                }
            }
            (w, b)
        };
        let ((w_q, b_q), (w_k, b_k), (w_v, b_v)) = (split(0), split(1), split(2));
        drop(qkv);
        let attn = AttnWeights {
            w_q,
            w_k,
            w_v,
            // [d, h·e] transposed is [h·e, d] = [h, e, d].
            w_o: transpose(&t.take(&format!("{a}.dense.weight"))?, d, h * e),
            b_q,
            b_k,
            b_v,
            b_o: match hf.o_bias {
                true => t.take(&format!("{a}.dense.bias"))?,
                false => vec![0.0; d],
            },
        };
        let mlp = MlpWeights {
            w_gate: None,
            w_in: transpose(&t.take(&format!("{p}.mlp.dense_h_to_4h.weight"))?, m, d),
            b_in: t.take(&format!("{p}.mlp.dense_h_to_4h.bias"))?,
            w_out: transpose(&t.take(&format!("{p}.mlp.dense_4h_to_h.weight"))?, d, m),
            b_out: t.take(&format!("{p}.mlp.dense_4h_to_h.bias"))?,
        };
        blocks.push(BlockWeights {
            ln1: Some(ln(&mut t, &format!("{p}.input_layernorm"))?),
            ln2: Some(ln(&mut t, &format!("{p}.post_attention_layernorm"))?),
            attn,
            mlp: Some(mlp),
        });
    }
    let w_e = t.take("embed_in.weight")?;
    let w_u = t.unembedding(
        hf.tie_word_embeddings,
        &w_e,
        "embed_in.weight",
        "embed_out.weight",
        c.d_vocab,
        c.d_vocab_out,
    )?;
    Ok(Weights {
        w_e,
        w_pos: Vec::new(),
        blocks,
        ln_final: Some(ln(&mut t, "final_layer_norm")?),
        w_u,
        b_u: vec![0.0; c.d_vocab_out],
    })
}
