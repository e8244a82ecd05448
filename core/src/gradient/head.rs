//! An attention head's input gradients: through its pattern (queries, keys, the masked
//! softmax, rotary) and through its values ([`crate::forward::head_result`] and the two
//! halves it is made of, [`crate::forward::head_pattern`] and
//! [`crate::forward::head_from_pattern`]).

use super::back_through;
use super::norm::normalize_vjp;
use crate::config::PositionalKind;
use crate::forward::{head_pattern, normalize, project_head, rotate, scores_to_pattern};
use crate::linalg::{gemm, View, ViewMut};
use crate::mask::SourceMask;
use crate::tokens::TokenId;
use crate::weights::Model;

/// Gradients of a loss with respect to a head's three residual-stream inputs `[n, d_model]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadInputGrads {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

/// Input gradients of [`crate::forward::head_result`] for an output gradient `d_out`
/// `[n, d_model]`.
#[allow(clippy::too_many_arguments)]
pub fn head_result_vjp(
    model: &Model,
    layer: usize,
    head: usize,
    q_resid: &[f32],
    k_resid: &[f32],
    v_resid: &[f32],
    tokens: &[TokenId],
    d_out: &[f32],
) -> HeadInputGrads {
    let pattern = head_pattern(model, layer, head, q_resid, k_resid, tokens);
    let (d_pattern, v) = head_from_pattern_vjp(
        model,
        layer,
        head,
        &pattern,
        v_resid,
        &SourceMask::All,
        d_out,
    );
    let (q, k) = head_pattern_vjp(model, layer, head, q_resid, k_resid, tokens, &d_pattern);
    HeadInputGrads { q, k, v }
}

/// `(∂L/∂pattern [n, n], ∂L/∂v_resid [n, d_model])` of
/// [`crate::forward::head_from_pattern`] for an output gradient `d_out` `[n, d_model]`.
pub fn head_from_pattern_vjp(
    model: &Model,
    layer: usize,
    head: usize,
    pattern: &[f32],
    v_resid: &[f32],
    mask: &SourceMask,
    d_out: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let (d, e) = (cfg.d_model, cfg.d_head);
    let n = v_resid.len() / d;
    let x = normalize(cfg, v_resid, blk.ln1.as_ref());
    let mut v = vec![0.0f32; n * e];
    let kv = cfg.kv_head_of(head);
    project_head(
        &x,
        &blk.attn.w_v,
        &blk.attn.b_v,
        cfg,
        kv,
        ViewMut::rows(&mut v, n, e),
    );
    let keep = match mask {
        SourceMask::All => None,
        m => Some(m.matrix(n)),
    };
    let kept: Vec<f32> = match &keep {
        None => pattern.to_vec(),
        Some(k) => pattern.iter().zip(k.iter()).map(|(p, k)| p * k).collect(),
    };
    let d_z = back_through(d_out, &blk.attn.w_o[head * e * d..(head + 1) * e * d], e, d);
    let mut d_pattern = vec![0.0f32; n * n];
    gemm(
        1.0,
        View::rows(&d_z, n, e),
        View::rows(&v, n, e).t(),
        0.0,
        ViewMut::rows(&mut d_pattern, n, n),
    );
    if let Some(k) = &keep {
        d_pattern
            .iter_mut()
            .zip(k.iter())
            .for_each(|(g, k)| *g *= k);
    }
    let mut d_v = vec![0.0f32; n * e];
    gemm(
        1.0,
        View::rows(&kept, n, n).t(),
        View::rows(&d_z, n, e),
        0.0,
        ViewMut::rows(&mut d_v, n, e),
    );
    let w_v = &blk.attn.w_v[kv * d * e..(kv + 1) * d * e];
    let d_x = back_through(&d_v, w_v, d, e);
    (
        d_pattern,
        normalize_vjp(cfg, v_resid, blk.ln1.as_ref(), &d_x),
    )
}

