//! Masked softmax attention, one workgroup per (sequence, head).

use scrub_core::{AttentionKind, ModelConfig};

use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::{GpuError, Result};
use crate::shader::{with_consts, Const, Kernel, Slot};

const WGSL: &str = include_str!("shaders/attention.wgsl");

/// Threads per workgroup: one query row each. Sequences here are short (tens of tokens),
/// so a single warp-sized group keeps few threads idle.
const WG: u32 = 32;

/// The compiled attention kernel.
#[derive(Debug)]
pub struct Attention {
    kernel: Kernel,
    heads: usize,
}

impl Attention {
    /// Compiles for `cfg`'s heads, masks and d_head.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, dims: &Dims) -> Result<Self> {
        // Keys and values of one block share workgroup memory with a flag per key; use at
        // most half of what the adapter offers so several groups fit on a core.
        let budget = (ctx.limits().max_compute_workgroup_storage_size / 2).max(8192) as usize;
        let dh4 = dims.e.div_ceil(4);
        let per_key = 32 * dh4 + 4;
        let kb = (budget / per_key).min(64);
        if kb == 0 {
            return Err(GpuError::Shape(format!(
                "d_head = {} needs more workgroup memory per key than this adapter has",
                dims.e
            )));
        }
        let src = with_consts(
            WGSL,
            &[
                ("H", Const::U32(dims.h as u32)),
                ("DH", Const::U32(dims.e as u32)),
                ("DH4", Const::U32(dh4 as u32)),
                ("HP", Const::U32(dims.hp as u32)),
                ("KB", Const::U32(kb as u32)),
                ("WG", Const::U32(WG)),
                (
                    "CAUSAL",
                    Const::Bool(cfg.attention == AttentionKind::Causal),
                ),
                ("HAS_PAD", Const::Bool(cfg.pad_token.is_some())),
                ("PAD", Const::U32(cfg.pad_token.unwrap_or(0))),
                ("SCALE", Const::F32(1.0 / (dims.e as f32).sqrt())),
            ],
        );
        let slots = [
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
        ];
        Ok(Attention {
            kernel: Kernel::new(ctx, "attention", &src, &slots, WG)?,
            heads: dims.h,
        })
    }

    /// Bind group: counts, offsets, rowinfo, qkv, z.
    pub fn bind(&self, ctx: &GpuContext, buffers: [&wgpu::Buffer; 5]) -> wgpu::BindGroup {
        self.kernel.bind(ctx, "attention", &buffers)
    }

    /// Records attention over `seqs` sequences.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        seqs: usize,
    ) {
        let groups = u32::try_from(seqs * self.heads).unwrap_or(u32::MAX);
        self.kernel.dispatch(
            pass,
            bg,
            groups,
            ctx.limits().max_compute_workgroups_per_dimension,
        );
    }
}
