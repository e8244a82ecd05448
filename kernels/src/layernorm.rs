//! Row-wise LayerNorm or RMSNorm, with the variants the forward needs: plain copy when the model has
//! no LayerNorm, an extra output with positions added (shortformer), gathered rows (the
//! final norm of readout rows only).

use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::matmul::CountField;
use crate::shader::{div_ceil, with_consts, Const, Kernel, Slot};

const WGSL: &str = include_str!("shaders/layernorm.wgsl");

/// Which LayerNorm variant to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormVariant {
    /// Normalise (false: copy the input).
    pub layer_norm: bool,
    /// RMSNorm rather than LayerNorm (when normalising).
    pub rms: bool,
    /// Also write `out + W_pos[position]`.
    pub add_pos: bool,
    /// Read input rows through an index buffer.
    pub gather: bool,
    /// Which count is the number of output rows.
    pub count: CountField,
}

/// A compiled LayerNorm variant.
#[derive(Debug)]
pub struct Norm {
    kernel: Kernel,
    count: CountField,
}

impl Norm {
    /// Compiles `variant` for `dims` with epsilon `eps`.
    pub fn new(ctx: &GpuContext, dims: &Dims, eps: f32, variant: NormVariant) -> Result<Self> {
        let src = with_consts(
            WGSL,
            &[
                ("M_FIELD", Const::U32(variant.count as u32)),
                ("D", Const::U32(dims.d as u32)),
                ("DP4", Const::U32((dims.dp / 4) as u32)),
                ("EPS", Const::F32(eps)),
                ("HAS_LN", Const::Bool(variant.layer_norm)),
                ("RMS", Const::Bool(variant.rms)),
                ("ADD_POS", Const::Bool(variant.add_pos)),
                ("GATHER", Const::Bool(variant.gather)),
            ],
        );
        let slots = [
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ];
        Ok(Norm {
            kernel: Kernel::new(ctx, "layernorm", &src, &slots, 64)?,
            count: variant.count,
        })
    }

    /// The count this variant reads as its number of rows.
    pub fn count(&self) -> CountField {
        self.count
    }

    /// Bind group: inputs (counts, x, ln = w then b, rowinfo, W_pos, gather; unused ones
    /// may be any read-only buffer), then `out` and `out_pos` (a distinct buffer even when
    /// unused).
    pub fn bind(
        &self,
        ctx: &GpuContext,
        inputs: [&wgpu::Buffer; 6],
        out: &wgpu::Buffer,
        out_pos: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let [counts, x, ln, rowinfo, w_pos, gather] = inputs;
        self.kernel.bind(
            ctx,
            "layernorm",
            &[counts, x, ln, rowinfo, w_pos, gather, out, out_pos],
        )
    }

    /// Records the normalisation of `rows` rows.
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
            div_ceil(rows, 64),
            ctx.limits().max_compute_workgroups_per_dimension,
        );
    }
}
