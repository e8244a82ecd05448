//! The GPU implementation of `scrub_core::Executor`: weights uploaded once, batches cut into
//! chunks that fit the adapter's limits, each chunk's kernels recorded into one submission,
//! and only the numbers the caller asked for read back: losses per target, logits, or (for
//! an executor built [`GpuExecutor::with_hooks`]) chosen intermediates of the same forward.

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use scrub_core::metrics::TargetOutcome;
use scrub_core::{Executor, Model, ModelConfig, SeqTarget, Tensor, TokenBatch};

use crate::buffers::readback;
use crate::chunks::{self, Caps, Chunk};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::pipeline::{HookKernels, ModelKernels};
use crate::step::Counts;
use crate::weights::{validate_model, GpuWeights, HookWeights};
use crate::workspace::{Capacity, Hook, Readout, Workspace};

/// Readout buffers (per-target logits, all-rows logits) stay under this many bytes, so a
/// large vocabulary does not multiply memory by the chunk's row count.
const READOUT_BUDGET: u64 = 256 << 20;

/// Flat float indices inside kernels are u32; keeping each buffer under 2 GiB keeps them
/// far from overflow whatever the adapter allows.
const INDEX_LIMIT: u64 = 1 << 31;

/// Results read back in one go; more targets than this are read back in rounds.
const STAGING_TARGETS: usize = 1 << 22;

mod hooks;

pub use hooks::HookChunk;

/// Runs a model's forward pass on a wgpu device.
pub struct GpuExecutor {
    ctx: Arc<GpuContext>,
    config: ModelConfig,
    dims: Dims,
    weights: GpuWeights,
    kernels: ModelKernels,
    hooks: Option<(HookKernels, HookWeights)>,
    max_rows: usize,
    state: Mutex<State>,
}

/// What calls reuse: the workspace and the readback buffer for per-target results.
#[derive(Default)]
struct State {
    workspace: Option<Workspace>,
    staging: Option<(wgpu::Buffer, usize)>,
}

impl std::fmt::Debug for GpuExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuExecutor")
            .field("adapter", &self.ctx.adapter_name())
            .field("max_rows", &self.max_rows)
            .finish()
    }
}

/// Default cap on rows per chunk. On an H200 the paren forward runs at ~3.1M sequences/s
/// from 2^17 rows per chunk up, while the first call pays for allocating the workspace:
/// 41 ms for 100,000 sequences at 2^18 rows against 76 ms at 2^20. A software adapter gains
/// nothing from big chunks and keeps its memory use modest at 2^16.
fn default_max_rows(ctx: &GpuContext) -> usize {
    if ctx.is_software() {
        1 << 16
    } else {
        1 << 18
    }
}

impl GpuExecutor {
    /// Uploads `model`'s weights to `ctx`'s device and compiles its kernels.
    pub fn new(ctx: Arc<GpuContext>, model: &Model) -> Result<Self> {
        validate_model(model)?;
        let dims = Dims::new(&model.config);
        let max_rows = default_max_rows(&ctx);
        let weights = GpuWeights::upload(&ctx, model)?;
        let kernels = ModelKernels::new(&ctx, &model.config, &dims, max_rows)?;
        tracing::debug!(adapter = ctx.adapter_name(), max_rows, "GPU executor ready");
        Ok(GpuExecutor {
            ctx,
            config: model.config.clone(),
            dims,
            weights,
            kernels,
            hooks: None,
            max_rows,
            state: Mutex::new(State::default()),
        })
    }

    /// [`GpuExecutor::new`] that can also read intermediates back ([`GpuExecutor::hooks`]);
    /// this uploads a per-head copy of each W_O and compiles two more kernels.
    pub fn with_hooks(ctx: Arc<GpuContext>, model: &Model) -> Result<Self> {
        let mut ex = Self::new(ctx, model)?;
        let kernels = HookKernels::new(&ex.ctx, &ex.dims, ex.max_rows)?;
        let weights = HookWeights::upload(&ex.ctx, model)?;
        ex.hooks = Some((kernels, weights));
        Ok(ex)
    }

    /// The uploaded weights.
    pub(crate) fn weights(&self) -> &GpuWeights {
        &self.weights
    }

    /// The forward's kernels.
    pub(crate) fn kernels(&self) -> &ModelKernels {
        &self.kernels
    }

