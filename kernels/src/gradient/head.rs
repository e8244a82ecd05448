//! An attention head's input gradients through its q, k and v residual inputs
//! ([`scrub_core::gradient::head_result_vjp`]): the forward's q|k|v recomputed, then back
//! through W_O, the masked softmax attention (and rotary), the projections and the
//! attention normalisation.

use std::sync::Arc;

use scrub_core::{AttentionKind, ModelConfig, PositionalKind};

use super::{transposed, Backward, Buffers, Plan, RowKernel};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::executor::GpuExecutor;
use crate::matmul::{CountField, Matmul};
use crate::recompute::Recompute;
use crate::shader::{with_consts, Const, Kernel, Slot};
use crate::step::Step;

const WGSL: &str = include_str!("../shaders/attention_backward.wgsl");

/// The head's backward kernels.
pub(super) struct HeadKernels {
    /// `∂L/∂z = ∂L/∂out · W_O[h]ᵀ`.
    out: Arc<Matmul>,
    /// `∂L/∂x = ∂L/∂q · W_Q[h]ᵀ` (and likewise for k and v).
    input: Arc<Matmul>,
    /// The attention backward's query pass, then its key pass.
    attention: [Arc<RowKernel>; 2],
}

impl HeadKernels {
    /// Compiles for `cfg`, whose one-head q|k|v rows are `3·ep` wide.
    pub(super) fn new(ctx: &GpuContext, cfg: &ModelConfig, dims: &Dims, ep: usize) -> Result<Self> {
        let n = cfg.n_ctx;
        let pass = |p: u32| -> Result<Arc<RowKernel>> {
            let src = with_consts(
                WGSL,
                &[
                    ("N", Const::U32(n as u32)),
                    ("EP4", Const::U32((ep / 4) as u32)),
                    (
                        "CAUSAL",
                        Const::Bool(cfg.attention == AttentionKind::Causal),
                    ),
                    ("HAS_PAD", Const::Bool(cfg.pad_token.is_some())),
                    ("PAD", Const::U32(cfg.pad_token.unwrap_or(0))),
                    ("SCALE", Const::F32(1.0 / (dims.e as f32).sqrt())),
                    (
                        "ROTARY",
                        Const::Bool(cfg.positional == PositionalKind::Rotary),
                    ),
                    ("HALF", Const::U32((cfg.rotary_dims() / 2) as u32)),
                    ("PASS", Const::U32(p)),
                ],
            );
            let mut slots = vec![
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::Read,
                Slot::Read,
            ];
            slots.extend([Slot::ReadWrite; 3]);
            let label = ["attention backward (queries)", "attention backward (keys)"][p as usize];
            Ok(Arc::new(RowKernel {
                kernel: Kernel::new(ctx, label, &src, &slots, 64)?,
                per_row: 1,
            }))
        };
        Ok(HeadKernels {
            out: transposed(ctx, dims.dp, ep, false, n)?,
            input: transposed(ctx, ep, dims.dp, false, n)?,
            attention: [pass(0)?, pass(1)?],
        })
    }
}

impl Backward {
    /// Head `head` of `layer`'s backward from its three ports.
    pub(super) fn plan_head(
        &self,
        ex: &GpuExecutor,
        rc: &Recompute,
        b: &Buffers,
        layer: usize,
        head: usize,
    ) -> Result<Plan> {
        let ctx = &*self.ctx;
        let w = ex.weights();
        let rows = CountField::Rows;
        let mut steps = Vec::new();
        let hw = rc.qkv_steps(ex, &b.qkv_io(), layer, head, &mut steps)?;
        // qkv_steps has checked that the layer exists.
        let ln = w.blocks.get(layer).and_then(|blk| blk.ln1.as_ref());
        let k = &self.head;
        let [d_z, d_q, d_k, d_v] = &b.d_head;
        let bg = k
            .out
            .bind(ctx, &b.counts, &b.d_out, &hw.w_o, &b.dummy_ro, d_z);
        steps.push(Step::new(k.out.clone(), bg, rows));
        let rope = w.rope.as_ref().unwrap_or(&b.dummy_ro);
        let common = [&b.counts, &b.rowinfo, &b.qkv, d_z, rope, &b.stats];
        for (pass, outs) in k.attention.iter().zip([[d_q, d_k], [d_k, d_v]]) {
            let mut bufs = common.to_vec();
            bufs.extend(outs);
            let bg = pass.bind(ctx, "attention backward", &bufs);
            steps.push(Step::new(pass.clone(), bg, rows));
        }
        let back = [(d_q, &hw.w_q), (d_k, &hw.w_k), (d_v, &hw.w_v)];
        for (p, (grad, weight)) in back.into_iter().enumerate() {
            // Shortformer positions join after the normalisation: they pass the gradient
            // through unchanged, so every port goes back through the same norm.
            let target = self.norm_target(b, ln, &b.d_in[p]);
            let bg = k
                .input
                .bind(ctx, &b.counts, grad, weight, &b.dummy_ro, target);
            steps.push(Step::new(k.input.clone(), bg, rows));
            self.norm_back(&mut steps, b, &b.ports[p], ln, &b.d_in[p]);
        }
        Ok(Plan {
            steps,
            ports: 3,
            d_out_width: self.dims.dp,
        })
    }
}
