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
        starts
            .par_iter()
            .map(|&s| {
                let end = (s + self.chunk).min(n);
                f(&batch.slice(s..end), s)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect()
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
