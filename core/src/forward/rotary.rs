//! Rotary position embeddings (Hugging Face's rotate-half layout, full or partial), with
//! the angle table every executor shares.

use crate::config::ModelConfig;

/// The rotary angles' inverse frequencies θ^(−2i/r), i < r/2, for the r =
/// [`ModelConfig::rotary_dims`] rotating dimensions, in f32 as Hugging Face's default rotary
/// embedding (`_compute_default_rope_parameters`, whose `dim` is r) computes them.
pub fn rotary_inv_freq(cfg: &ModelConfig) -> Vec<f32> {
    let r = cfg.rotary_dims();
    (0..r / 2)
        .map(|i| 1.0 / cfg.rope_theta.powf((2 * i) as f32 / r as f32))
        .collect()
}

/// cos and sin `[r/2]` of the rotary angles at position `p` (angle p·inv_freq[i] in f32,
/// as Hugging Face computes it; its cosine and sine correctly rounded to f32). Executors
/// other than this one use these very values.
pub fn rotary_cos_sin(inv_freq: &[f32], p: usize) -> (Vec<f32>, Vec<f32>) {
    inv_freq
        .iter()
        .map(|&f| {
            let a = (p as f32 * f) as f64;
            (a.cos() as f32, a.sin() as f32)
        })
        .unzip()
}

/// Rotary embedding in place on `x` `[rows, heads, d_head]`, row r at position
/// `positions[r]`: of the first r = [`ModelConfig::rotary_dims`] dimensions of each head,
/// i < r/2 and i + r/2 rotate together by the angle position · inv_freq[i] (Hugging Face's
/// rotate-half layout within the rotating dimensions); the others are left as they are.
pub fn rotate(cfg: &ModelConfig, x: &mut [f32], heads: usize, positions: &[usize]) {
    let e = cfg.d_head;
    let half = cfg.rotary_dims() / 2;
    let inv = rotary_inv_freq(cfg);
    for (row, &p) in x.chunks_exact_mut(heads * e).zip(positions) {
        let (cos, sin) = rotary_cos_sin(&inv, p);
        for v in row.chunks_exact_mut(e) {
            for i in 0..half {
                let (a, b) = (v[i], v[i + half]);
                v[i] = a * cos[i] - b * sin[i];
                v[i + half] = b * cos[i] + a * sin[i];
            }
        }
    }
}
