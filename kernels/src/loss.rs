//! Per-target loss and correctness from readout logits.

use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::shader::{div_ceil, with_consts, Const, Kernel, Slot};

const WGSL: &str = include_str!("shaders/loss.wgsl");

/// The compiled loss kernel.
#[derive(Debug)]
pub struct Loss {
    kernel: Kernel,
}

impl Loss {
    /// Compiles for the output vocabulary of `dims`.
    pub fn new(ctx: &GpuContext, dims: &Dims) -> Result<Self> {
        let src = with_consts(
            WGSL,
            &[
                ("V", Const::U32(dims.v as u32)),
                ("VP", Const::U32(dims.vp as u32)),
            ],
        );
        let slots = [Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite];
        Ok(Loss {
            kernel: Kernel::new(ctx, "loss", &src, &slots, 64)?,
        })
    }

    /// Bind group: counts, logits [targets, vp], labels, out (loss, correct) pairs.
    pub fn bind(&self, ctx: &GpuContext, buffers: [&wgpu::Buffer; 4]) -> wgpu::BindGroup {
        self.kernel.bind(ctx, "loss", &buffers)
    }

    /// Records the loss of `targets` targets.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        targets: usize,
    ) {
        self.kernel.dispatch(
            pass,
            bg,
            div_ceil(targets, 64),
            ctx.limits().max_compute_workgroups_per_dimension,
        );
    }
}
