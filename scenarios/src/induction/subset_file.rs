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
    /// Reads `subset.json`.
    pub fn load(path: &Path) -> Result<SubsetFile, InductionError> {
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
        Ok(f)
    }

    /// The token ids.
    pub fn ids(&self) -> Vec<u32> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}
