//! One transformer component recomputed for a batch of scrub samples whose inputs were
//! assembled from several data: a head from separate q/k/v residual inputs (its key mask
//! read from each sample's home datum), an MLP, or the unembedding. The GPU counterpart of
//! `scrub_core::forward::{head_result, mlp_out, unembed}`.
//!
//! Only the forward's own kernels run here, compiled for other shapes where needed: a head
//! is projected with its own `[d_model, d_head]` weights into a one-head q|k|v buffer, so the
//! forward's attention kernel compiled for one head attends it, masking keys by the tokens
//! in `rowinfo` exactly as in the forward (those tokens are the home datum's).

use std::sync::{Arc, Mutex, MutexGuard};

use scrub_core::scrub::transformer::Component;
use scrub_core::{Model, ModelConfig, TokenId};

use crate::attention::Attention;
use crate::buffers::{counts_uniform, pad4, readback, storage};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::executor::GpuExecutor;
use crate::matmul::{CountField, Matmul, MatmulSpec};
use crate::rotary::{Rotary, RotaryLayout};
use crate::step::{Counts, Step};
use crate::weights::HeadWeights;

/// Flat float indices inside kernels are u32; buffers stay under 2 GiB (as the executor's).
const INDEX_LIMIT: u64 = 1 << 31;

/// Bytes of `n` four-byte values.
fn f(n: usize) -> u64 {
    (n * 4) as u64
}

/// Kernels and per-head weights for recomputing components, and reusable buffers.
pub(crate) struct Recompute {
    ctx: Arc<GpuContext>,
    config: ModelConfig,
    dims: Dims,
    /// d_head padded to a multiple of 4: the one-head q, k, v and z width.
    ep: usize,
    heads: Vec<Vec<HeadWeights>>,
    /// One head's q, k, v projections, writing columns `[0, ep)`, `[ep, 2ep)`, `[2ep, 3ep)`.
    proj: [Arc<Matmul>; 3],
    /// The forward's attention kernel compiled for a single head of width `ep`.
    attention: Arc<Attention>,
    /// Rotary models: the rotation of the one head's q and k.
    rotary: Option<Arc<Rotary>>,
    /// `z_h W_O[h]`.
    head_out: Arc<Matmul>,
    buffers: Mutex<Option<Buffers>>,
}

/// Buffers for up to `samples` sequences of n_ctx rows.
struct Buffers {
    samples: usize,
    /// The counts, row info, ports, norms and one-head q|k|v.
    head_in: QkvBuffers,
    offsets: wgpu::Buffer,
    z: wgpu::Buffer,
    hidden: Option<wgpu::Buffer>,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
}

impl std::ops::Deref for Buffers {
    type Target = QkvBuffers;
    fn deref(&self) -> &QkvBuffers {
        &self.head_in
    }
}

impl Buffers {
    fn new(ctx: &GpuContext, dims: &Dims, ep: usize, samples: usize, n: usize) -> Result<Self> {
        let r = samples * n;
        let out_w = dims.dp.max(dims.vp);
        let rows = |label: &str, width: usize| storage(ctx, label, f(r * width));
        Ok(Buffers {
            samples,
            head_in: QkvBuffers::new(ctx, "recompute", dims.dp, ep, r)?,
            offsets: storage(ctx, "recompute offsets", f(samples + 1))?,
            z: rows("one head's z", ep)?,
            hidden: dims.mp.map(|mp| rows("mlp hidden", mp)).transpose()?,
            out: rows("recomputed", out_w)?,
            staging: readback(ctx, "recomputed readback", f(r * out_w))?,
        })
    }

    /// A norm's read-only bindings for input `x` with weights `ln` (none: a copy).
    fn norm_inputs<'a>(
        &'a self,
        x: &'a wgpu::Buffer,
        ln: Option<&'a wgpu::Buffer>,
        w_pos: &'a wgpu::Buffer,
    ) -> [&'a wgpu::Buffer; 6] {
        self.qkv_io().norm_inputs(x, ln, w_pos)
    }
}

