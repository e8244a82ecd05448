//! The CPU reference forward pass. It is the oracle every other executor is tested
//! against, so it follows TransformerLens step by step, on a ragged batch (sequences back
//! to back, no padding rows), with matrix products through `linalg::gemm`.
//!
//! Semantics: LayerNorm with biased variance and `ln_eps`; attention scores scaled by
//! 1/sqrt(d_head); keys holding `pad_token` (and, for causal models, later keys) get
//! probability exactly 0; shortformer positions are added to the normalised query and key
//! inputs only. Llama-style models add RMSNorm, rotary queries and keys (applied after the
//! per-head projection, recorded at `hook_rot_q`/`hook_rot_k`), a gated MLP (`hook_pre` the
//! gate's pre-activation, `hook_pre_linear` the up projection) and grouped-query attention
//! (`hook_k`/`hook_v` hold the `n_kv_heads` key/value heads). GPT-NeoX-style models add
//! partial rotary embeddings (only the first `rotary_dim` dimensions of each head rotate)
//! and parallel blocks, whose MLP reads `ln2(hook_resid_pre)` and which record no
//! `hook_resid_mid`, as TransformerLens's `parallel_attn_mlp`.
//!
//! The normalisations ([`norm`]), rotary embeddings ([`rotary`]), MLP nonlinearities
//! ([`activation`]) and attention (`attention`) live in modules of their own, re-exported here.

use crate::config::{ModelConfig, PositionalKind};
use crate::hooks::{ActivationCache, Recorder};
use crate::linalg::{gemm, View, ViewMut};
use crate::mask::SourceMask;
use crate::tensor::Tensor;
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

pub mod activation;
mod attention;
pub mod norm;
pub mod rotary;

pub use activation::{activate, erf, erfc, gelu};
use attention::attend;
use attention::pattern_rows;
pub(crate) use attention::{pattern_times, scores_to_pattern};
pub use norm::normalize;
pub use rotary::{rotary_cos_sin, rotary_inv_freq, rotate};

/// Logits `[n_rows, d_vocab_out]` for every row of `batch`; when `caches` is given, also one
/// `ActivationCache` per sequence with every hook. The batch must already be validated.
pub fn forward(
    model: &Model,
    batch: &TokenBatch,
    caches: Option<&mut Vec<ActivationCache>>,
) -> Tensor {
    forward_keeping(model, batch, caches, None)
}

/// `forward`, recording only the hooks named in `keep` (every hook when `None`).
pub fn forward_keeping(
    model: &Model,
    batch: &TokenBatch,
    caches: Option<&mut Vec<ActivationCache>>,
    keep: Option<&[String]>,
) -> Tensor {
    forward_through(model, batch, caches, keep, None).expect("no early stop was asked for")
}

