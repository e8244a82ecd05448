//! Token embedding plus standard positional embedding.

use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::shader::{div_ceil, with_consts, Const, Kernel, Slot};

const WGSL: &str = include_str!("shaders/embed.wgsl");

/// The compiled embedding kernel.
#[derive(Debug)]
pub struct Embed {
    kernel: Kernel,
    dp4: usize,
}

impl Embed {
    /// Compiles for `dims`; `add_pos` adds W_pos (standard positional embedding).
    pub fn new(ctx: &GpuContext, dims: &Dims, add_pos: bool) -> Result<Self> {
        let dp4 = dims.dp / 4;
        let src = with_consts(
            WGSL,
            &[
                ("DP4", Const::U32(dp4 as u32)),
                ("ADD_POS", Const::Bool(add_pos)),
            ],
        );
        let slots = [
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
        ];
        Ok(Embed {
            kernel: Kernel::new(ctx, "embed", &src, &slots, 64)?,
            dp4,
        })
    }

    /// Bind group: counts, rowinfo, W_E, W_pos, resid.
    pub fn bind(&self, ctx: &GpuContext, buffers: [&wgpu::Buffer; 5]) -> wgpu::BindGroup {
        self.kernel.bind(ctx, "embed", &buffers)
    }

    /// Records the gather for `rows` rows.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        rows: usize,
    ) {
        let groups = div_ceil(rows * self.dp4, 64);
        self.kernel.dispatch(
            pass,
            bg,
            groups,
            ctx.limits().max_compute_workgroups_per_dimension,
        );
    }
}
