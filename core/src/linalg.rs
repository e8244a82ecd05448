//! Bounds-checked strided matrix views over `matrixmultiply::sgemm`, so the forward pass can
//! multiply per-head slices in place without copying; large products split their rows
//! across the rayon pool.

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
            matrixmultiply::sgemm(
                rows,
                k,
                n,
                alpha,
                (a_ptr as *const f32).add(r0 * a.rs),
                a.rs as isize,
                a.cs as isize,
                b_ptr as *const f32,
                b.rs as isize,
                b.cs as isize,
                beta,
                (c_ptr as *mut f32).add(r0 * c.rs),
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
}
