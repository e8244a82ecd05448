//! Causal scrubbing throughput (samples/s) on the induction model: refined hypothesis 4
//! (all of q, k, v scrubbed), the CPU graph and the GPU graph side by side. The committed
//! model and files are used; nothing else is needed.
//!
//! Then the CPU graph beside the PyTorch peer on the same samples and threads (with
//! `SCRUB_TORCH_PYTHON`, see `common/torch_peer.rs`), and the ratio.
//!
//! `cargo bench -p scrub-benches --bench induction`.

#[path = "common/torch_peer.rs"]
mod torch_peer;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scrub_core::experiment::{RunSettings, Scenario, Silent};
use scrub_kernels::{GpuContext, GpuScrubGraph};
use scrub_scenarios::induction::experiment::{hypotheses_dir, load, score_file};
use scrub_scenarios::induction::scrub::InductionScrub;
use scrub_scenarios::induction::ModelDir;

fn bench(c: &mut Criterion) {
    let scrub = InductionScrub::load(&ModelDir::committed()).expect("induction scenario loads");
    let base = scrub.graph().expect("graph");
    let file = load(&hypotheses_dir(), "refined4_all").expect("refined4_all.ron loads");
    let ctx = GpuContext::shared();
    let gpu = ctx
        .as_ref()
        .map(|ctx| GpuScrubGraph::new(ctx.clone(), &base).expect("GPU graph"));
    let mut group = c.benchmark_group("induction_scrub_refined4_all");
    group.sample_size(10);
    let mut graphs: Vec<(String, &dyn scrub_core::scrub::ScrubGraph, usize)> =
        vec![("cpu".into(), &base, 300)];
    if let (Some(g), Some(ctx)) = (&gpu, &ctx) {
        // A software adapter is much slower: fewer samples keep the run short; the figure
        // is per sample.
        let n = if ctx.is_real_gpu() { 300 } else { 50 };
        graphs.push((format!("gpu ({})", ctx.adapter_name()), g, n));
    } else {
        eprintln!("induction bench: no GPU adapter; CPU only");
    }
    for (name, graph, samples) in graphs {
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function(BenchmarkId::new(name, samples), |b| {
            b.iter(|| {
                score_file(
                    &scrub,
                    graph,
                    &base,
                    &file,
                    &settings(samples),
                    "refined4_all",
                )
                .expect("scrub runs")
            })
        });
    }
    group.finish();

    let samples = 300;
    let ours = torch_peer::time_scrub(samples, || {
        score_file(
            &scrub,
            &base,
            &base,
            &file,
            &settings(samples),
            "refined4_all",
        )
        .expect("scrub runs");
    });
    let row = torch_peer::row(
        "refined4_all",
        "induction_refined4_all",
        samples,
        ours,
        None,
    );
    torch_peer::report("induction_scrub", &[row]);
}

/// A fresh, silent run of `samples` samples with seed 0 (no cache carried between runs).
fn settings(samples: usize) -> RunSettings<'static> {
    RunSettings {
        samples,
        first_sample: 0,
        seed: 0,
        cache: None,
        progress: &Silent,
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
