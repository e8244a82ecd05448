//! Token ids and ragged batches of sequences: rows of all sequences are concatenated, so
//! no work is spent on padding.

use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};

/// One token of the model's input vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TokenId(pub u32);

/// A set of sequences stored back to back; sequence `i` is rows `offsets[i]..offsets[i+1]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenBatch {
    tokens: Vec<TokenId>,
    offsets: Vec<usize>,
}

impl TokenBatch {
    /// Builds a batch from sequences in order.
    pub fn from_sequences<'a, I: IntoIterator<Item = &'a [TokenId]>>(seqs: I) -> Self {
        let mut batch = TokenBatch {
            tokens: Vec::new(),
            offsets: vec![0],
        };
        for s in seqs {
            batch.push(s);
        }
        batch
    }

    /// Appends one sequence.
    pub fn push(&mut self, seq: &[TokenId]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.tokens.extend_from_slice(seq);
        self.offsets.push(self.tokens.len());
    }

    /// Number of sequences.
    pub fn n_seqs(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of token rows across all sequences.
    pub fn n_rows(&self) -> usize {
        self.tokens.len()
    }

    /// All tokens, sequence after sequence.
    pub fn tokens(&self) -> &[TokenId] {
        &self.tokens
    }

    /// Row offsets, `n_seqs + 1` entries starting at 0.
    pub fn offsets(&self) -> &[usize] {
        if self.offsets.is_empty() {
            &[0]
        } else {
            &self.offsets
        }
    }

    /// Tokens of sequence `i`.
    pub fn seq(&self, i: usize) -> &[TokenId] {
        &self.tokens[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Row range of sequence `i`.
    pub fn seq_rows(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }

    /// Sequences `range` as a new batch.
    pub fn slice(&self, range: std::ops::Range<usize>) -> TokenBatch {
        TokenBatch::from_sequences(range.map(|i| self.seq(i)))
    }

    /// Longest sequence in the batch.
    pub fn max_len(&self) -> usize {
        (0..self.n_seqs())
            .map(|i| self.offsets[i + 1] - self.offsets[i])
            .max()
            .unwrap_or(0)
    }

    /// Checks every sequence against the model: non-empty, within `n_ctx`, tokens in vocabulary.
    pub fn validate(&self, cfg: &ModelConfig) -> Result<()> {
        for i in 0..self.n_seqs() {
            let s = self.seq(i);
            if s.is_empty() {
                return Err(ModelError::EmptySequence { seq: i });
            }
            if s.len() > cfg.n_ctx {
                return Err(ModelError::SequenceTooLong {
                    seq: i,
                    len: s.len(),
                    n_ctx: cfg.n_ctx,
                });
            }
            if let Some((position, t)) = s
                .iter()
                .enumerate()
                .find(|(_, t)| t.0 as usize >= cfg.d_vocab)
            {
                return Err(ModelError::TokenOutOfVocab {
                    seq: i,
                    position,
                    token: t.0,
                    d_vocab: cfg.d_vocab,
                });
            }
        }
        Ok(())
    }
}

/// A supervised readout: the logits of sequence `seq` at `position` should favour `label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqTarget {
    pub seq: usize,
    pub position: usize,
    pub label: u32,
}

impl SeqTarget {
    /// Checks the target points into `batch` and its label is a valid output class.
    pub fn validate(targets: &[SeqTarget], batch: &TokenBatch, d_vocab_out: usize) -> Result<()> {
        for (index, t) in targets.iter().enumerate() {
            let bad = |message: String| Err(ModelError::BadTarget { index, message });
            if t.seq >= batch.n_seqs() {
                return bad(format!(
                    "sequence {} is outside the batch of {}",
                    t.seq,
                    batch.n_seqs()
                ));
            }
            let len = batch.seq(t.seq).len();
            if t.position >= len {
                return bad(format!(
                    "position {} is past the end of sequence {} (length {len})",
                    t.position, t.seq
                ));
            }
            if t.label as usize >= d_vocab_out {
                return bad(format!(
                    "label {} is not an output class (d_vocab_out = {d_vocab_out})",
                    t.label
                ));
            }
        }
        Ok(())
    }

    /// Row of this target in `batch`.
    pub fn row(&self, batch: &TokenBatch) -> usize {
        batch.offsets()[self.seq] + self.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(v: &[u32]) -> Vec<TokenId> {
        v.iter().map(|&t| TokenId(t)).collect()
    }

    #[test]
    fn ragged_offsets_and_slices() {
        let a = toks(&[0, 3, 4, 2]);
        let b = toks(&[0, 2]);
        let batch = TokenBatch::from_sequences([a.as_slice(), b.as_slice(), a.as_slice()]);
        assert_eq!(batch.offsets(), &[0, 4, 6, 10]);
        assert_eq!(batch.seq(1), b.as_slice());
        let s = batch.slice(1..3);
        assert_eq!(s.offsets(), &[0, 2, 6]);
        assert_eq!(s.max_len(), 4);
    }
}
