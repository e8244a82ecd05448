//! The adversary's speed: permitted moves scored per second on paren 3c (the write-up's
//! 26% pool, 2000 samples, sampling-together and refinement moves), each scored as an
//! attack scores it — on paired samples, with the base tree's plain values cached. The
//! cache is rebuilt (untimed) before every iteration, so no move finds its own values.
//!
//! Needs the real model: `SCRUB_DATA=../shared/models cargo bench -p scrub-benches --bench attack`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scrub_adversary::enumerate;
use scrub_core::experiment::{
    build_tree, scrub_tree, with_rewrites, RunSettings, Scenario, Silent,
};
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_kernels::{GpuContext, GpuScrubGraph};
use scrub_scenarios::paren::scrub::ParenScrub;
use scrub_scenarios::paren::table::load_shipped;
use scrub_scenarios::DataDir;

/// Moves timed per iteration, spread over the enumeration (ties and refinements).
const MOVES: usize = 12;
const SAMPLES: usize = 2000;

fn bench(c: &mut Criterion) {
    let dir = match DataDir::resolve(None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("attack bench: skipped: {e}");
            return;
        }
    };
    let scrub = ParenScrub::load(&dir, Some(0.26), 0).expect("paren scenario loads");
    let base = scrub.graph().expect("graph");
    let file = load_shipped("3c").expect("3c parses");
    let ctx = GpuContext::shared();
    let gpu = ctx
        .as_ref()
        .filter(|c| c.is_real_gpu())
        .map(|ctx| GpuScrubGraph::new(ctx.clone(), &base).expect("GPU graph"));
    let mut graphs: Vec<(String, &dyn scrub_core::scrub::ScrubGraph)> = vec![("cpu".into(), &base)];
    match (&gpu, &ctx) {
        (Some(g), Some(ctx)) => graphs.push((format!("gpu ({})", ctx.adapter_name()), g)),
        _ => eprintln!("attack bench: no hardware GPU; CPU graph only"),
    }
    let library = scrub.feature_library();
    let mut group = c.benchmark_group("paren_attack_3c");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MOVES as u64));
    for (name, graph) in graphs {
        group.bench_function(BenchmarkId::new(name, SAMPLES), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    with_rewrites(graph, &base, &file.rewrites, &scrub.library(), &mut |g| {
                        let tree = build_tree(&scrub, g, &base, &file)?;
                        let moves = enumerate(&tree, &library);
                        let step = (moves.len() / MOVES).max(1);
                        let cache = PlainCache::default();
                        let run = RunSettings {
                            samples: SAMPLES,
                            first_sample: 0,
                            seed: 0,
                            cache: Some(&cache),
                            progress: &Silent,
                        };
                        scrub_tree(&scrub, g, &tree, &run, "3c")?;
                        let start = Instant::now();
                        for mv in moves.iter().step_by(step).take(MOVES) {
                            let t = mv.apply(&tree).expect("enumerated moves apply");
                            scrub_tree(&scrub, g, &t, &run, "move")?;
                        }
                        timed += start.elapsed();
                        Ok::<_, scrub_core::experiment::ExperimentError>(())
                    })
                    .expect("moves score");
                }
                timed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