/// The buffers one head's first half reads and writes (see [`QkvIo`]), owned: the
/// recomputation and the backward pass each hold a set.
pub(crate) struct QkvBuffers {
    /// The counts uniform.
    pub counts: wgpu::Buffer,
    /// (token, position) per row.
    pub rowinfo: wgpu::Buffer,
    /// Port inputs (q, k, v for heads; the first alone otherwise), `[rows, dp]`.
    pub ports: [wgpu::Buffer; 3],
    /// Normalised inputs (plus positions for shortformer q and k), `[rows, dp]`.
    pub xn: [wgpu::Buffer; 3],
    /// Where a norm writes the output nobody reads (each norm writes two).
    pub scratch: wgpu::Buffer,
    /// The one-head q|k|v, `[rows, 3ep]`.
    pub qkv: wgpu::Buffer,
    /// Any read-only buffer, for unused bindings.
    pub dummy_ro: wgpu::Buffer,
}

impl QkvBuffers {
    /// Buffers for `r` rows of a model `dp` wide whose one-head buffers are `ep` wide,
    /// labelled by `what` uses them.
    pub(crate) fn new(
        ctx: &GpuContext,
        what: &str,
        dp: usize,
        ep: usize,
        r: usize,
    ) -> Result<Self> {
        let rows =
            |label: &str, width: usize| storage(ctx, &format!("{what} {label}"), f(r * width));
        let three = |label: &str| -> Result<[wgpu::Buffer; 3]> {
            Ok([
                rows(&format!("{label} q"), dp)?,
                rows(&format!("{label} k"), dp)?,
                rows(&format!("{label} v"), dp)?,
            ])
        };
        Ok(QkvBuffers {
            counts: counts_uniform(ctx),
            rowinfo: rows("rowinfo", 2)?,
            ports: three("port")?,
            xn: three("normalized")?,
            scratch: rows("unused norm output", dp)?,
            qkv: rows("one head's qkv", 3 * ep)?,
            dummy_ro: storage(ctx, &format!("{what} unused input"), 16)?,
        })
    }

    /// Their borrowed view, as the q|k|v launches take it.
    pub(crate) fn qkv_io(&self) -> QkvIo<'_> {
        QkvIo {
            counts: &self.counts,
            rowinfo: &self.rowinfo,
            ports: [&self.ports[0], &self.ports[1], &self.ports[2]],
            xn: [&self.xn[0], &self.xn[1], &self.xn[2]],
            scratch: &self.scratch,
            qkv: &self.qkv,
            dummy_ro: &self.dummy_ro,
        }
    }
}

