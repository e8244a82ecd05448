//! `subset.json`: the chosen beta and threshold, how they were chosen, and the token list.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::InductionError;
use super::subset::{SubsetParams, SubsetToken};

/// One beta of the grid: its mean heuristic loss over all pairs and how many tokens it
/// selects at the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BetaScore {
    pub beta: f64,
    pub mean_induction_loss: f64,
    pub selected: usize,
}

/// The saved subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetFile {
    pub params: SubsetParams,
    /// What the statistics were computed on.
    pub source: String,
    pub n_pairs: usize,
    pub mean_bigram_loss: f64,
    /// Every beta tried; `params.beta` is the one that selects the most tokens.
    pub beta_grid: Vec<BetaScore>,
    pub tokens: Vec<SubsetToken>,
}

impl SubsetFile {
    /// Reads `subset.json`, whose token ids must lie in a vocabulary of `d_vocab` tokens.
    pub fn load(path: &Path, d_vocab: usize) -> Result<SubsetFile, InductionError> {
        let text = std::fs::read_to_string(path).map_err(InductionError::io(path))?;
        let f: SubsetFile = serde_json::from_str(&text).map_err(|e| InductionError::Malformed {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if f.tokens.is_empty() {
            return Err(InductionError::Malformed {
                path: path.to_path_buf(),
                message: "the token list is empty".into(),
            });
        }
        if let Some((i, t)) = f
            .tokens
            .iter()
            .enumerate()
            .find(|(_, t)| t.id as usize >= d_vocab)
        {
            return Err(InductionError::Malformed {
                path: path.to_path_buf(),
                message: format!(
                    "tokens[{i}]: token id {} is outside the model's vocabulary (d_vocab = {d_vocab})",
                    t.id
                ),
            });
        }
        Ok(f)
    }

    /// The token ids.
    pub fn ids(&self) -> Vec<u32> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_outside_the_vocabulary_is_named_with_the_file() {
        let committed = super::super::ModelDir::committed().file(super::super::paths::SUBSET);
        let mut f = SubsetFile::load(&committed, usize::MAX).expect("the committed subset loads");
        f.tokens[1].id = 4096;
        let dir = std::env::temp_dir().join(format!("scrub-subset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("subset.json");
        std::fs::write(&path, serde_json::to_string(&f).unwrap()).unwrap();
        let e = SubsetFile::load(&path, 4096).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("subset.json"), "{e}");
        assert!(e.contains("tokens[1]") && e.contains("4096"), "{e}");
        assert!(e.contains("d_vocab = 4096"), "{e}");
    }
}
