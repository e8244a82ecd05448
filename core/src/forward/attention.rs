//! Attention on the CPU: one head's pattern from its queries and keys, and a whole batch's
//! heads, run in parallel when there is enough work.

use super::activation::exp_f32;
use crate::config::{AttentionKind, ModelConfig};
use crate::linalg::{gemm, View, ViewMut};
use crate::tokens::{TokenBatch, TokenId};
use rayon::prelude::*;

/// One head's pattern `[n, n]` from its queries and keys `[n, d_head]`: scaled scores, the
/// causal and padding masks, and a softmax per query row.
pub(crate) fn scores_to_pattern(
    cfg: &ModelConfig,
    tokens: &[TokenId],
    q: View,
    k: View,
    pat: &mut [f32],
) {
    let n = tokens.len();
    let scale = 1.0 / (cfg.d_head as f32).sqrt();
    gemm(scale, q, k.t(), 0.0, ViewMut::rows(pat, n, n));
    for (qi, row) in pat.chunks_exact_mut(n).enumerate() {
        for (ki, s) in row.iter_mut().enumerate() {
            let masked = (cfg.attention == AttentionKind::Causal && ki > qi)
                || cfg.pad_token == Some(tokens[ki].0);
            if masked {
                *s = f32::NEG_INFINITY;
            }
        }
        softmax_in_place(row);
    }
}

/// Attention of every sequence of `batch`: writes `z` and returns each (sequence, head)'s
/// pattern `[pos, pos]`, sequence-major. The heads run in parallel once there is enough
/// work; each writes only its own rows and columns of `z`, so the result does not depend on
/// the thread count.
pub(super) fn attend<'a>(
    cfg: &ModelConfig,
    batch: &TokenBatch,
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    z: &mut [f32],
) -> Vec<Vec<f32>> {
    let (h, e) = (cfg.n_heads, cfg.d_head);
    let (he, kve) = (h * e, cfg.kv_heads() * e);
    let tasks: Vec<(usize, usize)> = (0..batch.n_seqs())
        .flat_map(|s| (0..h).map(move |hd| (s, hd)))
        .collect();
    let one_head = |&(s, hd): &(usize, usize)| {
        let tokens = batch.seq(s);
        let (n, start) = (tokens.len(), batch.seq_rows(s).start);
        let kv_base = start * kve + cfg.kv_head_of(hd) * e;
        let strided = |data: &'a [f32], base: usize, rs: usize| View {
            data: &data[base..],
            rows: n,
            cols: e,
            rs,
            cs: 1,
        };
        let mut pat = vec![0.0f32; n * n];
        scores_to_pattern(
            cfg,
            tokens,
            strided(q, start * he + hd * e, he),
            strided(k, kv_base, kve),
            &mut pat,
        );
        let mut z_h = vec![0.0f32; n * e];
        gemm(
            1.0,
            View::rows(&pat, n, n),
            strided(v, kv_base, kve),
            0.0,
            ViewMut::rows(&mut z_h, n, e),
        );
        (pat, z_h)
    };
    let work: usize = (0..batch.n_seqs())
        .map(|s| batch.seq(s).len().pow(2))
        .sum::<usize>()
        * he;
    let heads: Vec<(Vec<f32>, Vec<f32>)> = if work >= PARALLEL_ATTENTION_WORK {
        tasks.par_iter().map(one_head).collect()
    } else {
        tasks.iter().map(one_head).collect()
    };
    let mut patterns = Vec::with_capacity(tasks.len());
    for (&(s, hd), (pat, z_h)) in tasks.iter().zip(heads) {
        let start = batch.seq_rows(s).start;
        for (t, row) in z_h.chunks_exact(e).enumerate() {
            let at = (start + t) * he + hd * e;
            z[at..at + e].copy_from_slice(row);
        }
        patterns.push(pat);
    }
    patterns
}

/// Multiply-adds in a batch's attention (Σ pos² · n_heads · d_head) above which its heads
/// are spread over the rayon pool: below it, as in the small models scrubbed in bulk, the
/// hand-off costs more than the work.
const PARALLEL_ATTENTION_WORK: usize = 1 << 22;

/// Softmax over a row where `-inf` means "excluded"; a row with every key excluded becomes
/// all zeros rather than NaN.
fn softmax_in_place(row: &mut [f32]) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    // Exponentials first, in a loop that vectorises; excluded keys become exactly 0.
    row.iter_mut().for_each(|s| {
        *s = if *s == f32::NEG_INFINITY {
            0.0
        } else {
            exp_f32(*s - m)
        }
    });
    let sum: f32 = row.iter().sum();
    row.iter_mut().for_each(|s| *s /= sum);
}
