//! Plain values of the transformer graph: rebuilt from replays where the graph keeps them,
//! otherwise from the pass the requested nodes need.

use rayon::prelude::*;

use super::{Component, TransformerGraph, PLAIN_CHUNK};
use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::forward::forward_through;
use crate::scrub::graph::NodeId;
use crate::tokens::TokenBatch;

impl TransformerGraph<'_> {
    /// `plain`, or with `rows` `plain_rows` (values rebuilt from replays are then computed
    /// on those rows only).
    pub(super) fn plain_on(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        rows: Option<&[usize]>,
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        let mut keep: Vec<String> = nodes
            .iter()
            .filter_map(|&n| self.hook(self.components[n.0]))
            .collect();
        keep.sort();
        keep.dedup();
        if let Some(d) = data.iter().find(|d| d.index() >= self.tokens.len()) {
            return Err(ModelError::Executor(format!(
                "datum {} is outside the dataset of {} sequences",
                d.0,
                self.tokens.len()
            )));
        }
        let mut values = self.replayed_plain(data, nodes, rows);
        let rest: Vec<DatumId> = data
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(&d, _)| d)
            .collect();
        if !rest.is_empty() {
            let passed = self.passed_plain(&rest, nodes, &keep);
            let mut passed = match rows {
                Some(rows) => crate::scrub::graph::pick_rows(self, nodes, passed, rows),
                None => passed,
            }
            .into_iter();
            for v in values.iter_mut().filter(|v| v.is_none()) {
                *v = passed.next();
            }
        }
        Ok(values
            .into_iter()
            .map(|v| v.expect("filled above"))
            .collect())
    }

    /// The plain values of `nodes` on `data` from the pass they need: a few first-block
    /// heads alone, or the forward pass as far as the last block a node lives in.
    fn passed_plain(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        keep: &[String],
    ) -> Vec<Vec<Vec<f32>>> {
        if let Some(values) = self.first_block_plain(data, nodes) {
            return values;
        }
        // The pass can stop after the last block any requested node lives in.
        let last = nodes
            .iter()
            .map(|&n| match self.components[n.0] {
                Component::Embed | Component::PosEmbed => Some(0),
                Component::Head { layer, .. }
                | Component::Pattern { layer, .. }
                | Component::Mlp { layer }
                | Component::AttnBias { layer } => Some(layer),
                Component::Output => self.logits_from_block(),
            })
            .try_fold(0usize, |acc, l| l.map(|l| acc.max(l)));
        // Callers hand over a few dozen data at a time when values are large; splitting them
        // over the threads keeps every core busy.
        let chunk = data
            .len()
            .div_ceil(rayon::current_num_threads())
            .clamp(1, PLAIN_CHUNK);
        let chunks: Vec<Vec<Vec<Vec<f32>>>> = data
            .par_chunks(chunk)
            .map(|chunk| {
                let batch = TokenBatch::from_sequences(
                    chunk.iter().map(|d| self.tokens[d.index()].as_slice()),
                );
                let mut caches = Vec::new();
                forward_through(self.model, &batch, Some(&mut caches), Some(keep), last);
                caches
                    .iter()
                    .zip(chunk)
                    .map(|(c, &d)| {
                        nodes
                            .iter()
                            .map(|&n| self.value_from(c, self.components[n.0], d))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        chunks.into_iter().flatten().collect()
    }
}
