//! The adjusted open proportion p_adj of experiment 3b (write-up appendix, "padj"). Head 0.0
//! is only quasi upper-triangular: at an open-paren query q of a sequence of n parens it puts a
//! share b_{q,n} of its paren attention on the prefix 1..q-1. Then what it reads is
//! p_adj,q = b_{q,n}·p_prefix + (1 − b_{q,n})·p_suffix rather than p_q.
//!
//! b_{q,n} is estimated as the original code did: from head 0.0's scores on a synthetic input
//! whose keys are the average of "(" and ")" at every paren position, because an open query
//! scores both paren tokens almost alike (so b depends on q and n only, not on the sequence).

use scrub_core::Model;

use super::phi::{check_model, ln0_embed, max_parens, project};
use super::token;
use crate::error::ScenarioError;

/// b_{q,n}, head 0.0's share of paren attention on the prefix, for n = 1..=max_len, q = 1..=n.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixWeights {
    max_len: usize,
    /// Row n (1-based) starts at n(n−1)/2; entry q−1 of the row is b_{q,n}.
    b: Vec<f64>,
}

impl PrefixWeights {
    /// Estimates every b_{q,n} from layer 0, head 0 of `model` (n up to n_ctx − 2).
    pub fn from_model(model: &Model) -> Result<Self, ScenarioError> {
        check_model(model)?;
        let cfg = &model.config;
        let max_len = max_parens(model);
        let a = &model.weights.blocks[0].attn;
        let key = |x: &[f64]| project(model, x, &a.w_k, &a.b_k, 0);
        // Keys and queries are affine in the normalised input, so the key of the averaged
        // input is the average of the two keys; everything is precomputed per position.
        let k_open: Vec<Vec<f64>> = (0..=max_len)
            .map(|i| key(&ln0_embed(model, token::OPEN, i)))
            .collect();
        let k_avg: Vec<Vec<f64>> = (0..=max_len)
            .map(|i| {
                let c = key(&ln0_embed(model, token::CLOSE, i));
                k_open[i]
                    .iter()
                    .zip(c)
                    .map(|(o, c)| (o + c) / 2.0)
                    .collect()
            })
            .collect();
        let k_start = key(&ln0_embed(model, token::START, 0));
        let k_end: Vec<Vec<f64>> = (0..=max_len + 1)
            .map(|i| key(&ln0_embed(model, token::END, i)))
            .collect();
        let scale = 1.0 / (cfg.d_head as f64).sqrt();
        let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() * scale;

        let mut b = Vec::with_capacity(max_len * (max_len + 1) / 2);
        let mut scores = Vec::with_capacity(max_len + 2);
        for n in 1..=max_len {
            for q in 1..=n {
                let query = project(model, &ln0_embed(model, token::OPEN, q), &a.w_q, &a.b_q, 0);
                scores.clear();
                scores.push(dot(&query, &k_start));
                scores.extend((1..=n).map(|j| {
                    let k = if j == q { &k_open[j] } else { &k_avg[j] };
                    dot(&query, k)
                }));
                scores.push(dot(&query, &k_end[n + 1]));
                // The softmax normaliser cancels in the ratio, and so does the attention on
                // [start] and [end], which the write-up ignores (its footnote 26).
                let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let prefix: f64 = scores[1..q].iter().map(|s| (s - m).exp()).sum();
                let suffix: f64 = scores[q..=n].iter().map(|s| (s - m).exp()).sum();
                b.push(prefix / (prefix + suffix));
            }
        }
        Ok(PrefixWeights { max_len, b })
    }

    /// The idealised head: b_{q,n} = 0 everywhere, so p_adj = p.
    pub fn upper_triangular(max_len: usize) -> Self {
        PrefixWeights {
            max_len,
            b: vec![0.0; max_len * (max_len + 1) / 2],
        }
    }

    /// Longest sequence (in parens) the weights cover.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// b_{q,n}, or `None` unless 1 ≤ q ≤ n ≤ max_len.
    pub fn get(&self, q: usize, n: usize) -> Option<f64> {
        if q == 0 || q > n || n > self.max_len {
            return None;
        }
        Some(self.b[n * (n - 1) / 2 + q - 1])
    }

    /// p_adj,q of a sequence (`true` = "("), or `None` unless 1 ≤ q ≤ len ≤ max_len.
    pub fn p_adj(&self, parens: &[bool], q: usize) -> Option<f64> {
        let n = parens.len();
        let b = self.get(q, n)?;
        let (prefix_len, suffix_len) = (q - 1, n - q + 1);
        let prefix_open = parens[..q - 1].iter().filter(|&&o| o).count();
        let suffix_open = parens[q - 1..].iter().filter(|&&o| o).count();
        let p_suffix = suffix_open as f64 / suffix_len as f64;
        // An empty prefix has b = 0, so its proportion never counts; 0 avoids 0/0.
        let p_prefix = if prefix_len == 0 {
            0.0
        } else {
            prefix_open as f64 / prefix_len as f64
        };
        Some(b * p_prefix + (1.0 - b) * p_suffix)
    }

    /// p_adj,q − 1/2 from open counts, built from exactly representable (p − 1/2) parts so
    /// that its sign is exact whenever prefix and suffix are both exactly half open (where
    /// p_adj,q = 1/2 must pass the horizon test). `None` unless 1 ≤ q ≤ n ≤ max_len.
    pub(crate) fn excess(
        &self,
        q: usize,
        n: usize,
        prefix_open: usize,
        suffix_open: usize,
    ) -> Option<f64> {
        let b = self.get(q, n)?;
        let centred = |open: usize, len: usize| {
            if len == 0 {
                0.0
            } else {
                (2.0 * open as f64 - len as f64) / (2.0 * len as f64)
            }
        };
        Some(b * centred(prefix_open, q - 1) + (1.0 - b) * centred(suffix_open, n - q + 1))
    }
}

#[cfg(test)]
#[path = "padj_tests.rs"]
mod tests;
