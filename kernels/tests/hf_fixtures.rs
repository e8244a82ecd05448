//! The GPU forward on the committed Hugging Face GPT-2, Llama, Qwen2 and GPT-NeoX fixtures
//! (`scripts/export_hf_fixtures.py`): logits within 1e-4 of the CPU reference's and of
//! transformers' own.

mod common;

use scrub_core::forward::forward;
use scrub_core::testing::{hf_fixture, HF_FIXTURES, HF_LLAMA_FIXTURES, HF_NEOX_FIXTURES};
use scrub_core::{Executor, TokenBatch};
use scrub_kernels::GpuExecutor;

const LOGIT_TOL: f32 = 1e-4;

#[test]
fn every_hf_fixture_gives_the_cpu_logits_on_the_gpu() {
    let Some(ctx) = common::ctx() else { return };
    for name in HF_FIXTURES
        .iter()
        .chain(HF_LLAMA_FIXTURES)
        .chain(HF_NEOX_FIXTURES)
    {
        let f = hf_fixture(name);
        let gpu = GpuExecutor::new(ctx.clone(), &f.model).unwrap();
        let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
        let got = gpu.logits(&batch).unwrap();
        let cpu = forward(&f.model, &batch, None);
        assert_eq!(got.shape, cpu.shape, "{name}");
        let diff = got.max_abs_diff(&cpu);
        let vs_hf = got.max_abs_diff(&f.expected["logits"]);
        eprintln!("{name}: GPU max |Δ logit| vs CPU = {diff:.2e}, vs transformers = {vs_hf:.2e}");
        assert!(diff <= LOGIT_TOL, "{name}: vs CPU {diff}");
        assert!(vs_hf <= LOGIT_TOL, "{name}: vs transformers {vs_hf}");
    }
}
