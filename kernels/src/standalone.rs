//! A self-contained `C = A·B` on the GPU for benchmarks and kernel tests: buffers are
//! allocated once, runs wait for completion without reading anything back.

use std::sync::Arc;

use crate::buffers::{counts_uniform, pad2, pad4, readback, storage, storage_init};
use crate::device::GpuContext;
use crate::error::{GpuError, Result};
use crate::matmul::{Matmul, MatmulSpec, Tiling};

/// `C [m, n] = A [m, k] · B [k, n]` resident on the GPU.
pub struct StandaloneMatmul {
    ctx: Arc<GpuContext>,
    matmul: Matmul,
    c: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    m: usize,
    n: usize,
    k: usize,
    // Kept alive for the bind group.
    _inputs: [wgpu::Buffer; 4],
}

impl StandaloneMatmul {
    /// Uploads row-major `a [m, k]` and `b [k, n]`, using the tiling the crate would choose.
    pub fn new(
        ctx: Arc<GpuContext>,
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
    ) -> Result<Self> {
        let tiling = Tiling::choose(&ctx, m, pad4(n), pad4(k));
        Self::with_tiling(ctx, m, n, k, a, b, tiling)
    }

    /// Like [`StandaloneMatmul::new`] with an explicit tiling (for tests and tuning).
    pub fn with_tiling(
        ctx: Arc<GpuContext>,
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        tiling: Tiling,
    ) -> Result<Self> {
        if m == 0 || n == 0 || k == 0 || a.len() != m * k || b.len() != k * n {
            return Err(GpuError::Shape(format!(
                "need a [{m}, {k}] and b [{k}, {n}] with nonzero sizes, got {} and {} elements",
                a.len(),
                b.len()
            )));
        }
        let (kp, np) = (pad4(k), pad4(n));
        let matmul = Matmul::with_tiling(&ctx, MatmulSpec::plain(kp, np), tiling)?;
        let a_buf = if kp == k {
            storage_init(&ctx, "matmul a", a)?
        } else {
            storage_init(&ctx, "matmul a", &pad2(a, m, k, m, kp))?
        };
        let b_buf = storage_init(&ctx, "matmul b", &pad2(b, k, n, kp, np))?;
        let c = storage(&ctx, "matmul c", (m * np * 4) as u64)?;
        let bias = storage(&ctx, "matmul bias (unused)", 16)?;
        let counts = counts_uniform(&ctx);
        ctx.queue
            .write_buffer(&counts, 0, bytemuck::cast_slice(&[m as u32, 0, 0, 0]));
        let bind_group = matmul.bind(&ctx, &counts, &a_buf, &b_buf, &bias, &c);
        Ok(StandaloneMatmul {
            ctx,
            matmul,
            c,
            bind_group,
            m,
            n,
            k,
            _inputs: [a_buf, b_buf, bias, counts],
        })
    }

    /// Floating-point operations of one product (2·m·n·k).
    pub fn flops(&self) -> u64 {
        2 * (self.m * self.n * self.k) as u64
    }

    /// The tiling in use.
    pub fn tiling(&self) -> Tiling {
        self.matmul.tiling()
    }

    /// Computes the product `iters` times in one submission and waits until the GPU is done.
    pub fn run(&self, iters: usize) -> Result<()> {
        let ctx = &self.ctx;
        let submission = ctx.checked("running the standalone matmul", || {
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("matmul"),
                });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("matmul"),
                    timestamp_writes: None,
                });
                for _ in 0..iters {
                    self.matmul
                        .dispatch(ctx, &mut pass, &self.bind_group, self.m);
                }
            }
            ctx.queue.submit([enc.finish()])
        })?;
        ctx.wait(submission, "running the standalone matmul")
    }

    /// Reads C back as row-major `[m, n]`.
    pub fn read_c(&self) -> Result<Vec<f32>> {
        let ctx = &self.ctx;
        let np = pad4(self.n);
        let bytes = (self.m * np * 4) as u64;
        let staging = readback(ctx, "matmul readback", bytes)?;
        let submission = ctx.checked("reading the matmul result", || {
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("read c"),
                });
            enc.copy_buffer_to_buffer(&self.c, 0, &staging, 0, bytes);
            ctx.queue.submit([enc.finish()])
        })?;
        let raw = ctx.read_mapped(&staging, bytes, submission, "reading the matmul result")?;
        let padded: &[f32] = bytemuck::cast_slice(&raw);
        Ok(padded
            .chunks_exact(np)
            .flat_map(|row| row[..self.n].iter().copied())
            .collect())
    }
}
