//! The backward pass of the recomputed components on the GPU: for a head from its q/k/v
//! residual inputs, an MLP or the unembedding, the vector-Jacobian product mapping a
//! gradient of the node's output to gradients of its residual-stream inputs, one datum at a
//! time. The GPU counterpart of `scrub_core::gradient::{head_result_vjp, mlp_out_vjp,
//! unembed_vjp}`, which [`crate::GpuScrubGraph`]'s `recompute_vjp` calls.
//!
//! Like the CPU reference, each product first recomputes the node's forward from its inputs
//! with the forward's own kernels ([`crate::recompute::Recompute::qkv_steps`], the
//! executor's norms and projections), so the derivative is of exactly the function the
//! engine evaluates. The products by transposed weights are the forward's matmul kernel
//! reading the same weight buffers with `trans_b`; the rest is three small kernel families:
//! `norm` (LayerNorm / RMSNorm backward), `mlp` (back through the nonlinearity), `head`
//! (back through the masked softmax attention and rotary).

mod buffers;
mod head;
mod mlp;
mod norm;
mod unembed;

use std::sync::{Arc, Mutex, MutexGuard};

use scrub_core::scrub::transformer::Component;
use scrub_core::{ModelConfig, TokenId};

use crate::buffers::pad2;
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::executor::GpuExecutor;
use crate::matmul::{Matmul, MatmulSpec};
use crate::pipeline::Dispatch;
use crate::recompute::Recompute;
use crate::shader::{div_ceil, Kernel};
use crate::step::{Counts, Step};

use buffers::Buffers;

/// Bytes of `n` four-byte values.
fn f(n: usize) -> u64 {
    (n * 4) as u64
}

/// A kernel with one thread per `per_row` items of each row, 64 threads a workgroup (every
/// backward kernel here is laid out so).
struct RowKernel {
    kernel: Kernel,
    per_row: usize,
}

impl RowKernel {
    fn bind(&self, ctx: &GpuContext, label: &str, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        self.kernel.bind(ctx, label, buffers)
    }
}

impl Dispatch for RowKernel {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        let groups = div_ceil(n.saturating_mul(self.per_row), 64);
        let max = ctx.limits().max_compute_workgroups_per_dimension;
        self.kernel.dispatch(pass, bg, groups, max);
    }
}

/// `C [rows, n] = A [rows, k] · Wᵀ` for a weight `W [n, k]` stored as the forward reads it.
fn transposed(
    ctx: &GpuContext,
    k: usize,
    n: usize,
    accumulate: bool,
    rows: usize,
) -> Result<Arc<Matmul>> {
    let spec = MatmulSpec {
        trans_b: true,
        accumulate,
        ..MatmulSpec::plain(k, n)
    };
    Matmul::new(ctx, spec, rows).map(Arc::new)
}

/// The compiled backward kernels of one model and the buffers of one datum.
pub(crate) struct Backward {
    ctx: Arc<GpuContext>,
    config: ModelConfig,
    dims: Dims,
    /// d_head padded to a multiple of 4, as the forward's one-head buffers.
    ep: usize,
    /// Rows the buffers hold: n_ctx, or fewer where one binding cannot hold n_ctx rows.
    rows: usize,
    /// LayerNorm / RMSNorm backward; `None` for models without normalisation.
    norm: Option<Arc<RowKernel>>,
    /// `∂L/∂ln_final(x) = ∂L/∂logits · W_Uᵀ`.
    unembed: Arc<Matmul>,
    head: head::HeadKernels,
    mlp: Option<mlp::MlpKernels>,
    buffers: Mutex<Option<Buffers>>,
}

/// Launches of one product, the number of ports it differentiates, and the width of the
/// uploaded output gradient's rows.
struct Plan {
    steps: Vec<Step>,
    ports: usize,
    d_out_width: usize,
}

