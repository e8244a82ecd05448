//! What can be wrong with a dataset file; every error names the file and where in it, so a
//! user who wrote the file by hand (or with a script) can find the fault without Rust.

use std::path::PathBuf;

/// Where a datum came from, for messages: `datum 5 (line 6)` for JSONL, `datum 5` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatumAt {
    /// Index of the datum.
    pub datum: usize,
    /// Its line in a JSONL file.
    pub line: Option<usize>,
}

impl std::fmt::Display for DatumAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "datum {} (line {l})", self.datum),
            None => write!(f, "datum {}", self.datum),
        }
    }
}

/// Everything that can be wrong with a dataset, with the file and the place in it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a dataset: expected a `.jsonl` file, a `.safetensors` file or a directory \
         of `.npy` files"
    )]
    UnknownFormat { path: PathBuf },
    #[error("{path}: the dataset has no data")]
    Empty { path: PathBuf },

    // JSONL.
    #[error("{path}:{line}:{column}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}:{line}: blank line between data (only blank lines at the end are allowed, so \
         that datum d is line d+1)"
    )]
    BlankLine { path: PathBuf, line: usize },
    #[error("{path}:{line}: no `tokens` key")]
    MissingTokens { path: PathBuf, line: usize },
    #[error("{path}:{line}: `tokens` must be an array of non-negative integers, found {found}")]
    TokensNotArray {
        path: PathBuf,
        line: usize,
        found: String,
    },
    #[error("{path}:{line}: tokens[{index}] is {found}, not a non-negative integer below 2^32")]
    BadToken {
        path: PathBuf,
        line: usize,
        index: usize,
        found: String,
    },
    #[error("{path}:{line}: `tokens` is empty (every datum needs at least one token)")]
    EmptyTokens { path: PathBuf, line: usize },
    #[error("{path}:{line}: no key `{column}` (line 1 has it; every line needs the same keys)")]
    MissingKey {
        path: PathBuf,
        line: usize,
        column: String,
    },
    #[error("{path}:{line}: key `{column}` is not in line 1 (every line needs the same keys)")]
    ExtraKey {
        path: PathBuf,
        line: usize,
        column: String,
    },
    #[error(
        "{path}:{line}: key `lengths` is reserved (safetensors and npy files give sequence \
         lengths under that name); rename the column"
    )]
    ReservedKey { path: PathBuf, line: usize },
    #[error("{path}:{line}: key `{column}` appears twice")]
    DuplicateKey {
        path: PathBuf,
        line: usize,
        column: String,
    },
    #[error("{path}:{line}: column `{column}`: {message}")]
    BadValue {
        path: PathBuf,
        line: usize,
        column: String,
        message: String,
    },
    #[error(
        "{path}: column `{column}` is {first} in line {first_line} but {other} in line \
         {other_line}"
    )]
    MixedKinds {
        path: PathBuf,
        column: String,
        first: String,
        first_line: usize,
        other: String,
        other_line: usize,
    },
    #[error(
        "{path}:{line}: column `{column}` has {len} per-position values but `tokens` has {tokens}"
    )]
    PositionLength {
        path: PathBuf,
        line: usize,
        column: String,
        len: usize,
        tokens: usize,
    },

    // Columnar (safetensors, npy).
    #[error("{path}: no `tokens` {what}")]
    MissingTokenArray { path: PathBuf, what: &'static str },
    #[error("{path}: `{column}` has shape {shape:?}, expected {expected}")]
    Shape {
        path: PathBuf,
        column: String,
        shape: Vec<usize>,
        expected: String,
    },
    #[error("{path}: `{column}` has {len} rows but `tokens` has {n} data")]
    ColumnLength {
        path: PathBuf,
        column: String,
        len: usize,
        n: usize,
    },
    #[error(
        "{path}: per-position column `{column}` is {width} wide but `tokens` is {expected} wide"
    )]
    PositionWidth {
        path: PathBuf,
        column: String,
        width: usize,
        expected: usize,
    },
    #[error("{path}: lengths[{datum}] is {length}, outside 1..={width} (the width of `tokens`)")]
    Lengths {
        path: PathBuf,
        datum: usize,
        length: i64,
        width: usize,
    },
    #[error("{path}: token {value} of datum {datum} at position {position} is not in 0..2^32")]
    TokenValue {
        path: PathBuf,
        datum: usize,
        position: usize,
        value: i64,
    },
    #[error("{path}: `{column}` has dtype {dtype}, which is not supported{hint}")]
    Dtype {
        path: PathBuf,
        column: String,
        dtype: String,
        hint: &'static str,
    },
    #[error("{path}: `{column}` holds {value}, which does not fit in a 64-bit signed integer")]
    IntRange {
        path: PathBuf,
        column: String,
        value: u64,
    },
    #[error("{path}: malformed NPY file: {message}")]
    NpyHeader { path: PathBuf, message: String },
    #[error(
        "{path}: array is in Fortran order; save it in C order (np.save(f, np.ascontiguousarray(a)))"
    )]
    FortranOrder { path: PathBuf },
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },

    // Using the columns.
    #[error(
        "column `{column}` holds floats, which are targets, not features; discretise it into an \
         int column"
    )]
    FloatFeature { column: String },
    #[error("column `{column}` is per-position: take a feature at one position (feature_at)")]
    PerPositionFeature { column: String },
    #[error("column `{column}` is per-datum, not per-position")]
    NotPerPosition { column: String },
    #[error("column `{column}` holds strings, which safetensors cannot store (use .npy files)")]
    StringsInSafetensors { column: String },

    // Checks against a model.
    #[error("{path}: {at}: token {token} at position {position} is not below d_vocab = {d_vocab}")]
    TokenOutOfVocab {
        path: PathBuf,
        at: DatumAt,
        position: usize,
        token: u32,
        d_vocab: usize,
    },
    #[error("{path}: {at}: {len} tokens, more than n_ctx = {n_ctx}")]
    TooLong {
        path: PathBuf,
        at: DatumAt,
        len: usize,
        n_ctx: usize,
    },
}
