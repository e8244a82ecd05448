//! Bounds-checked strided matrix views over `matrixmultiply::sgemm`, so the forward pass can
//! multiply per-head slices in place without copying; large products split their rows
//! across the rayon pool. The kernel sums every element over `k` in fixed blocks, so an
//! element's bits never depend on how many rows or columns are computed with it (tested
//! below: the scrubbing graph recomputes one head where the forward runs all heads at once).

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A writable strided matrix view.
pub struct ViewMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

fn max_index(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs
    }
}

impl<'a> View<'a> {
    /// Dense row-major `rows × cols` view.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

impl<'a> ViewMut<'a> {
    /// Dense row-major `rows × cols` view.
    pub fn rows(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        ViewMut {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
}

/// `c = alpha * a @ b + beta * c`. Panics if a view reaches outside its slice or the
/// shapes disagree; both are programming errors, never user input.
pub fn gemm(alpha: f32, a: View, b: View, beta: f32, c: ViewMut) {
    assert_eq!(a.cols, b.rows, "gemm inner dimensions");
    assert_eq!((a.rows, b.cols), (c.rows, c.cols), "gemm output shape");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k > 0 {
        assert!(
            max_index(a.rows, a.cols, a.rs, a.cs) < a.data.len(),
            "gemm: a out of bounds"
        );
        assert!(
            max_index(b.rows, b.cols, b.rs, b.cs) < b.data.len(),
            "gemm: b out of bounds"
        );
    }
    assert!(
        max_index(c.rows, c.cols, c.rs, c.cs) < c.data.len(),
        "gemm: c out of bounds"
    );
    let disjoint_rows = c.cs == 1 && c.rs >= c.cols;
    let parts = if m * n * k >= PARALLEL_FLOPS && disjoint_rows {
        rayon::current_num_threads()
            .min(m / MIN_ROWS_PER_PART)
            .max(1)
    } else {
        1
    };
    gemm_in_parts(alpha, a, b, beta, c, parts);
}

/// Multiply-adds (m·n·k) above which one product's rows are split across the rayon pool.
const PARALLEL_FLOPS: usize = 1 << 22;

/// Fewest rows of `c` one part computes: below this the kernel's panels run mostly empty.
const MIN_ROWS_PER_PART: usize = 64;

/// [`gemm`] with `c`'s rows in `parts` contiguous blocks, computed in parallel. The kernel
/// sums every element over `k` in the same fixed blocks whatever the number of rows it is
/// given, so the split changes no bit of the result: thread count and batch size never
/// change a number. The caller has checked the bounds, and `parts > 1` only where `c`'s
/// rows occupy disjoint memory.
fn gemm_in_parts(alpha: f32, a: View, b: View, beta: f32, c: ViewMut, parts: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let per = m.div_ceil(parts.max(1));
    // Raw addresses cross the threads as integers; each part owns rows [r0, r1) of `c`.
    let (a_ptr, b_ptr, c_ptr) = (
        a.data.as_ptr() as usize,
        b.data.as_ptr() as usize,
        c.data.as_mut_ptr() as usize,
    );
    let run = |r0: usize| {
        let rows = per.min(m - r0);
        // SAFETY: every index the kernel touches was checked against its slice by `gemm`;
        // `c` is a unique borrow, so it aliases neither `a` nor `b`, and the parts' rows of
        // `c` are disjoint (one part, or rows that do not overlap in memory).
        unsafe {
            let (a0, c0) = (
                (a_ptr as *const f32).add(r0 * a.rs),
                (c_ptr as *mut f32).add(r0 * c.rs),
            );
            matrixmultiply::sgemm(
                rows,
                k,
                n,
                alpha,
                a0,
                a.rs as isize,
                a.cs as isize,
                b_ptr as *const f32,
                b.rs as isize,
                b.cs as isize,
                beta,
                c0,
                c.rs as isize,
                c.cs as isize,
            );
        }
    };
    if parts <= 1 {
        run(0);
    } else {
        use rayon::prelude::*;
        (0..m)
            .step_by(per)
            .collect::<Vec<_>>()
            .into_par_iter()
            .for_each(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_split_into_row_blocks_has_the_bits_of_one_call() {
        // Both a row-major and a transposed `b`, `k` past the kernel's blocking, a bias.
        let (m, k, n) = (203, 600, 37);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.737).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.311).cos()).collect();
        for transposed in [false, true] {
            let bv = match transposed {
                false => View::rows(&b, k, n),
                true => View::rows(&b, n, k).t(),
            };
            let run = |parts: usize| {
                let mut c: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32).collect();
                let av = View::rows(&a, m, k);
                gemm_in_parts(0.5, av, bv, 1.0, ViewMut::rows(&mut c, m, n), parts);
                c
            };
            let one = run(1);
            for parts in [2, 3, 7, 203] {
                assert!(run(parts) == one, "{parts} parts, transposed {transposed}");
            }
        }
    }

    #[test]
    fn strided_gemm_matches_naive_loops() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        // b stored as [n, k]; use its transpose.
        let mut c = vec![1.0f32; m * n];
        gemm(
            2.0,
            View::rows(&a, m, k),
            View::rows(&b, n, k).t(),
            1.0,
            ViewMut::rows(&mut c, m, n),
        );
        for i in 0..m {
            for j in 0..n {
                let dot: f32 = (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum();
                assert!((c[i * n + j] - (1.0 + 2.0 * dot)).abs() < 1e-5);
            }
        }
    }

