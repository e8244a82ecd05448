//! Training of the induction scenario's model: BPE tokenizer and tokenized corpus, the
//! 2-layer attention-only transformer in candle, AdamW, checkpoints and the loss curve.
//! Its own crate so that the everyday build of `scrub` never compiles candle.

pub mod adam;
pub mod batches;
pub mod bpe;
pub mod corpus;
pub mod error;
pub mod model;
pub mod plot;
pub mod prepare;
pub mod train;

pub use error::TrainError;
pub use model::AttnOnly;

/// The token file format of `scrub_scenarios::induction::tokens_file`, compiled here from
/// the same source so the trainer need not depend on (and build) the scenarios crate.
#[path = "../../scenarios/src/induction/tokens_file.rs"]
pub mod tokens_file;
