//! The MLP's input gradient ([`crate::forward::mlp_out`]), plain or gated.

use super::activation::back_through_activation;
use super::back_through;
use super::norm::normalize_vjp;
use crate::forward::{activate, affine, mlp_width, normalize};
use crate::weights::Model;

/// `∂L/∂resid [n, d_model]` from `∂L/∂mlp_out [n, d_model]` for MLP `layer` read at `resid`.
pub fn mlp_out_vjp(model: &Model, layer: usize, resid: &[f32], d_out: &[f32]) -> Vec<f32> {
    let cfg = &model.config;
    let blk = &model.weights.blocks[layer];
    let mlp = blk
        .mlp
        .as_ref()
        .expect("mlp_out_vjp on a layer without an MLP");
    let (d, m) = (cfg.d_model, mlp_width(model));
    let rows = resid.len() / d;
    let y = normalize(cfg, resid, blk.ln2.as_ref());
    let linear = affine(&y, rows, d, &mlp.w_in, &mlp.b_in, m);
    let d_hidden = back_through(d_out, &mlp.w_out, m, d);
    let d_y = match &mlp.w_gate {
        None => {
            let mut d_pre = d_hidden;
            back_through_activation(&linear, &mut d_pre, cfg.act_fn);
            back_through(&d_pre, &mlp.w_in, d, m)
        }
        Some(w_gate) => {
            // hidden = act(gate) ⊙ linear.
            let gate = affine(&y, rows, d, w_gate, &vec![0.0; m], m);
            let mut act = gate.clone();
            activate(&mut act, cfg.act_fn);
            let d_linear: Vec<f32> = d_hidden.iter().zip(&act).map(|(g, a)| g * a).collect();
            let mut d_gate: Vec<f32> = d_hidden.iter().zip(&linear).map(|(g, l)| g * l).collect();
            back_through_activation(&gate, &mut d_gate, cfg.act_fn);
            let mut d_y = back_through(&d_linear, &mlp.w_in, d, m);
            let from_gate = back_through(&d_gate, w_gate, d, m);
            d_y.iter_mut().zip(&from_gate).for_each(|(a, b)| *a += b);
            d_y
        }
    };
    normalize_vjp(cfg, resid, blk.ln2.as_ref(), &d_y)
}
