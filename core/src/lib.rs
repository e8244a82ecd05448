//! Everything about causal scrubbing that is true on any device: the transformer's
//! configuration and weights, the CPU reference forward pass (the oracle every other
//! executor is checked against), token batches and the loss/accuracy metrics.

pub mod attribution;
pub mod cancel;
pub mod config;
pub mod dataset;
pub mod discover;
pub mod error;
pub mod executor;
pub mod experiment;
pub mod feature;
pub mod forward;
pub mod gradient;
pub mod hooks;
pub mod linalg;
pub mod mask;
pub mod memory;
pub mod metrics;
pub mod sampler;
pub mod scrub;
pub mod stats;
pub mod tensor;
pub mod testing;
pub mod text;
pub mod tokens;
pub mod weights;

pub use config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
pub use error::{ModelError, Result};
pub use executor::{CpuExecutor, Executor};
pub use feature::{Buckets, DatumId, FeatureColumn, FeatureValue};
pub use mask::SourceMask;
pub use tensor::Tensor;
pub use tokens::{SeqTarget, TokenBatch, TokenId};
pub use weights::{Model, Weights};
