//! Training batches: windows of the token stream at random offsets, each with `[BEGIN]`
//! in front. Offsets come from (seed, step) alone, so a resumed run draws the same batches.
//!
//! A window may repeat a passage of its own text (`repeat_fraction`): documentation
//! repeats identifiers and phrases, but on a few tens of millions of tokens that is too
//! rare a signal for induction heads to form on two CPU cores; copying one real passage
//! later into the same window makes "find the earlier occurrence, predict what followed"
//! pay off often, while every token stays real prose. Long copies let an induction head
//! match on several earlier tokens at once, so a layer-0 head spread over the last two or
//! three positions serves them as well as a sharp previous-token head; many short copies
//! (2 to 4 tokens) make the step right after a copy starts, where only the previous token
//! matches, common, and that is what sharpened the committed model's previous-token head.

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::TrainError;

/// Which windows repeat passages of their own text, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repeats {
    /// Fraction of windows that get repeated passages (0 to 1).
    pub fraction: f64,
    /// Shortest passage, in tokens.
    pub min_len: usize,
    /// Longest passage, in tokens; `None`: a quarter of the window.
    pub max_len: Option<usize>,
    /// Passages copied into each chosen window.
    pub per_window: usize,
}

impl Repeats {
    /// No repeated passages.
    pub const NONE: Repeats = Repeats {
        fraction: 0.0,
        min_len: 8,
        max_len: None,
        per_window: 1,
    };
}

/// Inputs `[batch, n_ctx]` (`[BEGIN]` then `n_ctx - 1` stream tokens) and their next-token
/// targets `[batch, n_ctx]`, for training step `step`.
pub fn batch(
    stream: &[u16],
    begin: u32,
    n_ctx: usize,
    batch: usize,
    seed: u64,
    step: usize,
    repeats: &Repeats,
) -> Result<(Tensor, Tensor), TrainError> {
    if stream.len() <= n_ctx {
        return Err(TrainError::Invalid(format!(
            "the training stream has {} tokens, fewer than one window of {n_ctx}",
            stream.len()
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step as u64);
    let mut inputs = Vec::with_capacity(batch * n_ctx);
    let mut targets = Vec::with_capacity(batch * n_ctx);
    for _ in 0..batch {
        let start = rng.random_range(0..stream.len() - n_ctx);
        let mut w = stream[start..start + n_ctx].to_vec();
        if repeats.fraction > 0.0 && rng.random_bool(repeats.fraction.min(1.0)) {
            for _ in 0..repeats.per_window {
                repeat_passage(&mut w, repeats, &mut rng);
            }
        }
        inputs.push(begin);
        inputs.extend(w[..n_ctx - 1].iter().map(|&t| t as u32));
        targets.extend(w.iter().map(|&t| t as u32));
    }
    Ok((
        Tensor::from_vec(inputs, (batch, n_ctx), &Device::Cpu)?,
        Tensor::from_vec(targets, (batch, n_ctx), &Device::Cpu)?,
    ))
}

/// Copies a passage of `w` (`min_len` to `max_len` tokens, at most a quarter of the
/// window) to a later place in `w`.
fn repeat_passage(w: &mut [u16], repeats: &Repeats, rng: &mut StdRng) {
    let n = w.len();
    let max = repeats.max_len.unwrap_or(n / 4).min(n / 4);
    if n < 32 || repeats.min_len < 1 || repeats.min_len > max {
        return;
    }
    let len = rng.random_range(repeats.min_len..=max);
    let from = rng.random_range(0..=n - 2 * len);
    let to = rng.random_range(from + len..=n - len);
    w.copy_within(from..from + len, to);
}

/// Inputs and targets of whole sequences (each starts with `[BEGIN]`): predict token i+1
/// from tokens 0..=i, for the first `n` sequences.
pub fn sequences(seqs: &[&[u16]]) -> Result<(Tensor, Tensor), TrainError> {
    let n = seqs.len();
    let t = seqs[0].len() - 1;
    let inputs: Vec<u32> = seqs
        .iter()
        .flat_map(|s| s[..t].iter().map(|&x| x as u32))
        .collect();
    let targets: Vec<u32> = seqs
        .iter()
        .flat_map(|s| s[1..].iter().map(|&x| x as u32))
        .collect();
    Ok((
        Tensor::from_vec(inputs, (n, t), &Device::Cpu)?,
        Tensor::from_vec(targets, (n, t), &Device::Cpu)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_with_begin_and_targets_are_shifted() {
        let stream: Vec<u16> = (2..1000).collect();
        let (x, y) = batch(&stream, 0, 8, 3, 7, 5, &Repeats::NONE).unwrap();
        let x: Vec<Vec<u32>> = x.to_vec2().unwrap();
        let y: Vec<Vec<u32>> = y.to_vec2().unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            assert_eq!(xi[0], 0);
            assert_eq!(&xi[1..], &yi[..7]);
        }
        let (x2, _) = batch(&stream, 0, 8, 3, 7, 5, &Repeats::NONE).unwrap();
        assert_eq!(
            x,
            x2.to_vec2::<u32>().unwrap(),
            "same (seed, step), same batch"
        );
    }

    #[test]
    fn repeated_windows_copy_an_earlier_passage() {
        let stream: Vec<u16> = (2..5000).collect();
        let once = Repeats {
            fraction: 1.0,
            ..Repeats::NONE
        };
        let (_, y) = batch(&stream, 0, 64, 8, 3, 1, &once).unwrap();
        for yi in y.to_vec2::<u32>().unwrap() {
            // The stream is strictly increasing, so a copied passage shows up as a
            // place where the sequence steps back; text before it is untouched.
            let back = (1..yi.len()).find(|&i| yi[i] <= yi[i - 1]);
            let i = back.expect("every window repeats a passage at fraction 1");
            let first = yi.iter().position(|&t| t == yi[i]).unwrap();
            assert!(first < i, "the repeated token occurred earlier");
            assert_eq!(yi[i + 1], yi[first + 1], "and so does its successor");
        }
    }

    #[test]
    fn several_short_passages_per_window() {
        let stream: Vec<u16> = (2..5000).collect();
        let short = Repeats {
            fraction: 1.0,
            min_len: 2,
            max_len: Some(4),
            per_window: 4,
        };
        let (x, y) = batch(&stream, 0, 64, 8, 3, 1, &short).unwrap();
        for (xi, yi) in x
            .to_vec2::<u32>()
            .unwrap()
            .iter()
            .zip(y.to_vec2::<u32>().unwrap())
        {
            // Windows of an increasing stream: the untouched window is `first, first+1, ..`.
            let first = xi[1];
            let changed: Vec<usize> = (0..yi.len())
                .filter(|&i| yi[i] != first + i as u32)
                .collect();
            assert!(
                changed.len() >= 2,
                "at least one passage of 2+ tokens: {yi:?}"
            );
            assert!(
                changed.len() <= 4 * 4,
                "at most 4 passages of at most 4 tokens"
            );
            for &i in &changed {
                assert!(
                    yi[i] < first + i as u32,
                    "copied from earlier in the window"
                );
            }
        }
    }
}
