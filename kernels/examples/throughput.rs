//! End-to-end readout throughput of the GPU executor on a paren-shaped model (random
//! weights): `throughput [N_SEQS] [REPEATS]`. Sequences of 2..=34 tokens (mean 18) with one
//! readout at position 0 each, as in the paren evaluation. Checks a sample against the CPU.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::testing::random_model;
use scrub_core::{
    ActFn, AttentionKind, CpuExecutor, Executor, ModelConfig, Normalization, PositionalKind,
    SeqTarget, TokenBatch, TokenId,
};
use scrub_kernels::{GpuContext, GpuExecutor};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let repeats = args.get(1).copied().unwrap_or(3);
    let Some(ctx) = GpuContext::shared() else {
        eprintln!("no GPU adapter");
        std::process::exit(1);
    };
    let cfg = ModelConfig {
        n_layers: 3,
        n_heads: 2,
        d_model: 56,
        d_head: 28,
        d_mlp: Some(56),
        d_vocab: 5,
        d_vocab_out: 2,
        n_ctx: 42,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Bidirectional,
        positional: PositionalKind::Standard,
        pad_token: Some(1),
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    };
    let model = random_model(&cfg, 1, 0.2);
    let mut rng = StdRng::seed_from_u64(2);
    let seqs: Vec<Vec<TokenId>> = (0..n)
        .map(|_| {
            let len = rng.random_range(2..=34);
            (0..len)
                .map(|i| TokenId(if i == 0 { 0 } else { rng.random_range(2..5) }))
                .collect()
        })
        .collect();
    let batch = TokenBatch::from_sequences(seqs.iter().map(|s| s.as_slice()));
    let targets: Vec<SeqTarget> = (0..n)
        .map(|seq| SeqTarget {
            seq,
            position: 0,
            label: (seq % 2) as u32,
        })
        .collect();
    // Chunk caps to compare, from MAX_ROWS (comma-separated); the default cap otherwise.
    let caps: Vec<usize> = std::env::var("MAX_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for cap in caps
        .iter()
        .map(|&c| Some(c))
        .chain(caps.is_empty().then_some(None))
    {
        let t0 = Instant::now();
        let mut gpu = GpuExecutor::new(ctx.clone(), &model).expect("executor");
        if let Some(cap) = cap {
            gpu.set_max_rows_per_chunk(cap);
        }
        println!(
            "adapter: {}  rows {}  chunk cap {}  setup {:.3}s",
            ctx.adapter_name(),
            batch.n_rows(),
            gpu.max_rows_per_chunk(),
            t0.elapsed().as_secs_f64()
        );
        for r in 0..repeats {
            let t = Instant::now();
            out = gpu.outcomes(&batch, &targets).expect("outcomes");
            let dt = t.elapsed().as_secs_f64();
            let label = if r == 0 { "cold" } else { "warm" };
            println!(
                "  {label} run: {n} sequences in {dt:.4}s = {:.0} seq/s",
                n as f64 / dt
            );
        }
    }
    if std::env::var("CPU_TOO").is_ok() {
        let t = Instant::now();
        CpuExecutor::new(&model)
            .outcomes(&batch, &targets)
            .expect("cpu");
        let dt = t.elapsed().as_secs_f64();
        println!(
            "cpu: {n} sequences in {dt:.3}s = {:.0} seq/s",
            n as f64 / dt
        );
    }
    let check = n.min(2000);
    let sub = batch.slice(0..check);
    let cpu = CpuExecutor::new(&model)
        .outcomes(&sub, &targets[..check])
        .expect("cpu");
    let worst = cpu
        .iter()
        .zip(&out)
        .map(|(c, g)| (c.loss - g.loss).abs())
        .fold(0.0f32, f32::max);
    let agree = cpu
        .iter()
        .zip(&out)
        .filter(|(c, g)| c.correct == g.correct)
        .count();
    println!("vs CPU on {check}: max |Δ loss| {worst:.2e}, correct flags agree {agree}/{check}");
}
