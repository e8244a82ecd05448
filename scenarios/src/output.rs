//! Result files a user keeps: written to a temporary name and renamed, so a crash never
//! leaves a half-written report behind.

use std::path::{Path, PathBuf};

use crate::error::ScenarioError;

/// Writes `contents` to `dir/name` atomically, creating `dir`.
pub fn write_result(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, ScenarioError> {
    std::fs::create_dir_all(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, contents).map_err(|source| ScenarioError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| ScenarioError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
