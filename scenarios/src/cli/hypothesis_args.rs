//! The arguments every command that scrubs one hypothesis file shares, and loading it.

use std::path::PathBuf;

use clap::Args;

use scrub_core::scrub::hypothesis::HypothesisFile;

use scrub_core::experiment::Scenario;

use crate::error::ScenarioError;
use crate::registry::{self, OpenOptions};

/// A hypothesis file and the data options that override it.
#[derive(Debug, Args)]
pub struct HypothesisArgs {
    /// The hypothesis file (RON).
    pub file: PathBuf,
    /// Scrub samples, at least 2 (default: the file's `samples`).
    #[arg(long, value_parser = super::sample_count)]
    pub samples: Option<usize>,
    /// Seed of the sampler (default: the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Scrub only from a subsample with this fraction of balanced sequences, keeping every
    /// unbalanced one (the write-up's data was 0.26 balanced; the shipped file is 0.46).
    #[arg(long, value_parser = super::balanced_fraction, allow_hyphen_values = true)]
    pub balanced_fraction: Option<f64>,
    /// Induction files: the model directory (default: the committed
    /// scenarios/induction/model).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
}

/// A loaded hypothesis with the samples and seed the run uses.
pub struct LoadedHypothesis {
    pub file: HypothesisFile,
    /// The file's stem, the hypothesis's name in reports.
    pub name: String,
    pub samples: usize,
    pub seed: u64,
}

impl HypothesisArgs {
    /// Reads the file and the samples and seed the run uses.
    pub fn load(&self) -> Result<LoadedHypothesis, ScenarioError> {
        let file = HypothesisFile::load(&self.file)?;
        let name = self
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let samples = self.samples.unwrap_or(file.samples);
        if samples < scrub_core::stats::MIN_SAMPLES {
            return Err(ScenarioError::Scrub(format!(
                "{}: `samples: {samples}` is too few: at least {} are needed (a standard error needs two)",
                self.file.display(),
                scrub_core::stats::MIN_SAMPLES
            )));
        }
        Ok(LoadedHypothesis {
            samples,
            seed: self.seed.unwrap_or(file.seed),
            file,
            name,
        })
    }

    /// The scenario `file` names, opened through the registry with this command's options.
    pub fn open(
        &self,
        file: &HypothesisFile,
        run: &super::RunOptions,
    ) -> Result<Box<dyn Scenario + Send>, ScenarioError> {
        registry::open(&file.scenario, &self.file, &self.options(run))
    }

    /// The options the scenario may read.
    pub fn options(&self, run: &super::RunOptions) -> OpenOptions {
        OpenOptions {
            data_dir: run.data_dir.clone(),
            balanced_fraction: self.balanced_fraction,
            model_dir: self.model_dir.clone(),
        }
    }
}
