//! Where the committed induction model and its data live.

use std::path::{Path, PathBuf};

use scrub_core::{Model, ModelConfig};

use super::error::InductionError;

/// Config of the model, in the model directory.
pub const CONFIG: &str = "config.ron";
/// Weights (safetensors, TransformerLens naming), in the model directory.
pub const WEIGHTS: &str = "model.safetensors";
/// The BPE tokenizer (Hugging Face `tokenizers` JSON), in the model directory.
pub const TOKENIZER: &str = "tokenizer.json";
/// The chosen "inductiony" tokens, in the model directory.
pub const SUBSET: &str = "subset.json";
/// The tokenized validation slice, in the model directory.
pub const VALIDATION: &str = "validation.u16";

/// A directory holding the induction model's files.
#[derive(Debug, Clone)]
pub struct ModelDir(PathBuf);

impl ModelDir {
    /// The committed model: `scenarios/induction/model` of this checkout.
    pub fn committed() -> ModelDir {
        ModelDir(Path::new(env!("CARGO_MANIFEST_DIR")).join("induction/model"))
    }

    /// `flag` if given, else the committed model; the directory must exist.
    pub fn resolve(flag: Option<&Path>) -> Result<ModelDir, InductionError> {
        let dir = flag.map_or_else(|| Self::committed().0, Path::to_path_buf);
        if !dir.is_dir() {
            return Err(InductionError::MissingModelDir { path: dir });
        }
        Ok(ModelDir(dir))
    }

    /// Uses `path` as is (it may not exist yet, e.g. for the trainer's output).
    pub fn at(path: &Path) -> ModelDir {
        ModelDir(path.to_path_buf())
    }

    /// `<dir>/<name>`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The model's config alone.
    pub fn config(&self) -> Result<ModelConfig, InductionError> {
        Ok(ModelConfig::load(&self.file(CONFIG))?)
    }

    /// Config and weights.
    pub fn model(&self) -> Result<Model, InductionError> {
        Ok(Model::load(&self.file(CONFIG), &self.file(WEIGHTS))?)
    }
}
