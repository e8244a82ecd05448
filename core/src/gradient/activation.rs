//! Derivatives of the MLP nonlinearities ([`crate::forward::activate`]).

use crate::config::ActFn;
use crate::forward::erfc;

/// `act'(x)`, in f64.
pub fn derivative(x: f64, act: ActFn) -> f64 {
    match act {
        ActFn::Relu => (x > 0.0) as u8 as f64,
        ActFn::Gelu => {
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2) + x * pdf
        }
        ActFn::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let t = (c * (x + 0.044715 * x * x * x)).tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)
        }
        ActFn::Silu => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 + x * (1.0 - s))
        }
    }
}

/// `dy ⊙ act'(pre)` in place: the gradient before the nonlinearity.
pub fn back_through_activation(pre: &[f32], dy: &mut [f32], act: ActFn) {
    for (g, &x) in dy.iter_mut().zip(pre) {
        *g = (*g as f64 * derivative(x as f64, act)) as f32;
    }
}
