//! The normalisations' input gradient ([`scrub_core::gradient::norm::normalize_vjp`]):
//! LayerNorm (LNPre's unit-weight one included) or RMSNorm, by the model's kind.

use scrub_core::{ModelConfig, Normalization};

use super::{Backward, Buffers, RowKernel};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::matmul::CountField;
use crate::shader::{with_consts, Const, Kernel, Slot};
use crate::step::Step;

const WGSL: &str = include_str!("../shaders/layernorm_backward.wgsl");

/// Compiles the backward of `cfg`'s normalisation; bind it with counts, x, ln, dy, dx.
pub(super) fn kernel(ctx: &GpuContext, cfg: &ModelConfig, dims: &Dims) -> Result<RowKernel> {
    let src = with_consts(
        WGSL,
        &[
            ("D", Const::U32(dims.d as u32)),
            ("DP4", Const::U32((dims.dp / 4) as u32)),
            ("EPS", Const::F32(cfg.ln_eps)),
            (
                "RMS",
                Const::Bool(cfg.normalization == Normalization::RMSNorm),
            ),
        ],
    );
    let slots = [
        Slot::Uniform,
        Slot::Read,
        Slot::Read,
        Slot::Read,
        Slot::ReadWrite,
    ];
    Ok(RowKernel {
        kernel: Kernel::new(ctx, "layernorm backward", &src, &slots, 64)?,
        per_row: 1,
    })
}

impl Backward {
    /// Pushes `dx = normalize_vjp(x, ln, b.d_x)`; nothing for models without normalisation,
    /// whose product writes `dx` itself (see [`Backward::norm_target`]).
    pub(super) fn norm_back(
        &self,
        steps: &mut Vec<Step>,
        b: &Buffers,
        x: &wgpu::Buffer,
        ln: Option<&wgpu::Buffer>,
        dx: &wgpu::Buffer,
    ) {
        if let (Some(norm), Some(ln)) = (&self.norm, ln) {
            let bg = norm.bind(
                &self.ctx,
                "layernorm backward",
                &[&b.counts, x, ln, &b.d_x, dx],
            );
            steps.push(Step::new(norm.clone(), bg, CountField::Rows));
        }
    }

    /// Where the product feeding a normalisation's backward writes: `d_x` when there is a
    /// normalisation to go back through, the port gradient `dx` itself otherwise.
    pub(super) fn norm_target<'a>(
        &self,
        b: &'a Buffers,
        ln: Option<&wgpu::Buffer>,
        dx: &'a wgpu::Buffer,
    ) -> &'a wgpu::Buffer {
        match (&self.norm, ln) {
            (Some(_), Some(_)) => &b.d_x,
            _ => dx,
        }
    }
}
