//! Errors from loading and running models; each names the file or tensor at fault.

use std::path::PathBuf;

/// Result alias for the core crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Everything that can go wrong loading or running a model, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("stopped: the run was interrupted")]
    Cancelled,
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid model config: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: invalid model config: {message}")]
    ConfigValue { path: PathBuf, message: String },
    #[error("{path}: TransformerLens config field `{field}` = {value}: {message}")]
    TlField {
        path: PathBuf,
        field: String,
        /// The value as JSON text.
        value: String,
        message: String,
    },
    #[error(
        "{path}: unknown TransformerLens config field `{field}` = {value}; scrub does not know \
         whether it changes the model"
    )]
    TlUnknownField {
        path: PathBuf,
        field: String,
        /// The value as JSON text.
        value: String,
    },
    #[error("{path}: TransformerLens config lacks the required field `{field}`")]
    TlMissingField { path: PathBuf, field: String },
    #[error("{dir}: not a Hugging Face model folder: {message}")]
    HfFolder { dir: PathBuf, message: String },
    #[error("{path}: `model_type` {found} is not supported; supported: {supported}")]
    HfModelType {
        path: PathBuf,
        /// The value as JSON text.
        found: String,
        /// The supported model types, comma-separated.
        supported: String,
    },
    #[error("{path}: Hugging Face config field `{field}` = {value}: {message}")]
    HfField {
        path: PathBuf,
        field: String,
        /// The value as JSON text.
        value: String,
        message: String,
    },
    #[error(
        "{path}: unknown Hugging Face config field `{field}` = {value} for model_type \"{model_type}\"; \
         scrub does not know whether it changes the model"
    )]
    HfUnknownField {
        path: PathBuf,
        model_type: String,
        field: String,
        /// The value as JSON text.
        value: String,
    },
    #[error("{path}: Hugging Face config lacks the required field `{field}`")]
    HfMissingField { path: PathBuf, field: String },
    #[error("{index}: lists shard `{shard}` (holding `{tensor}`), but {path} does not exist")]
    MissingShard {
        index: PathBuf,
        shard: String,
        tensor: String,
        path: PathBuf,
    },
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error(
        "{path}: a PyTorch checkpoint, not a safetensors file; convert it with\n  python -c \"import \
         torch; from safetensors.torch import save_file; sd = torch.load('{path}', \
         map_location='cpu'); save_file({{k: v.contiguous() for k, v in sd.items()}}, \
         'model.safetensors')\"\n(with `pip install torch safetensors`), then load \
         model.safetensors"
    )]
    PyTorchCheckpoint { path: PathBuf },
    #[error("{path}: tensor `{name}`: {message}")]
    TensorData {
        path: PathBuf,
        name: String,
        message: String,
    },
    #[error(
        "{path}: the config does not use {} tensor(s) in the file: {}; {hint}",
        names.len(),
        names.join(", ")
    )]
    UnusedTensors {
        path: PathBuf,
        names: Vec<String>,
        hint: String,
    },
    #[error("{path}: missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
    },
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("{path}: tensor `{name}` has dtype {found}; expected F32, F16 or BF16")]
    WrongDtype {
        path: PathBuf,
        name: String,
        found: String,
    },
    #[error("{path}: tensor `{name}` contains a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        path: PathBuf,
        name: String,
        index: usize,
        value: f32,
    },
    #[error("sequence {seq}: token id {token} at position {position} is outside the vocabulary (d_vocab = {d_vocab})")]
    TokenOutOfVocab {
        seq: usize,
        position: usize,
        token: u32,
        d_vocab: usize,
    },
    #[error("sequence {seq} has {len} tokens, longer than the model's context n_ctx = {n_ctx}")]
    SequenceTooLong {
        seq: usize,
        len: usize,
        n_ctx: usize,
    },
    #[error("sequence {seq} is empty")]
    EmptySequence { seq: usize },
    #[error("target {index}: {message}")]
    BadTarget { index: usize, message: String },
    #[error("executor failure: {0}")]
    Executor(String),
}
