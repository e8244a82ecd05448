//! Which heads are the induction heads and which is the previous-token head, decided from
//! measured scores by fixed rules rather than by eye:
//! - prefix-matching score of every head: on `[BEGIN] r r` with `r` random tokens, the mean
//!   attention from the second occurrence of a token to the token after its first
//!   occurrence;
//! - previous-token score of every head: on the same repeated random sequences, the mean
//!   attention from each position to the one before it (as TransformerLens-style
//!   detectors measure it); the same score on validation text is reported beside it;
//! - the loss on the first and on the second copy of `r`, which induction makes far lower;
//! - same-token score of every head: on validation text, the mean attention from each
//!   position to positions holding the same token (itself included). Layer-0 heads that
//!   score high behave almost as if they attended to the current position only, which is
//!   what refined hypothesis 4's identity-attention rewrite claims of them.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::forward::forward_keeping;
use scrub_core::{Model, TokenBatch, TokenId};
use serde::Serialize;

use super::error::InductionError;

/// A layer-1+ head is an induction head when its prefix-matching score reaches this.
pub const INDUCTION_THRESHOLD: f64 = 0.4;
/// The best layer-0 previous-token head counts only when its score reaches this.
pub const PREVIOUS_TOKEN_THRESHOLD: f64 = 0.6;

/// A layer-0 head other than the previous-token head is self-attending when its
/// same-token score reaches this.
pub const SELF_ATTENDING_THRESHOLD: f64 = 0.5;

/// A head as `layer.head` (the write-up's notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Head {
    pub layer: usize,
    pub head: usize,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.layer, self.head)
    }
}

/// How the scores are measured.
#[derive(Debug, Clone, Copy)]
pub struct HeadProbe {
    /// Number of repeated random sequences.
    pub sequences: usize,
    /// Length of the random block `r` (each sequence is `1 + 2 * half_len` tokens).
    pub half_len: usize,
    /// Number of validation sequences for the text scores.
    pub text_sequences: usize,
    pub seed: u64,
}

impl Default for HeadProbe {
    fn default() -> Self {
        HeadProbe {
            sequences: 100,
            half_len: 100,
            text_sequences: 50,
            seed: 0,
        }
    }
}

/// The scores and the heads they pick.
#[derive(Debug, Clone, Serialize)]
pub struct HeadScores {
    /// `[layer][head]`.
    pub prefix_matching: Vec<Vec<f64>>,
    /// `[layer][head]`, on the repeated random sequences (this picks the head).
    pub previous_token: Vec<Vec<f64>>,
    /// `[layer][head]`, on validation text.
    pub previous_token_on_text: Vec<Vec<f64>>,
    /// Heads of layer 1 or later with prefix-matching score ≥ [`INDUCTION_THRESHOLD`],
    /// best first.
    pub induction_heads: Vec<Head>,
    /// The layer-0 head with the highest previous-token score, if it reaches
    /// [`PREVIOUS_TOKEN_THRESHOLD`].
    pub previous_token_head: Option<Head>,
    /// `[layer][head]`: mean attention to positions holding the current token.
    pub same_token: Vec<Vec<f64>>,
    /// Layer-0 heads, other than the previous-token head, with same-token score ≥
    /// [`SELF_ATTENDING_THRESHOLD`], best first.
    pub self_attending_heads: Vec<Head>,
    /// Mean loss (nats) predicting the first copy of `r` (its tokens after the first).
    pub repeated_first_half_loss: f64,
    /// Mean loss predicting the same tokens in the second copy.
    pub repeated_second_half_loss: f64,
    pub sequences: usize,
    pub half_len: usize,
    pub text_sequences: usize,
    pub seed: u64,
}

