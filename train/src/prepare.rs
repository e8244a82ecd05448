//! From corpus to token files: the training stream (documents joined by `[END]`) and the
//! validation slice (windows of that split's stream, each `[BEGIN]` + `n_ctx - 1` tokens).

use std::path::Path;

use crate::tokens_file::{TokenFile, TokenFileMeta};
use tokenizers::Tokenizer;

use crate::bpe;
use crate::corpus::{read_doc, Split};
use crate::error::TrainError;

/// The documents of `split` encoded and joined, each followed by `[END]`.
pub fn stream(t: &Tokenizer, split: &Split) -> Result<Vec<u16>, TrainError> {
    let mut out = Vec::new();
    for (i, f) in split.files.iter().enumerate() {
        out.extend(bpe::encode(t, &read_doc(f)?)?);
        out.push(1);
        if (i + 1) % 200 == 0 {
            tracing::info!(
                split = split.name,
                documents = i + 1,
                tokens = out.len(),
                "encoding"
            );
        }
    }
    Ok(out)
}

/// Writes the training stream to `path` (with its sidecar).
pub fn write_stream(
    tokens: Vec<u16>,
    vocab_size: usize,
    path: &Path,
    description: &str,
) -> Result<(), TrainError> {
    let f = TokenFile {
        meta: TokenFileMeta {
            format: "u16le".into(),
            n_tokens: tokens.len(),
            seq_len: None,
            begin_token: 0,
            end_token: 1,
            vocab_size,
            description: description.into(),
        },
        tokens,
    };
    Ok(f.write(path)?)
}

/// Cuts `stream` into consecutive windows of `n_ctx - 1` tokens, puts `[BEGIN]` in front of
/// each and keeps the first `max_seqs`.
pub fn sequences(stream: &[u16], n_ctx: usize, max_seqs: usize) -> Vec<u16> {
    stream
        .chunks_exact(n_ctx - 1)
        .take(max_seqs)
        .flat_map(|w| std::iter::once(0).chain(w.iter().copied()))
        .collect()
}

/// Writes the validation slice (sequence file) to `path`.
pub fn write_sequences(
    tokens: Vec<u16>,
    n_ctx: usize,
    vocab_size: usize,
    path: &Path,
    description: &str,
) -> Result<(), TrainError> {
    let f = TokenFile {
        meta: TokenFileMeta {
            format: "u16le".into(),
            n_tokens: tokens.len(),
            seq_len: Some(n_ctx),
            begin_token: 0,
            end_token: 1,
            vocab_size,
            description: description.into(),
        },
        tokens,
    };
    Ok(f.write(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_begin_plus_windows() {
        let s: Vec<u16> = (2..12).collect();
        assert_eq!(
            sequences(&s, 4, 10),
            vec![0, 2, 3, 4, 0, 5, 6, 7, 0, 8, 9, 10]
        );
        assert_eq!(sequences(&s, 4, 1), vec![0, 2, 3, 4]);
    }
}