/// `(∂L/∂q_resid, ∂L/∂k_resid)` `[n, d_model]` of [`crate::forward::head_pattern`] for a
/// pattern gradient `d_pattern` `[n, n]`: through the row softmax (masked entries carry
/// none), the 1/√d_head scale, rotary (rotated back) and the projections.
pub fn head_pattern_vjp(
    model: &Model,
    layer: usize,
    head: usize,
    q_resid: &[f32],
    k_resid: &[f32],
    tokens: &[TokenId],
    d_pattern: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let (d, e) = (cfg.d_model, cfg.d_head);
    let n = tokens.len();
    let a = &blk.attn;
    let kv = cfg.kv_head_of(head);
    let positions: Vec<usize> = (0..n).collect();
    let project = |resid: &[f32], w: &[f32], b: &[f32], hd: usize| {
        let mut x = normalize(cfg, resid, blk.ln1.as_ref());
        if cfg.positional == PositionalKind::Shortformer {
            x.iter_mut()
                .zip(&model.weights.w_pos[..n * d])
                .for_each(|(a, p)| *a += p);
        }
        let mut y = vec![0.0f32; n * e];
        project_head(&x, w, b, cfg, hd, ViewMut::rows(&mut y, n, e));
        if cfg.positional == PositionalKind::Rotary {
            rotate(cfg, &mut y, 1, &positions);
        }
        y
    };
    let q = project(q_resid, &a.w_q, &a.b_q, head);
    let k = project(k_resid, &a.w_k, &a.b_k, kv);
    let mut pattern = vec![0.0f32; n * n];
    scores_to_pattern(
        cfg,
        tokens,
        View::rows(&q, n, e),
        View::rows(&k, n, e),
        &mut pattern,
    );
    // Softmax rows: ds_ij = p_ij (dp_ij − Σ_k p_ik dp_ik); masked keys have p = 0.
    let mut d_scores = vec![0.0f32; n * n];
    for ((p, g), out) in pattern
        .chunks_exact(n)
        .zip(d_pattern.chunks_exact(n))
        .zip(d_scores.chunks_exact_mut(n))
    {
        let dot: f64 = p.iter().zip(g).map(|(&p, &g)| p as f64 * g as f64).sum();
        for j in 0..n {
            out[j] = (p[j] as f64 * (g[j] as f64 - dot)) as f32;
        }
    }
    let scale = 1.0 / (e as f32).sqrt();
    let mut d_q = vec![0.0f32; n * e];
    gemm(
        scale,
        View::rows(&d_scores, n, n),
        View::rows(&k, n, e),
        0.0,
        ViewMut::rows(&mut d_q, n, e),
    );
    let mut d_k = vec![0.0f32; n * e];
    gemm(
        scale,
        View::rows(&d_scores, n, n).t(),
        View::rows(&q, n, e),
        0.0,
        ViewMut::rows(&mut d_k, n, e),
    );
    if cfg.positional == PositionalKind::Rotary {
        rotate_back(cfg, &mut d_q, &positions);
        rotate_back(cfg, &mut d_k, &positions);
    }
    // Shortformer positions join after the normalisation: the gradient reaches the
    // residual stream unchanged.
    let back = |resid: &[f32], d_y: &[f32], w: &[f32], hd: usize| {
        let d_x = back_through(d_y, &w[hd * d * e..(hd + 1) * d * e], d, e);
        normalize_vjp(cfg, resid, blk.ln1.as_ref(), &d_x)
    };
    (
        back(q_resid, &d_q, &a.w_q, head),
        back(k_resid, &d_k, &a.w_k, kv),
    )
}

/// The transpose of [`rotate`] on one head's rows `[n, d_head]`: a rotation's transpose is
/// the rotation conjugated by negating one coordinate of every rotated pair (the second
/// half of the rotating dimensions; the others do not move).
fn rotate_back(cfg: &crate::config::ModelConfig, x: &mut [f32], positions: &[usize]) {
    let (e, r) = (cfg.d_head, cfg.rotary_dims());
    let flip = |x: &mut [f32]| {
        for row in x.chunks_exact_mut(e) {
            row[r / 2..r].iter_mut().for_each(|v| *v = -*v);
        }
    };
    flip(x);
    rotate(cfg, x, 1, positions);
    flip(x);
}
