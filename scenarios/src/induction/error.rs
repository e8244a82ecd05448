//! Errors of the induction scenario; each names the file or setting at fault.

use std::path::PathBuf;

/// What can go wrong loading or analysing the induction model and its data.
#[derive(Debug, thiserror::Error)]
pub enum InductionError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("model directory {path} does not exist or is not a directory (pass --model-dir DIR)")]
    MissingModelDir { path: PathBuf },
    #[error(
        "tokenizer {tokenizer} has {tokenizer_vocab} tokens but the model {config} has d_vocab = {model_vocab}: they were not made together"
    )]
    VocabMismatch {
        tokenizer: PathBuf,
        tokenizer_vocab: usize,
        config: PathBuf,
        model_vocab: usize,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    TokenFile(#[from] super::tokens_file::TokenFileError),
    #[error(transparent)]
    Model(#[from] scrub_core::ModelError),
}

impl InductionError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> InductionError + '_ {
        move |source| InductionError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
