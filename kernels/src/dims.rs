//! A model's sizes as laid out on the GPU: every row stride padded to a multiple of 4 so
//! kernels can move vec4s.

use scrub_core::ModelConfig;

use crate::buffers::pad4;

/// Logical and padded sizes of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// d_model.
    pub d: usize,
    /// d_model padded.
    pub dp: usize,
    /// n_heads.
    pub h: usize,
    /// d_head.
    pub e: usize,
    /// n_heads * d_head padded: the row stride of z and of each q/k/v block.
    pub hp: usize,
    /// d_mlp padded, if the model has MLPs.
    pub mp: Option<usize>,
    /// d_vocab_out.
    pub v: usize,
    /// d_vocab_out padded.
    pub vp: usize,
}

impl Dims {
    /// Sizes of `cfg`.
    pub fn new(cfg: &ModelConfig) -> Self {
        Dims {
            d: cfg.d_model,
            dp: pad4(cfg.d_model),
            h: cfg.n_heads,
            e: cfg.d_head,
            hp: pad4(cfg.n_heads * cfg.d_head),
            mp: cfg.d_mlp.map(pad4),
            v: cfg.d_vocab_out,
            vp: pad4(cfg.d_vocab_out),
        }
    }

    /// Row stride of the fused q|k|v buffer.
    pub fn qkv(&self) -> usize {
        3 * self.hp
    }
}
