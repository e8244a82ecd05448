//! Training batches: windows of the token stream at random offsets, each with `[BEGIN]`
//! in front. Offsets come from (seed, step) alone, so a resumed run draws the same batches.

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
        let w = &stream[start..start + n_ctx];
        inputs.push(begin);
        inputs.extend(w[..n_ctx - 1].iter().map(|&t| t as u32));
        targets.extend(w.iter().map(|&t| t as u32));
    }
    Ok((
        Tensor::from_vec(inputs, (batch, n_ctx), &Device::Cpu)?,
        Tensor::from_vec(targets, (batch, n_ctx), &Device::Cpu)?,
    ))
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
        let (x, y) = batch(&stream, 0, 8, 3, 7, 5).unwrap();
        let x: Vec<Vec<u32>> = x.to_vec2().unwrap();
        let y: Vec<Vec<u32>> = y.to_vec2().unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            assert_eq!(xi[0], 0);
            assert_eq!(&xi[1..], &yi[..7]);
        }
        let (x2, _) = batch(&stream, 0, 8, 3, 7, 5).unwrap();
        assert_eq!(
            x,
            x2.to_vec2::<u32>().unwrap(),
            "same (seed, step), same batch"
        );
    }
}
