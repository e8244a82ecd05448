//! AdamW whose moments are plain tensors, so a checkpoint can hold them and a resumed run
//! continues exactly where it stopped.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::error::TrainError;

/// Optimiser settings.
#[derive(Debug, Clone, Copy)]
pub struct AdamConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Gradients are scaled down so their global L2 norm is at most this.
    pub clip_norm: f64,
}

/// First and second moments per parameter, and the number of steps taken.
pub struct AdamW {
    pub config: AdamConfig,
    pub m: BTreeMap<String, Tensor>,
    pub v: BTreeMap<String, Tensor>,
    pub step: usize,
}

impl AdamW {
    /// Zero moments for `params`.
    pub fn new(config: AdamConfig, params: &BTreeMap<String, Var>) -> Result<AdamW, TrainError> {
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        let mut m = BTreeMap::new();
        let mut v = BTreeMap::new();
        for (k, p) in params {
            m.insert(k.clone(), zeros(p)?);
            v.insert(k.clone(), zeros(p)?);
        }
        Ok(AdamW {
            config,
            m,
            v,
            step: 0,
        })
    }

    /// One update with learning rate `lr`. Weight decay applies to matrices only, not to
    /// biases or LayerNorm parameters.
    pub fn step(
        &mut self,
        params: &BTreeMap<String, Var>,
        grads: &GradStore,
        lr: f64,
    ) -> Result<(), TrainError> {
        let c = self.config;
        self.step += 1;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        let norm = global_norm(params, grads)?;
        let scale = if norm > c.clip_norm {
            c.clip_norm / norm
        } else {
            1.0
        };
        for (name, var) in params {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            // Detached: a moment that kept its op graph would keep every earlier step's
            // forward pass alive (memory grew by gigabytes a minute without this).
            let g = (g.detach() * scale)?;
            let g = &g;
            let m = ((&self.m[name] * c.beta1)? + (g * (1.0 - c.beta1))?)?.detach();
            let v = ((&self.v[name] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?.detach();
            let update = ((&m / bc1)? / ((&v / bc2)?.sqrt()? + c.eps)?)?;
            let mut theta = var.as_tensor().detach();
            if var.as_tensor().rank() >= 2 && c.weight_decay > 0.0 {
                theta = (theta * (1.0 - lr * c.weight_decay))?;
            }
            var.set(&(theta - (update * lr)?)?)?;
            self.m.insert(name.clone(), m);
            self.v.insert(name.clone(), v);
        }
        Ok(())
    }
}

/// L2 norm of all gradients together.
fn global_norm(params: &BTreeMap<String, Var>, grads: &GradStore) -> Result<f64, TrainError> {
    let mut sum = 0.0f64;
    for var in params.values() {
        if let Some(g) = grads.get(var.as_tensor()) {
            sum += g.detach().sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    Ok(sum.sqrt())
}
