//! The buffers of one datum's backward pass, allocated once per model and reused.

use super::f;
use crate::buffers::{readback, storage};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::recompute::QkvBuffers;

/// Buffers for up to `rows` rows of one datum.
pub(super) struct Buffers {
    /// The counts, row info, ports, the forward's norms and the head's recomputed q|k|v.
    pub(super) head_in: QkvBuffers,
    /// The node's output gradient, `[rows, dp]` (`[rows, vp]` for the logits).
    pub(super) d_out: wgpu::Buffer,
    /// ∂L/∂z, ∂L/∂q, ∂L/∂k, ∂L/∂v of the head, `[rows, ep]` each.
    pub(super) d_head: [wgpu::Buffer; 4],
    /// Per query row the softmax statistics the attention backward's passes share.
    pub(super) stats: wgpu::Buffer,
    /// The gradient at a normalisation's output, `[rows, dp]`.
    pub(super) d_x: wgpu::Buffer,
    /// The gradients of the ports, `[rows, dp]` each.
    pub(super) d_in: [wgpu::Buffer; 3],
    /// MLP: pre-activation, gate, ∂L/∂hidden (then ∂L/∂pre-activation), ∂L/∂gate.
    pub(super) hidden: Option<[wgpu::Buffer; 4]>,
    /// Host-readable copy of the three port gradients, back to back.
    pub(super) staging: wgpu::Buffer,
}

impl Buffers {
    /// Buffers for `r` rows of a model of `dims` whose one-head buffers are `ep` wide.
    pub(super) fn new(ctx: &GpuContext, dims: &Dims, ep: usize, r: usize) -> Result<Self> {
        let dp = dims.dp;
        let rows = |label: &str, width: usize| storage(ctx, label, f(r * width));
        let three = |label: &str| -> Result<[wgpu::Buffer; 3]> {
            Ok([
                rows(&format!("{label} q"), dp)?,
                rows(&format!("{label} k"), dp)?,
                rows(&format!("{label} v"), dp)?,
            ])
        };
        let hidden = dims
            .mp
            .map(|mp| -> Result<[wgpu::Buffer; 4]> {
                Ok([
                    rows("mlp pre-activation", mp)?,
                    rows("mlp gate", mp)?,
                    rows("mlp hidden gradient", mp)?,
                    rows("mlp gate gradient", mp)?,
                ])
            })
            .transpose()?;
        Ok(Buffers {
            head_in: QkvBuffers::new(ctx, "backward", dp, ep, r)?,
            d_out: rows("output gradient", dp.max(dims.vp))?,
            d_head: [
                rows("z gradient", ep)?,
                rows("q gradient", ep)?,
                rows("k gradient", ep)?,
                rows("v gradient", ep)?,
            ],
            stats: rows("attention backward statistics", 4)?,
            d_x: rows("normalized input gradient", dp)?,
            d_in: three("input gradient")?,
            hidden,
            staging: readback(ctx, "input gradient readback", f(3 * r * dp))?,
        })
    }
}

impl std::ops::Deref for Buffers {
    type Target = QkvBuffers;
    fn deref(&self) -> &QkvBuffers {
        &self.head_in
    }
}
