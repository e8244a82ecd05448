//! Rotary position embedding of queries and keys, in place on a q|k|v buffer (after the
//! projection, before attention), rotating by the CPU reference's own cos/sin table: the
//! first `rotary_dims` dimensions of each head (all of them, or GPT-NeoX's partial rotary),
//! the others untouched.

use scrub_core::ModelConfig;

use crate::buffers::storage_init;
use crate::device::GpuContext;
use crate::error::Result;
use crate::shader::{div_ceil, with_consts, Const, Kernel, Slot};

const WGSL: &str = include_str!("shaders/rotary.wgsl");

/// Where the heads sit in the q|k|v rows a [`Rotary`] kernel rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotaryLayout {
    /// Row stride in floats.
    pub ld: usize,
    /// First column of the query heads.
    pub q0: usize,
    /// First column of the key heads.
    pub k0: usize,
    /// Heads in each of the query and key blocks (d_head apart).
    pub heads: usize,
}

/// A compiled rotary kernel for one layout.
#[derive(Debug)]
pub struct Rotary {
    kernel: Kernel,
    heads: usize,
}

impl Rotary {
    /// Compiles for `cfg`'s d_head and rotating dimensions, and `layout`.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, layout: RotaryLayout) -> Result<Self> {
        let src = with_consts(
            WGSL,
            &[
                ("LD", Const::U32(layout.ld as u32)),
                ("Q0", Const::U32(layout.q0 as u32)),
                ("K0", Const::U32(layout.k0 as u32)),
                ("NH", Const::U32(layout.heads as u32)),
                ("DH", Const::U32(cfg.d_head as u32)),
                ("HALF", Const::U32((cfg.rotary_dims() / 2) as u32)),
            ],
        );
        let slots = [Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite];
        Ok(Rotary {
            kernel: Kernel::new(ctx, "rotary", &src, &slots, 64)?,
            heads: layout.heads,
        })
    }

    /// Bind group: counts, rowinfo, the table of [`rope_table`], qkv.
    pub fn bind(&self, ctx: &GpuContext, buffers: [&wgpu::Buffer; 4]) -> wgpu::BindGroup {
        self.kernel.bind(ctx, "rotary", &buffers)
    }

    /// Records the rotation of `rows` rows.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        rows: usize,
    ) {
        self.kernel.dispatch(
            pass,
            bg,
            div_ceil(rows * 2 * self.heads, 64),
            ctx.limits().max_compute_workgroups_per_dimension,
        );
    }
}

/// The cos/sin table `[n_ctx, rotary_dims]` (per position the cosines, then the sines, of
/// its rotary_dims/2 angles), uploaded.
pub fn rope_table(ctx: &GpuContext, cfg: &ModelConfig) -> Result<wgpu::Buffer> {
    let inv = scrub_core::forward::rotary_inv_freq(cfg);
    let mut t = Vec::with_capacity(cfg.n_ctx * cfg.d_head);
    for p in 0..cfg.n_ctx {
        let (cos, sin) = scrub_core::forward::rotary_cos_sin(&inv, p);
        t.extend(cos);
        t.extend(sin);
    }
    storage_init(ctx, "rotary cos/sin", &t)
}