/// `forward_keeping` that stops after block `last_block` when it is given (the scrubbing
/// engine reading layer-0 terms has no use for the rest of the model), returning no logits
/// then.
pub fn forward_through(
    model: &Model,
    batch: &TokenBatch,
    caches: Option<&mut Vec<ActivationCache>>,
    keep: Option<&[String]>,
    last_block: Option<usize>,
) -> Option<Tensor> {
    let cfg = &model.config;
    let w = &model.weights;
    let (d, h, e) = (cfg.d_model, cfg.n_heads, cfg.d_head);
    let he = h * e;
    let rows = batch.n_rows();
    let offsets = batch.offsets();
    let mut rec = Recorder::keeping(caches, offsets, keep);
    let positions: Vec<usize> = (0..batch.n_seqs())
        .flat_map(|s| 0..batch.seq(s).len())
        .collect();

    let mut resid = vec![0.0f32; rows * d];
    for (r, t) in batch.tokens().iter().enumerate() {
        resid[r * d..(r + 1) * d].copy_from_slice(&w.w_e[t.0 as usize * d..(t.0 as usize + 1) * d]);
    }
    rec.rows("hook_embed", &resid, &[d]);
    let pos_rows: Vec<f32> = match cfg.has_pos_embed() {
        true => positions
            .iter()
            .flat_map(|&p| w.w_pos[p * d..(p + 1) * d].iter().copied())
            .collect(),
        false => Vec::new(),
    };
    if cfg.has_pos_embed() {
        rec.rows("hook_pos_embed", &pos_rows, &[d]);
    }
    if cfg.positional == PositionalKind::Standard {
        add_in_place(&mut resid, &pos_rows);
    }

    let mut z = vec![0.0f32; rows * he];
    for (l, blk) in w.blocks.iter().enumerate() {
        let p = format!("blocks.{l}");
        rec.rows(&format!("{p}.hook_resid_pre"), &resid, &[d]);
        let x = normalize(cfg, &resid, blk.ln1.as_ref());
        if blk.ln1.is_some() {
            rec.rows(&format!("{p}.ln1.hook_normalized"), &x, &[d]);
        }
        let shifted: Vec<f32>;
        let qk_in = match cfg.positional {
            PositionalKind::Shortformer => {
                shifted = x.iter().zip(&pos_rows).map(|(a, b)| a + b).collect();
                &shifted
            }
            PositionalKind::Standard | PositionalKind::Rotary => &x,
        };
        let a = &blk.attn;
        let kv = cfg.kv_heads();
        let mut q = project_heads(qk_in, &a.w_q, &a.b_q, cfg, h);
        let mut k = project_heads(qk_in, &a.w_k, &a.b_k, cfg, kv);
        let v = project_heads(&x, &a.w_v, &a.b_v, cfg, kv);
        rec.rows(&format!("{p}.attn.hook_q"), &q, &[h, e]);
        rec.rows(&format!("{p}.attn.hook_k"), &k, &[kv, e]);
        rec.rows(&format!("{p}.attn.hook_v"), &v, &[kv, e]);
        if cfg.positional == PositionalKind::Rotary {
            rotate(cfg, &mut q, h, &positions);
            rotate(cfg, &mut k, kv, &positions);
            rec.rows(&format!("{p}.attn.hook_rot_q"), &q, &[h, e]);
            rec.rows(&format!("{p}.attn.hook_rot_k"), &k, &[kv, e]);
        }

        let heads = attend(cfg, batch, &q, &k, &v, &mut z);
        for (s, seq_heads) in heads.chunks_exact(h).enumerate() {
            let n = batch.seq(s).len();
            rec.seq(s, &format!("{p}.attn.hook_pattern"), || {
                Tensor::new(vec![h, n, n], seq_heads.concat())
            });
        }
        rec.rows(&format!("{p}.attn.hook_z"), &z, &[h, e]);

        // attn_out = b_O + Σ_h z_h W_O[h]: W_O `[h, e, d]` is `[h·e, d]` row-major, so
        // all heads are one product with z `[rows, h·e]`.
        let attn_out = affine(&z, rows, he, &a.w_o, &a.b_o, d);
        let want_result = rec.wants(&format!("{p}.attn.hook_result"));
        let mut result = if want_result {
            vec![0.0f32; rows * h * d]
        } else {
            Vec::new()
        };
        if want_result {
            for hd in 0..h {
                let z_h = View {
                    data: &z[hd * e..],
                    rows,
                    cols: e,
                    rs: he,
                    cs: 1,
                };
                let w_o = View::rows(&a.w_o[hd * e * d..(hd + 1) * e * d], e, d);
                let out = ViewMut {
                    data: &mut result[hd * d..],
                    rows,
                    cols: d,
                    rs: h * d,
                    cs: 1,
                };
                gemm(1.0, z_h, w_o, 0.0, out);
            }
        }
        rec.rows(&format!("{p}.attn.hook_result"), &result, &[h, d]);
        rec.rows(&format!("{p}.hook_attn_out"), &attn_out, &[d]);
        // A parallel block's MLP reads the stream the attention read, normalised before the
        // attention's output joins it.
        let parallel_in = match (&blk.mlp, cfg.parallel_attn_mlp) {
            (Some(_), true) => Some(normalize(cfg, &resid, blk.ln2.as_ref())),
            _ => None,
        };
        add_in_place(&mut resid, &attn_out);

        if let Some(mlp) = &blk.mlp {
            let m = cfg.d_mlp.expect("an MLP's weights imply d_mlp");
            let y = match parallel_in {
                Some(y) => y,
                None => {
                    rec.rows(&format!("{p}.hook_resid_mid"), &resid, &[d]);
                    normalize(cfg, &resid, blk.ln2.as_ref())
                }
            };
            if blk.ln2.is_some() {
                rec.rows(&format!("{p}.ln2.hook_normalized"), &y, &[d]);
            }
            let hidden = match &mlp.w_gate {
                None => {
                    let mut hidden = affine(&y, rows, d, &mlp.w_in, &mlp.b_in, m);
                    rec.rows(&format!("{p}.mlp.hook_pre"), &hidden, &[m]);
                    activate(&mut hidden, cfg.act_fn);
                    hidden
                }
                Some(w_gate) => {
                    let mut gate = affine(&y, rows, d, w_gate, &vec![0.0; m], m);
                    rec.rows(&format!("{p}.mlp.hook_pre"), &gate, &[m]);
                    let linear = affine(&y, rows, d, &mlp.w_in, &mlp.b_in, m);
                    rec.rows(&format!("{p}.mlp.hook_pre_linear"), &linear, &[m]);
                    activate(&mut gate, cfg.act_fn);
                    gate.iter_mut().zip(&linear).for_each(|(g, l)| *g *= l);
                    gate
                }
            };
            rec.rows(&format!("{p}.mlp.hook_post"), &hidden, &[m]);
            let mlp_out = affine(&hidden, rows, m, &mlp.w_out, &mlp.b_out, d);
            rec.rows(&format!("{p}.hook_mlp_out"), &mlp_out, &[d]);
            add_in_place(&mut resid, &mlp_out);
        }
        rec.rows(&format!("{p}.hook_resid_post"), &resid, &[d]);
        if last_block == Some(l) {
            return None;
        }
    }

    let fin = normalize(cfg, &resid, w.ln_final.as_ref());
    if w.ln_final.is_some() {
        rec.rows("ln_final.hook_normalized", &fin, &[d]);
    }
    let logits = affine(&fin, rows, d, &w.w_u, &w.b_u, cfg.d_vocab_out);
    rec.rows("hook_logits", &logits, &[cfg.d_vocab_out]);
    Some(Tensor::new(vec![rows, cfg.d_vocab_out], logits))
}

