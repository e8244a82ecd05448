//! The GPU forward against the CPU reference on random models of every config variant.

mod common;

use scrub_core::forward::forward;
use scrub_core::metrics::target_outcome;
use scrub_core::testing::random_model;
use scrub_core::{
    ActFn, AttentionKind, Executor, Model, ModelConfig, Normalization, PositionalKind, SeqTarget,
    TokenBatch,
};
use scrub_kernels::GpuExecutor;

use common::{batch, config, ctx, paren_like, targets};

const LOGIT_TOL: f32 = 1e-4;

/// GPU logits and outcomes of `n_seqs` random sequences agree with the CPU reference.
fn check_model(cfg: &ModelConfig, n_seqs: usize, seed: u64) {
    let Some(ctx) = ctx() else { return };
    let model = random_model(cfg, seed, 0.2);
    let gpu = GpuExecutor::new(ctx, &model).unwrap();
    let b = batch(cfg, n_seqs, seed + 1);
    check_logits(&gpu, &model, &b);
    let t = targets(&b, 3 * n_seqs, cfg.d_vocab_out, seed + 2);
    check_outcomes(&gpu, &model, &b, &t);
}

fn check_logits(gpu: &GpuExecutor, model: &Model, b: &TokenBatch) {
    let want = forward(model, b, None);
    let got = gpu.logits(b).unwrap();
    assert_eq!(got.shape, want.shape);
    let diff = got.max_abs_diff(&want);
    let scale = want.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.1, "logits too small to test anything: {scale}");
    assert!(
        diff <= LOGIT_TOL,
        "max |Δ logit| = {diff} (logits up to {scale})"
    );
}

fn check_outcomes(gpu: &GpuExecutor, model: &Model, b: &TokenBatch, t: &[SeqTarget]) {
    let logits = forward(model, b, None);
    let got = gpu.outcomes(b, t).unwrap();
    assert_eq!(got.len(), t.len());
    for (i, (g, tg)) in got.iter().zip(t).enumerate() {
        let row = logits.row(tg.row(b));
        let want = target_outcome(row, tg.label as usize);
        let tol = 1e-4 + 1e-4 * want.loss.abs();
        assert!(
            (g.loss - want.loss).abs() <= tol,
            "target {i} {tg:?}: loss {} vs {}",
            g.loss,
            want.loss
        );
        // The arg-max is only well defined when the top two logits are apart.
        let mut sorted = row.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted.len() < 2 || sorted[0] - sorted[1] > 1e-3 {
            assert_eq!(g.correct, want.correct, "target {i} {tg:?}");
        }
    }
}

#[test]
fn paren_shaped_model_matches_cpu() {
    check_model(&paren_like(), 24, 10);
}

#[test]
fn causal_gelu_with_padded_head_width_matches_cpu() {
    // n_heads·d_head = 18 is not a multiple of 4, so the q/k/v blocks carry padding.
    let cfg = config(
        2,
        3,
        20,
        6,
        Some(36),
        11,
        11,
        16,
        ActFn::GeluTanh,
        Normalization::PreLayerNorm,
        AttentionKind::Causal,
        PositionalKind::Standard,
        None,
    );
    check_model(&cfg, 30, 20);
}

#[test]
fn neox_parallel_blocks_with_partial_rotary_match_cpu() {
    // GPT-NeoX: LayerNorm, parallel attention and MLP, 2 of each head's 6 dimensions
    // rotating; odd widths pad every block. Then the same without norms, where the MLP reads
    // the raw residual stream the attention read, and sequential blocks with partial rotary.
    let neox = ModelConfig {
        rotary_dim: Some(2),
        parallel_attn_mlp: true,
        ..config(
            2,
            3,
            14,
            6,
            Some(22),
            11,
            11,
            12,
            ActFn::Gelu,
            Normalization::PreLayerNorm,
            AttentionKind::Causal,
            PositionalKind::Rotary,
            None,
        )
    };
    check_model(&neox, 20, 25);
    let bare = ModelConfig {
        normalization: Normalization::None,
        rotary_dim: Some(4),
        ..neox.clone()
    };
    check_model(&bare, 20, 26);
    let sequential = ModelConfig {
        parallel_attn_mlp: false,
        ..neox
    };
    check_model(&sequential, 20, 27);
}

#[test]
fn exact_gelu_with_lnpre_matches_cpu() {
    // TransformerLens's `gelu` and a folded LayerNorm (`LNPre`, unit scales), causal.
    let cfg = config(
        2,
        3,
        20,
        6,
        Some(36),
        11,
        7,
        16,
        ActFn::Gelu,
        Normalization::LNPre,
        AttentionKind::Causal,
        PositionalKind::Standard,
        None,
    );
    check_model(&cfg, 30, 25);
}

