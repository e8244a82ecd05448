//! Where the user keeps model weights and datasets: `--data-dir` or `SCRUB_DATA`. The
//! project never copies these files; it only reads them from there.

use std::path::{Path, PathBuf};

use crate::error::ScenarioError;

/// Environment variable naming the data directory when `--data-dir` is not given.
pub const DATA_ENV: &str = "SCRUB_DATA";

/// A data directory that exists.
#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// Resolves the data directory from the flag, else `SCRUB_DATA`; errors say which was used.
    pub fn resolve(flag: Option<&Path>) -> Result<DataDir, ScenarioError> {
        let (path, origin) = match flag {
            Some(p) => (p.to_path_buf(), "--data-dir"),
            None => match std::env::var_os(DATA_ENV) {
                Some(v) if !v.is_empty() => (PathBuf::from(v), DATA_ENV),
                _ => return Err(ScenarioError::NoDataDir),
            },
        };
        if !path.is_dir() {
            return Err(ScenarioError::MissingDataDir { path, origin });
        }
        Ok(DataDir(path))
    }

    /// `<data dir>/<scenario>/<file>`, which must exist.
    pub fn file(&self, scenario: &str, file: &str) -> Result<PathBuf, ScenarioError> {
        let p = self.0.join(scenario).join(file);
        if !p.is_file() {
            return Err(ScenarioError::MissingDataFile {
                path: p,
                data_dir: self.0.clone(),
            });
        }
        Ok(p)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }
}
