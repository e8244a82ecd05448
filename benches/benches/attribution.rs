//! Attribution patching throughput (samples/s) on the CPU reference: the induction model's
//! every node and residual stream, attribution alone (a plain pass on both data and one
//! backward pass per sample) and with the actual activation patching beside it.
//!
//! `cargo bench -p scrub-benches --bench attribution` (the committed induction model).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scrub_core::attribution::Selection;
use scrub_core::experiment::Silent;
use scrub_core::scrub::run::MetricKind;
use scrub_scenarios::attribution::{attribute, AttributeSettings};
use scrub_scenarios::executor_choice::ExecutorKind;
use scrub_scenarios::induction::scrub::InductionScrub;
use scrub_scenarios::induction::ModelDir;

fn bench(c: &mut Criterion) {
    let scrub = InductionScrub::load(&ModelDir::committed()).expect("induction scenario loads");
    let mut group = c.benchmark_group("attribution_induction");
    group.sample_size(10);
    for (name, actual, samples) in [("attribution", false, 50), ("with actual", true, 10)] {
        let settings = AttributeSettings {
            samples,
            seed: 0,
            agree: None,
            selection: Selection::default(),
            actual,
            metric: MetricKind::LogOdds,
            executor: ExecutorKind::Cpu,
        };
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function(BenchmarkId::new(name, samples), |b| {
            b.iter(|| attribute(&scrub, &settings, &Silent).expect("attribution runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