/// `[BEGIN] r r` sequences with `r` uniform over the ordinary tokens (ids from
/// `first_ordinary` on, so `[BEGIN]`/`[END]` never appear inside).
pub fn repeated_sequences(
    n: usize,
    half_len: usize,
    d_vocab: usize,
    first_ordinary: u32,
    begin: u32,
    seed: u64,
) -> Vec<Vec<TokenId>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let r: Vec<TokenId> = (0..half_len)
                .map(|_| TokenId(rng.random_range(first_ordinary..d_vocab as u32)))
                .collect();
            std::iter::once(TokenId(begin))
                .chain(r.iter().copied())
                .chain(r.iter().copied())
                .collect()
        })
        .collect()
}

/// Measures every head on `model`. `text` are validation sequences (starting with
/// `[BEGIN]`) for the previous-token score.
pub fn identify(
    model: &Model,
    text: &[Vec<TokenId>],
    probe: &HeadProbe,
) -> Result<HeadScores, InductionError> {
    let cfg = &model.config;
    let (nl, nh, l) = (cfg.n_layers, cfg.n_heads, probe.half_len);
    if l < 2 || 1 + 2 * l > cfg.n_ctx {
        return Err(InductionError::Invalid(format!(
            "a repeated block of {l} tokens needs 2 <= {l} and 1 + 2·{l} <= n_ctx = {}",
            cfg.n_ctx
        )));
    }
    if probe.sequences == 0 || text.is_empty() {
        return Err(InductionError::Invalid(
            "identification needs at least one repeated and one text sequence".into(),
        ));
    }
    let keep: Vec<String> = (0..nl)
        .map(|i| format!("blocks.{i}.attn.hook_pattern"))
        .collect();
    let rep = repeated_sequences(probe.sequences, l, cfg.d_vocab, 2, 0, probe.seed);
    let mut prefix = vec![vec![0.0; nh]; nl];
    let mut prev_random = vec![vec![0.0; nh]; nl];
    let (mut first, mut second) = (0.0, 0.0);
    for chunk in rep.chunks(16) {
        let batch = TokenBatch::from_sequences(chunk.iter().map(Vec::as_slice));
        let mut caches = Vec::new();
        let logits = forward_keeping(model, &batch, Some(&mut caches), Some(&keep));
        for (s, cache) in caches.iter().enumerate() {
            let seq = batch.seq(s);
            let n = seq.len();
            for (layer, row) in prefix.iter_mut().enumerate() {
                let pat = &cache.get(&keep[layer]).expect("kept").data;
                for (h, score) in row.iter_mut().enumerate() {
                    // Second occurrence of r[j] is at 1 + l + j; the token after its first
                    // occurrence is at 2 + j.
                    *score += (0..l)
                        .map(|j| pat[h * n * n + (1 + l + j) * n + 2 + j] as f64)
                        .sum::<f64>();
                    prev_random[layer][h] += (1..n)
                        .map(|p| pat[h * n * n + p * n + p - 1] as f64)
                        .sum::<f64>();
                }
            }
            let start = batch.seq_rows(s).start;
            let nll = |p: usize| token_loss(logits.row(start + p), seq[p + 1].0 as usize);
            // Position p predicts token p + 1: r[1..] of the first copy sit at 2..=l, of
            // the second copy at l + 2..=2l.
            first += (1..l).map(nll).sum::<f64>();
            second += (l + 1..2 * l).map(nll).sum::<f64>();
        }
    }
    let denom = (probe.sequences * l) as f64;
    prefix.iter_mut().flatten().for_each(|s| *s /= denom);
    let rows = (probe.sequences * 2 * l) as f64;
    prev_random.iter_mut().flatten().for_each(|s| *s /= rows);
    let half = (probe.sequences * (l - 1)) as f64;
    let (previous_text, same) = text_scores(model, text, &keep);
    let mut scores = pick(
        prefix,
        prev_random,
        same,
        first / half,
        second / half,
        probe,
    );
    scores.previous_token_on_text = previous_text;
    scores.text_sequences = text.len();
    Ok(scores)
}

