//! What can be wrong with a task directory; each error names the file, column or datum.

use std::path::PathBuf;

/// Why a task directory cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{path}:{line}:{column}: invalid task manifest: {message}")]
    Manifest {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{manifest}: `{field}` names {path}, which does not exist")]
    MissingFile {
        manifest: PathBuf,
        field: String,
        path: PathBuf,
    },
    #[error(transparent)]
    Model(#[from] scrub_core::ModelError),
    #[error(transparent)]
    Dataset(#[from] scrub_core::dataset::DatasetError),
    #[error(
        "{what} names column `{name}`, which {dataset} does not have; its columns are: {known}"
    )]
    MissingColumn {
        what: String,
        name: String,
        dataset: PathBuf,
        known: String,
    },
    #[error("column `{name}` is a {found} column; expected {expected}")]
    ColumnKind {
        name: String,
        found: String,
        expected: String,
    },
    #[error("{dataset}: {at}: {message}")]
    Metric {
        dataset: PathBuf,
        at: String,
        message: String,
    },
    #[error("the model has {width} output(s): cross-entropy of a one-logit \"classifier\" is always 0 (every datum scored right); use SquaredError for a numerical output")]
    OneLogitClassifier { width: usize },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Hypothesis(#[from] scrub_core::scrub::hypothesis::HypothesisError),
}
