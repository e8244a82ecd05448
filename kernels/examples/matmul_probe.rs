//! Times matmul tilings: `matmul_probe M,N,K:cfg ...` where cfg is `auto`, `D.tm.tn4.wgm.wgn`
//! (direct) or `T.bm.bn.bk.tm.tn` (workgroup tiled); `ITERS` products per timing.
//! Prints GFLOP/s and the largest relative error on sampled entries.

use std::time::Instant;

use scrub_kernels::{GpuContext, StandaloneMatmul, Tiling};

fn main() {
    let Some(ctx) = GpuContext::shared() else {
        eprintln!("no GPU adapter");
        std::process::exit(1);
    };
    println!(
        "adapter: {} {:?} {:?}",
        ctx.adapter_name(),
        ctx.info().device_type,
        ctx.info().backend
    );
    let iters: usize = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    for spec in std::env::args().skip(1) {
        let Some((shape, cfg)) = spec.split_once(':') else {
            eprintln!("{spec}: expected M,N,K:cfg");
            continue;
        };
        let d: Vec<usize> = shape.split(',').filter_map(|s| s.parse().ok()).collect();
        let f: Vec<u32> = cfg
            .split('.')
            .skip(1)
            .filter_map(|s| s.parse().ok())
            .collect();
        let (m, n, k) = (d[0], d[1], d[2]);
        let tiling = match (cfg.chars().next(), f.as_slice()) {
            (Some('D'), &[tm, tn4, wg_m, wg_n]) => Tiling::Direct {
                tm,
                tn4,
                wg_m,
                wg_n,
            },
            (Some('T'), &[bm, bn, bk, tm, tn]) => Tiling::Tiled { bm, bn, bk, tm, tn },
            _ => Tiling::choose(&ctx, m, n, k),
        };
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let mm = match StandaloneMatmul::with_tiling(ctx.clone(), m, n, k, &a, &b, tiling) {
            Ok(mm) => mm,
            Err(e) => {
                println!("{spec}: {e}");
                continue;
            }
        };
        mm.run(2).expect("warm-up");
        let c = mm.read_c().expect("readback");
        let mut err = 0f32;
        for i in (0..m).step_by((m / 5).max(1)) {
            for j in (0..n).step_by((n / 64).max(1)) {
                let s: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                err = err.max((s - c[i * n + j]).abs() / (1.0 + s.abs()));
            }
        }
        let t = Instant::now();
        mm.run(iters).expect("run");
        let dt = t.elapsed().as_secs_f64();
        let gflops = mm.flops() as f64 * iters as f64 / dt / 1e9;
        println!(
            "{m}x{n}x{k} {:?}: {gflops:.1} GFLOP/s  relerr {err:.1e}",
            mm.tiling()
        );
    }
}
