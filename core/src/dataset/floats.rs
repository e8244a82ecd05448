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

/// Writes `values` (row-major, `shape`) as a little-endian f32 `.npy` file (version 1),
/// the format `read_floats` and `numpy.load` read.
pub fn write_floats(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), DatasetError> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // The data starts at a multiple of 64 bytes; the header ends with a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_through_npy() {
        let path = std::env::temp_dir().join(format!("scrub-floats-{}.npy", std::process::id()));
        let v: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 1.0).collect();
        write_floats(&path, &[3, 4], &v).unwrap();
        assert_eq!(read_floats(&path).unwrap(), (vec![3, 4], v));
        std::fs::remove_file(&path).ok();
    }
}
