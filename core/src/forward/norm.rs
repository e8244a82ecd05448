//! The residual stream's normalisations, row by row: LayerNorm and RMSNorm.

use crate::config::{ModelConfig, Normalization};
use crate::weights::LayerNorm;

/// Row-wise normalisation of `x` `[rows, d_model]` by the model's kind: LayerNorm, or
/// RMSNorm (x / sqrt(mean(x²) + eps) · w, as Hugging Face's `LlamaRMSNorm` computes it in
/// f32); an identity copy when the model has none.
pub fn normalize(cfg: &ModelConfig, x: &[f32], ln: Option<&LayerNorm>) -> Vec<f32> {
    match cfg.normalization {
        Normalization::RMSNorm => rms_norm(x, cfg.d_model, ln, cfg.ln_eps),
        _ => layer_norm(x, cfg.d_model, ln, cfg.ln_eps),
    }
}

/// Row-wise RMSNorm (identity copy without weights).
fn rms_norm(x: &[f32], d: usize, ln: Option<&LayerNorm>, eps: f32) -> Vec<f32> {
    let Some(ln) = ln else { return x.to_vec() };
    let mut out = vec![0.0f32; x.len()];
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for j in 0..d {
            o[j] = ln.w[j] * (row[j] * inv);
        }
    }
    out
}

/// Row-wise LayerNorm (identity copy when the model has none).
fn layer_norm(x: &[f32], d: usize, ln: Option<&LayerNorm>, eps: f32) -> Vec<f32> {
    let Some(ln) = ln else { return x.to_vec() };
    let mut out = vec![0.0f32; x.len()];
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean = row.iter().sum::<f32>() / d as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for j in 0..d {
            o[j] = (row[j] - mean) * inv * ln.w[j] + ln.b[j];
        }
    }
    out
}
