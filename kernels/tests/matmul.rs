//! The matmul kernels against a naive loop, on shapes that are not multiples of any tile.

mod common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_kernels::{StandaloneMatmul, Tiling};

fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let x = a[i * k + p] as f64;
            for j in 0..n {
                c[i * n + j] += x * b[p * n + j] as f64;
            }
        }
    }
    c
}

fn random(len: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Every listed tiling gives `A·B` on every listed shape within f32 rounding.
fn check(tilings: &[Option<Tiling>], shapes: &[(usize, usize, usize)]) {
    let Some(ctx) = common::ctx() else { return };
    let mut rng = StdRng::seed_from_u64(7);
    for &(m, n, k) in shapes {
        let a = random(m * k, &mut rng);
        let b = random(k * n, &mut rng);
        let want = naive(&a, &b, m, n, k);
        for tiling in tilings {
            let mm = match tiling {
                Some(t) => StandaloneMatmul::with_tiling(ctx.clone(), m, n, k, &a, &b, *t),
                None => StandaloneMatmul::new(ctx.clone(), m, n, k, &a, &b),
            }
            .unwrap();
            // Twice: the product overwrites C, it never accumulates across runs.
            mm.run(2).unwrap();
            let got = mm.read_c().unwrap();
            assert_eq!(got.len(), m * n);
            // Terms are in [-1, 1], so the sum of k of them carries error ~k·2^-24.
            let tol = 1e-5 * (k as f64).max(1.0);
            for (idx, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (*g as f64 - w).abs() <= tol,
                    "{m}x{n}x{k} {:?} at ({}, {}): {g} vs {w}",
                    mm.tiling(),
                    idx / n,
                    idx % n
                );
            }
        }
    }
}

const ODD_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (77, 13, 5),
    (130, 67, 33),
    (300, 260, 100),
    (64, 128, 16),
    (5, 300, 7),
];

#[test]
fn direct_tiling_matches_naive_on_odd_shapes() {
    check(
        &[
            Some(Tiling::Direct {
                tm: 8,
                tn4: 2,
                wg_m: 8,
                wg_n: 8,
            }),
            Some(Tiling::Direct {
                tm: 3,
                tn4: 1,
                wg_m: 4,
                wg_n: 16,
            }),
        ],
        ODD_SHAPES,
    );
}

#[test]
fn workgroup_tiled_matches_naive_on_odd_shapes() {
    check(
        &[
            Some(Tiling::Tiled {
                bm: 64,
                bn: 64,
                bk: 8,
                tm: 4,
                tn: 4,
            }),
            Some(Tiling::Tiled {
                bm: 128,
                bn: 128,
                bk: 16,
                tm: 8,
                tn: 8,
            }),
            Some(Tiling::Tiled {
                bm: 32,
                bn: 64,
                bk: 4,
                tm: 4,
                tn: 8,
            }),
        ],
        ODD_SHAPES,
    );
}

#[test]
fn chosen_tiling_matches_naive_on_model_shapes() {
    check(&[None], &[(700, 168, 56), (700, 56, 56), (333, 2, 56)]);
}

#[test]
fn bad_shapes_are_errors() {
    let Some(ctx) = common::ctx() else { return };
    assert!(StandaloneMatmul::new(ctx.clone(), 2, 2, 2, &[0.0; 3], &[0.0; 4]).is_err());
    assert!(StandaloneMatmul::new(ctx.clone(), 0, 2, 2, &[], &[0.0; 4]).is_err());
    let too_many_threads = Tiling::Direct {
        tm: 1,
        tn4: 1,
        wg_m: 64,
        wg_n: 64,
    };
    let err = StandaloneMatmul::with_tiling(ctx, 4, 4, 4, &[0.0; 16], &[0.0; 16], too_many_threads);
    assert!(err.is_err());
}
