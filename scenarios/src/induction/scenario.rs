//! The committed scenario loaded and cross-checked: the model, its tokenizer (same
//! vocabulary size) and the validation slice (same tokenizer, sequences that fit the
//! context). Everything that analyses the induction model starts here.

use scrub_core::{Model, TokenId};

use super::error::InductionError;
use super::paths::{ModelDir, CONFIG, TOKENIZER, VALIDATION};
use super::tokens_file::TokenFile;
use super::vocab::Vocab;

/// Model, vocabulary and validation data that belong together.
pub struct Induction {
    pub dir: ModelDir,
    pub model: Model,
    pub vocab: Vocab,
    pub validation: TokenFile,
}

impl Induction {
    /// Loads `dir`, failing with a message that names the files when they do not match.
    pub fn load(dir: &ModelDir) -> Result<Induction, InductionError> {
        let model = dir.model()?;
        let vocab = Vocab::load(&dir.file(TOKENIZER))?;
        vocab.check_model(&model.config, &dir.file(CONFIG))?;
        let vpath = dir.file(VALIDATION);
        let validation = TokenFile::read(&vpath)?;
        let bad = |message: String| InductionError::Malformed {
            path: vpath.clone(),
            message,
        };
        if validation.meta.vocab_size != vocab.len() {
            return Err(bad(format!(
                "made with a tokenizer of {} tokens, but {} has {}",
                validation.meta.vocab_size,
                vocab.path.display(),
                vocab.len()
            )));
        }
        match validation.meta.seq_len {
            Some(n) if n <= model.config.n_ctx => {}
            other => {
                return Err(bad(format!(
                    "holds sequences of {other:?} tokens; the model takes at most {}",
                    model.config.n_ctx
                )))
            }
        }
        Ok(Induction {
            dir: dir.clone(),
            model,
            vocab,
            validation,
        })
    }

    /// The first `n` validation sequences as model input.
    pub fn validation_sequences(&self, n: usize) -> Vec<Vec<TokenId>> {
        self.validation
            .sequences()
            .expect("checked on load")
            .take(n)
            .map(|s| s.iter().map(|&t| TokenId(t as u32)).collect())
            .collect()
    }
}