    /// `alpha * a @ b + beta * c0` in f64 from plain loops.
    fn naive(alpha: f32, a: View, b: View, beta: f32, c0: &[f32]) -> Vec<f64> {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| {
                        a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64
                    })
                    .sum();
                let keep = if beta == 0.0 {
                    0.0
                } else {
                    beta as f64 * c0[i * n + j] as f64
                };
                out[i * n + j] = alpha as f64 * dot + keep;
            }
        }
        out
    }

    fn filled(len: usize, seed: f32) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * seed).sin()).collect()
    }

    #[test]
    fn products_of_every_edge_shape_and_layout_match_f64_loops() {
        // Small and tile-edge shapes, k past a 256 block, every operand layout,
        // alpha and beta including beta = 0 over a `c` of NaN (never read).
        let shapes = [
            (1, 1, 1),
            (3, 7, 2),
            (12, 256, 32),
            (13, 257, 33),
            (37, 600, 70),
            (200, 40, 5),
        ];
        for &(m, k, n) in &shapes {
            let a = filled(m * k, 0.737);
            let b = filled(k * n, 0.311);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let av = if ta {
                    View::rows(&a, k, m).t()
                } else {
                    View::rows(&a, m, k)
                };
                let bv = if tb {
                    View::rows(&b, n, k).t()
                } else {
                    View::rows(&b, k, n)
                };
                for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (2.0, -0.25)] {
                    let c0: Vec<f32> = if beta == 0.0 {
                        vec![f32::NAN; m * n]
                    } else {
                        filled(m * n, 0.05)
                    };
                    let mut c = c0.clone();
                    gemm(alpha, av, bv, beta, ViewMut::rows(&mut c, m, n));
                    let want = naive(alpha, av, bv, beta, &c0);
                    for (i, (&got, &w)) in c.iter().zip(&want).enumerate() {
                        let tol = 1e-5 * (k as f64).sqrt() * (1.0 + w.abs());
                        assert!(
                            (got as f64 - w).abs() <= tol,
                            "{m}×{k}×{n} ta {ta} tb {tb} α {alpha} β {beta}: [{i}] {got} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_column_strided_output_matches_a_dense_one() {
        let (m, k, n) = (29, 300, 45);
        let (a, b) = (filled(m * k, 0.9), filled(k * n, 0.4));
        let mut dense = vec![0.0f32; m * n];
        gemm(
            1.0,
            View::rows(&a, m, k),
            View::rows(&b, k, n),
            0.0,
            ViewMut::rows(&mut dense, m, n),
        );
        // c stored transposed: element (i, j) at j * m + i.
        let mut t = vec![0.0f32; m * n];
        let c = ViewMut {
            data: &mut t,
            rows: m,
            cols: n,
            rs: 1,
            cs: m,
        };
        gemm(1.0, View::rows(&a, m, k), View::rows(&b, k, n), 0.0, c);
        for i in 0..m {
            for j in 0..n {
                assert_eq!(t[j * m + i].to_bits(), dense[i * n + j].to_bits());
            }
        }
    }

    #[test]
    fn an_element_has_the_same_bits_whatever_else_is_computed_with_it() {
        // Rows alone, among 3 and among all; a block of columns alone (one head's projection
        // against all heads side by side); both layouts of b; k past two blocks.
        let (m, k, n) = (130, 700, 96);
        let (a, b) = (filled(m * k, 0.37), filled(k * n, 0.23));
        for tb in [false, true] {
            let bv = if tb {
                View::rows(&b, n, k).t()
            } else {
                View::rows(&b, k, n)
            };
            let mut all = vec![0.0f32; m * n];
            gemm(
                1.0,
                View::rows(&a, m, k),
                bv,
                0.0,
                ViewMut::rows(&mut all, m, n),
            );
            for (r0, rows) in [(0, 1), (5, 1), (64, 3), (100, 30)] {
                let mut part = vec![0.0f32; rows * n];
                let av = View::rows(&a[r0 * k..(r0 + rows) * k], rows, k);
                gemm(1.0, av, bv, 0.0, ViewMut::rows(&mut part, rows, n));
                assert!(
                    part == all[r0 * n..(r0 + rows) * n],
                    "rows {r0}+{rows}, tb {tb}"
                );
            }
            for (j0, cols) in [(0, 1), (32, 32), (40, 17), (95, 1)] {
                let sub = View {
                    data: &bv.data[j0 * bv.cs..],
                    rows: k,
                    cols,
                    rs: bv.rs,
                    cs: bv.cs,
                };
                let mut part = vec![0.0f32; m * cols];
                gemm(
                    1.0,
                    View::rows(&a, m, k),
                    sub,
                    0.0,
                    ViewMut::rows(&mut part, m, cols),
                );
                for i in 0..m {
                    assert!(
                        part[i * cols..(i + 1) * cols] == all[i * n + j0..i * n + j0 + cols],
                        "columns {j0}+{cols}, row {i}, tb {tb}"
                    );
                }
            }
        }
    }
}
