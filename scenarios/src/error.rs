//! Errors of the scenarios and the CLI; every one names the file or option at fault.

use std::path::PathBuf;

/// What can go wrong preparing or running a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("no data directory: pass --data-dir DIR or set SCRUB_DATA=DIR (the folder that holds `paren/brackets_model.safetensors`)")]
    NoDataDir,
    #[error("data directory {path} (from {origin}) does not exist or is not a directory")]
    MissingDataDir { path: PathBuf, origin: &'static str },
    #[error("{path} is missing (looked inside the data directory {data_dir})")]
    MissingDataFile { path: PathBuf, data_dir: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Parts of a command of several failed; each entry names the part and why.
    #[error("{} of {total} failed (what finished was written): {}", failed.len(), failed.join("; "))]
    PartsFailed { total: usize, failed: Vec<String> },
    #[error("{path}:{line}:{column}: malformed data file: {message}")]
    MalformedData {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: sequence {index} ({text:?}): {message}")]
    BadSequence {
        path: PathBuf,
        index: usize,
        text: String,
        message: String,
    },
    #[error("{path} holds no sequences")]
    EmptyDataset { path: PathBuf },
    #[error(transparent)]
    Model(#[from] scrub_core::ModelError),
    #[error("GPU executor requested but {0}")]
    NoGpu(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error(transparent)]
    Hypothesis(#[from] scrub_core::scrub::hypothesis::HypothesisError),
    #[error("{0}")]
    Scrub(String),
    /// A typed error of one counterexample's scalar case, with the case it happened in.
    #[error("{case}: {source}")]
    Counterexample {
        case: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Stats(#[from] scrub_core::stats::StatsError),
    #[error(transparent)]
    Experiment(#[from] scrub_core::experiment::ExperimentError),
    #[error(transparent)]
    Induction(#[from] crate::induction::InductionError),
    #[error(transparent)]
    Dataset(#[from] scrub_core::dataset::DatasetError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Play(#[from] scrub_adversary::PlayError),
    #[error(transparent)]
    JoinFiles(#[from] scrub_adversary::JoinFilesError),
    #[error(transparent)]
    UndefinedRecovery(#[from] scrub_core::stats::UndefinedRecovery),
    #[error("unknown feature `{name}`; the paren features are: {valid}")]
    UnknownFeature { name: String, valid: String },
    #[error("feature `{name}`: {message}")]
    BadFeatureParameter { name: String, message: String },
    #[error("cannot subsample to a balanced fraction of {fraction}: {message}")]
    BadSubsample { fraction: f64, message: String },
    #[error("the model does not fit the paren analysis: {0}")]
    ModelMismatch(String),
    #[error("{len} sequences do not fit the paren features: {message}")]
    DatasetMismatch { len: usize, message: String },
}

impl From<scrub_core::scrub::rewrite::RewriteError> for ScenarioError {
    fn from(e: scrub_core::scrub::rewrite::RewriteError) -> Self {
        ScenarioError::Experiment(e.into())
    }
}