/// One head's output (`hook_result`, without `b_O`) on one sequence whose query, key and value
/// inputs are given separately as residual-stream vectors `[n, d_model]`: the node a
/// treeified model recomputes when a head's inputs come from different data. `tokens`
/// decide the key mask.
pub fn head_result(
    model: &Model,
    layer: usize,
    head: usize,
    q_resid: &[f32],
    k_resid: &[f32],
    v_resid: &[f32],
    tokens: &[TokenId],
) -> Vec<f32> {
    let pattern = head_pattern(model, layer, head, q_resid, k_resid, tokens);
    head_from_pattern(model, layer, head, &pattern, v_resid, &SourceMask::All)
}

/// One head's attention probabilities `[n, n]` (row = query position) on one sequence, from
/// residual-stream query and key inputs `[n, d_model]`, masked as the full forward masks
/// (`tokens` decide the padding mask); shortformer positions join the normalised inputs.
pub fn head_pattern(
    model: &Model,
    layer: usize,
    head: usize,
    q_resid: &[f32],
    k_resid: &[f32],
    tokens: &[TokenId],
) -> Vec<f32> {
    let cfg = &model.config;
    let n = tokens.len();
    let all: Vec<usize> = (0..n).collect();
    let q = head_qk(model, layer, head, q_resid, &all, false);
    let k = head_qk(model, layer, head, k_resid, &all, true);
    let e = cfg.d_head;
    let mut pattern = vec![0.0f32; n * n];
    scores_to_pattern(
        cfg,
        tokens,
        View::rows(&q, n, e),
        View::rows(&k, n, e),
        &mut pattern,
    );
    pattern
}

/// Rows `rows` (ascending) of [`head_pattern`], `[rows.len(), n]`, given the head's keys
/// `[n, d_head]` ([`head_keys`]): the queries at those positions and the same products, so
/// each row holds `head_pattern`'s bits.
pub fn head_pattern_rows(
    model: &Model,
    layer: usize,
    head: usize,
    q_resid: &[f32],
    keys: &[f32],
    tokens: &[TokenId],
    rows: &[usize],
) -> Vec<f32> {
    let d = model.config.d_model;
    let picked: Vec<f32> = rows
        .iter()
        .flat_map(|&r| q_resid[r * d..(r + 1) * d].iter().copied())
        .collect();
    let q = head_qk(model, layer, head, &picked, rows, false);
    pattern_rows(&model.config, tokens, rows, &q, keys)
}

/// One head's keys `[n, d_head]` from its residual-stream key input `[n, d_model]`, as
/// [`head_pattern`] forms them (rotated where the model rotates).
pub fn head_keys(model: &Model, layer: usize, head: usize, k_resid: &[f32]) -> Vec<f32> {
    let every: Vec<usize> = (0..k_resid.len() / model.config.d_model).collect();
    head_qk(model, layer, head, k_resid, &every, true)
}