    /// The hook kernels, when built [`GpuExecutor::with_hooks`].
    pub(crate) fn hook_kernels(&self) -> Option<&HookKernels> {
        self.hooks.as_ref().map(|h| &h.0)
    }

    /// Caps the rows of one chunk (tests use this to put chunk boundaries inside small
    /// batches). The adapter's limits may cap it further.
    pub fn set_max_rows_per_chunk(&mut self, rows: usize) {
        self.max_rows = rows.max(1);
        *self.lock() = State::default();
    }

    /// The configured cap on rows per chunk.
    pub fn max_rows_per_chunk(&self) -> usize {
        self.max_rows
    }

    /// The device this executor runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock may have left buffers half-built: start over.
        self.state.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            *g = State::default();
            g
        })
    }

    /// Runs `f` on the reusable state; after a failure the state is dropped, since a
    /// readback buffer may have been left mapped or a workspace half-written.
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.lock();
        let out = f(&mut state);
        if out.is_err() {
            *state = State::default();
        }
        out
    }

    /// The largest chunk capacity the adapter's limits and the row cap allow.
    fn max_capacity(&self) -> Capacity {
        let d = &self.dims;
        let limit = self.ctx.max_binding_bytes().min(INDEX_LIMIT);
        let widest = 4 * d.dp.max(d.qkv()).max(d.mp.unwrap_or(0)) as u64;
        let rows = ((limit / widest) as usize).min(self.max_rows).max(1);
        let readout_row = 4 * (d.dp + d.vp) as u64;
        let targets = ((limit / (4 * d.dp.max(d.vp) as u64)).min(READOUT_BUDGET / readout_row)
            as usize)
            .min(rows)
            .max(1);
        let logits_rows = ((limit / (4 * d.vp as u64)).min(READOUT_BUDGET / (4 * d.vp as u64))
            as usize)
            .min(rows)
            .max(1);
        Capacity {
            caps: Caps {
                rows,
                seqs: rows,
                targets,
            },
            logits_rows,
        }
    }

    /// A workspace with room for `batch` (and `n_targets` readouts), reusing the current
    /// one when it is large enough.
    fn workspace<'s>(
        &self,
        slot: &'s mut Option<Workspace>,
        batch: &TokenBatch,
        n_targets: usize,
    ) -> Result<&'s mut Workspace> {
        let max = self.max_capacity();
        let longest = batch.max_len();
        if longest > max.caps.rows {
            return Err(GpuError::TooLarge {
                what: format!("a sequence of {longest} tokens"),
                needed: (longest * 4 * self.dims.qkv()) as u64,
                limit: (max.caps.rows * 4 * self.dims.qkv()) as u64,
            });
        }
        // Round up so slowly growing batches do not reallocate on every call.
        let want = |n: usize, cap: usize| n.max(1).next_power_of_two().min(cap);
        let need = Caps {
            rows: want(batch.n_rows(), max.caps.rows),
            seqs: want(batch.n_seqs(), max.caps.seqs),
            targets: want(n_targets, max.caps.targets),
        };
        let fits = slot.as_ref().is_some_and(|ws| {
            let c = ws.capacity.caps;
            c.rows >= need.rows && c.seqs >= need.seqs && c.targets >= need.targets
        });
        if !fits {
            let old = slot.as_ref().map(|ws| ws.capacity.caps);
            let caps = Caps {
                rows: need.rows.max(old.map_or(0, |c| c.rows)),
                seqs: need.seqs.max(old.map_or(0, |c| c.seqs)),
                targets: need.targets.max(old.map_or(0, |c| c.targets)),
            };
            let capacity = Capacity {
                caps,
                logits_rows: max.logits_rows.min(caps.rows),
            };
            // Free the old buffers before allocating the new ones.
            *slot = None;
            tracing::debug!(?capacity, "allocating GPU workspace");
            *slot = Some(Workspace::new(
                &self.ctx,
                &self.dims,
                &self.kernels,
                &self.weights,
                capacity,
            )?);
        }
        slot.as_mut()
            .ok_or_else(|| GpuError::Shape("workspace missing after allocation".into()))
    }

    /// Writes a chunk's token rows, sequence offsets and (for readouts) target rows and
    /// labels, returning its counts.
    fn upload(
        &self,
        ws: &Workspace,
        batch: &TokenBatch,
        chunk: &Chunk,
        readout: Option<(&[SeqTarget], &[usize])>,
    ) -> Counts {
        let q = &self.ctx.queue;
        let off = batch.offsets();
        let r0 = chunk.rows.start;
        let mut rowinfo = Vec::with_capacity(2 * chunk.rows.len());
        for s in chunk.seqs.clone() {
            for (p, t) in batch.seq(s).iter().enumerate() {
                rowinfo.extend([t.0, p as u32]);
            }
        }
        let offsets: Vec<u32> = (chunk.seqs.start..=chunk.seqs.end)
            .map(|s| (off[s] - r0) as u32)
            .collect();
        let mut counts = Counts {
            rows: chunk.rows.len(),
            seqs: chunk.seqs.len(),
            targets: 0,
        };
        q.write_buffer(ws.rowinfo(), 0, bytemuck::cast_slice(&rowinfo));
        q.write_buffer(ws.offsets(), 0, bytemuck::cast_slice(&offsets));
        if let Some((targets, order)) = readout {
            let picked = &order[chunk.targets.clone()];
            let rows: Vec<u32> = picked
                .iter()
                .map(|&i| (targets[i].row(batch) - r0) as u32)
                .collect();
            let labels: Vec<u32> = picked.iter().map(|&i| targets[i].label).collect();
            if !rows.is_empty() {
                q.write_buffer(&ws.gather, 0, bytemuck::cast_slice(&rows));
                q.write_buffer(&ws.labels, 0, bytemuck::cast_slice(&labels));
            }
            counts.targets = picked.len();
        }
        q.write_buffer(ws.counts(), 0, bytemuck::cast_slice(&counts.uniform()));
        counts
    }

    /// Records and submits one chunk, then `copy` (which adds its readback copies).
    fn submit(
        &self,
        ws: &Workspace,
        counts: Counts,
        readout: Readout,
        copy: impl FnOnce(&mut wgpu::CommandEncoder),
    ) -> Result<wgpu::SubmissionIndex> {
        let ctx = &self.ctx;
        ctx.checked("running a forward chunk", || {
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("forward"),
                });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("forward"),
                    timestamp_writes: None,
                });
                ws.record(ctx, &mut pass, counts, readout);
            }
            copy(&mut enc);
            ctx.queue.submit([enc.finish()])
        })
    }

    fn run_outcomes(
        &self,
        batch: &TokenBatch,
        targets: &[SeqTarget],
    ) -> Result<Vec<TargetOutcome>> {
        batch.validate(&self.config)?;
        SeqTarget::validate(targets, batch, self.config.d_vocab_out)?;
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        self.with_state(|state| self.outcomes_in(state, batch, targets))
    }

    fn outcomes_in(
        &self,
        state: &mut State,
        batch: &TokenBatch,
        targets: &[SeqTarget],
    ) -> Result<Vec<TargetOutcome>> {
        let ws = self.workspace(&mut state.workspace, batch, targets.len())?;
        let target_seqs: Vec<usize> = targets.iter().map(|t| t.seq).collect();
        let (plan, order) = chunks::plan(batch.offsets(), &target_seqs, ws.capacity.caps);

        let staging_targets = targets.len().min(STAGING_TARGETS);
        if state
            .staging
            .as_ref()
            .is_none_or(|(_, cap)| *cap < staging_targets)
        {
            state.staging = None;
            let buf = readback(&self.ctx, "results readback", (staging_targets * 8) as u64)?;
            state.staging = Some((buf, staging_targets));
        }
        let Some((staging, staging_cap)) = state.staging.as_ref() else {
            return Err(GpuError::Shape("results readback buffer missing".into()));
        };
        let mut out = vec![
            TargetOutcome {
                loss: f32::NAN,
                correct: false,
            };
            targets.len()
        ];
        let mut pending: Vec<(Chunk, usize)> = Vec::new();
        let mut used = 0usize;
        let mut last = None;
        for chunk in plan {
            let nt = chunk.targets.len();
            if nt == 0 {
                continue;
            }
            if used + nt > *staging_cap {
                if let Some(sub) = last.take() {
                    self.drain(staging, used, sub, &pending, &order, &mut out)?;
                }
                pending.clear();
                used = 0;
            }
            let counts = self.upload(ws, batch, &chunk, Some((targets, &order)));
            let at = (used * 8) as u64;
            let sub = self.submit(ws, counts, Readout::Outcomes, |enc| {
                enc.copy_buffer_to_buffer(&ws.results, 0, staging, at, (nt * 8) as u64);
            })?;
            last = Some(sub);
            pending.push((chunk, used));
            used += nt;
        }
        if let Some(sub) = last {
            self.drain(staging, used, sub, &pending, &order, &mut out)?;
        }
        Ok(out)
    }

    /// Reads `used` results from `staging` once `submission` is done and files them under
    /// their original target indices.
    fn drain(
        &self,
        staging: &wgpu::Buffer,
        used: usize,
        submission: wgpu::SubmissionIndex,
        pending: &[(Chunk, usize)],
        order: &[usize],
        out: &mut [TargetOutcome],
    ) -> Result<()> {
        let raw = self.ctx.read_mapped(
            staging,
            (used * 8) as u64,
            submission,
            "reading per-target losses",
        )?;
        let vals: &[f32] = bytemuck::cast_slice(&raw);
        for (chunk, at) in pending {
            for (k, &ti) in order[chunk.targets.clone()].iter().enumerate() {
                let i = 2 * (at + k);
                out[ti] = TargetOutcome {
                    loss: vals[i],
                    correct: vals[i + 1] > 0.5,
                };
            }
        }
        Ok(())
    }

    fn run_logits(&self, batch: &TokenBatch) -> Result<Tensor> {
        batch.validate(&self.config)?;
        if batch.n_rows() == 0 {
            return Ok(Tensor::new(vec![0, self.dims.v], Vec::new()));
        }
        self.with_state(|state| self.logits_in(state, batch))
    }

    fn logits_in(&self, state: &mut State, batch: &TokenBatch) -> Result<Tensor> {
        let (v, vp) = (self.dims.v, self.dims.vp);
        let mut data = vec![0.0f32; batch.n_rows() * v];
        let ws = self.workspace(&mut state.workspace, batch, 0)?;
        ws.ensure_logits(&self.ctx, &self.dims, &self.kernels, &self.weights)?;
        let rows_cap = ws.capacity.logits_rows;
        if batch.max_len() > rows_cap {
            return Err(GpuError::TooLarge {
                what: format!("the logits of a sequence of {} tokens", batch.max_len()),
                needed: (batch.max_len() * vp * 4) as u64,
                limit: (rows_cap * vp * 4) as u64,
            });
        }
        let caps = Caps {
            rows: rows_cap,
            seqs: rows_cap,
            targets: 0,
        };
        let (plan, _) = chunks::plan(batch.offsets(), &[], caps);
        let Some((logits, staging)) = ws.logits_buffers() else {
            return Err(GpuError::Shape("logits buffers missing".into()));
        };
        for chunk in plan {
            let counts = self.upload(ws, batch, &chunk, None);
            let bytes = (counts.rows * vp * 4) as u64;
            let sub = self.submit(ws, counts, Readout::Logits, |enc| {
                enc.copy_buffer_to_buffer(logits, 0, staging, 0, bytes);
            })?;
            let raw = self
                .ctx
                .read_mapped(staging, bytes, sub, "reading logits")?;
            let padded: &[f32] = bytemuck::cast_slice(&raw);
            let dst = &mut data[chunk.rows.start * v..chunk.rows.end * v];
            for (o, p) in dst.chunks_exact_mut(v).zip(padded.chunks_exact(vp)) {
                o.copy_from_slice(&p[..v]);
            }
        }
        Ok(Tensor::new(vec![batch.n_rows(), v], data))
    }
}

impl Executor for GpuExecutor {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn adapter(&self) -> Option<String> {
        Some(self.ctx.adapter_name().to_string())
    }

    fn logits(&self, batch: &TokenBatch) -> scrub_core::Result<Tensor> {
        Ok(self.run_logits(batch)?)
    }

    fn outcomes(
        &self,
        batch: &TokenBatch,
        targets: &[SeqTarget],
    ) -> scrub_core::Result<Vec<TargetOutcome>> {
        Ok(self.run_outcomes(batch, targets)?)
    }

    fn preferred_batch(&self) -> usize {
        if self.ctx.is_real_gpu() {
            1 << 16
        } else {
            4096
        }
    }
}
