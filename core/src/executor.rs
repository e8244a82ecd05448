//! The executor interface shared by the CPU reference and the GPU, and the CPU executor:
//! the reference forward run on chunks of the batch across all cores.

use rayon::prelude::*;

use crate::error::Result;
use crate::forward::forward;
use crate::metrics::{target_outcome, TargetOutcome};
use crate::tensor::Tensor;
use crate::tokens::{SeqTarget, TokenBatch};
use crate::weights::Model;

/// Something that runs a model's forward pass on batches of sequences.
pub trait Executor {
    /// Short name for reports: `cpu` or `gpu`.
    fn name(&self) -> &'static str;

    /// The wgpu adapter name, `None` for the CPU.
    fn adapter(&self) -> Option<String>;

    /// Logits `[n_rows, d_vocab_out]` for every row of `batch`.
    fn logits(&self, batch: &TokenBatch) -> Result<Tensor>;

    /// Loss and correctness of each target.
    fn outcomes(&self, batch: &TokenBatch, targets: &[SeqTarget]) -> Result<Vec<TargetOutcome>>;

    /// How many sequences one call should carry for good throughput.
    fn preferred_batch(&self) -> usize;
}

/// Runs the CPU reference forward, splitting batches into chunks spread across threads.
pub struct CpuExecutor<'m> {
    model: &'m Model,
    chunk: usize,
}

impl<'m> CpuExecutor<'m> {
    /// CPU executor over `model`; chunks of 128 sequences keep matrix products large enough
    /// to be efficient while leaving work for every core.
    pub fn new(model: &'m Model) -> Self {
        CpuExecutor { model, chunk: 128 }
    }

    fn chunked<T: Send>(
        &self,
        batch: &TokenBatch,
        f: impl Fn(&TokenBatch, usize) -> Vec<T> + Sync,
    ) -> Vec<T> {
        let n = batch.n_seqs();
        let starts: Vec<usize> = (0..n).step_by(self.chunk).collect();
        let mut parts: Vec<Vec<T>> = starts
            .par_iter()
            .map(|&s| {
                let end = (s + self.chunk).min(n);
                f(&batch.slice(s..end), s)
            })
            .collect();
        // One chunk (a batch of a large model) is moved, not copied: its logits alone can
        // be hundreds of megabytes.
        if parts.len() == 1 {
            return parts.pop().expect("one part");
        }
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        parts.into_iter().for_each(|p| all.extend(p));
        all
    }
}

impl Executor for CpuExecutor<'_> {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn adapter(&self) -> Option<String> {
        None
    }

    fn logits(&self, batch: &TokenBatch) -> Result<Tensor> {
        batch.validate(&self.model.config)?;
        let data = self.chunked(batch, |b, _| forward(self.model, b, None).data);
        Ok(Tensor::new(
            vec![batch.n_rows(), self.model.config.d_vocab_out],
            data,
        ))
    }

    fn outcomes(&self, batch: &TokenBatch, targets: &[SeqTarget]) -> Result<Vec<TargetOutcome>> {
        batch.validate(&self.model.config)?;
        SeqTarget::validate(targets, batch, self.model.config.d_vocab_out)?;
        let logits = self.logits(batch)?;
        Ok(targets
            .iter()
            .map(|t| target_outcome(logits.row(t.row(batch)), t.label as usize))
            .collect())
    }

    fn preferred_batch(&self) -> usize {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
    use crate::testing::random_model;
    use crate::tokens::TokenId;

    fn model() -> Model {
        let cfg = ModelConfig {
            n_layers: 1,
            n_heads: 2,
            d_model: 8,
            d_head: 4,
            d_mlp: Some(8),
            d_vocab: 5,
            d_vocab_out: 2,
            n_ctx: 4,
            act_fn: ActFn::Relu,
            normalization: Normalization::PreLayerNorm,
            attention: AttentionKind::Bidirectional,
            positional: PositionalKind::Standard,
            pad_token: Some(1),
            ln_eps: 1e-5,
            n_kv_heads: None,
            rope_theta: 10000.0,
            gated_mlp: false,
            rotary_dim: None,
            parallel_attn_mlp: false,
        };
        random_model(&cfg, 3, 0.3)
    }

    fn batch(seqs: &[&[u32]]) -> TokenBatch {
        let v: Vec<Vec<TokenId>> = seqs
            .iter()
            .map(|s| s.iter().map(|&t| TokenId(t)).collect())
            .collect();
        TokenBatch::from_sequences(v.iter().map(Vec::as_slice))
    }

    #[test]
    fn token_outside_vocabulary_is_an_error_naming_it() {
        let m = model();
        let err = CpuExecutor::new(&m)
            .logits(&batch(&[&[0, 3, 2], &[0, 9, 2]]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sequence 1") && err.contains("token id 9") && err.contains("position 1"),
            "{err}"
        );
    }

    #[test]
    fn sequence_longer_than_context_is_an_error() {
        let m = model();
        let err = CpuExecutor::new(&m)
            .logits(&batch(&[&[0, 3, 4, 3, 2]]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("5 tokens") && err.contains("n_ctx = 4"),
            "{err}"
        );
    }

    #[test]
    fn bad_targets_are_errors() {
        let m = model();
        let b = batch(&[&[0, 3, 2]]);
        let ex = CpuExecutor::new(&m);
        let err = ex
            .outcomes(
                &b,
                &[SeqTarget {
                    seq: 0,
                    position: 0,
                    label: 2,
                }],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 2"), "{err}");
        let err = ex
            .outcomes(
                &b,
                &[SeqTarget {
                    seq: 0,
                    position: 3,
                    label: 0,
                }],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("position 3"), "{err}");
    }

    #[test]
    fn outcomes_use_the_target_rows() {
        let m = model();
        let b = batch(&[&[0, 3, 2], &[0, 4, 4, 2]]);
        let ex = CpuExecutor::new(&m);
        let logits = ex.logits(&b).unwrap();
        let t = [SeqTarget {
            seq: 1,
            position: 2,
            label: 1,
        }];
        let got = ex.outcomes(&b, &t).unwrap()[0];
        assert_eq!(got, target_outcome(logits.row(3 + 2), 1));
    }
}
