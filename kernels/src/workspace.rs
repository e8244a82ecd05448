//! The activation buffers of one chunk and the recorded sequence of kernel launches over
//! them. Built once for a capacity and reused by every chunk of every call until a call
//! needs more room.

use std::sync::Arc;

use crate::buffers::{counts_uniform, readback, storage};
use crate::chunks::Caps;
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::matmul::CountField;
use crate::pipeline::{Dispatch, ModelKernels, QkvKernels};
use crate::weights::{GpuWeights, QkvWeights};

/// Bytes of `n` four-byte values.
fn f(n: usize) -> u64 {
    (n * 4) as u64
}

/// One kernel launch: what to run, on which buffers, over which count.
pub struct Step {
    kernel: Arc<dyn Dispatch>,
    bind_group: wgpu::BindGroup,
    count: CountField,
}

impl Step {
    fn new(kernel: Arc<dyn Dispatch>, bind_group: wgpu::BindGroup, count: CountField) -> Self {
        Step {
            kernel,
            bind_group,
            count,
        }
    }
}

/// Row, sequence and target counts of the chunk being run.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Token rows.
    pub rows: usize,
    /// Sequences.
    pub seqs: usize,
    /// Readout targets.
    pub targets: usize,
}

impl Counts {
    fn get(&self, f: CountField) -> usize {
        match f {
            CountField::Rows => self.rows,
            CountField::Seqs => self.seqs,
            CountField::Targets => self.targets,
        }
    }

    /// The `counts` uniform's contents.
    pub fn uniform(&self) -> [u32; 4] {
        [self.rows as u32, self.seqs as u32, self.targets as u32, 0]
    }
}

/// Most rows, sequences and targets per chunk, and rows per chunk when all logits are
/// read back (a smaller number for large vocabularies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Chunk caps for the forward and readouts.
    pub caps: Caps,
    /// Row cap for chunks whose logits are all read back.
    pub logits_rows: usize,
}

/// Logits of every row, kept only once a caller asks for them.
struct LogitsOut {
    logits: wgpu::Buffer,
    staging: wgpu::Buffer,
    tail: Vec<Step>,
}

/// Per-row activations of a chunk, and stand-ins for unused bindings.
struct Activations {
    counts: wgpu::Buffer,
    rowinfo: wgpu::Buffer,
    offsets: wgpu::Buffer,
    resid: wgpu::Buffer,
    xn: wgpu::Buffer,
    xpos: Option<wgpu::Buffer>,
    qkv: wgpu::Buffer,
    z: wgpu::Buffer,
    hidden: Option<wgpu::Buffer>,
    // Read-only and writable stand-ins are distinct buffers because one buffer may not be
    // both in a single dispatch.
    dummy_ro: wgpu::Buffer,
    dummy_rw: wgpu::Buffer,
}

impl Activations {
    fn new(ctx: &GpuContext, dims: &Dims, k: &ModelKernels, caps: Caps) -> Result<Self> {
        let r = caps.rows;
        let split = matches!(k.qkv, QkvKernels::Split { .. });
        Ok(Activations {
            counts: counts_uniform(ctx),
            rowinfo: storage(ctx, "rowinfo", f(2 * r))?,
            offsets: storage(ctx, "offsets", f(caps.seqs + 1))?,
            resid: storage(ctx, "resid", f(r * dims.dp))?,
            xn: storage(ctx, "normalized", f(r * dims.dp))?,
            xpos: split
                .then(|| storage(ctx, "normalized + positions", f(r * dims.dp)))
                .transpose()?,
            qkv: storage(ctx, "qkv", f(r * dims.qkv()))?,
            z: storage(ctx, "z", f(r * dims.hp))?,
            hidden: dims
                .mp
                .map(|mp| storage(ctx, "mlp hidden", f(r * mp)))
                .transpose()?,
            dummy_ro: storage(ctx, "unused input", 16)?,
            dummy_rw: storage(ctx, "unused output", 16)?,
        })
    }

