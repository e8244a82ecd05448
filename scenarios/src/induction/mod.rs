//! The induction scenario: the project's own 2-layer attention-only language model (trained
//! by the `scrub-train` crate), its tokenized validation data, the identification of its
//! induction and previous-token heads, and the write-up's "inductiony" token subset.

pub mod error;
pub mod eval_set;
pub mod experiment;
pub mod export;
pub mod heads;
pub mod hypotheses;
pub mod paths;
pub mod report;
pub mod scenario;
pub mod scrub;
pub mod subset;
pub mod subset_file;
pub mod tokens_file;
pub mod typicality;
pub mod vocab;

pub use error::InductionError;
pub use eval_set::{evaluation_examples, Example};
pub use heads::{identify, Head, HeadProbe, HeadScores};
pub use paths::ModelDir;
pub use scenario::Induction;
pub use subset_file::SubsetFile;
pub use tokens_file::{TokenFile, TokenFileMeta};
pub use vocab::Vocab;

#[cfg(test)]
pub(crate) mod test_support {
    use scrub_core::config::{ActFn, AttentionKind, Normalization, PositionalKind};
    use scrub_core::ModelConfig;

    /// A small model config of the induction model's kind.
    pub fn config(d_vocab: usize, n_ctx: usize) -> ModelConfig {
        ModelConfig {
            n_layers: 2,
            n_heads: 2,
            d_model: 8,
            d_head: 4,
            d_mlp: None,
            d_vocab,
            d_vocab_out: d_vocab,
            n_ctx,
            act_fn: ActFn::Relu,
            normalization: Normalization::PreLayerNorm,
            attention: AttentionKind::Causal,
            positional: PositionalKind::Shortformer,
            pad_token: None,
            ln_eps: 1e-5,
            n_kv_heads: None,
            rope_theta: 10000.0,
            gated_mlp: false,
            rotary_dim: None,
            parallel_attn_mlp: false,
        }
    }
}
