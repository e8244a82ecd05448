//! Causal scrubbing throughput (samples/s) on the paren model: experiment 4, the largest
//! hypothesis of the table, with the CPU graph and the GPU graph side by side; then 1b and 4
//! on the CPU graph beside the PyTorch peer on the same samples and threads (with
//! `SCRUB_TORCH_PYTHON`, see `common/torch_peer.rs`), and their ratios.
//!
//! Needs the real model: `SCRUB_DATA=../shared/models cargo bench -p scrub-benches --bench scrub`.

#[path = "common/torch_peer.rs"]
mod torch_peer;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scrub_core::experiment::{
    build_tree, scrub_tree, with_rewrites, RunSettings, Scenario, Silent,
};
use scrub_kernels::{GpuContext, GpuScrubGraph};
use scrub_scenarios::paren::scrub::ParenScrub;
use scrub_scenarios::paren::table::load_shipped;
use scrub_scenarios::DataDir;

fn bench(c: &mut Criterion) {
    let dir = match DataDir::resolve(None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("scrub bench: skipped: {e}");
            return;
        }
    };
    let scrub = ParenScrub::load(&dir, None, 0).expect("paren scenario loads");
    let base = scrub.graph().expect("graph");
    let file = load_shipped("4").expect("hypothesis 4 parses");
    let library = scrub.library();
    let scrub_file = |graph: &dyn scrub_core::scrub::ScrubGraph,
                      file: &scrub_core::scrub::hypothesis::HypothesisFile,
                      samples: usize| {
        let run = RunSettings {
            samples,
            first_sample: 0,
            seed: 0,
            cache: None,
            progress: &Silent,
        };
        with_rewrites(graph, &base, &file.rewrites, &library, &mut |g| {
            let tree = build_tree(&scrub, g, &base, file)?;
            scrub_tree(&scrub, g, &tree, &run, "bench")
        })
        .expect("scrub runs")
    };
    let ctx = GpuContext::shared();
    let gpu = ctx
        .as_ref()
        .map(|ctx| GpuScrubGraph::new(ctx.clone(), &base).expect("GPU graph"));
    let mut group = c.benchmark_group("paren_scrub_4");
    group.sample_size(10);
    let mut graphs: Vec<(String, &dyn scrub_core::scrub::ScrubGraph, usize)> =
        vec![("cpu".into(), &base, 2000)];
    if let (Some(g), Some(ctx)) = (&gpu, &ctx) {
        // A software adapter is ~10x slower: fewer samples keep the run short; the figure is per sample.
        let n = if ctx.is_real_gpu() { 2000 } else { 200 };
        graphs.push((format!("gpu ({})", ctx.adapter_name()), g, n));
    } else {
        eprintln!("scrub bench: no GPU adapter; CPU only");
    }
    for (name, graph, samples) in graphs {
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function(BenchmarkId::new(name, samples), |b| {
            b.iter(|| scrub_file(graph, &file, samples))
        });
    }
    group.finish();

    let samples = 2000;
    let rows: Vec<_> = [("1b", "paren_1b"), ("4", "paren_4")]
        .into_iter()
        .map(|(name, peer)| {
            let f = load_shipped(name).expect("shipped hypothesis parses");
            let ours = torch_peer::time_scrub(samples, || {
                scrub_file(&base, &f, samples);
            });
            torch_peer::row(name, peer, samples, ours, Some(dir.path()))
        })
        .collect();
    torch_peer::report("paren_scrub", &rows);
}

criterion_group!(benches, bench);
criterion_main!(benches);
