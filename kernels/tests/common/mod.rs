//! Shared helpers for the GPU tests: small models of every config variant, ragged batches,
//! scrubbing data and mixed assignments, the shared device.

#![allow(dead_code)]

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::sampler::Assignment;
use scrub_core::scrub::tree::Tree;
use scrub_core::{
    ActFn, AttentionKind, DatumId, ModelConfig, Normalization, PositionalKind, SeqTarget,
    TokenBatch, TokenId,
};
use scrub_kernels::GpuContext;

/// The shared device, or `None` (after printing why) when the machine has none.
pub fn ctx() -> Option<Arc<GpuContext>> {
    scrub_kernels::test_context()
}

/// A config with the given variant switches and small sizes.
#[allow(clippy::too_many_arguments)]
pub fn config(
    n_layers: usize,
    n_heads: usize,
    d_model: usize,
    d_head: usize,
    d_mlp: Option<usize>,
    d_vocab: usize,
    d_vocab_out: usize,
    n_ctx: usize,
    act_fn: ActFn,
    normalization: Normalization,
    attention: AttentionKind,
    positional: PositionalKind,
    pad_token: Option<u32>,
) -> ModelConfig {
    ModelConfig {
        n_layers,
        n_heads,
        d_model,
        d_head,
        d_mlp,
        d_vocab,
        d_vocab_out,
        n_ctx,
        act_fn,
        normalization,
        attention,
        positional,
        pad_token,
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

/// The paren balancer's shape: 3 layers, 2 heads of 28, ReLU MLP, pre-LN, bidirectional
/// with pad keys masked, standard positions, 2 classes.
pub fn paren_like() -> ModelConfig {
    config(
        3,
        2,
        56,
        28,
        Some(56),
        5,
        2,
        42,
        ActFn::Relu,
        Normalization::PreLayerNorm,
        AttentionKind::Bidirectional,
        PositionalKind::Standard,
        Some(1),
    )
}

/// Small models of every variant the graph distinguishes.
pub fn variants() -> Vec<(&'static str, ModelConfig)> {
    use ActFn::{Gelu, GeluTanh, Relu};
    use AttentionKind::{Bidirectional, Causal};
    use Normalization::{LNPre, PreLayerNorm};
    use PositionalKind::{Shortformer, Standard};
    vec![
        // d_model 13, d_head 5, d_mlp 7, 3 classes: every padded stride differs.
        (
            "bidirectional, pad keys masked, odd widths",
            config(
                2,
                3,
                13,
                5,
                Some(7),
                6,
                3,
                7,
                GeluTanh,
                PreLayerNorm,
                Bidirectional,
                Standard,
                Some(1),
            ),
        ),
        (
            "causal with pad",
            config(
                2,
                2,
                16,
                8,
                Some(24),
                6,
                6,
                8,
                Relu,
                PreLayerNorm,
                Causal,
                Standard,
                Some(1),
            ),
        ),
        (
            "shortformer",
            config(
                2,
                2,
                16,
                6,
                Some(16),
                6,
                4,
                8,
                Relu,
                PreLayerNorm,
                Causal,
                Shortformer,
                None,
            ),
        ),
        (
            "attention only",
            config(
                2,
                2,
                12,
                6,
                None,
                6,
                6,
                8,
                Relu,
                PreLayerNorm,
                Causal,
                Standard,
                None,
            ),
        ),
        (
            "no LayerNorm",
            config(
                2,
                2,
                16,
                4,
                Some(20),
                6,
                3,
                8,
                Relu,
                Normalization::None,
                Bidirectional,
                Standard,
                Some(0),
            ),
        ),
        (
            "shortformer without LayerNorm, pad masked",
            config(
                1,
                2,
                13,
                3,
                Some(7),
                6,
                5,
                7,
                GeluTanh,
                Normalization::None,
                Bidirectional,
                Shortformer,
                Some(2),
            ),
        ),
        (
            "exact GELU, LNPre (TransformerLens's folded LayerNorm), odd widths",
            config(
                2,
                2,
                13,
                5,
                Some(7),
                6,
                4,
                7,
                Gelu,
                LNPre,
                Causal,
                Standard,
                Some(1),
            ),
        ),
        (
            "GPT-NeoX: parallel attention and MLP, 2 of 6 head dimensions rotating, odd widths",
            ModelConfig {
                rotary_dim: Some(2),
                parallel_attn_mlp: true,
                ..config(
                    2,
                    3,
                    13,
                    6,
                    Some(7),
                    6,
                    6,
                    8,
                    Gelu,
                    PreLayerNorm,
                    Causal,
                    PositionalKind::Rotary,
                    None,
                )
            },
        ),
        (
            "Llama: RMSNorm, rotary, SwiGLU, 4 heads on 2 key/value heads, odd widths",
            ModelConfig {
                n_kv_heads: Some(2),
                rope_theta: 500.0,
                gated_mlp: true,
                ..config(
                    2,
                    4,
                    13,
                    6,
                    Some(7),
                    6,
                    6,
                    8,
                    ActFn::Silu,
                    Normalization::RMSNorm,
                    Causal,
                    PositionalKind::Rotary,
                    Some(1),
                )
            },
        ),
    ]
}

/// Random ragged batch: lengths in 1..=n_ctx with both extremes present; when the model
/// has a pad token, some positions are pad and one sequence is all pad.
pub fn batch(cfg: &ModelConfig, n_seqs: usize, seed: u64) -> TokenBatch {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seqs: Vec<Vec<TokenId>> = Vec::new();
    for i in 0..n_seqs {
        let len = match i % 7 {
            0 => 1,
            1 => cfg.n_ctx,
            _ => rng.random_range(1..=cfg.n_ctx),
        };
        let mut s: Vec<TokenId> = (0..len)
            .map(|_| TokenId(rng.random_range(0..cfg.d_vocab as u32)))
            .collect();
        if let Some(pad) = cfg.pad_token {
            if i % 5 == 3 {
                s.iter_mut().for_each(|t| *t = TokenId(pad));
            } else {
                for t in s.iter_mut() {
                    if rng.random_bool(0.2) {
                        *t = TokenId(pad);
                    }
                }
            }
        }
        seqs.push(s);
    }
    TokenBatch::from_sequences(seqs.iter().map(|s| s.as_slice()))
}

/// Random targets (with repeats) over `batch`.
pub fn targets(batch: &TokenBatch, n: usize, d_vocab_out: usize, seed: u64) -> Vec<SeqTarget> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let seq = rng.random_range(0..batch.n_seqs());
            SeqTarget {
                seq,
                position: rng.random_range(0..batch.seq(seq).len()),
                label: rng.random_range(0..d_vocab_out as u32),
            }
        })
        .collect()
}