/// One head's queries (or, with `key`, keys) `[positions.len(), d_head]` from residual rows
/// `x` at `positions`: normalised, shortformer positions added, projected, rotated. Every
/// step is row by row, so a row's bits do not depend on which other rows are given.
fn head_qk(
    model: &Model,
    layer: usize,
    head: usize,
    x: &[f32],
    positions: &[usize],
    key: bool,
) -> Vec<f32> {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let (d, e) = (cfg.d_model, cfg.d_head);
    let mut y = normalize(cfg, x, blk.ln1.as_ref());
    if cfg.positional == PositionalKind::Shortformer {
        let pos: Vec<f32> = positions
            .iter()
            .flat_map(|&p| model.weights.w_pos[p * d..(p + 1) * d].iter().copied())
            .collect();
        add_in_place(&mut y, &pos);
    }
    let m = positions.len();
    let mut out = vec![0.0f32; m * e];
    let a = &blk.attn;
    let (w, b, hd) = match key {
        false => (&a.w_q, &a.b_q, head),
        true => (&a.w_k, &a.b_k, cfg.kv_head_of(head)),
    };
    project_head(&y, w, b, cfg, hd, ViewMut::rows(&mut out, m, e));
    if cfg.positional == PositionalKind::Rotary {
        rotate(cfg, &mut out, 1, positions);
    }
    out
}

/// One head's output `[n, d_model]` (without `b_O`) from its attention `pattern` `[n, n]` and
/// residual-stream value input `[n, d_model]`, summing only the source positions `mask`
/// keeps: row t is Σ_s pattern[t, s] · (LN(v_resid)_s W_V + b_V) W_O over kept s.
pub fn head_from_pattern(
    model: &Model,
    layer: usize,
    head: usize,
    pattern: &[f32],
    v_resid: &[f32],
    mask: &SourceMask,
) -> Vec<f32> {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let (d, e) = (cfg.d_model, cfg.d_head);
    let n = v_resid.len() / d;
    let mut v = vec![0.0f32; n * e];
    let x = normalize(cfg, v_resid, blk.ln1.as_ref());
    project_head(
        &x,
        &blk.attn.w_v,
        &blk.attn.b_v,
        cfg,
        cfg.kv_head_of(head),
        ViewMut::rows(&mut v, n, e),
    );
    let masked: Vec<f32>;
    let kept = match mask {
        SourceMask::All => pattern,
        m => {
            let keep = m.matrix(n);
            masked = pattern
                .iter()
                .zip(keep.iter())
                .map(|(p, k)| p * k)
                .collect();
            &masked
        }
    };
    let mut z = vec![0.0f32; n * e];
    let causal = cfg.attention == crate::config::AttentionKind::Causal;
    pattern_times(causal, kept, View::rows(&v, n, e), &mut z);
    let mut out = vec![0.0f32; n * d];
    gemm(
        1.0,
        View::rows(&z, n, e),
        View::rows(&blk.attn.w_o[head * e * d..(head + 1) * e * d], e, d),
        0.0,
        ViewMut::rows(&mut out, n, d),
    );
    out
}

/// An MLP's output (`hook_mlp_out`) on residual-stream rows `[n, d_model]`.
pub fn mlp_out(model: &Model, layer: usize, resid: &[f32]) -> Vec<f32> {
    let (d, m) = (model.config.d_model, mlp_width(model));
    let mlp = model.weights.blocks[layer]
        .mlp
        .as_ref()
        .expect("mlp_out on a layer without an MLP");
    let hidden = mlp_hidden(model, layer, resid);
    affine(&hidden, resid.len() / d, m, &mlp.w_out, &mlp.b_out, d)
}

/// The part of MLP `layer`'s output `[n, d_model]` written by the hidden neurons `keep`
/// marks (`keep[i]` for neuron `i`, `d_mlp` long), plus `b_out` when `bias`: the hidden
/// activations are computed as [`mlp_out`] computes them and the others zeroed, so the
/// parts of a partition of the neurons (one with the bias) sum to `mlp_out`.
pub fn mlp_out_neurons(
    model: &Model,
    layer: usize,
    resid: &[f32],
    keep: &[bool],
    bias: bool,
) -> Vec<f32> {
    let (d, m) = (model.config.d_model, mlp_width(model));
    assert_eq!(keep.len(), m, "one flag per hidden neuron");
    let mlp = model.weights.blocks[layer]
        .mlp
        .as_ref()
        .expect("mlp_out on a layer without an MLP");
    let mut hidden = mlp_hidden(model, layer, resid);
    for row in hidden.chunks_exact_mut(m) {
        row.iter_mut()
            .zip(keep)
            .filter(|(_, &k)| !k)
            .for_each(|(h, _)| *h = 0.0);
    }
    let zero;
    let b_out = if bias {
        &mlp.b_out
    } else {
        zero = vec![0.0f32; d];
        &zero
    };
    affine(&hidden, resid.len() / d, m, &mlp.w_out, b_out, d)
}