    /// The embedding and every block, bound to these buffers.
    fn body(&self, ctx: &GpuContext, k: &ModelKernels, w: &GpuWeights) -> Result<Vec<Step>> {
        let a = self;
        let rows = CountField::Rows;
        let mut steps = vec![Step::new(
            k.embed.clone(),
            k.embed
                .bind(ctx, [&a.counts, &a.rowinfo, &w.w_e, &w.w_pos, &a.resid]),
            rows,
        )];
        for blk in &w.blocks {
            // What the q/k/v products read: the norm's outputs, or the residual stream itself.
            let (x_in, xp_in) = match &k.norm_attn {
                Some(norm) => {
                    let ln = blk.ln1.as_ref().unwrap_or(&a.dummy_ro);
                    let out_pos = a.xpos.as_ref().unwrap_or(&a.dummy_rw);
                    let inputs = [&a.counts, &a.resid, ln, &a.rowinfo, &w.w_pos, &a.dummy_ro];
                    let bg = norm.bind(ctx, inputs, &a.xn, out_pos);
                    steps.push(Step::new(norm.clone(), bg, rows));
                    (&a.xn, a.xpos.as_ref().unwrap_or(&a.xn))
                }
                None => (&a.resid, &a.resid),
            };
            match (&k.qkv, &blk.qkv) {
                (QkvKernels::Fused(mm), QkvWeights::Fused { w: wq, b }) => {
                    let bg = mm.bind(ctx, &a.counts, x_in, wq, b, &a.qkv);
                    steps.push(Step::new(mm.clone(), bg, rows));
                }
                (
                    QkvKernels::Split { qk, v },
                    QkvWeights::Split {
                        w_qk,
                        b_qk,
                        w_v,
                        b_v,
                    },
                ) => {
                    let bg = qk.bind(ctx, &a.counts, xp_in, w_qk, b_qk, &a.qkv);
                    steps.push(Step::new(qk.clone(), bg, rows));
                    let bg = v.bind(ctx, &a.counts, x_in, w_v, b_v, &a.qkv);
                    steps.push(Step::new(v.clone(), bg, rows));
                }
                _ => {
                    return Err(GpuError::Shape(
                        "q/k/v weights and kernels were built for different positional kinds"
                            .into(),
                    ))
                }
            }
            let bg = k
                .attention
                .bind(ctx, [&a.counts, &a.offsets, &a.rowinfo, &a.qkv, &a.z]);
            steps.push(Step::new(k.attention.clone(), bg, CountField::Seqs));
            let bg = k
                .w_o
                .bind(ctx, &a.counts, &a.z, &blk.w_o, &blk.b_o, &a.resid);
            steps.push(Step::new(k.w_o.clone(), bg, rows));
            if let (Some(mlp), Some(mm_in), Some(mm_out), Some(hidden)) =
                (&blk.mlp, &k.mlp_in, &k.mlp_out, &a.hidden)
            {
                let y = match &k.norm_mlp {
                    Some(norm) => {
                        let ln = mlp.ln.as_ref().unwrap_or(&a.dummy_ro);
                        let inputs = [&a.counts, &a.resid, ln, &a.rowinfo, &w.w_pos, &a.dummy_ro];
                        let bg = norm.bind(ctx, inputs, &a.xn, &a.dummy_rw);
                        steps.push(Step::new(norm.clone(), bg, rows));
                        &a.xn
                    }
                    None => &a.resid,
                };
                let bg = mm_in.bind(ctx, &a.counts, y, &mlp.w_in, &mlp.b_in, hidden);
                steps.push(Step::new(mm_in.clone(), bg, rows));
                let bg = mm_out.bind(ctx, &a.counts, hidden, &mlp.w_out, &mlp.b_out, &a.resid);
                steps.push(Step::new(mm_out.clone(), bg, rows));
            }
        }
        Ok(steps)
    }
}

/// Buffers for up to `capacity` and the launches of both readout modes.
pub struct Workspace {
    /// Capacity.
    pub capacity: Capacity,
    /// Chunk-relative row of each readout target.
    pub gather: wgpu::Buffer,
    /// Label of each readout target.
    pub labels: wgpu::Buffer,
    /// `(loss, correct)` per readout target.
    pub results: wgpu::Buffer,
    acts: Activations,
    body: Vec<Step>,
    outcome_tail: Vec<Step>,
    logits_out: Option<LogitsOut>,
}

