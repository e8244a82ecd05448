//! Logits at the rows a loss reads only: unembedding every row is most of the cost of a
//! language model's output otherwise.

use super::TransformerGraph;
use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::forward::unembed;

impl TransformerGraph<'_> {
    /// This graph computing logits only at `rows[datum]` (the positions a loss will read)
    /// and leaving the other rows zero: unembedding every row is most of the cost of a
    /// language model's output otherwise.
    pub fn with_output_rows(mut self, rows: Vec<Vec<usize>>) -> Result<Self> {
        let n = self.model.config.n_ctx;
        if rows.len() != self.tokens.len() {
            return Err(ModelError::Executor(format!(
                "output rows are given for {} data, the dataset has {}",
                rows.len(),
                self.tokens.len()
            )));
        }
        if let Some((d, &r)) = rows
            .iter()
            .enumerate()
            .find_map(|(d, rs)| rs.iter().find(|&&r| r >= n).map(|r| (d, r)))
        {
            return Err(ModelError::Executor(format!(
                "output row {r} of datum {d} is outside the context of {n} positions"
            )));
        }
        self.output_rows = Some(rows);
        Ok(self)
    }

    /// The rows whose logits `datum`'s output holds, when [`TransformerGraph::with_output_rows`]
    /// restricted them.
    pub fn output_rows(&self, datum: DatumId) -> Option<&[usize]> {
        self.output_rows
            .as_ref()
            .and_then(|r| r.get(datum.index()))
            .map(Vec::as_slice)
    }

    /// Zeroes the rows of `datum`'s logits `[n_ctx, d_vocab_out]` that the output node leaves
    /// zero (none without output rows), for executors that compute every row anyway.
    pub fn zero_unscored_rows(&self, datum: DatumId, logits: &mut [f32]) {
        let Some(rows) = self.output_rows(datum) else {
            return;
        };
        let v = self.model.config.d_vocab_out;
        for (r, row) in logits.chunks_exact_mut(v).enumerate() {
            if !rows.contains(&r) {
                row.fill(0.0);
            }
        }
    }

    /// `datum`'s logits `[n_ctx, d_vocab_out]` from the final residual stream `[n_ctx,
    /// d_model]`: every row, or only its output rows with the others zero.
    pub(super) fn logits(&self, datum: DatumId, resid: &[f32]) -> Vec<f32> {
        let Some(rows) = self.output_rows(datum) else {
            return unembed(self.model, resid);
        };
        let (d, v) = (self.model.config.d_model, self.model.config.d_vocab_out);
        let picked: Vec<f32> = rows
            .iter()
            .flat_map(|&r| resid[r * d..(r + 1) * d].iter().copied())
            .collect();
        let at = unembed(self.model, &picked);
        let mut out = vec![0.0f32; resid.len() / d * v];
        for (k, &r) in rows.iter().enumerate() {
            out[r * v..(r + 1) * v].copy_from_slice(&at[k * v..(k + 1) * v]);
        }
        out
    }

    /// With output rows, the block whose `hook_resid_post` plain logits are computed from, so
    /// that the plain pass skips the full unembedding.
    pub(super) fn logits_from_block(&self) -> Option<usize> {
        self.output_rows
            .as_ref()
            .and(self.model.config.n_layers.checked_sub(1))
    }
}
