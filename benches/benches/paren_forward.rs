//! The full paren forward + loss, CPU reference and GPU executor side by side: sequences/s on
//! a 4096-sequence batch and on the whole 100,000-sequence evaluation.
//!
//! Needs the real model: `SCRUB_DATA=../shared/models cargo bench -p scrub-benches --bench paren_forward`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scrub_core::{CpuExecutor, Executor};
use scrub_kernels::{GpuContext, GpuExecutor};
use scrub_scenarios::paren;
use scrub_scenarios::DataDir;

fn bench(c: &mut Criterion) {
    let dir = match DataDir::resolve(None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("paren_forward: skipped: {e}");
            return;
        }
    };
    let model = paren::load_model(&dir).expect("paren model loads");
    let data = paren::load_dataset(&dir).expect("paren data loads");
    let gpu = GpuContext::shared().map(|ctx| GpuExecutor::new(ctx, &model).expect("GPU executor"));
    if gpu.is_none() {
        eprintln!("paren_forward: no GPU adapter; benchmarking the CPU executor only");
    }
    let cpu = CpuExecutor::new(&model);
    let mut executors: Vec<&dyn Executor> = vec![&cpu];
    if let Some(g) = &gpu {
        executors.push(g);
    }
    let adapter = gpu.as_ref().and_then(|g| g.adapter()).unwrap_or_default();

    let mut group = c.benchmark_group("paren_forward");
    group.sample_size(10);
    for n in [4096usize, 32768] {
        let (batch, targets) = (data.batch(0..n), data.targets(0..n));
        group.throughput(Throughput::Elements(n as u64));
        for ex in &executors {
            let id = BenchmarkId::new(
                format!(
                    "{}{}",
                    ex.name(),
                    if ex.name() == "gpu" {
                        format!(" ({adapter})")
                    } else {
                        String::new()
                    }
                ),
                n,
            );
            group.bench_function(id, |b| {
                b.iter(|| ex.outcomes(&batch, &targets).expect("forward runs"))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("paren_eval_100k");
    group.sample_size(10);
    let n = data.len();
    group.throughput(Throughput::Elements(n as u64));
    for ex in &executors {
        let step = ex.preferred_batch();
        let chunks: Vec<_> = (0..n)
            .step_by(step)
            .map(|lo| {
                (
                    data.batch(lo..(lo + step).min(n)),
                    data.targets(lo..(lo + step).min(n)),
                )
            })
            .collect();
        group.bench_function(ex.name(), |b| {
            b.iter(|| {
                let mut total = 0.0f64;
                for (batch, targets) in &chunks {
                    total += ex
                        .outcomes(batch, targets)
                        .expect("forward runs")
                        .iter()
                        .map(|o| o.loss as f64)
                        .sum::<f64>();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
