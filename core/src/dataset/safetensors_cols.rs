//! One safetensors file holding a dataset: `tokens`, optional `lengths`, one tensor per
//! column. Strings cannot be stored (safetensors has no string dtype).

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::columnar::{assemble, decode, Array, Elem};
use super::{Dataset, DatasetError, Format, Values};

/// Reads the file at `path`.
pub(super) fn load(path: &Path) -> Result<Dataset, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| DatasetError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let (mut tokens, mut lengths, mut columns) = (None, None, Vec::new());
    let mut names = st.names();
    names.sort();
    for name in names {
        let view = st.tensor(name).map_err(|e| DatasetError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let elem = elem(view.dtype()).ok_or_else(|| DatasetError::Dtype {
            path: path.to_path_buf(),
            column: name.to_string(),
            dtype: format!("{:?}", view.dtype()),
            hint: " (use an integer dtype, BOOL, F16, BF16, F32 or F64)",
        })?;
        let values = match elem {
            Some(e) => decode(e, view.data()),
            None => Ok(Values::Float(
                view.data()
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f64())
                    .collect(),
            )),
        }
        .map_err(|message| DatasetError::Safetensors {
            path: path.to_path_buf(),
            message: format!("tensor `{name}`: {message}"),
        })?;
        let a = Array {
            file: path.to_path_buf(),
            shape: view.shape().to_vec(),
            values,
        };
        match name {
            "tokens" => tokens = Some(a),
            "lengths" => lengths = Some(a),
            _ => columns.push((name.to_string(), a)),
        }
    }
    let tokens = tokens.ok_or_else(|| DatasetError::MissingTokenArray {
        path: path.to_path_buf(),
        what: "tensor",
    })?;
    assemble(path, Format::Safetensors, tokens, lengths, columns)
}

/// The element type of a supported dtype: `Some(None)` is BF16, which NPY has no name for.
fn elem(dtype: Dtype) -> Option<Option<Elem>> {
    Some(Some(match dtype {
        Dtype::I8 => Elem::I8,
        Dtype::I16 => Elem::I16,
        Dtype::I32 => Elem::I32,
        Dtype::I64 => Elem::I64,
        Dtype::U8 => Elem::U8,
        Dtype::U16 => Elem::U16,
        Dtype::U32 => Elem::U32,
        Dtype::U64 => Elem::U64,
        Dtype::BOOL => Elem::Bool,
        Dtype::F16 => Elem::F16,
        Dtype::F32 => Elem::F32,
        Dtype::F64 => Elem::F64,
        Dtype::BF16 => return Some(None),
        _ => return None,
    }))
}

/// Writes `ds` as `tokens` (U32, padded with 0), `lengths` (I64) and one tensor per column
/// (I64, BOOL or F64; per-position ones padded).
pub(super) fn write(ds: &Dataset, path: &Path) -> Result<(), DatasetError> {
    let (n, width) = (ds.len(), ds.max_len());
    let offsets = ds.offsets();
    let rows = |elem: &dyn Fn(usize, &mut Vec<u8>), size: usize| {
        let mut out = Vec::new();
        for d in 0..n {
            let r = offsets[d]..offsets[d + 1];
            for j in r.clone() {
                elem(j, &mut out);
            }
            out.resize(out.len() + (width - r.len()) * size, 0);
        }
        out
    };
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![
        (
            "tokens".into(),
            Dtype::U32,
            vec![n, width],
            rows(&|j, o| o.extend_from_slice(&ds.tokens[j].to_le_bytes()), 4),
        ),
        (
            "lengths".into(),
            Dtype::I64,
            vec![n],
            (0..n)
                .flat_map(|d| ((offsets[d + 1] - offsets[d]) as i64).to_le_bytes())
                .collect(),
        ),
    ];
    for c in ds.columns() {
        let per_position = c.scope == super::Scope::PerPosition;
        let lay = |elem: &dyn Fn(usize, &mut Vec<u8>), size: usize| {
            if per_position {
                rows(elem, size)
            } else {
                let mut out = Vec::with_capacity(n * size);
                (0..n).for_each(|d| elem(d, &mut out));
                out
            }
        };
        let (dtype, data) = match &c.values {
            Values::Int(v) => (
                Dtype::I64,
                lay(&|j, o| o.extend_from_slice(&v[j].to_le_bytes()), 8),
            ),
            Values::Bool(v) => (Dtype::BOOL, lay(&|j, o| o.push(v[j] as u8), 1)),
            Values::Float(v) => (
                Dtype::F64,
                lay(&|j, o| o.extend_from_slice(&v[j].to_le_bytes()), 8),
            ),
            Values::Str { .. } => {
                return Err(DatasetError::StringsInSafetensors {
                    column: c.name.clone(),
                })
            }
        };
        let shape = if per_position {
            vec![n, width]
        } else {
            vec![n]
        };
        tensors.push((c.name.clone(), dtype, shape, data));
    }
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DatasetError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    safetensors::serialize_to_file(views, None, path).map_err(|e| DatasetError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