#[test]
fn lnpre_shortformer_bidirectional_with_pad_matches_cpu() {
    let cfg = config(
        2,
        2,
        13,
        5,
        Some(9),
        8,
        8,
        10,
        ActFn::Gelu,
        Normalization::LNPre,
        AttentionKind::Bidirectional,
        PositionalKind::Shortformer,
        Some(1),
    );
    check_model(&cfg, 30, 35);
}

#[test]
fn attention_only_shortformer_matches_cpu() {
    let cfg = config(
        2,
        2,
        18,
        5,
        None,
        13,
        13,
        20,
        ActFn::Relu,
        Normalization::PreLayerNorm,
        AttentionKind::Causal,
        PositionalKind::Shortformer,
        None,
    );
    check_model(&cfg, 30, 30);
}

#[test]
fn no_layernorm_bidirectional_with_pad_matches_cpu() {
    let cfg = config(
        2,
        2,
        16,
        8,
        Some(24),
        7,
        3,
        12,
        ActFn::Relu,
        Normalization::None,
        AttentionKind::Bidirectional,
        PositionalKind::Standard,
        Some(0),
    );
    check_model(&cfg, 30, 40);
}

#[test]
fn odd_sizes_shortformer_without_layernorm_matches_cpu() {
    // d_model 13, d_mlp 7, d_vocab_out 5: every padded stride differs from the logical one.
    let cfg = config(
        2,
        3,
        13,
        3,
        Some(7),
        9,
        5,
        10,
        ActFn::GeluTanh,
        Normalization::None,
        AttentionKind::Bidirectional,
        PositionalKind::Shortformer,
        Some(2),
    );
    check_model(&cfg, 30, 50);
}

#[test]
fn causal_with_pad_first_token_matches_cpu() {
    // A causal query whose only visible key is a pad sees nothing: its z must be zero.
    let cfg = config(
        1,
        2,
        16,
        8,
        Some(16),
        6,
        6,
        9,
        ActFn::Relu,
        Normalization::PreLayerNorm,
        AttentionKind::Causal,
        PositionalKind::Standard,
        Some(0),
    );
    check_model(&cfg, 30, 60);
}

#[test]
fn long_sequences_span_several_key_blocks_and_query_batches() {
    // 80 positions exceed the 32 queries a workgroup handles at once, and with d_head 64
    // the keys of a sequence do not fit one block of workgroup memory.
    for attention in [AttentionKind::Causal, AttentionKind::Bidirectional] {
        let cfg = config(
            1,
            2,
            32,
            64,
            None,
            10,
            10,
            80,
            ActFn::Relu,
            Normalization::PreLayerNorm,
            attention,
            PositionalKind::Standard,
            Some(9),
        );
        check_model(&cfg, 8, 70);
    }
}

/// Small chunks put chunk boundaries inside the batch; results must not change, for
/// logits (chunks by rows) and outcomes (many targets on one sequence split across chunks).
#[test]
fn chunk_boundaries_do_not_change_results() {
    let Some(ctx) = ctx() else { return };
    let cfg = paren_like();
    let model = random_model(&cfg, 80, 0.2);
    let mut gpu = GpuExecutor::new(ctx, &model).unwrap();
    gpu.set_max_rows_per_chunk(cfg.n_ctx);
    let b = batch(&cfg, 20, 81);
    check_logits(&gpu, &model, &b);
    let mut t = targets(&b, 40, cfg.d_vocab_out, 82);
    let longest = (0..b.n_seqs()).max_by_key(|&s| b.seq(s).len()).unwrap();
    for p in 0..b.seq(longest).len() {
        t.push(SeqTarget {
            seq: longest,
            position: p,
            label: (p % 2) as u32,
        });
    }
    t.extend(t.clone());
    check_outcomes(&gpu, &model, &b, &t);
    // Growing back to one chunk reuses nothing stale.
    gpu.set_max_rows_per_chunk(1 << 16);
    check_outcomes(&gpu, &model, &b, &t);
}

#[test]
fn repeated_calls_of_different_sizes_reuse_the_workspace_correctly() {
    let Some(ctx) = ctx() else { return };
    let cfg = paren_like();
    let model = random_model(&cfg, 90, 0.2);
    let gpu = GpuExecutor::new(ctx, &model).unwrap();
    for (n, seed) in [(12, 91), (3, 92), (20, 93), (1, 94)] {
        let b = batch(&cfg, n, seed);
        let t = targets(&b, n, 2, seed + 100);
        check_outcomes(&gpu, &model, &b, &t);
        check_logits(&gpu, &model, &b);
    }
}

