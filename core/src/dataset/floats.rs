//! One float array from a `.npy` file: predictors and directions of a task's rewrites.

use std::path::Path;

use super::{DatasetError, Values};

/// The shape and values (as f32) of the float array in the `.npy` file at `path`.
pub fn read_floats(path: &Path) -> Result<(Vec<usize>, Vec<f32>), DatasetError> {
    let a = super::npy::read(path)?;
    match a.values {
        Values::Float(v) => Ok((a.shape, v.into_iter().map(|x| x as f32).collect())),
        other => Err(DatasetError::Dtype {
            path: path.to_path_buf(),
            column: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dtype: other.kind().to_string(),
            hint: ": predictors and directions are float arrays (np.float32)",
        }),
    }
}
