//! Every kernel one model's forward needs, compiled once with the model's sizes baked in.

use std::sync::Arc;

use scrub_core::{ModelConfig, Normalization, PositionalKind};

use crate::attention::Attention;
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::embed::Embed;
use crate::error::Result;
use crate::layernorm::{Norm, NormVariant};
use crate::loss::Loss;
use crate::matmul::{Activation, CountField, Matmul, MatmulSpec};
use crate::rotary::{Rotary, RotaryLayout};

/// Anything that can record itself for a count of rows, sequences or targets.
pub trait Dispatch: Send + Sync {
    /// Records the kernel over `n` items with bind group `bg`.
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    );
}

impl Dispatch for Matmul {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

impl Dispatch for Norm {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

impl Dispatch for Embed {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

impl Dispatch for Attention {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

impl Dispatch for Rotary {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

impl Dispatch for Loss {
    fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bg: &wgpu::BindGroup,
        n: usize,
    ) {
        self.dispatch(ctx, pass, bg, n);
    }
}

/// The q/k/v projection kernels.
pub enum QkvKernels {
    /// One product for all of q, k, v.
    Fused(Arc<Matmul>),
    /// Shortformer: q|k from `x + W_pos`, v from `x`.
    Split {
        /// `[q | k]` from `x + W_pos`.
        qk: Arc<Matmul>,
        /// `v` from `x`.
        v: Arc<Matmul>,
    },
}

/// The compiled kernels of one model.
pub struct ModelKernels {
    /// Embedding gather.
    pub embed: Arc<Embed>,
    /// Norm before attention: present with LayerNorm or shortformer positions.
    pub norm_attn: Option<Arc<Norm>>,
    /// LayerNorm before the MLP.
    pub norm_mlp: Option<Arc<Norm>>,
    /// Final LayerNorm over all rows (logits mode).
    pub norm_final_rows: Option<Arc<Norm>>,
    /// Final LayerNorm (or copy) of the readout rows only.
    pub norm_final_targets: Arc<Norm>,
    /// q/k/v projection.
    pub qkv: QkvKernels,
    /// Rotary embedding of the projected queries and keys (rotary models).
    pub rotary: Option<Arc<Rotary>>,
    /// Attention.
    pub attention: Arc<Attention>,
    /// `resid += z W_O + b_O`.
    pub w_o: Arc<Matmul>,
    /// Parallel blocks: the MLP runs before `w_o`, on the stream the attention read.
    pub parallel_attn_mlp: bool,
    /// `hidden = act(y W_in + b_in)`; for a gated MLP `hidden *= y W_in + b_in`, after
    /// [`ModelKernels::mlp_gate`].
    pub mlp_in: Option<Arc<Matmul>>,
    /// Gated MLPs: `hidden = act(y W_gate)`.
    pub mlp_gate: Option<Arc<Matmul>>,
    /// `resid += hidden W_out + b_out`.
    pub mlp_out: Option<Arc<Matmul>>,
    /// Logits of every row.
    pub unembed_rows: Arc<Matmul>,
    /// Logits of readout rows.
    pub unembed_targets: Arc<Matmul>,
    /// Loss per readout.
    pub loss: Arc<Loss>,
}

impl ModelKernels {
    /// Compiles everything for `cfg`; `rows_hint` (typical rows per chunk) steers tilings.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, dims: &Dims, rows_hint: usize) -> Result<Self> {
        // LNPre normalises too (its loaded weights carry unit LayerNorms).
        let ln = cfg.has_layer_norm();
        let short = cfg.positional == PositionalKind::Shortformer;
        let rms = cfg.normalization == Normalization::RMSNorm;
        let norm = |layer_norm, add_pos, gather, count| {
            Norm::new(
                ctx,
                dims,
                cfg.ln_eps,
                NormVariant {
                    layer_norm,
                    rms,
                    add_pos,
                    gather,
                    count,
                },
            )
            .map(Arc::new)
        };
        let mm = |k: usize, n: usize, ldc: usize, c_offset: usize, act, accumulate, m_field, m| {
            let spec = MatmulSpec {
                k,
                n,
                ldc,
                c_offset,
                bias: true,
                act,
                accumulate,
                multiply: false,
                m_field,
                trans_b: false,
            };
            Matmul::new(ctx, spec, m).map(Arc::new)
        };
        let rows = CountField::Rows;
        let none = Activation::None;
        let qkv_w = dims.qkv();
        let qkv = if short {
            QkvKernels::Split {
                qk: mm(dims.dp, 2 * dims.hp, qkv_w, 0, none, false, rows, rows_hint)?,
                v: mm(
                    dims.dp,
                    dims.hp,
                    qkv_w,
                    2 * dims.hp,
                    none,
                    false,
                    rows,
                    rows_hint,
                )?,
            }
        } else {
            QkvKernels::Fused(mm(dims.dp, qkv_w, qkv_w, 0, none, false, rows, rows_hint)?)
        };
        let (mlp_in, mlp_out) = match dims.mp {
            Some(mp) if cfg.gated_mlp => {
                let spec = MatmulSpec {
                    bias: true,
                    multiply: true,
                    ..MatmulSpec::plain(dims.dp, mp)
                };
                (
                    Some(Arc::new(Matmul::new(ctx, spec, rows_hint)?)),
                    Some(mm(mp, dims.dp, dims.dp, 0, none, true, rows, rows_hint)?),
                )
            }
            Some(mp) => (
                Some(mm(
                    dims.dp,
                    mp,
                    mp,
                    0,
                    cfg.act_fn.into(),
                    false,
                    rows,
                    rows_hint,
                )?),
                Some(mm(mp, dims.dp, dims.dp, 0, none, true, rows, rows_hint)?),
            ),
            None => (None, None),
        };
        let mlp_gate = match dims.mp {
            Some(mp) if cfg.gated_mlp => {
                let spec = MatmulSpec {
                    act: cfg.act_fn.into(),
                    ..MatmulSpec::plain(dims.dp, mp)
                };
                Some(Arc::new(Matmul::new(ctx, spec, rows_hint)?))
            }
            _ => None,
        };
        let rotary = match cfg.positional {
            PositionalKind::Rotary => {
                let layout = RotaryLayout {
                    ld: qkv_w,
                    q0: 0,
                    k0: dims.hp,
                    heads: dims.h,
                };
                Some(Arc::new(Rotary::new(ctx, cfg, layout)?))
            }
            _ => None,
        };
        Ok(ModelKernels {
            embed: Arc::new(Embed::new(
                ctx,
                dims,
                cfg.positional == PositionalKind::Standard,
            )?),
            norm_attn: if ln || short {
                Some(norm(ln, short, false, rows)?)
            } else {
                None
            },
            norm_mlp: if ln && dims.mp.is_some() {
                Some(norm(true, false, false, rows)?)
            } else {
                None
            },
            norm_final_rows: if ln {
                Some(norm(true, false, false, rows)?)
            } else {
                None
            },
            norm_final_targets: norm(ln, false, true, CountField::Targets)?,
            qkv,
            rotary,
            attention: Arc::new(Attention::new(ctx, cfg, dims)?),
            w_o: mm(dims.hp, dims.dp, dims.dp, 0, none, true, rows, rows_hint)?,
            parallel_attn_mlp: cfg.parallel_attn_mlp,
            mlp_in,
            mlp_gate,
            mlp_out,
            unembed_rows: mm(dims.dp, dims.vp, dims.vp, 0, none, false, rows, rows_hint)?,
            unembed_targets: mm(
                dims.dp,
                dims.vp,
                dims.vp,
                0,
                none,
                false,
                CountField::Targets,
                rows_hint,
            )?,
            loss: Arc::new(Loss::new(ctx, dims)?),
        })
    }
}

/// Kernels that write intermediates of the forward out for readback (and that recomputing
/// one component on its own reuses).
pub struct HookKernels {
    /// `[rows, n_heads·dp] = z @ W_O per head`: each head's `hook_result` in its own block.
    pub head_results: Arc<Matmul>,
    /// `out = hidden W_out + b_out`, written rather than added to the residual stream.
    pub mlp_out: Option<Arc<Matmul>>,
}

impl HookKernels {
    /// Compiles for `dims`; `rows_hint` (typical rows per chunk) steers tilings.
    pub fn new(ctx: &GpuContext, dims: &Dims, rows_hint: usize) -> Result<Self> {
        let width = dims.h * dims.dp;
        let head_results = Matmul::new(ctx, MatmulSpec::plain(dims.hp, width), rows_hint)?;
        let mlp_out = dims
            .mp
            .map(|mp| {
                let spec = MatmulSpec {
                    bias: true,
                    ..MatmulSpec::plain(mp, dims.dp)
                };
                Matmul::new(ctx, spec, rows_hint).map(Arc::new)
            })
            .transpose()?;
        Ok(HookKernels {
            head_results: Arc::new(head_results),
            mlp_out,
        })
    }
}
