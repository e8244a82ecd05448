//! One recorded kernel launch (a pipeline, its bind group and the count it runs over) and
//! the row, sequence and target counts of the chunk it runs on: what the forward's
//! workspace, the recomputation and the backward record and replay.

use std::sync::Arc;

use crate::device::GpuContext;
use crate::matmul::CountField;
use crate::pipeline::Dispatch;

/// One kernel launch: what to run, on which buffers, over which count.
pub struct Step {
    kernel: Arc<dyn Dispatch>,
    bind_group: wgpu::BindGroup,
    count: CountField,
}

impl Step {
    /// `kernel` over `count` items with `bind_group`.
    pub(crate) fn new(
        kernel: Arc<dyn Dispatch>,
        bind_group: wgpu::BindGroup,
        count: CountField,
    ) -> Self {
        Step {
            kernel,
            bind_group,
            count,
        }
    }

    /// Records the launch for a chunk of `counts` (nothing when its count is zero).
    pub(crate) fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        counts: Counts,
    ) {
        let n = counts.get(self.count);
        if n > 0 {
            self.kernel.record(ctx, pass, &self.bind_group, n);
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
    /// The count a kernel reading field `f` runs over.
    pub fn get(&self, f: CountField) -> usize {
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
