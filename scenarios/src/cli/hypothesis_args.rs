//! The arguments every command that scrubs one hypothesis file shares, and loading it.

use std::path::PathBuf;

use clap::Args;

use scrub_core::scrub::hypothesis::HypothesisFile;

use crate::error::ScenarioError;
use crate::induction::scrub::InductionScrub;
use crate::induction::ModelDir;

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
    /// Reads the file and checks it is about a scenario this binary knows.
    pub fn load(&self) -> Result<LoadedHypothesis, ScenarioError> {
        let file = HypothesisFile::load(&self.file)?;
        let known = [crate::paren::NAME, crate::induction::scrub::NAME];
        if !known.contains(&file.scenario.as_str()) {
            return Err(ScenarioError::Scrub(format!(
                "{}: scenario `{}` is not known here (known: {})",
                self.file.display(),
                file.scenario,
                known.join(", ")
            )));
        }
        self.check_options_apply(&file.scenario)?;
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
}

impl HypothesisArgs {
    /// Refuses an option the file's scenario does not read, so nobody believes it took effect.
    fn check_options_apply(&self, scenario: &str) -> Result<(), ScenarioError> {
        let given = [
            (
                "--model-dir",
                self.model_dir.is_some(),
                crate::induction::scrub::NAME,
            ),
            (
                "--balanced-fraction",
                self.balanced_fraction.is_some(),
                crate::paren::NAME,
            ),
        ];
        for (option, set, applies_to) in given {
            if set && scenario != applies_to {
                return Err(ScenarioError::Scrub(format!(
                    "{}: {option} does not apply to scenario `{scenario}` (only to `{applies_to}` files)",
                    self.file.display()
                )));
            }
        }
        Ok(())
    }

    /// Refuses `--data-dir` for a scenario whose files ship with the project.
    pub fn check_data_dir_applies(
        &self,
        file: &HypothesisFile,
        run: &super::RunOptions,
    ) -> Result<(), ScenarioError> {
        if run.data_dir.is_some() && file.scenario == crate::induction::scrub::NAME {
            return Err(ScenarioError::Scrub(format!(
                "{}: --data-dir does not apply to scenario `{}` (its model is read from --model-dir)",
                self.file.display(),
                file.scenario
            )));
        }
        Ok(())
    }

    /// The induction scenario for an induction file: the model of `--model-dir`, and the
    /// baseline from `baseline.ron` beside the file (the committed one when there is none).
    pub fn induction(&self) -> Result<InductionScrub, ScenarioError> {
        let dir = ModelDir::resolve(self.model_dir.as_deref())
            .map_err(|e| ScenarioError::Scrub(e.to_string()))?;
        let mut scrub =
            InductionScrub::load(&dir).map_err(|e| ScenarioError::Scrub(e.to_string()))?;
        if let Some(parent) = self.file.parent() {
            if parent.join("baseline.ron").is_file() {
                scrub.hypotheses_dir = parent.to_path_buf();
            }
        }
        Ok(scrub)
    }
}
