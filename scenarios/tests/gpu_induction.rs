//! The WGSL forward against the CPU reference on the committed induction model (shortformer
//! positions, no MLPs, a 2048-token vocabulary) and real validation text.

use scrub_core::{CpuExecutor, Executor, TokenBatch};
use scrub_kernels::{test_context, GpuExecutor};
use scrub_scenarios::induction::{Induction, ModelDir};

#[test]
fn gpu_logits_match_the_cpu_reference_on_the_induction_model() {
    let Some(ctx) = test_context() else { return };
    let sc = Induction::load(&ModelDir::committed()).unwrap();
    let seqs = sc.validation_sequences(6);
    let batch = TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice));
    let gpu = GpuExecutor::new(ctx, &sc.model).unwrap();
    let want = CpuExecutor::new(&sc.model).logits(&batch).unwrap();
    let got = gpu.logits(&batch).unwrap();
    assert_eq!(got.shape, want.shape);
    let diff = got.max_abs_diff(&want);
    let scale = want.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    println!("induction model: max |GPU - CPU| logit = {diff:.2e} (logits up to {scale:.1})");
    assert!(scale > 1.0, "logits are not trivially small");
    assert!(
        diff <= 1e-3,
        "max |Δ logit| = {diff} (logits up to {scale})"
    );
}
