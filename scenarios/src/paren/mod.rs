//! The paren balance checker: the real model of the write-up and its labelled sequences.

pub mod data;
pub mod experiment;
pub mod export;
pub mod features;
pub mod padj;
pub mod phi;
pub mod scrub;
pub mod subsample;
pub mod table;

use scrub_core::{Model, ModelConfig, Weights};

use crate::data_dir::DataDir;
use crate::error::ScenarioError;

pub use data::{ParenDataset, ParenExample};
pub use features::{ParenFeatures, PositionClass};
pub use padj::PrefixWeights;
pub use phi::{HeadValues, Phi, PhiFacts};
pub use subsample::balanced_subsample;

/// Scenario name, also the sub-folder of the data directory.
pub const NAME: &str = "paren";
/// Weights file inside `<data dir>/paren/`.
pub const WEIGHTS_FILE: &str = "brackets_model.safetensors";
/// Labelled sequences inside `<data dir>/paren/`.
pub const DATA_FILE: &str = "brackets_data.json";
/// The model's configuration, shipped with the project.
pub const CONFIG_RON: &str = include_str!("../../paren/model.ron");

/// Token ids of the paren vocabulary.
pub mod token {
    use scrub_core::TokenId;
    pub const START: TokenId = TokenId(0);
    pub const PAD: TokenId = TokenId(1);
    pub const END: TokenId = TokenId(2);
    pub const OPEN: TokenId = TokenId(3);
    pub const CLOSE: TokenId = TokenId(4);
}

/// Output class for "balanced" (class 0 is "unbalanced").
pub const BALANCED_CLASS: u32 = 1;

/// The shipped configuration.
pub fn config() -> ModelConfig {
    ModelConfig::from_ron_str(
        CONFIG_RON,
        std::path::Path::new("scenarios/paren/model.ron"),
    )
    .expect("the shipped paren config parses")
}

/// Loads the real paren model from `<data dir>/paren/`.
pub fn load_model(dir: &DataDir) -> Result<Model, ScenarioError> {
    let config = config();
    let weights = Weights::load(&config, &dir.file(NAME, WEIGHTS_FILE)?)?;
    Ok(Model { config, weights })
}

/// Loads the labelled sequences from `<data dir>/paren/`.
pub fn load_dataset(dir: &DataDir) -> Result<ParenDataset, ScenarioError> {
    ParenDataset::load(&dir.file(NAME, DATA_FILE)?, config().n_ctx)
}
