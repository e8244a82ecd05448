//! Matrix multiply throughput, GPU kernel against the CPU (`matrixmultiply::sgemm`, one
//! call) on the same shapes. Each iteration is one product; throughput is counted as
//! 2·M·N·K elements, so criterion's "elem/s" reads as FLOP/s.
//!
//! Shapes: the paren model's products over a 4096-sequence batch (73,728 rows × d_model 56
//! into q|k|v 168 or 56), an induction-sized model (d_model 256 into q|k|v 768 and a 4096
//! vocabulary), and squares 512–2048, plus 4096 when a real GPU is present (the software
//! rasteriser would take minutes). GPU runs wait for completion and read nothing back.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scrub_kernels::{GpuContext, StandaloneMatmul};

fn data(len: usize, salt: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7 + salt) % 13) as f32 - 6.0) * 0.1)
        .collect()
}

fn shapes(real_gpu: bool) -> Vec<(&'static str, usize, usize, usize)> {
    let mut s = vec![
        ("paren_qkv", 73_728, 168, 56),
        ("paren_d_model", 73_728, 56, 56),
        ("induction_qkv", 8192, 768, 256),
        ("induction_unembed", 8192, 4096, 256),
        ("square_512", 512, 512, 512),
        ("square_1024", 1024, 1024, 1024),
        ("square_2048", 2048, 2048, 2048),
    ];
    if real_gpu {
        s.push(("square_4096", 4096, 4096, 4096));
    }
    s
}

fn sgemm(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the slices hold m·k, k·n and m·n elements, addressed row-major with the
    // strides given, and `c` is a unique borrow.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn matmul(c: &mut Criterion) {
    let ctx = GpuContext::shared();
    match &ctx {
        Some(ctx) => println!(
            "GPU adapter: {} ({:?})",
            ctx.adapter_name(),
            ctx.info().device_type
        ),
        None => println!("skipping GPU cases: no GPU adapter"),
    }
    let real_gpu = ctx.as_ref().is_some_and(|c| c.is_real_gpu());
    for (name, m, n, k) in shapes(real_gpu) {
        let a = data(m * k, 1);
        let b = data(k * n, 2);
        let mut group = c.benchmark_group(format!("matmul/{name}_{m}x{n}x{k}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        if let Some(ctx) = &ctx {
            match StandaloneMatmul::new(ctx.clone(), m, n, k, &a, &b) {
                Ok(mm) => {
                    group.bench_function("gpu", |bench| {
                        bench.iter(|| mm.run(1).expect("GPU matmul"))
                    });
                }
                Err(e) => println!("skipping GPU {name}: {e}"),
            }
        }
        // The CPU at 4096³ takes seconds per product and adds nothing the 2048³ case
        // does not already show.
        if m * n * k <= 2048 * 2048 * 2048 {
            let mut out = vec![0.0f32; m * n];
            group.bench_function("cpu", |bench| {
                bench.iter(|| sgemm(m, n, k, black_box(&a), black_box(&b), &mut out))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, matmul);
criterion_main!(benches);