/// Per head, over `text` (position 0 excluded): the mean attention to the previous position
/// and the mean attention to positions holding the current token.
fn text_scores(
    model: &Model,
    text: &[Vec<TokenId>],
    keep: &[String],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let (nl, nh) = (model.config.n_layers, model.config.n_heads);
    let mut prev = vec![vec![0.0; nh]; nl];
    let mut same = vec![vec![0.0; nh]; nl];
    let mut count = 0usize;
    for chunk in text.chunks(16) {
        let batch = TokenBatch::from_sequences(chunk.iter().map(Vec::as_slice));
        let mut caches = Vec::new();
        forward_keeping(model, &batch, Some(&mut caches), Some(keep));
        for (s, cache) in caches.iter().enumerate() {
            let seq = batch.seq(s);
            let n = seq.len();
            count += n - 1;
            for layer in 0..nl {
                let pat = &cache.get(&keep[layer]).expect("kept").data;
                for h in 0..nh {
                    let at = |p: usize, q: usize| pat[h * n * n + p * n + q] as f64;
                    prev[layer][h] += (1..n).map(|p| at(p, p - 1)).sum::<f64>();
                    same[layer][h] += (1..n)
                        .map(|p| {
                            (0..=p)
                                .filter(|&q| seq[q] == seq[p])
                                .map(|q| at(p, q))
                                .sum::<f64>()
                        })
                        .sum::<f64>();
                }
            }
        }
    }
    for s in prev.iter_mut().chain(same.iter_mut()).flatten() {
        *s /= count.max(1) as f64;
    }
    (prev, same)
}

/// -log softmax(logits)[target].
pub fn token_loss(logits: &[f32], target: usize) -> f64 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = m + logits
        .iter()
        .map(|&x| (x as f64 - m).exp())
        .sum::<f64>()
        .ln();
    lse - logits[target] as f64
}

/// Applies the selection rules to measured scores.
fn pick(
    prefix: Vec<Vec<f64>>,
    previous: Vec<Vec<f64>>,
    same: Vec<Vec<f64>>,
    first: f64,
    second: f64,
    probe: &HeadProbe,
) -> HeadScores {
    let mut induction: Vec<(f64, Head)> = prefix
        .iter()
        .enumerate()
        .skip(1)
        .flat_map(|(layer, row)| {
            row.iter()
                .enumerate()
                .map(move |(head, &s)| (s, Head { layer, head }))
        })
        .filter(|(s, _)| *s >= INDUCTION_THRESHOLD)
        .collect();
    induction.sort_by(|a, b| b.0.total_cmp(&a.0));
    let previous_token_head = previous
        .first()
        .and_then(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(head, &s)| (s, Head { layer: 0, head }))
        })
        .filter(|(s, _)| *s >= PREVIOUS_TOKEN_THRESHOLD)
        .map(|(_, h)| h);
    let mut self_attending: Vec<(f64, Head)> = same
        .first()
        .into_iter()
        .flat_map(|row| row.iter().enumerate())
        .map(|(head, &s)| (s, Head { layer: 0, head }))
        .filter(|&(s, h)| s >= SELF_ATTENDING_THRESHOLD && Some(h) != previous_token_head)
        .collect();
    self_attending.sort_by(|a, b| b.0.total_cmp(&a.0));
    HeadScores {
        prefix_matching: prefix,
        previous_token: previous,
        previous_token_on_text: Vec::new(),
        induction_heads: induction.into_iter().map(|(_, h)| h).collect(),
        previous_token_head,
        same_token: same,
        self_attending_heads: self_attending.into_iter().map(|(_, h)| h).collect(),
        repeated_first_half_loss: first,
        repeated_second_half_loss: second,
        sequences: probe.sequences,
        half_len: probe.half_len,
        text_sequences: 0,
        seed: probe.seed,
    }
}

#[cfg(test)]
#[path = "heads_tests.rs"]
mod tests;
