//! Bounds-checked strided matrix views over the `gemm` crate's f32 kernels (AVX-512 where
//! the CPU has it), so the forward pass can multiply per-head slices in place without
//! copying.

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
    // Small products stay on the calling thread: splitting them costs more than it saves,
    // and the scrubbing engine already runs one such product per sample on every core.
    let parallelism = if m * n * k >= PARALLEL_FLOPS {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every index the kernel touches was checked against its slice above, and `c`
    // is a unique borrow so it cannot alias `a` or `b`. The crate's `alpha` scales the old
    // `c` (read only when `beta` is non-zero, so stale NaNs never leak) and its `beta` the
    // product: the reverse of BLAS.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.data.as_mut_ptr(),
            c.cs as isize,
            c.rs as isize,
            beta != 0.0,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            beta,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Multiply-adds (m·n·k) above which one product is split across the rayon pool.
const PARALLEL_FLOPS: usize = 1 << 22;

#[cfg(test)]
mod tests {
    use super::*;

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
