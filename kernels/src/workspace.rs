//! The activation buffers of one chunk and the recorded sequence of kernel launches over
//! them. Built once for a capacity and reused by every chunk of every call until a call
//! needs more room. Besides the readouts (loss per target, logits of every row), the
//! forward can write chosen intermediates ([`Hook`]s) to buffers that are read back: their
//! launches run right after the layer that produces them, before the next layer reuses the
//! activation buffers.

use crate::buffers::{counts_uniform, readback, storage};
use crate::chunks::Caps;
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::matmul::CountField;
use crate::pipeline::{HookKernels, ModelKernels, QkvKernels};
use crate::step::{Counts, Step};
use crate::weights::{GpuWeights, HookWeights, QkvWeights};

/// Bytes of `n` four-byte values.
fn f(n: usize) -> u64 {
    (n * 4) as u64
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

/// An intermediate of the forward that can be read back, in TransformerLens naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// `blocks.{layer}.attn.hook_result`: every head's `z_h W_O[h]` (no b_O),
    /// `[rows, n_heads, d_model]`.
    HeadResults {
        /// Block index.
        layer: usize,
    },
    /// `blocks.{layer}.hook_mlp_out`, `[rows, d_model]`.
    MlpOut {
        /// Block index.
        layer: usize,
    },
    /// `hook_logits`, `[rows, d_vocab_out]`.
    Logits,
}

impl Hook {
    /// Floats per row on the GPU (padded strides).
    pub fn padded_width(self, dims: &Dims) -> usize {
        match self {
            Hook::HeadResults { .. } => dims.h * dims.dp,
            Hook::MlpOut { .. } => dims.dp,
            Hook::Logits => dims.vp,
        }
    }

    /// Shape of one row as the CPU reference records it.
    pub fn row_shape(self, dims: &Dims) -> Vec<usize> {
        match self {
            Hook::HeadResults { .. } => vec![dims.h, dims.d],
            Hook::MlpOut { .. } => vec![dims.d],
            Hook::Logits => vec![dims.v],
        }
    }

    /// Logical floats per padded block of a row and the padded block length: a row is
    /// `padded_width / block` blocks of which the first `logical` floats are data.
    pub fn blocks(self, dims: &Dims) -> (usize, usize) {
        match self {
            Hook::HeadResults { .. } | Hook::MlpOut { .. } => (dims.d, dims.dp),
            Hook::Logits => (dims.v, dims.vp),
        }
    }
}

/// Buffers and launches that write [`Hook`]s out, built for one set of hooks.
struct HookOut {
    /// The hooks, sorted and without repeats.
    hooks: Vec<Hook>,
    /// Rows per chunk the buffers hold.
    rows: usize,
    /// Per hook its buffer; `None` for the logits, which live in [`LogitsOut`].
    buffers: Vec<Option<wgpu::Buffer>>,
    /// Launches to run after layer `l`'s steps.
    after_layer: Vec<Vec<Step>>,
    /// Host-readable copy of every hook of one chunk, back to back.
    staging: wgpu::Buffer,
}