impl Workspace {
    /// Allocates buffers for `capacity` and binds every step of the forward to them.
    pub fn new(
        ctx: &GpuContext,
        dims: &Dims,
        k: &ModelKernels,
        w: &GpuWeights,
        capacity: Capacity,
    ) -> Result<Self> {
        let t = capacity.caps.targets;
        let acts = Activations::new(ctx, dims, k, capacity.caps)?;
        let body = acts.body(ctx, k, w)?;
        let gather = storage(ctx, "target rows", f(t))?;
        let labels = storage(ctx, "labels", f(t))?;
        let results = storage(ctx, "results", f(2 * t))?;
        let fin_t = storage(ctx, "final rows", f(t * dims.dp))?;
        let logits_t = storage(ctx, "readout logits", f(t * dims.vp))?;
        let a = &acts;
        let ln_final = w.ln_final.as_ref().unwrap_or(&a.dummy_ro);
        let targets = CountField::Targets;
        let nf = &k.norm_final_targets;
        let inputs = [&a.counts, &a.resid, ln_final, &a.rowinfo, &w.w_pos, &gather];
        let outcome_tail = vec![
            Step::new(
                nf.clone(),
                nf.bind(ctx, inputs, &fin_t, &a.dummy_rw),
                targets,
            ),
            Step::new(
                k.unembed_targets.clone(),
                k.unembed_targets
                    .bind(ctx, &a.counts, &fin_t, &w.w_u, &w.b_u, &logits_t),
                targets,
            ),
            Step::new(
                k.loss.clone(),
                k.loss.bind(ctx, [&a.counts, &logits_t, &labels, &results]),
                targets,
            ),
        ];
        Ok(Workspace {
            capacity,
            gather,
            labels,
            results,
            acts,
            body,
            outcome_tail,
            logits_out: None,
        })
    }

    /// The `counts` uniform.
    pub fn counts(&self) -> &wgpu::Buffer {
        &self.acts.counts
    }

    /// `(token, position)` per row.
    pub fn rowinfo(&self) -> &wgpu::Buffer {
        &self.acts.rowinfo
    }

    /// Chunk-relative first row of each sequence, then the row count.
    pub fn offsets(&self) -> &wgpu::Buffer {
        &self.acts.offsets
    }

    /// Allocates the all-rows logits buffers and their launches, once.
    pub fn ensure_logits(
        &mut self,
        ctx: &GpuContext,
        dims: &Dims,
        k: &ModelKernels,
        w: &GpuWeights,
    ) -> Result<()> {
        if self.logits_out.is_some() {
            return Ok(());
        }
        let bytes = f(self.capacity.logits_rows * dims.vp);
        let logits = storage(ctx, "logits", bytes)?;
        let staging = readback(ctx, "logits readback", bytes)?;
        let mut tail = Vec::new();
        let fin = match &k.norm_final_rows {
            Some(norm) => {
                let a = &self.acts;
                let ln_final = w.ln_final.as_ref().unwrap_or(&a.dummy_ro);
                let inputs = [
                    &a.counts,
                    &a.resid,
                    ln_final,
                    &a.rowinfo,
                    &w.w_pos,
                    &a.dummy_ro,
                ];
                let bg = norm.bind(ctx, inputs, &a.xn, &a.dummy_rw);
                tail.push(Step::new(norm.clone(), bg, CountField::Rows));
                &a.xn
            }
            None => &self.acts.resid,
        };
        tail.push(Step::new(
            k.unembed_rows.clone(),
            k.unembed_rows
                .bind(ctx, &self.acts.counts, fin, &w.w_u, &w.b_u, &logits),
            CountField::Rows,
        ));
        self.logits_out = Some(LogitsOut {
            logits,
            staging,
            tail,
        });
        Ok(())
    }

    /// The all-rows logits buffer and its readback twin, once [`Workspace::ensure_logits`]
    /// has run.
    pub fn logits_buffers(&self) -> Option<(&wgpu::Buffer, &wgpu::Buffer)> {
        self.logits_out.as_ref().map(|l| (&l.logits, &l.staging))
    }

    /// Records the forward and the readout tail (`outcomes`: loss per target; otherwise
    /// logits of every row) for a chunk of `counts`.
    pub fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        counts: Counts,
        outcomes: bool,
    ) {
        let tail: &[Step] = match (&self.logits_out, outcomes) {
            (_, true) => &self.outcome_tail,
            (Some(l), false) => &l.tail,
            (None, false) => &[],
        };
        for step in self.body.iter().chain(tail) {
            let n = counts.get(step.count);
            if n > 0 {
                step.kernel.record(ctx, pass, &step.bind_group, n);
            }
        }
    }
}