impl Backward {
    /// Compiles the backward kernels for a model of `config` (already validated by the
    /// executor built from it) whose forward `rc` recomputes.
    pub(crate) fn new(ctx: Arc<GpuContext>, config: &ModelConfig, rc: &Recompute) -> Result<Self> {
        let config = config.clone();
        let dims = Dims::new(&config);
        let ep = rc.ep();
        let n = config.n_ctx;
        let widest = dims.dp.max(3 * ep).max(dims.mp.unwrap_or(0)).max(dims.vp);
        let limit = ctx.max_binding_bytes().min(1 << 31);
        let rows = n.min((limit / f(widest)) as usize);
        if rows == 0 {
            return Err(GpuError::TooLarge {
                what: "one row of a gradient".into(),
                needed: f(widest),
                limit,
            });
        }
        Ok(Backward {
            norm: match config.has_layer_norm() {
                true => Some(Arc::new(norm::kernel(&ctx, &config, &dims)?)),
                false => None,
            },
            unembed: transposed(&ctx, dims.vp, dims.dp, false, n)?,
            head: head::HeadKernels::new(&ctx, &config, &dims, ep)?,
            mlp: mlp::MlpKernels::new(&ctx, &config, &dims)?,
            ctx,
            config,
            dims,
            ep,
            rows,
            buffers: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Buffers>> {
        // A panic while holding the lock may have left buffers half-written: start over.
        self.buffers.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            *g = None;
            g
        })
    }

    /// Gradients `[n_ctx, d_model]` of each of `component`'s ports (`ports`, `[n_ctx,
    /// d_model]` each, checked by the caller) from the gradient `d_out` of its output
    /// (`[n_ctx, d_model]`, `[n_ctx, d_vocab_out]` for the logits); `tokens` are the home
    /// datum's, which decide the key mask. Rows of the logits whose gradient is zero are
    /// skipped, as on the CPU: their input gradient is zero.
    pub(crate) fn run(
        &self,
        ex: &GpuExecutor,
        rc: &Recompute,
        component: Component,
        tokens: &[TokenId],
        ports: &[&[f32]],
        d_out: &[f32],
    ) -> Result<Vec<Vec<f32>>> {
        let mut guard = self.lock();
        if guard.is_none() {
            *guard = Some(Buffers::new(&self.ctx, &self.dims, self.ep, self.rows)?);
        }
        let Some(b) = guard.as_ref() else {
            return Err(GpuError::Shape("backward buffers missing".into()));
        };
        let out = self.run_in(b, ex, rc, component, tokens, ports, d_out);
        if out.is_err() {
            // A failed submission may have left the readback buffer mapped.
            *guard = None;
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn run_in(
        &self,
        b: &Buffers,
        ex: &GpuExecutor,
        rc: &Recompute,
        component: Component,
        tokens: &[TokenId],
        ports: &[&[f32]],
        d_out: &[f32],
    ) -> Result<Vec<Vec<f32>>> {
        let n = self.config.n_ctx;
        let d = self.dims.d;
        let plan = self.ctx.checked("binding a backward pass", || {
            self.plan(ex, rc, b, component)
        })??;
        let out_w = d_out.len() / n.max(1);
        // Rows are independent except within attention, which needs the whole sequence.
        let live: Vec<usize> = match component {
            Component::Output => (0..n)
                .filter(|&r| d_out[r * out_w..(r + 1) * out_w].iter().any(|&g| g != 0.0))
                .collect(),
            _ => (0..n).collect(),
        };
        if matches!(component, Component::Head { .. }) && n > self.rows {
            return Err(GpuError::TooLarge {
                what: format!("the gradient of a head over {n} positions"),
                needed: f(n * self.dims.dp.max(3 * self.ep)),
                limit: f(self.rows * self.dims.dp.max(3 * self.ep)),
            });
        }
        let mut grads = vec![vec![0.0f32; n * d]; plan.ports];
        for chunk in live.chunks(self.rows) {
            let counts = self.upload(b, chunk, tokens, ports, d_out, out_w, plan.d_out_width);
            let bytes = f(counts.rows * self.dims.dp);
            let sub = self.ctx.checked("computing a gradient", || {
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("backward"),
                        });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("backward"),
                        timestamp_writes: None,
                    });
                    for step in &plan.steps {
                        step.record(&self.ctx, &mut pass, counts);
                    }
                }
                for (p, d_in) in b.d_in.iter().take(plan.ports).enumerate() {
                    enc.copy_buffer_to_buffer(d_in, 0, &b.staging, p as u64 * bytes, bytes);
                }
                self.ctx.queue.submit([enc.finish()])
            })?;
            let what = "reading a gradient back";
            let total = bytes * plan.ports as u64;
            self.ctx.with_mapped(&b.staging, total, sub, what, |raw| {
                let vals: &[f32] = bytemuck::try_cast_slice(raw).map_err(|e| {
                    GpuError::Shape(format!("readback buffer is not f32-aligned: {e}"))
                })?;
                let dp = self.dims.dp;
                for (p, grad) in grads.iter_mut().enumerate() {
                    let mine = &vals[p * counts.rows * dp..(p + 1) * counts.rows * dp];
                    for (&r, row) in chunk.iter().zip(mine.chunks_exact(dp)) {
                        grad[r * d..(r + 1) * d].copy_from_slice(&row[..d]);
                    }
                }
                Ok::<_, GpuError>(())
            })??;
        }
        Ok(grads)
    }

    /// Writes rows `chunk` of the ports and of `d_out` (`width` values a row, uploaded with
    /// row stride `padded`), their tokens and positions, and the counts.
    #[allow(clippy::too_many_arguments)]
    fn upload(
        &self,
        b: &Buffers,
        chunk: &[usize],
        tokens: &[TokenId],
        ports: &[&[f32]],
        d_out: &[f32],
        width: usize,
        padded: usize,
    ) -> Counts {
        let q = &self.ctx.queue;
        let counts = Counts {
            rows: chunk.len(),
            seqs: 1,
            targets: 0,
        };
        let gather = |x: &[f32], w: usize, pw: usize| -> Vec<f32> {
            let rows: Vec<f32> = chunk
                .iter()
                .flat_map(|&r| x[r * w..(r + 1) * w].iter().copied())
                .collect();
            if w == pw {
                rows
            } else {
                pad2(&rows, chunk.len(), w, chunk.len(), pw)
            }
        };
        let rowinfo: Vec<u32> = chunk
            .iter()
            .flat_map(|&r| [tokens[r].0, r as u32])
            .collect();
        q.write_buffer(&b.rowinfo, 0, bytemuck::cast_slice(&rowinfo));
        q.write_buffer(&b.counts, 0, bytemuck::cast_slice(&counts.uniform()));
        let (d, dp) = (self.dims.d, self.dims.dp);
        for (port, buf) in ports.iter().zip(&b.ports) {
            q.write_buffer(buf, 0, bytemuck::cast_slice(&gather(port, d, dp)));
        }
        q.write_buffer(
            &b.d_out,
            0,
            bytemuck::cast_slice(&gather(d_out, width, padded)),
        );
        counts
    }

    /// The launches differentiating `component` with `b`'s buffers.
    fn plan(
        &self,
        ex: &GpuExecutor,
        rc: &Recompute,
        b: &Buffers,
        component: Component,
    ) -> Result<Plan> {
        let unsupported = || GpuError::Unsupported(format!("differentiating {component:?}"));
        match component {
            Component::Head { layer, head } => self.plan_head(ex, rc, b, layer, head),
            Component::Mlp { layer } => self.plan_mlp(ex, b, layer).ok_or_else(unsupported),
            Component::Output => Ok(self.plan_unembed(ex, b)),
            Component::Embed
            | Component::PosEmbed
            | Component::AttnBias { .. }
            | Component::Pattern { .. } => Err(unsupported()),
        }
    }
}
