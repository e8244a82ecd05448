//! The unembedding's input gradient ([`scrub_core::gradient::unembed_vjp`]): back through
//! W_U and the final normalisation, on the rows whose logits carry a gradient.

use super::{Backward, Buffers, Plan};
use crate::executor::GpuExecutor;
use crate::matmul::CountField;
use crate::step::Step;

impl Backward {
    /// The unembedding's backward from port 0 (the final residual stream) and the logits'
    /// gradient `[rows, vp]` in `b.d_out`.
    pub(super) fn plan_unembed(&self, ex: &GpuExecutor, b: &Buffers) -> Plan {
        let w = ex.weights();
        let ln = w.ln_final.as_ref();
        let mut steps = Vec::new();
        let target = self.norm_target(b, ln, &b.d_in[0]);
        let bg = self
            .unembed
            .bind(&self.ctx, &b.counts, &b.d_out, &w.w_u, &b.dummy_ro, target);
        steps.push(Step::new(self.unembed.clone(), bg, CountField::Rows));
        self.norm_back(&mut steps, b, &b.ports[0], ln, &b.d_in[0]);
        Plan {
            steps,
            ports: 1,
            d_out_width: self.dims.vp,
        }
    }
}
