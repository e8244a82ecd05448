//! Training batches: windows of the token stream at random offsets, each with `[BEGIN]`
//! in front. Offsets come from (seed, step) alone, so a resumed run draws the same batches.
//!
//! A window may repeat a passage of its own text (`repeat_fraction`): documentation
//! repeats identifiers and phrases, but on a few tens of millions of tokens that is too
//! rare a signal for induction heads to form on two CPU cores; copying one real passage
//! later into the same window makes "find the earlier occurrence, predict what followed"
//! pay off often, while every token stays real prose.

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::TrainError;

/// Inputs `[batch, n_ctx]` (`[BEGIN]` then `n_ctx - 1` stream tokens) and their next-token
/// targets `[batch, n_ctx]`, for training step `step`.
pub fn batch(
    stream: &[u16],
    begin: u32,
    n_ctx: usize,
    batch: usize,
    seed: u64,
    step: usize,
    repeat_fraction: f64,
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
        if repeat_fraction > 0.0 && rng.random_bool(repeat_fraction.min(1.0)) {
            repeat_passage(&mut w, &mut rng);
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

/// Copies a passage of `w` (8 to a quarter of the window long) to a later place in `w`.
fn repeat_passage(w: &mut [u16], rng: &mut StdRng) {
    let n = w.len();
    if n < 32 {
        return;
    }
    let len = rng.random_range(8..=n / 4);
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
        let (x, y) = batch(&stream, 0, 8, 3, 7, 5, 0.0).unwrap();
        let x: Vec<Vec<u32>> = x.to_vec2().unwrap();
        let y: Vec<Vec<u32>> = y.to_vec2().unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            assert_eq!(xi[0], 0);
            assert_eq!(&xi[1..], &yi[..7]);
        }
        let (x2, _) = batch(&stream, 0, 8, 3, 7, 5, 0.0).unwrap();
        assert_eq!(
            x,
            x2.to_vec2::<u32>().unwrap(),
            "same (seed, step), same batch"
        );
    }

    #[test]
    fn repeated_windows_copy_an_earlier_passage() {
        let stream: Vec<u16> = (2..5000).collect();
        let (_, y) = batch(&stream, 0, 64, 8, 3, 1, 1.0).unwrap();
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
}
