//! The forward pass of two Hugging Face-shaped models with random weights, batch 8 × 128
//! tokens: a GPT-2-small-sized one (12 layers, d_model 768, 50,257 tokens, 1,024 context) and
//! a Llama-shaped one of about 400M parameters (24 layers, d_model 1024, 16 query and 4
//! key/value heads, SwiGLU 3584, 32,000 tokens). Tokens/s for the CPU reference and, on a
//! hardware adapter (or with SCRUB_BENCH_SOFTWARE_GPU=1), the WGSL executor; the PyTorch
//! figures come from `benches/reference/torch_forward.py` run on the same machine.
//!
//! `cargo bench -p scrub-benches --bench hf_forward`

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

use scrub_core::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use scrub_core::testing::random_model;
use scrub_core::{CpuExecutor, Executor, TokenBatch, TokenId};
use scrub_kernels::{GpuContext, GpuExecutor};

// The allocator the `scrub` binary runs with, set as it sets it (`main` below), so the
// figures are what a user of the command gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 8;
const TOKENS: usize = 128;

fn gpt2_small() -> ModelConfig {
    ModelConfig {
        n_layers: 12,
        n_heads: 12,
        d_model: 768,
        d_head: 64,
        d_mlp: Some(3072),
        d_vocab: 50257,
        d_vocab_out: 50257,
        n_ctx: 1024,
        act_fn: ActFn::GeluTanh,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Standard,
        pad_token: None,
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

fn llama_400m() -> ModelConfig {
    ModelConfig {
        n_layers: 24,
        n_heads: 16,
        d_model: 1024,
        d_head: 64,
        d_mlp: Some(3584),
        d_vocab: 32000,
        d_vocab_out: 32000,
        n_ctx: 2048,
        act_fn: ActFn::Silu,
        normalization: Normalization::RMSNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        pad_token: None,
        ln_eps: 1e-5,
        n_kv_heads: Some(4),
        rope_theta: 10000.0,
        gated_mlp: true,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hf_forward");
    group.sample_size(10);
    group.throughput(Throughput::Elements((BATCH * TOKENS) as u64));
    for (name, cfg) in [("gpt2_small", gpt2_small()), ("llama_400m", llama_400m())] {
        let model = random_model(&cfg, 1, 0.02);
        let params: usize = scrub_core::weights::expected_tensors(&cfg)
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        eprintln!("hf_forward: {name}: {:.1}M parameters", params as f64 / 1e6);
        let seqs: Vec<Vec<TokenId>> = (0..BATCH)
            .map(|s| {
                (0..TOKENS)
                    .map(|i| TokenId(((s * 7919 + i * 104729) % cfg.d_vocab) as u32))
                    .collect()
            })
            .collect();
        let batch = TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice));
        let cpu = CpuExecutor::new(&model);
        group.bench_function(BenchmarkId::new("cpu", name), |b| {
            b.iter(|| cpu.logits(&batch).expect("forward runs"))
        });
        let software_ok = std::env::var_os("SCRUB_BENCH_SOFTWARE_GPU").is_some();
        if let Some(ctx) = GpuContext::shared().filter(|c| software_ok || !c.is_software()) {
            let gpu = GpuExecutor::new(ctx, &model).expect("GPU executor");
            let adapter = gpu.adapter().unwrap_or_default();
            group.bench_function(BenchmarkId::new(format!("gpu ({adapter})"), name), |b| {
                b.iter(|| gpu.logits(&batch).expect("forward runs"))
            });
        } else {
            eprintln!("hf_forward: no hardware adapter; the WGSL executor is not timed");
        }
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    scrub_scenarios::allocator::keep_freed_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
