//! The transformer graph's vector-Jacobian products: each node's input gradients from the
//! CPU reference's per-node derivatives ([`crate::gradient`]).

use super::{Component, TransformerGraph};
use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::gradient;
use crate::mask::SourceMask;
use crate::scrub::graph::{NodeId, ScrubGraph};

impl TransformerGraph<'_> {
    /// [`ScrubGraph::recompute_vjp`] of this graph.
    pub(super) fn vjp(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        d_out: &[f32],
    ) -> Result<Vec<Vec<f32>>> {
        let tokens = self.inputs(node, home, ports)?;
        let want = self.rows() * self.nodes[node.0].width;
        if d_out.len() != want {
            return Err(ModelError::Executor(format!(
                "the gradient of `{}` holds {} values, not [{}, {}]",
                self.nodes[node.0].name,
                d_out.len(),
                self.rows(),
                self.nodes[node.0].width
            )));
        }
        let m = self.model;
        Ok(match self.components[node.0] {
            Component::Head { layer, head } if self.patterns => {
                let (p, v) = gradient::head_from_pattern_vjp(
                    m,
                    layer,
                    head,
                    &ports[0],
                    &ports[1],
                    &SourceMask::All,
                    d_out,
                );
                vec![p, v]
            }
            Component::Head { layer, head } => {
                let g = gradient::head_result_vjp(
                    m, layer, head, &ports[0], &ports[1], &ports[2], tokens, d_out,
                );
                vec![g.q, g.k, g.v]
            }
            Component::Pattern { layer, head } => {
                let (q, k) =
                    gradient::head_pattern_vjp(m, layer, head, &ports[0], &ports[1], tokens, d_out);
                vec![q, k]
            }
            Component::Mlp { layer } => vec![gradient::mlp_out_vjp(m, layer, &ports[0], d_out)],
            Component::Output => {
                // Rows the graph leaves at zero do not depend on the input.
                let mut d = d_out.to_vec();
                if let Some(rows) = self.output_rows(home) {
                    let v = m.config.d_vocab_out;
                    for (r, row) in d.chunks_exact_mut(v).enumerate() {
                        if !rows.contains(&r) {
                            row.fill(0.0);
                        }
                    }
                }
                vec![gradient::unembed_vjp(m, &ports[0], &d)]
            }
            c => {
                return Err(ModelError::Executor(format!(
                    "{c:?} has no inputs to differentiate with respect to"
                )))
            }
        })
    }
}