/// Six sequences of exactly n_ctx tokens. With a pad token: padded tails of several
/// lengths, a pad inside one sequence, a pad first (a causal query that sees only pads) and
/// one sequence all pad.
pub fn data(cfg: &ModelConfig, seed: u64) -> Vec<Vec<TokenId>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = cfg.n_ctx;
    let real = |rng: &mut StdRng| loop {
        let t = rng.random_range(0..cfg.d_vocab as u32);
        if Some(t) != cfg.pad_token {
            return TokenId(t);
        }
    };
    let lens = [n, n - 2, 1, 3, n - 1, 0];
    lens.iter()
        .enumerate()
        .map(|(i, &len)| {
            let mut s: Vec<TokenId> = (0..n).map(|_| real(&mut rng)).collect();
            if let Some(pad) = cfg.pad_token {
                s[len..].iter_mut().for_each(|t| *t = TokenId(pad));
                if i == 0 {
                    s[2] = TokenId(pad);
                }
                if i == 4 {
                    s[0] = TokenId(pad);
                }
            }
            s
        })
        .collect()
}

/// Largest absolute difference of two equally long slices.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every tree slot of every sample gets its own pseudo-random datum.
pub fn mixed_assignment(tree: &Tree, n_samples: usize, n_data: usize, seed: u64) -> Assignment {
    let mut rng = StdRng::seed_from_u64(seed);
    let n_slots = tree.nodes.len() + 1;
    Assignment {
        n_samples,
        n_slots,
        data: (0..n_samples * n_slots)
            .map(|_| DatumId(rng.random_range(0..n_data as u32)))
            .collect(),
    }
}