pub(crate) fn mlp_width(model: &Model) -> usize {
    model.config.d_mlp.expect("an MLP implies d_mlp")
}

/// MLP `layer`'s hidden activations `[n, d_mlp]` from the residual stream `[n, d_model]`:
/// its own normalisation, `W_in`, `b_in`, the activation.
fn mlp_hidden(model: &Model, layer: usize, resid: &[f32]) -> Vec<f32> {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let mlp = blk.mlp.as_ref().expect("mlp_out on a layer without an MLP");
    let (d, m) = (cfg.d_model, mlp_width(model));
    let y = normalize(cfg, resid, blk.ln2.as_ref());
    let rows = resid.len() / d;
    let mut hidden = affine(&y, rows, d, &mlp.w_in, &mlp.b_in, m);
    match &mlp.w_gate {
        None => activate(&mut hidden, cfg.act_fn),
        Some(w_gate) => {
            let mut gate = affine(&y, rows, d, w_gate, &vec![0.0; m], m);
            activate(&mut gate, cfg.act_fn);
            hidden.iter_mut().zip(&gate).for_each(|(h, g)| *h *= g);
        }
    }
    hidden
}

/// Logits `[n, d_vocab_out]` from the final residual stream `[n, d_model]`.
pub fn unembed(model: &Model, resid: &[f32]) -> Vec<f32> {
    let cfg = &model.config;
    let d = cfg.d_model;
    let fin = normalize(cfg, resid, model.weights.ln_final.as_ref());
    affine(
        &fin,
        resid.len() / d,
        d,
        &model.weights.w_u,
        &model.weights.b_u,
        cfg.d_vocab_out,
    )
}

pub(crate) fn add_in_place(acc: &mut [f32], x: &[f32]) {
    acc.iter_mut().zip(x).for_each(|(a, b)| *a += b);
}

/// `x [rows, k] @ w [k, n] + b`.
pub(crate) fn affine(x: &[f32], rows: usize, k: usize, w: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut out = b.repeat(rows);
    gemm(
        1.0,
        View::rows(x, rows, k),
        View::rows(w, k, n),
        1.0,
        ViewMut::rows(&mut out, rows, n),
    );
    out
}

/// Every head's projection `x @ W[h] + b[h]`, as `[rows, heads, d_head]`. The weights
/// `[heads, d_model, d_head]` are laid side by side as `[d_model, heads·d_head]` first, so
/// that all heads are one product: a product per head repacked `x` for every head, which
/// made these projections half again slower.
fn project_heads(x: &[f32], w: &[f32], b: &[f32], cfg: &ModelConfig, h: usize) -> Vec<f32> {
    let (d, e) = (cfg.d_model, cfg.d_head);
    let mut side_by_side = vec![0.0f32; d * h * e];
    for (hd, head) in w.chunks_exact(d * e).take(h).enumerate() {
        for (i, row) in head.chunks_exact(e).enumerate() {
            side_by_side[i * h * e + hd * e..][..e].copy_from_slice(row);
        }
    }
    affine(x, x.len() / d, d, &side_by_side, &b[..h * e], h * e)
}

/// One head's projection `x @ W[hd] + b[hd]` into `out [rows, d_head]` (possibly strided).
pub(crate) fn project_head(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    cfg: &ModelConfig,
    hd: usize,
    out: ViewMut,
) {
    let (d, e) = (cfg.d_model, cfg.d_head);
    let rows = x.len() / d;
    let bias = &b[hd * e..(hd + 1) * e];
    for r in 0..rows {
        for (j, &bj) in bias.iter().enumerate() {
            out.data[r * out.rs + j * out.cs] = bj;
        }
    }
    gemm(
        1.0,
        View::rows(x, rows, d),
        View::rows(&w[hd * d * e..(hd + 1) * d * e], d, e),
        1.0,
        out,
    );
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod llama_tests;
