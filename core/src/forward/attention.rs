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
    let causal = cfg.attention == AttentionKind::Causal;
    // A causal query row reads keys up to its own position only: queries go in blocks whose
    // product stops at the block's last key (about half the products of the full square),
    // and each row's softmax runs over its live prefix. An element's bits do not depend on
    // the product's shape, and the keys left out would have been exactly 0, so the pattern
    // is bit for bit the full computation's.
    for (start, end, keys) in query_blocks(causal, n) {
        gemm(
            scale,
            View {
                data: &q.data[start * q.rs..],
                rows: end - start,
                ..q
            },
            View { rows: keys, ..k }.t(),
            0.0,
            ViewMut {
                data: &mut pat[start * n..],
                rows: end - start,
                cols: keys,
                rs: n,
                cs: 1,
            },
        );
    }
    for (qi, row) in pat.chunks_exact_mut(n).enumerate() {
        mask_and_softmax(cfg, tokens, qi, row);
    }
}

/// Query row `qi` of a pattern from its scaled scores `row` `[n]`: later keys (causal) get
/// exactly 0, padding keys are excluded, and the rest is a softmax.
fn mask_and_softmax(cfg: &ModelConfig, tokens: &[TokenId], qi: usize, row: &mut [f32]) {
    let causal = cfg.attention == AttentionKind::Causal;
    let (live, masked) = row.split_at_mut(if causal { qi + 1 } else { row.len() });
    masked.fill(0.0);
    if let Some(pad) = cfg.pad_token {
        live.iter_mut()
            .zip(tokens)
            .filter(|(_, t)| t.0 == pad)
            .for_each(|(s, _)| *s = f32::NEG_INFINITY);
    }
    softmax_in_place(live);
}

/// Rows `rows` of one head's pattern, `[rows.len(), n]`, from the queries at those
/// positions `[rows.len(), d_head]` and the keys `[keys, d_head]` they read (every key, or
/// for a causal model those up to the last row): each row's scores are the same products as
/// in [`scores_to_pattern`], so the rows are its bits.
pub(crate) fn pattern_rows(
    cfg: &ModelConfig,
    tokens: &[TokenId],
    rows: &[usize],
    q: &[f32],
    k: &[f32],
) -> Vec<f32> {
    let (n, e) = (tokens.len(), cfg.d_head);
    let scale = 1.0 / (e as f32).sqrt();
    let causal = cfg.attention == AttentionKind::Causal;
    let mut pat = vec![0.0f32; rows.len() * n];
    for ((j, &r), row) in rows.iter().enumerate().zip(pat.chunks_exact_mut(n)) {
        let keys = if causal { r + 1 } else { n };
        gemm(
            scale,
            View::rows(&q[j * e..(j + 1) * e], 1, e),
            View::rows(&k[..keys * e], keys, e).t(),
            0.0,
            ViewMut::rows(&mut row[..keys], 1, keys),
        );
        mask_and_softmax(cfg, tokens, r, row);
    }
    pat
}

/// `z = pattern @ v` for one head's pattern `[n, n]` and values `v` `[n, e]`, into `z`
/// `[n, e]`. A causal model's patterns are zero above the diagonal, so its query blocks stop
/// at their last key: the products left out are exact zeros, and the bits are the full
/// product's.
pub(crate) fn pattern_times(causal: bool, pattern: &[f32], v: View, z: &mut [f32]) {
    let (n, e) = (v.rows, v.cols);
    for (start, end, keys) in query_blocks(causal, n) {
        gemm(
            1.0,
            View {
                data: &pattern[start * n..],
                rows: end - start,
                cols: keys,
                rs: n,
                cs: 1,
            },
            View { rows: keys, ..v },
            0.0,
            ViewMut::rows(&mut z[start * e..end * e], end - start, e),
        );
    }
}

