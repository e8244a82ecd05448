//! Input gradients of the row-wise normalisations ([`crate::forward::normalize`]).

use crate::config::{ModelConfig, Normalization};
use crate::weights::LayerNorm;

/// `∂L/∂x [rows, d_model]` from `∂L/∂y` where `y = normalize(x)`: LayerNorm or RMSNorm by
/// the model's kind, the identity when the model has no normalisation weights (as the
/// forward copies `x` then). Accumulates each row's means in f64.
pub fn normalize_vjp(cfg: &ModelConfig, x: &[f32], ln: Option<&LayerNorm>, dy: &[f32]) -> Vec<f32> {
    let Some(ln) = ln else { return dy.to_vec() };
    let d = cfg.d_model;
    let centred = cfg.normalization != Normalization::RMSNorm;
    let mut dx = vec![0.0f32; x.len()];
    for ((row, g), out) in x
        .chunks_exact(d)
        .zip(dy.chunks_exact(d))
        .zip(dx.chunks_exact_mut(d))
    {
        // The forward's own f32 statistics, so the derivative is of the computed function.
        let mean = if centred {
            row.iter().sum::<f32>() / d as f32
        } else {
            0.0
        };
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + cfg.ln_eps).sqrt();
        let xhat: Vec<f64> = row.iter().map(|&v| ((v - mean) * inv) as f64).collect();
        let dxhat: Vec<f64> = g.iter().zip(&ln.w).map(|(&g, &w)| (g * w) as f64).collect();
        let mean_d = if centred {
            dxhat.iter().sum::<f64>() / d as f64
        } else {
            0.0
        };
        let mean_dx = dxhat.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / d as f64;
        for j in 0..d {
            out[j] = (inv as f64 * (dxhat[j] - mean_d - xhat[j] * mean_dx)) as f32;
        }
    }
    dx
}
