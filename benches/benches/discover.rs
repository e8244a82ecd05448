//! `discover` end to end on the CPU reference: ground-truth programs of the committed suite
//! (attribution, every scrub of the greedy search; no attack), at the CLI's defaults (500
//! samples, threshold 90%, every scrub on all samples) and with a cheap first scrub on a
//! quarter of them (`--screen 125`).
//!
//! `cargo bench -p scrub-benches --bench discover`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

use scrub_core::discover::{discover, DiscoverSettings};
use scrub_core::experiment::{Scenario, Silent};
use scrub_scenarios::task::Task;

fn bench(c: &mut Criterion) {
    let suite = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/groundtruth/tasks"
    );
    let mut group = c.benchmark_group("discover");
    group.sample_size(10);
    for program in ["hist", "sort_unique", "shuffle_dyck"] {
        let task = Task::open(std::path::Path::new(&format!("{suite}/{program}")))
            .expect("the program opens");
        let base = task.graph().expect("its graph");
        for (name, screen) in [("full", None), ("screened", Some(125))] {
            let settings = DiscoverSettings {
                screen,
                ..DiscoverSettings::default()
            };
            group.bench_function(BenchmarkId::new(program, name), |b| {
                b.iter(|| discover(&task, &base, &base, &settings, &Silent).expect("discovers"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
