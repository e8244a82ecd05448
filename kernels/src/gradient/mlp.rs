//! The MLP's input gradient ([`scrub_core::gradient::mlp_out_vjp`]), plain or gated, with
//! any of the nonlinearities the forward applies.

use std::sync::Arc;

use scrub_core::ModelConfig;

use super::{transposed, Backward, Buffers, Plan, RowKernel};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;
use crate::executor::GpuExecutor;
use crate::matmul::{Activation, CountField, Matmul, MatmulSpec};
use crate::shader::{with_consts, Const, Kernel, Slot};
use crate::step::Step;

const WGSL: &str = concat!(
    include_str!("../shaders/activation_backward.wgsl"),
    include_str!("../shaders/activation.wgsl")
);

/// The MLP's backward kernels.
pub(super) struct MlpKernels {
    /// `y W_in + b_in`: the forward's product without its fused nonlinearity, whose input
    /// the derivative needs.
    linear: Arc<Matmul>,
    /// Gated MLPs: `y W_gate`, likewise before the nonlinearity.
    gate: Option<Arc<Matmul>>,
    /// `∂L/∂hidden = ∂L/∂out · W_outᵀ`.
    hidden: Arc<Matmul>,
    /// `∂L/∂y = ∂L/∂linear · W_inᵀ`.
    input: Arc<Matmul>,
    /// Gated MLPs: `∂L/∂y += ∂L/∂gate · W_gateᵀ`.
    gate_input: Option<Arc<Matmul>>,
    /// Back through the nonlinearity (and the gate's product).
    activation: Arc<RowKernel>,
}

impl MlpKernels {
    /// Compiles for `cfg`; `None` for attention-only models.
    pub(super) fn new(ctx: &GpuContext, cfg: &ModelConfig, dims: &Dims) -> Result<Option<Self>> {
        let Some(mp) = dims.mp else { return Ok(None) };
        let (dp, n) = (dims.dp, cfg.n_ctx);
        let forward = |bias: bool| {
            let spec = MatmulSpec {
                bias,
                act: Activation::None,
                ..MatmulSpec::plain(dp, mp)
            };
            Matmul::new(ctx, spec, n).map(Arc::new)
        };
        let act: Activation = cfg.act_fn.into();
        let src = with_consts(
            WGSL,
            &[
                ("MP4", Const::U32((mp / 4) as u32)),
                ("ACT", Const::U32(act.code())),
                ("GATED", Const::Bool(cfg.gated_mlp)),
            ],
        );
        let slots = [
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ];
        let kernel = Kernel::new(ctx, "activation backward", &src, &slots, 64)?;
        Ok(Some(MlpKernels {
            linear: forward(true)?,
            gate: cfg.gated_mlp.then(|| forward(false)).transpose()?,
            hidden: transposed(ctx, dp, mp, false, n)?,
            input: transposed(ctx, mp, dp, false, n)?,
            gate_input: cfg
                .gated_mlp
                .then(|| transposed(ctx, mp, dp, true, n))
                .transpose()?,
            activation: Arc::new(RowKernel {
                kernel,
                per_row: mp / 4,
            }),
        }))
    }
}

impl Backward {
    /// MLP `layer`'s backward: its forward up to the nonlinearity from port 0, then back
    /// through W_out, the nonlinearity (and gate), W_in (and W_gate) and its normalisation.
    /// `None` when the layer or model has no MLP.
    pub(super) fn plan_mlp(&self, ex: &GpuExecutor, b: &Buffers, layer: usize) -> Option<Plan> {
        let ctx = &*self.ctx;
        let (k, w) = (ex.kernels(), ex.weights());
        let rows = CountField::Rows;
        let mlp = w.blocks.get(layer)?.mlp.as_ref()?;
        let (kernels, hidden) = (self.mlp.as_ref()?, b.hidden.as_ref()?);
        let [linear, gate, d_hidden, d_gate] = hidden;
        let mut steps = Vec::new();
        let y = match &k.norm_mlp {
            Some(norm) => {
                let inputs = b
                    .qkv_io()
                    .norm_inputs(&b.ports[0], mlp.ln.as_ref(), &w.w_pos);
                let bg = norm.bind(ctx, inputs, &b.xn[0], &b.scratch);
                steps.push(Step::new(norm.clone(), bg, rows));
                &b.xn[0]
            }
            None => &b.ports[0],
        };
        let mut product = |mm: &Arc<Matmul>,
                           a: &wgpu::Buffer,
                           wt: &wgpu::Buffer,
                           bias: &wgpu::Buffer,
                           c: &wgpu::Buffer| {
            let bg = mm.bind(ctx, &b.counts, a, wt, bias, c);
            steps.push(Step::new(mm.clone(), bg, rows));
        };
        product(&kernels.linear, y, &mlp.w_in, &mlp.b_in, linear);
        let gated = kernels.gate.as_ref().zip(mlp.w_gate.as_ref());
        if let Some((mm, w_gate)) = gated {
            product(mm, y, w_gate, &b.dummy_ro, gate);
        }
        product(&kernels.hidden, &b.d_out, &mlp.w_out, &b.dummy_ro, d_hidden);
        let gate_in: &wgpu::Buffer = if gated.is_some() { gate } else { &b.dummy_ro };
        let bg = kernels.activation.bind(
            ctx,
            "activation backward",
            &[&b.counts, linear, gate_in, d_hidden, d_gate],
        );
        steps.push(Step::new(kernels.activation.clone(), bg, rows));
        let target = self.norm_target(b, mlp.ln.as_ref(), &b.d_in[0]);
        let bg = kernels
            .input
            .bind(ctx, &b.counts, d_hidden, &mlp.w_in, &b.dummy_ro, target);
        steps.push(Step::new(kernels.input.clone(), bg, rows));
        if let (Some(mm), Some(w_gate)) = (&kernels.gate_input, &mlp.w_gate) {
            let bg = mm.bind(ctx, &b.counts, d_gate, w_gate, &b.dummy_ro, target);
            steps.push(Step::new(mm.clone(), bg, rows));
        }
        self.norm_back(&mut steps, b, &b.ports[0], mlp.ln.as_ref(), &b.d_in[0]);
        Some(Plan {
            steps,
            ports: 1,
            d_out_width: self.dims.dp,
        })
    }
}
