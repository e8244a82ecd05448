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
        let ms = lane_sum(row, |v| v * v) / d as f32;
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
        let mean = lane_sum(row, |v| v) / d as f32;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for j in 0..d {
            o[j] = (row[j] - mean) * inv * ln.w[j] + ln.b[j];
        }
    }
    out
}

/// Σ f(x) over `row` in [`LANES`] interleaved partial sums, added pairwise at the end. One
/// running sum waits on every add (the compiler may not reorder float sums); the partial
/// sums fill vector registers, and were a sixth of the induction table's time. The order
/// is fixed, so the result depends on nothing but `row`.
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0]
}

/// Partial sums of [`lane_sum`] (a power of two).
const LANES: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_agree_with_a_running_sum_on_every_length() {
        for n in [0usize, 1, 5, 16, 17, 33, 256, 1000] {
            let row: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25)
                .collect();
            let exact: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
            let got = lane_sum(&row, |v| v * v) as f64;
            assert!(
                (got - exact).abs() <= 1e-6 * exact.max(1.0),
                "n {n}: {got} vs {exact}"
            );
        }
    }
}
