//! The WGSL forward against the CPU reference on real paren sequences, and `scrub eval` on
//! the GPU executor through the real binary.

mod common;

use common::*;
use scrub_core::{CpuExecutor, Executor};
use scrub_kernels::{test_context, GpuExecutor};
use scrub_scenarios::paren;
use scrub_scenarios::DataDir;

#[test]
fn gpu_logits_match_the_cpu_reference_on_real_sequences() {
    let Some(ctx) = test_context() else { return };
    let dir = DataDir::resolve(Some(&data_dir())).unwrap();
    let model = paren::load_model(&dir).unwrap();
    let data = paren::load_dataset(&dir).unwrap();
    // Sequences from across the file, so every length is represented.
    let n = 3000;
    let batch = data.batch(40_000..40_000 + n);
    let mut gpu = GpuExecutor::new(ctx, &model).unwrap();
    let cpu = CpuExecutor::new(&model);
    let want = cpu.logits(&batch).unwrap();
    for rows_per_chunk in [usize::MAX, 997] {
        gpu.set_max_rows_per_chunk(rows_per_chunk);
        let got = gpu.logits(&batch).unwrap();
        assert_eq!(got.shape, want.shape);
        let diff = got.max_abs_diff(&want);
        assert!(
            diff <= 1e-4,
            "max |Δ logit| = {diff} over {n} sequences (chunk {rows_per_chunk} rows)"
        );
        assert!(
            want.data.iter().any(|v| v.abs() > 1.0),
            "logits are not trivially small"
        );
    }
    let targets = data.targets(40_000..40_000 + n);
    let (g, c) = (
        gpu.outcomes(&batch, &targets).unwrap(),
        cpu.outcomes(&batch, &targets).unwrap(),
    );
    for (i, (a, b)) in g.iter().zip(&c).enumerate() {
        assert_eq!(a.correct, b.correct, "sequence {i}");
        assert!(
            (a.loss - b.loss).abs() <= 1e-4 * b.loss.max(1e-3),
            "sequence {i}: gpu loss {} vs cpu {}",
            a.loss,
            b.loss
        );
    }
}

#[test]
fn gpu_eval_through_the_binary_reports_its_adapter() {
    let Some(ctx) = test_context() else { return };
    let dir = data_dir();
    let j = json(&scrub(&[
        "eval",
        "--data-dir",
        dir.to_str().unwrap(),
        "--executor",
        "gpu",
        "--limit",
        "2000",
        "--json",
        "--quiet",
    ]));
    let c = json(&scrub(&[
        "eval",
        "--data-dir",
        dir.to_str().unwrap(),
        "--executor",
        "cpu",
        "--limit",
        "2000",
        "--json",
        "--quiet",
    ]));
    assert_eq!(j["executor"], "gpu");
    assert_eq!(j["adapter"], ctx.adapter_name());
    assert_eq!(j["n"], 2000);
    let (lg, lc) = (j["loss"].as_f64().unwrap(), c["loss"].as_f64().unwrap());
    assert!((lg - lc).abs() < 1e-6, "gpu loss {lg} vs cpu {lc}");
    assert_eq!(j["errors"], c["errors"]);
}

#[test]
fn auto_runs_the_kernels_only_on_a_hardware_gpu() {
    // The test context is the adapter the binary finds too (same process-wide choice).
    let hardware = test_context().is_some_and(|ctx| ctx.is_real_gpu());
    let dir = data_dir();
    let j = json(&scrub(&[
        "eval",
        "--data-dir",
        dir.to_str().unwrap(),
        "--limit",
        "300",
        "--json",
        "--quiet",
    ]));
    assert_eq!(
        j["executor"],
        if hardware { "gpu" } else { "cpu" },
        "`auto` on this machine: {j}"
    );
}