/// The paren model's losses are ~1e-6; they must keep their relative precision.
#[test]
fn tiny_losses_keep_relative_precision() {
    let Some(ctx) = ctx() else { return };
    let cfg = paren_like();
    let mut model = random_model(&cfg, 100, 0.2);
    // A confident classifier: class 1 wins by ~14 nats whatever the final residual is.
    model.weights.w_u.iter_mut().for_each(|w| *w *= 0.05);
    model.weights.b_u = vec![-7.0, 7.0];
    let gpu = GpuExecutor::new(ctx, &model).unwrap();
    let b = batch(&cfg, 16, 101);
    let t: Vec<SeqTarget> = (0..b.n_seqs())
        .map(|seq| SeqTarget {
            seq,
            position: 0,
            label: 1,
        })
        .collect();
    let logits = forward(&model, &b, None);
    let got = gpu.outcomes(&b, &t).unwrap();
    for (g, tg) in got.iter().zip(&t) {
        let row = logits.row(tg.row(&b));
        let want = target_outcome(row, 1).loss;
        assert!(want > 0.0 && want < 1e-5, "setup: loss {want}");
        // GPU and CPU logits differ by ~1e-6, which moves a loss of e^-14 by about as much
        // relatively; anything beyond 1e-3 would be lost precision.
        assert!((g.loss / want - 1.0).abs() < 1e-3, "{} vs {want}", g.loss);
        assert!(g.correct);
    }
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let Some(ctx) = ctx() else { return };
    let cfg = paren_like();
    let model = random_model(&cfg, 110, 0.2);
    let gpu = GpuExecutor::new(ctx, &model).unwrap();
    let tok = |v: &[u32]| {
        v.iter()
            .map(|&t| scrub_core::TokenId(t))
            .collect::<Vec<_>>()
    };
    let out_of_vocab = TokenBatch::from_sequences([tok(&[0, 9]).as_slice()]);
    assert!(gpu.logits(&out_of_vocab).is_err());
    let too_long = TokenBatch::from_sequences([tok(&[0; 43]).as_slice()]);
    assert!(gpu.outcomes(&too_long, &[]).is_err());
    let ok = TokenBatch::from_sequences([tok(&[0, 3, 4]).as_slice()]);
    let bad = |seq, position, label| {
        vec![SeqTarget {
            seq,
            position,
            label,
        }]
    };
    assert!(gpu.outcomes(&ok, &bad(1, 0, 0)).is_err());
    assert!(gpu.outcomes(&ok, &bad(0, 3, 0)).is_err());
    assert!(gpu.outcomes(&ok, &bad(0, 0, 2)).is_err());
    // Empty inputs are fine and empty.
    assert!(gpu.outcomes(&ok, &[]).unwrap().is_empty());
    let empty = TokenBatch::from_sequences(std::iter::empty::<&[scrub_core::TokenId]>());
    assert_eq!(gpu.logits(&empty).unwrap().shape, vec![0, 2]);
    // A model whose weights disagree with its config is refused at construction.
    let mut broken = model.clone();
    broken.weights.blocks[1].attn.w_q.pop();
    let err = GpuExecutor::new(gpu.context().clone(), &broken)
        .unwrap_err()
        .to_string();
    assert!(err.contains("blocks.1.attn.W_Q"), "{err}");
    let mut missing = model.clone();
    missing.weights.blocks.pop();
    assert!(GpuExecutor::new(gpu.context().clone(), &missing).is_err());
    // A chunk cap below the longest sequence cannot run it.
    let mut tiny = GpuExecutor::new(gpu.context().clone(), &model).unwrap();
    tiny.set_max_rows_per_chunk(2);
    let err = tiny.outcomes(&ok, &bad(0, 0, 0)).unwrap_err().to_string();
    assert!(err.contains("3 tokens"), "{err}");
}

#[test]
fn executor_reports_its_adapter() {
    let Some(ctx) = ctx() else { return };
    let model = random_model(&paren_like(), 120, 0.2);
    let gpu = GpuExecutor::new(ctx.clone(), &model).unwrap();
    assert_eq!(gpu.name(), "gpu");
    assert_eq!(gpu.adapter().as_deref(), Some(ctx.adapter_name()));
    assert!(gpu.preferred_batch() >= 1024);
}

/// More sequences than one dispatch dimension allows (65,535 workgroups): attention's grid
/// must wrap into a second dimension without losing or repeating any sequence.
#[test]
fn dispatch_grids_wrap_past_the_per_dimension_limit() {
    let Some(ctx) = ctx() else { return };
    let cfg = config(
        1,
        1,
        8,
        4,
        None,
        6,
        3,
        3,
        ActFn::Relu,
        Normalization::PreLayerNorm,
        AttentionKind::Bidirectional,
        PositionalKind::Standard,
        Some(5),
    );
    let model = random_model(&cfg, 130, 0.3);
    let mut gpu = GpuExecutor::new(ctx.clone(), &model).unwrap();
    gpu.set_max_rows_per_chunk(1 << 18);
    let n = ctx.limits().max_compute_workgroups_per_dimension as usize + 5000;
    let b = batch(&cfg, n, 131);
    let t: Vec<SeqTarget> = (0..n)
        .map(|seq| SeqTarget {
            seq,
            position: b.seq(seq).len() - 1,
            label: (seq % 3) as u32,
        })
        .collect();
    check_outcomes(&gpu, &model, &b, &t);
}