/// The query rows `start..end` of each product over `n` positions and the keys it reads,
/// `0..keys`: one product over every key, or causal blocks that stop at their last query.
fn query_blocks(causal: bool, n: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let block = if causal { QUERY_BLOCK } else { n.max(1) };
    (0..n).step_by(block).map(move |start| {
        let end = (start + block).min(n);
        (start, end, if causal { end } else { n })
    })
}

/// Query rows per product of a causal pattern: small enough that the blocks' products skip
/// most of the square's upper half, large enough to keep the products efficient.
const QUERY_BLOCK: usize = 64;

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
        let causal = cfg.attention == AttentionKind::Causal;
        pattern_times(causal, &pat, strided(v, kv_base, kve), &mut z_h);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PositionalKind;
    use crate::testing::paren_like_config;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// The full square, then the masks element by element: what `scores_to_pattern` did
    /// before it skipped the causal upper half.
    fn full_square(cfg: &ModelConfig, tokens: &[TokenId], q: View, k: View) -> Vec<f32> {
        let n = tokens.len();
        let mut pat = vec![0.0f32; n * n];
        let scale = 1.0 / (cfg.d_head as f32).sqrt();
        gemm(scale, q, k.t(), 0.0, ViewMut::rows(&mut pat, n, n));
        for (qi, row) in pat.chunks_exact_mut(n).enumerate() {
            for (ki, s) in row.iter_mut().enumerate() {
                if (cfg.attention == AttentionKind::Causal && ki > qi)
                    || cfg.pad_token == Some(tokens[ki].0)
                {
                    *s = f32::NEG_INFINITY;
                }
            }
            softmax_in_place(row);
        }
        pat
    }

    fn strided(data: &[f32], rows: usize, cols: usize, rs: usize) -> View<'_> {
        View {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    #[test]
    fn causal_blocks_give_the_full_products_bits() {
        let mut rng = StdRng::seed_from_u64(5);
        for attention in [AttentionKind::Causal, AttentionKind::Bidirectional] {
            for (n, pad) in [
                (5, None),
                (64, Some(1)),
                (256, Some(1)),
                (300, None),
                (130, Some(1)),
            ] {
                let mut cfg = paren_like_config(attention, PositionalKind::Standard);
                cfg.d_head = 32;
                cfg.pad_token = pad;
                // Row-strided q and k, as the forward's views into all heads' projections.
                let (e, stride) = (32, 96);
                let mut draw = || -> Vec<f32> {
                    (0..n * stride)
                        .map(|_| rng.random_range(-3.0..3.0))
                        .collect()
                };
                let (qd, kd) = (draw(), draw());
                // A padded tail and a pad in the middle.
                let tokens: Vec<TokenId> = (0..n)
                    .map(|i| {
                        TokenId(if i == n / 2 || i + 3 > n {
                            1
                        } else {
                            2 + i as u32 % 3
                        })
                    })
                    .collect();
                let mut got = vec![f32::NAN; n * n];
                scores_to_pattern(
                    &cfg,
                    &tokens,
                    strided(&qd, n, e, stride),
                    strided(&kd, n, e, stride),
                    &mut got,
                );
                let want = full_square(
                    &cfg,
                    &tokens,
                    strided(&qd, n, e, stride),
                    strided(&kd, n, e, stride),
                );
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{attention:?}, n {n}, pad {pad:?}: the pattern's bits differ"
                );
                // Values times the pattern, by query blocks and as one product.
                let vd: Vec<f32> = (0..n * stride)
                    .map(|_| rng.random_range(-3.0..3.0))
                    .collect();
                let v = strided(&vd, n, e, stride);
                let mut z = vec![f32::NAN; n * e];
                pattern_times(attention == AttentionKind::Causal, &got, v, &mut z);
                let mut full = vec![0.0f32; n * e];
                gemm(
                    1.0,
                    View::rows(&got, n, n),
                    v,
                    0.0,
                    ViewMut::rows(&mut full, n, e),
                );
                let same = z.iter().zip(&full).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{attention:?}, n {n}: pattern times values differs");
            }
        }
    }
}