/// The buffers one head's first half (its norm, projections and rotation) reads and
/// writes, so the backward pass can recompute q, k and v into buffers of its own.
pub(crate) struct QkvIo<'a> {
    /// The counts uniform.
    pub counts: &'a wgpu::Buffer,
    /// (token, position) per row.
    pub rowinfo: &'a wgpu::Buffer,
    /// The q, k and v residual inputs, `[rows, dp]`.
    pub ports: [&'a wgpu::Buffer; 3],
    /// Their normalisations, `[rows, dp]`.
    pub xn: [&'a wgpu::Buffer; 3],
    /// A norm's unread output, `[rows, dp]`.
    pub scratch: &'a wgpu::Buffer,
    /// The one-head q|k|v, `[rows, 3ep]`.
    pub qkv: &'a wgpu::Buffer,
    /// Any read-only buffer, for unused bindings.
    pub dummy_ro: &'a wgpu::Buffer,
}

impl<'a> QkvIo<'a> {
    /// A norm's read-only bindings for input `x` with weights `ln` (none: a copy).
    pub(crate) fn norm_inputs(
        &self,
        x: &'a wgpu::Buffer,
        ln: Option<&'a wgpu::Buffer>,
        w_pos: &'a wgpu::Buffer,
    ) -> [&'a wgpu::Buffer; 6] {
        let ln = ln.unwrap_or(self.dummy_ro);
        [self.counts, x, ln, self.rowinfo, w_pos, self.dummy_ro]
    }
}

/// Launches of one recomputation and the logical and padded width of its output rows.
struct Plan {
    steps: Vec<Step>,
    width: usize,
    padded: usize,
}

impl Recompute {
    /// Uploads every head's own projections of `model` (validated by the executor built
    /// from it) and compiles the one-head kernels; `rows_hint` steers matmul tilings.
    pub(crate) fn new(ctx: Arc<GpuContext>, model: &Model, rows_hint: usize) -> Result<Self> {
        let dims = Dims::new(&model.config);
        let ep = pad4(dims.e);
        let one_head = Dims {
            h: 1,
            hp: ep,
            ..dims
        };
        let proj = |col: usize| {
            let spec = MatmulSpec {
                ldc: 3 * ep,
                c_offset: col * ep,
                bias: true,
                ..MatmulSpec::plain(dims.dp, ep)
            };
            Matmul::new(&ctx, spec, rows_hint).map(Arc::new)
        };
        Ok(Recompute {
            config: model.config.clone(),
            heads: HeadWeights::upload_all(&ctx, model)?,
            proj: [proj(0)?, proj(1)?, proj(2)?],
            attention: Arc::new(Attention::new(&ctx, &model.config, &one_head)?),
            rotary: match model.config.positional {
                scrub_core::PositionalKind::Rotary => {
                    let layout = RotaryLayout {
                        ld: 3 * ep,
                        q0: 0,
                        k0: ep,
                        heads: 1,
                    };
                    Some(Arc::new(Rotary::new(&ctx, &model.config, layout)?))
                }
                _ => None,
            },
            head_out: Arc::new(Matmul::new(
                &ctx,
                MatmulSpec::plain(ep, dims.dp),
                rows_hint,
            )?),
            dims,
            ep,
            ctx,
            buffers: Mutex::new(None),
        })
    }

    /// Drops the buffers (the next call allocates for its own size).
    pub(crate) fn reset(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> MutexGuard<'_, Option<Buffers>> {
        // A panic while holding the lock may have left buffers half-written: start over.
        self.buffers.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            *g = None;
            g
        })
    }

    /// d_head padded to a multiple of 4: the width of each of q, k, v in a one-head q|k|v.
    pub(crate) fn ep(&self) -> usize {
        self.ep
    }

    /// Pushes onto `steps` the launches writing head `head` of `layer`'s q|k|v into
    /// `io.qkv` from `io.ports` exactly as the forward computes them (q and k rotated on
    /// rotary models), and returns the head's weights.
    pub(crate) fn qkv_steps(
        &self,
        ex: &GpuExecutor,
        io: &QkvIo<'_>,
        layer: usize,
        head: usize,
        steps: &mut Vec<Step>,
    ) -> Result<&HeadWeights> {
        let ctx = &*self.ctx;
        let (k, w) = (ex.kernels(), ex.weights());
        let rows = CountField::Rows;
        let unsupported = || GpuError::Unsupported(format!("recomputing head {layer}.{head}"));
        let blk = w.blocks.get(layer).ok_or_else(unsupported)?;
        let hw = self
            .heads
            .get(layer)
            .and_then(|l| l.get(head))
            .ok_or_else(unsupported)?;
        // The forward's attention norm: LayerNorm (or a copy) that for shortformer models
        // also writes the input plus positions, which q and k read.
        let inputs: [&wgpu::Buffer; 3] = match &k.norm_attn {
            Some(norm) => {
                let shortformer = self.config.positional == scrub_core::PositionalKind::Shortformer;
                for p in 0..3 {
                    let (out, out_pos) = if shortformer && p < 2 {
                        (io.scratch, io.xn[p])
                    } else {
                        (io.xn[p], io.scratch)
                    };
                    let inputs = io.norm_inputs(io.ports[p], blk.ln1.as_ref(), &w.w_pos);
                    let bg = norm.bind(ctx, inputs, out, out_pos);
                    steps.push(Step::new(norm.clone(), bg, rows));
                }
                io.xn
            }
            None => io.ports,
        };
        let proj = [(&hw.w_q, &hw.b_q), (&hw.w_k, &hw.b_k), (&hw.w_v, &hw.b_v)];
        for ((mm, (pw, pb)), x) in self.proj.iter().zip(proj).zip(inputs) {
            let bg = mm.bind(ctx, io.counts, x, pw, pb, io.qkv);
            steps.push(Step::new(mm.clone(), bg, rows));
        }
        // Rotary models rotate q and k by their home positions, as the forward does.
        if let (Some(rot), Some(rope)) = (&self.rotary, &w.rope) {
            let bg = rot.bind(ctx, [io.counts, io.rowinfo, rope, io.qkv]);
            steps.push(Step::new(rot.clone(), bg, rows));
        }
        Ok(hw)
    }

    /// Most samples per chunk: the row cap `max_rows`, and what one binding may hold.
    fn max_samples(&self, max_rows: usize) -> Result<usize> {
        let (d, n) = (&self.dims, self.config.n_ctx);
        let widest = d.dp.max(3 * self.ep).max(d.mp.unwrap_or(0)).max(d.vp);
        let limit_rows = (self.ctx.max_binding_bytes().min(INDEX_LIMIT) / f(widest)) as usize;
        if limit_rows < n {
            return Err(GpuError::TooLarge {
                what: format!("recomputing a sequence of {n} tokens"),
                needed: f(n * widest),
                limit: f(limit_rows * widest),
            });
        }
        // The row cap is a tuning knob: below one sequence it still allows one.
        Ok((max_rows.min(limit_rows) / n).max(1))
    }

    /// `component` for every sample: `homes[s]` is sample s's home datum's tokens (n_ctx
    /// of them), `ports[p]` port p of every sample back to back, `[samples, n_ctx,
    /// d_model]` each (already checked by the caller). Returns `[samples, n_ctx, width]`.
    pub(crate) fn run(
        &self,
        ex: &GpuExecutor,
        component: Component,
        homes: &[&[TokenId]],
        ports: &[&[f32]],
    ) -> Result<Vec<f32>> {
        if homes.is_empty() {
            return Ok(Vec::new());
        }
        let max = self.max_samples(ex.max_rows_per_chunk())?;
        let mut guard = self.lock();
        let out = self.run_in(&mut guard, ex, component, homes, ports, max);
        if out.is_err() {
            // A failed submission may have left the readback buffer mapped.
            *guard = None;
        }
        out
    }

    fn run_in(
        &self,
        slot: &mut Option<Buffers>,
        ex: &GpuExecutor,
        component: Component,
        homes: &[&[TokenId]],
        ports: &[&[f32]],
        max: usize,
    ) -> Result<Vec<f32>> {
        let n = self.config.n_ctx;
        let want = homes.len().next_power_of_two().min(max);
        if slot.as_ref().is_none_or(|b| b.samples < want) {
            let grown = want.max(slot.as_ref().map_or(0, |b| b.samples)).min(max);
            // Free the old buffers before allocating the new ones.
            *slot = None;
            *slot = Some(Buffers::new(&self.ctx, &self.dims, self.ep, grown, n)?);
        }
        let Some(b) = slot.as_ref() else {
            return Err(GpuError::Shape("recompute buffers missing".into()));
        };
        let plan = self
            .ctx
            .checked("binding a recomputation", || self.plan(ex, b, component))??;
        let per_chunk = b.samples;
        let mut out = Vec::with_capacity(homes.len() * n * plan.width);
        for s0 in (0..homes.len()).step_by(per_chunk) {
            let s1 = (s0 + per_chunk).min(homes.len());
            let counts = self.upload(b, &homes[s0..s1], ports, s0..s1);
            let bytes = f(counts.rows * plan.padded);
            let sub = self.ctx.checked("recomputing a node", || {
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("recompute"),
                        });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("recompute"),
                        timestamp_writes: None,
                    });
                    for step in &plan.steps {
                        step.record(&self.ctx, &mut pass, counts);
                    }
                }
                enc.copy_buffer_to_buffer(&b.out, 0, &b.staging, 0, bytes);
                self.ctx.queue.submit([enc.finish()])
            })?;
            let what = "reading a recomputed node";
            self.ctx.with_mapped(&b.staging, bytes, sub, what, |raw| {
                let vals: &[f32] = bytemuck::try_cast_slice(raw).map_err(|e| {
                    GpuError::Shape(format!("readback buffer is not f32-aligned: {e}"))
                })?;
                for row in vals.chunks_exact(plan.padded) {
                    out.extend_from_slice(&row[..plan.width]);
                }
                Ok::<_, GpuError>(())
            })??;
        }
        Ok(out)
    }

    /// Writes samples `range` (home tokens `homes`): rows, sequence offsets, counts, ports.
    fn upload(
        &self,
        b: &Buffers,
        homes: &[&[TokenId]],
        ports: &[&[f32]],
        range: std::ops::Range<usize>,
    ) -> Counts {
        let q = &self.ctx.queue;
        let (n, d, dp) = (self.config.n_ctx, self.dims.d, self.dims.dp);
        let counts = Counts {
            rows: homes.len() * n,
            seqs: homes.len(),
            targets: 0,
        };
        let rowinfo: Vec<u32> = homes
            .iter()
            .flat_map(|t| t.iter().enumerate().flat_map(|(p, t)| [t.0, p as u32]))
            .collect();
        let offsets: Vec<u32> = (0..=homes.len()).map(|s| (s * n) as u32).collect();
        q.write_buffer(&b.rowinfo, 0, bytemuck::cast_slice(&rowinfo));
        q.write_buffer(&b.offsets, 0, bytemuck::cast_slice(&offsets));
        q.write_buffer(&b.counts, 0, bytemuck::cast_slice(&counts.uniform()));
        for (port, buf) in ports.iter().zip(&b.ports) {
            let mine = &port[range.start * n * d..range.end * n * d];
            if d == dp {
                q.write_buffer(buf, 0, bytemuck::cast_slice(mine));
            } else {
                let padded = crate::buffers::pad2(mine, counts.rows, d, counts.rows, dp);
                q.write_buffer(buf, 0, bytemuck::cast_slice(&padded));
            }
        }
        counts
    }

    /// The launches computing `component` from `b`'s ports into `b.out`.
    fn plan(&self, ex: &GpuExecutor, b: &Buffers, component: Component) -> Result<Plan> {
        let ctx = &*self.ctx;
        let (k, w) = (ex.kernels(), ex.weights());
        let rows = CountField::Rows;
        let unsupported = || GpuError::Unsupported(format!("recomputing {component:?}"));
        let norm_inputs = |x, ln| b.norm_inputs(x, ln, &w.w_pos);
        let mut steps = Vec::new();
        let (width, padded) = match component {
            Component::Head { layer, head } => {
                let hw = self.qkv_steps(ex, &b.qkv_io(), layer, head, &mut steps)?;
                let bg = self
                    .attention
                    .bind(ctx, [&b.counts, &b.offsets, &b.rowinfo, &b.qkv, &b.z]);
                steps.push(Step::new(self.attention.clone(), bg, CountField::Seqs));
                let bg = self
                    .head_out
                    .bind(ctx, &b.counts, &b.z, &hw.w_o, &b.dummy_ro, &b.out);
                steps.push(Step::new(self.head_out.clone(), bg, rows));
                (self.dims.d, self.dims.dp)
            }
            Component::Mlp { layer } => {
                let mlp = w
                    .blocks
                    .get(layer)
                    .and_then(|blk| blk.mlp.as_ref())
                    .ok_or_else(unsupported)?;
                let (Some(mm_in), Some(mm_out), Some(hidden)) = (
                    &k.mlp_in,
                    ex.hook_kernels().and_then(|h| h.mlp_out.as_ref()),
                    &b.hidden,
                ) else {
                    return Err(unsupported());
                };
                let x = match &k.norm_mlp {
                    Some(norm) => {
                        let inputs = norm_inputs(&b.ports[0], mlp.ln.as_ref());
                        let bg = norm.bind(ctx, inputs, &b.xn[0], &b.scratch);
                        steps.push(Step::new(norm.clone(), bg, rows));
                        &b.xn[0]
                    }
                    None => &b.ports[0],
                };
                if let (Some(gate), Some(w_gate)) = (&k.mlp_gate, &mlp.w_gate) {
                    let bg = gate.bind(ctx, &b.counts, x, w_gate, &b.dummy_ro, hidden);
                    steps.push(Step::new(gate.clone(), bg, rows));
                }
                let bg = mm_in.bind(ctx, &b.counts, x, &mlp.w_in, &mlp.b_in, hidden);
                steps.push(Step::new(mm_in.clone(), bg, rows));
                let bg = mm_out.bind(ctx, &b.counts, hidden, &mlp.w_out, &mlp.b_out, &b.out);
                steps.push(Step::new(mm_out.clone(), bg, rows));
                (self.dims.d, self.dims.dp)
            }
            Component::Output => {
                let x = match &k.norm_final_rows {
                    Some(norm) => {
                        let inputs = norm_inputs(&b.ports[0], w.ln_final.as_ref());
                        let bg = norm.bind(ctx, inputs, &b.xn[0], &b.scratch);
                        steps.push(Step::new(norm.clone(), bg, rows));
                        &b.xn[0]
                    }
                    None => &b.ports[0],
                };
                let mm = &k.unembed_rows;
                let bg = mm.bind(ctx, &b.counts, x, &w.w_u, &w.b_u, &b.out);
                steps.push(Step::new(mm.clone(), bg, rows));
                (self.dims.v, self.dims.vp)
            }
            Component::Embed
            | Component::PosEmbed
            | Component::AttnBias { .. }
            | Component::Pattern { .. } => return Err(unsupported()),
        };
        Ok(Plan {
            steps,
            width,
            padded,
        })
    }
}