/// What a chunk's launches end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readout {
    /// Loss and correctness per readout target.
    Outcomes,
    /// Logits of every row (after [`Workspace::ensure_logits`]).
    Logits,
    /// The hooks of the last [`Workspace::ensure_hooks`].
    Hooks,
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

    /// The embedding and every block, bound to these buffers, and for each layer the number
    /// of steps up to its end (where its z and MLP hidden activations are complete).
    fn body(
        &self,
        ctx: &GpuContext,
        k: &ModelKernels,
        w: &GpuWeights,
    ) -> Result<(Vec<Step>, Vec<usize>)> {
        let a = self;
        let rows = CountField::Rows;
        let mut steps = vec![Step::new(
            k.embed.clone(),
            k.embed
                .bind(ctx, [&a.counts, &a.rowinfo, &w.w_e, &w.w_pos, &a.resid]),
            rows,
        )];
        let mut layer_ends = Vec::with_capacity(w.blocks.len());
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
            if let (Some(rot), Some(rope)) = (&k.rotary, &w.rope) {
                let bg = rot.bind(ctx, [&a.counts, &a.rowinfo, rope, &a.qkv]);
                steps.push(Step::new(rot.clone(), bg, rows));
            }
            let bg = k
                .attention
                .bind(ctx, [&a.counts, &a.offsets, &a.rowinfo, &a.qkv, &a.z]);
            steps.push(Step::new(k.attention.clone(), bg, CountField::Seqs));
            // The MLP, reading the residual stream (or its norm) and adding its output to it.
            let mlp_steps = |steps: &mut Vec<Step>| {
                let (Some(mlp), Some(mm_in), Some(mm_out), Some(hidden)) =
                    (&blk.mlp, &k.mlp_in, &k.mlp_out, &a.hidden)
                else {
                    return;
                };
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
                if let (Some(gate), Some(w_gate)) = (&k.mlp_gate, &mlp.w_gate) {
                    let bg = gate.bind(ctx, &a.counts, y, w_gate, &a.dummy_ro, hidden);
                    steps.push(Step::new(gate.clone(), bg, rows));
                }
                let bg = mm_in.bind(ctx, &a.counts, y, &mlp.w_in, &mlp.b_in, hidden);
                steps.push(Step::new(mm_in.clone(), bg, rows));
                let bg = mm_out.bind(ctx, &a.counts, hidden, &mlp.w_out, &mlp.b_out, &a.resid);
                steps.push(Step::new(mm_out.clone(), bg, rows));
            };
            // A parallel block's MLP reads the stream its attention read: it runs before the
            // attention output joins the stream (the q/k/v products are done with xn and the
            // attention with qkv, so nothing it overwrites is still needed).
            if k.parallel_attn_mlp {
                mlp_steps(&mut steps);
            }
            let bg = k
                .w_o
                .bind(ctx, &a.counts, &a.z, &blk.w_o, &blk.b_o, &a.resid);
            steps.push(Step::new(k.w_o.clone(), bg, rows));
            if !k.parallel_attn_mlp {
                mlp_steps(&mut steps);
            }
            layer_ends.push(steps.len());
        }
        Ok((steps, layer_ends))
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
    layer_ends: Vec<usize>,
    outcome_tail: Vec<Step>,
    logits_out: Option<LogitsOut>,
    hook_out: Option<HookOut>,
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
        let (body, layer_ends) = acts.body(ctx, k, w)?;
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
            layer_ends,
            outcome_tail,
            logits_out: None,
            hook_out: None,
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

    /// Allocates buffers and launches writing out `hooks` (sorted, without repeats) for
    /// chunks of up to `rows` rows (at most the capacity, and at most
    /// `capacity.logits_rows` when the logits are among them), unless the current ones
    /// already serve exactly these hooks with at least that many rows.
    #[allow(clippy::too_many_arguments)]
    pub fn ensure_hooks(
        &mut self,
        ctx: &GpuContext,
        dims: &Dims,
        k: &ModelKernels,
        w: &GpuWeights,
        hk: &HookKernels,
        hw: &HookWeights,
        hooks: &[Hook],
        rows: usize,
    ) -> Result<()> {
        if self
            .hook_out
            .as_ref()
            .is_some_and(|h| h.hooks == hooks && h.rows >= rows)
        {
            return Ok(());
        }
        let max = if hooks.contains(&Hook::Logits) {
            self.capacity.logits_rows
        } else {
            self.capacity.caps.rows
        };
        if rows > max {
            return Err(GpuError::Shape(format!(
                "hook buffers for {rows} rows exceed the workspace's {max}"
            )));
        }
        if hooks.contains(&Hook::Logits) {
            self.ensure_logits(ctx, dims, k, w)?;
        }
        self.hook_out = None;
        let a = &self.acts;
        let mut buffers = Vec::with_capacity(hooks.len());
        let mut after_layer: Vec<Vec<Step>> = (0..w.blocks.len()).map(|_| Vec::new()).collect();
        let missing = |what: String| GpuError::Unsupported(what);
        for &hook in hooks {
            let bytes = f(rows * hook.padded_width(dims));
            let buf = match hook {
                Hook::HeadResults { layer } => {
                    let w_o = hw
                        .w_o_heads
                        .get(layer)
                        .ok_or_else(|| missing(format!("hook_result of layer {layer}")))?;
                    let buf = storage(ctx, &format!("blocks.{layer}.attn.hook_result"), bytes)?;
                    let mm = &hk.head_results;
                    let bg = mm.bind(ctx, &a.counts, &a.z, w_o, &a.dummy_ro, &buf);
                    after_layer[layer].push(Step::new(mm.clone(), bg, CountField::Rows));
                    Some(buf)
                }
                Hook::MlpOut { layer } => {
                    let (Some(mlp), Some(mm), Some(hidden)) = (
                        w.blocks.get(layer).and_then(|b| b.mlp.as_ref()),
                        &hk.mlp_out,
                        &a.hidden,
                    ) else {
                        return Err(missing(format!("hook_mlp_out of layer {layer}")));
                    };
                    let buf = storage(ctx, &format!("blocks.{layer}.hook_mlp_out"), bytes)?;
                    let bg = mm.bind(ctx, &a.counts, hidden, &mlp.w_out, &mlp.b_out, &buf);
                    after_layer[layer].push(Step::new(mm.clone(), bg, CountField::Rows));
                    Some(buf)
                }
                Hook::Logits => None,
            };
            buffers.push(buf);
        }
        let per_row: usize = hooks.iter().map(|h| h.padded_width(dims)).sum();
        let staging = readback(ctx, "hooks readback", f(rows * per_row))?;
        self.hook_out = Some(HookOut {
            hooks: hooks.to_vec(),
            rows,
            buffers,
            after_layer,
            staging,
        });
        Ok(())
    }

    /// The buffer each hook of the last [`Workspace::ensure_hooks`] is written to, in the
    /// order they were given, and the staging buffer to copy them into.
    pub fn hook_buffers(&self) -> Option<(Vec<&wgpu::Buffer>, &wgpu::Buffer)> {
        let h = self.hook_out.as_ref()?;
        let bufs = h
            .buffers
            .iter()
            .map(|b| match b {
                Some(b) => Some(b),
                None => self.logits_out.as_ref().map(|l| &l.logits),
            })
            .collect::<Option<Vec<_>>>()?;
        Some((bufs, &h.staging))
    }

    /// Records the forward and the readout tail for a chunk of `counts`.
    pub fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        counts: Counts,
        readout: Readout,
    ) {
        let hooks = match (readout, &self.hook_out) {
            (Readout::Hooks, Some(h)) => Some(h),
            _ => None,
        };
        let logits_tail = || self.logits_out.as_ref().map_or(&[][..], |l| &l.tail[..]);
        let tail: &[Step] = match readout {
            Readout::Outcomes => &self.outcome_tail,
            Readout::Logits => logits_tail(),
            Readout::Hooks if hooks.is_some_and(|h| h.hooks.contains(&Hook::Logits)) => {
                logits_tail()
            }
            Readout::Hooks => &[],
        };
        let mut layer = 0;
        for (i, step) in self.body.iter().enumerate() {
            while layer < self.layer_ends.len() && self.layer_ends[layer] == i {
                if let Some(h) = hooks {
                    h.after_layer[layer]
                        .iter()
                        .for_each(|s| s.record(ctx, pass, counts));
                }
                layer += 1;
            }
            step.record(ctx, pass, counts);
        }
        if let Some(h) = hooks {
            for steps in &h.after_layer[layer..] {
                steps.iter().for_each(|s| s.record(ctx, pass, counts));
            }
        }
        for step in tail {
            step.record(ctx, pass, counts);
        }
    }
}
