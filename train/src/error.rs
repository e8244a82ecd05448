//! Errors of the trainer; each names the file or setting at fault.

use std::path::PathBuf;

/// What can go wrong tokenizing or training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Corpus(String),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    TokenFile(#[from] crate::tokens_file::TokenFileError),
    #[error(transparent)]
    Model(#[from] scrub_core::ModelError),
    #[error("{0}")]
    Invalid(String),
}

/// `map_err` helper for I/O on `path`.
pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}
