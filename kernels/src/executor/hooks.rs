//! Reading chosen intermediates (per-head results, MLP outputs, logits) out of the same
//! forward pass the executor runs, chunk by chunk, for the scrubbing graph's plain values.

use super::*;

/// One chunk's hooks as read back, padded strides and all, straight from the mapped
/// readback buffer.
#[derive(Debug)]
pub struct HookChunk<'a> {
    /// The rows of the batch this chunk holds.
    pub rows: Range<usize>,
    dims: Dims,
    values: Vec<(Hook, &'a [f32])>,
}

impl HookChunk<'_> {
    /// Block `block` of chunk row `row` of `hook`, without padding: head `block`'s output
    /// for [`Hook::HeadResults`], the whole row (block 0) otherwise. `None` when the chunk
    /// lacks that hook, row or block.
    pub fn block(&self, hook: Hook, row: usize, block: usize) -> Option<&[f32]> {
        let (_, v) = self.values.iter().find(|(h, _)| *h == hook)?;
        let (logical, padded) = hook.blocks(&self.dims);
        let width = hook.padded_width(&self.dims);
        if row >= self.rows.len() || (block + 1) * padded > width {
            return None;
        }
        let at = row * width + block * padded;
        v.get(at..at + logical)
    }
}

impl GpuExecutor {
    /// The values of `hooks` on every row of `batch`, each `[n_rows, ..row shape]` (see
    /// [`Hook`]), in the order asked. Needs an executor built [`GpuExecutor::with_hooks`].
    pub fn hooks(&self, batch: &TokenBatch, hooks: &[Hook]) -> Result<Vec<Tensor>> {
        let dims = self.dims;
        let mut data: Vec<Vec<f32>> = hooks
            .iter()
            .map(|h| {
                let row: usize = h.row_shape(&dims).iter().product();
                Vec::with_capacity(batch.n_rows() * row)
            })
            .collect();
        self.hooks_with(batch, hooks, &mut |chunk| {
            for (&h, out) in hooks.iter().zip(&mut data) {
                let blocks = h.padded_width(&dims) / h.blocks(&dims).1;
                for r in 0..chunk.rows.len() {
                    for b in 0..blocks {
                        out.extend_from_slice(chunk.block(h, r, b).unwrap_or_default());
                    }
                }
            }
            Ok(())
        })?;
        Ok(hooks
            .iter()
            .zip(data)
            .map(|(h, d)| {
                let mut shape = vec![batch.n_rows()];
                shape.extend(h.row_shape(&dims));
                Tensor::new(shape, d)
            })
            .collect())
    }

    /// [`GpuExecutor::hooks`] without copying: runs the forward chunk by chunk (in batch
    /// order) and hands each chunk's hooks to `sink` while the readback buffer is mapped.
    pub fn hooks_with(
        &self,
        batch: &TokenBatch,
        hooks: &[Hook],
        sink: &mut dyn FnMut(&HookChunk<'_>) -> Result<()>,
    ) -> Result<()> {
        batch.validate(&self.config)?;
        let Some((hk, hw)) = &self.hooks else {
            return Err(GpuError::Unsupported(
                "reading intermediates needs an executor built with GpuExecutor::with_hooks".into(),
            ));
        };
        for &h in hooks {
            let ok = match h {
                Hook::HeadResults { layer } => layer < self.config.n_layers,
                Hook::MlpOut { layer } => {
                    layer < self.config.n_layers && self.config.d_mlp.is_some()
                }
                Hook::Logits => true,
            };
            if !ok {
                return Err(GpuError::Unsupported(format!(
                    "{h:?}: the model ({} layers, {}) has no such activation",
                    self.config.n_layers,
                    if self.config.d_mlp.is_some() {
                        "with MLPs"
                    } else {
                        "attention only"
                    }
                )));
            }
        }
        let mut set = hooks.to_vec();
        set.sort();
        set.dedup();
        if batch.n_rows() == 0 || set.is_empty() {
            return Ok(());
        }
        self.with_state(|state| self.hooks_in(state, batch, &set, hk, hw, sink))
    }

    fn hooks_in(
        &self,
        state: &mut State,
        batch: &TokenBatch,
        set: &[Hook],
        hk: &HookKernels,
        hw: &HookWeights,
        sink: &mut dyn FnMut(&HookChunk<'_>) -> Result<()>,
    ) -> Result<()> {
        let dims = &self.dims;
        let ws = self.workspace(&mut state.workspace, batch, 0)?;
        let per_row: usize = set.iter().map(|h| h.padded_width(dims)).sum();
        let widest = set.iter().map(|h| h.padded_width(dims)).max().unwrap_or(1);
        let limit = self.ctx.max_binding_bytes().min(INDEX_LIMIT);
        let cap = if set.contains(&Hook::Logits) {
            ws.capacity.logits_rows
        } else {
            ws.capacity.caps.rows
        };
        // The staging buffer holds every hook of a chunk, so the budget bounds their sum.
        let rows = cap
            .min((READOUT_BUDGET / (4 * per_row as u64)) as usize)
            .min((limit / (4 * widest as u64)) as usize);
        if batch.max_len() > rows {
            return Err(GpuError::TooLarge {
                what: format!(
                    "the intermediates of a sequence of {} tokens",
                    batch.max_len()
                ),
                needed: (batch.max_len() * per_row * 4) as u64,
                limit: (rows * per_row * 4) as u64,
            });
        }
        ws.ensure_hooks(
            &self.ctx,
            dims,
            &self.kernels,
            &self.weights,
            hk,
            hw,
            set,
            rows,
        )?;
        let caps = Caps {
            rows,
            seqs: rows,
            targets: 0,
        };
        let (plan, _) = chunks::plan(batch.offsets(), &[], caps);
        let Some((buffers, staging)) = ws.hook_buffers() else {
            return Err(GpuError::Shape("hook buffers missing".into()));
        };
        for chunk in plan {
            let counts = self.upload(ws, batch, &chunk, None);
            let sizes: Vec<usize> = set
                .iter()
                .map(|h| counts.rows * h.padded_width(dims))
                .collect();
            let total: usize = sizes.iter().sum();
            let sub = self.submit(ws, counts, Readout::Hooks, |enc| {
                let mut at = 0;
                for (buf, &n) in buffers.iter().zip(&sizes) {
                    enc.copy_buffer_to_buffer(buf, 0, staging, at, (4 * n) as u64);
                    at += (4 * n) as u64;
                }
            })?;
            let what = "reading intermediates";
            self.ctx
                .with_mapped(staging, (4 * total) as u64, sub, what, |raw| {
                    let mut vals: &[f32] = bytemuck::try_cast_slice(raw).map_err(|e| {
                        GpuError::Shape(format!("readback buffer is not f32-aligned: {e}"))
                    })?;
                    let mut values = Vec::with_capacity(set.len());
                    for (&h, &n) in set.iter().zip(&sizes) {
                        let (mine, rest) = vals.split_at(n);
                        values.push((h, mine));
                        vals = rest;
                    }
                    sink(&HookChunk {
                        rows: chunk.rows.clone(),
                        dims: *dims,
                        values,
                    })
                })??;
        }
        Ok(())
    }
}
