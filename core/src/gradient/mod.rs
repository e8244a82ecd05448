//! Reverse-mode derivatives of the CPU reference: for each node the scrubbing graph can
//! recompute (a head from its q/k/v inputs, a head's pattern, a head from a pattern, an MLP,
//! the unembedding), the vector-Jacobian product that maps a gradient of the node's output
//! to gradients of its residual-stream inputs. Composed over a graph
//! ([`crate::scrub::graph::ScrubGraph::recompute_vjp`], [`graph::backward`]) they give the
//! metric's gradient with respect to every node's output and every port of every node, which
//! attribution patching multiplies with activation differences.
//!
//! Each product recomputes the node's forward from its inputs with the forward pass's own
//! helpers, so the derivative is of exactly the function the engine evaluates.

pub mod activation;
pub mod graph;
pub mod head;
pub mod mlp;
pub mod norm;

pub use graph::{backward, GraphGradients};
pub use head::{head_from_pattern_vjp, head_pattern_vjp, head_result_vjp, HeadInputGrads};
pub use mlp::mlp_out_vjp;

use crate::linalg::{gemm, View, ViewMut};
use crate::weights::Model;

/// Gradient with respect to the final residual stream `[n, d_model]` of a gradient of the
/// logits `[n, d_vocab_out]` ([`crate::forward::unembed`]). Rows whose logit gradient is zero
/// (a language model scored at a few positions) are skipped: the unembedding is most of the
/// cost otherwise.
pub fn unembed_vjp(model: &Model, resid: &[f32], d_logits: &[f32]) -> Vec<f32> {
    let cfg = &model.config;
    let (d, v) = (cfg.d_model, cfg.d_vocab_out);
    let n = resid.len() / d;
    let live: Vec<usize> = (0..n)
        .filter(|&r| d_logits[r * v..(r + 1) * v].iter().any(|&g| g != 0.0))
        .collect();
    let gather = |x: &[f32], w: usize| -> Vec<f32> {
        live.iter()
            .flat_map(|&r| x[r * w..(r + 1) * w].iter().copied())
            .collect()
    };
    let w = &model.weights;
    let d_fin = back_through(&gather(d_logits, v), &w.w_u, d, v);
    let d_live = norm::normalize_vjp(cfg, &gather(resid, d), w.ln_final.as_ref(), &d_fin);
    let mut d_resid = vec![0.0f32; n * d];
    for (k, &r) in live.iter().enumerate() {
        d_resid[r * d..(r + 1) * d].copy_from_slice(&d_live[k * d..(k + 1) * d]);
    }
    d_resid
}

/// `dx [n, k] = dy [n, m] @ wᵀ` for a weight `w [k, m]` row-major: the input gradient of
/// `x @ w`.
pub(crate) fn back_through(dy: &[f32], w: &[f32], k: usize, m: usize) -> Vec<f32> {
    let n = dy.len() / m;
    let mut dx = vec![0.0f32; n * k];
    gemm(
        1.0,
        View::rows(dy, n, m),
        View::rows(w, k, m).t(),
        0.0,
        ViewMut::rows(&mut dx, n, k),
    );
    dx
}

#[cfg(test)]
mod tests;
