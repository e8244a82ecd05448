//! Plain values of a few first-block heads without the forward pass. Refined 5 of the
//! induction experiments reads the previous-token head's pattern at each position from a
//! sequence of its own: a thousand sequences per batch whose forward pass would compute
//! every head of the block (and its output) to hand back one pattern each.

use rayon::prelude::*;

use super::{Component, TransformerGraph};
use crate::config::PositionalKind;
use crate::feature::DatumId;
use crate::forward::{head_pattern, head_result};
use crate::scrub::graph::NodeId;

impl TransformerGraph<'_> {
    /// The plain values of `nodes` on `data` computed head by head from the first block's
    /// input, when every node lives before the second block and at most a quarter of the
    /// block's heads (patterns or outputs) are asked for; `None` otherwise. The values are
    /// the forward pass's bits: each head runs the same products on the same inputs.
    pub(super) fn first_block_plain(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
    ) -> Option<Vec<Vec<Vec<f32>>>> {
        let cfg = &self.model.config;
        let mut heads = 0;
        for &n in nodes {
            match self.components[n.0] {
                Component::Embed | Component::PosEmbed | Component::AttnBias { layer: 0 } => {}
                Component::Head { layer: 0, .. } | Component::Pattern { layer: 0, .. } => {
                    heads += 1
                }
                _ => return None,
            }
        }
        if heads == 0 || 4 * heads > cfg.n_heads {
            return None;
        }
        let (d, n) = (cfg.d_model, cfg.n_ctx);
        let w = &self.model.weights;
        let pos = || w.w_pos[..n * d].to_vec();
        Some(
            data.par_iter()
                .map(|&datum| {
                    let tokens = &self.tokens[datum.index()];
                    let embed: Vec<f32> = tokens
                        .iter()
                        .flat_map(|t| w.w_e[t.0 as usize * d..(t.0 as usize + 1) * d].iter())
                        .copied()
                        .collect();
                    // The block's input as the forward pass forms it.
                    let mut resid = embed.clone();
                    if cfg.positional == PositionalKind::Standard {
                        resid.iter_mut().zip(pos()).for_each(|(r, p)| *r += p);
                    }
                    nodes
                        .iter()
                        .map(|&node| match self.components[node.0] {
                            Component::Embed => embed.clone(),
                            Component::PosEmbed => pos(),
                            Component::AttnBias { .. } => w.blocks[0].attn.b_o.repeat(n),
                            Component::Head { head, .. } => {
                                head_result(self.model, 0, head, &resid, &resid, &resid, tokens)
                            }
                            Component::Pattern { head, .. } => {
                                head_pattern(self.model, 0, head, &resid, &resid, tokens)
                            }
                            c => unreachable!("{c:?} is not in the first block"),
                        })
                        .collect()
                })
                .collect(),
        )
    }
}
