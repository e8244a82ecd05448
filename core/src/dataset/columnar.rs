//! Building a dataset from rectangular arrays (what safetensors and npy files hold): padded
//! `tokens` `[n, L]`, optional `lengths` `[n]`, columns `[n]` or `[n, L]`. The padding is
//! dropped here, so the dataset is ragged whatever the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Dataset, DatasetError, Format, Scope, Values};

/// One decoded array and the file it came from (the `.npy` file, or the safetensors file).
pub(super) struct Array {
    pub file: PathBuf,
    pub shape: Vec<usize>,
    pub values: Values,
}

/// Checks shapes against `tokens` and `lengths`, drops padding and returns the dataset.
pub(super) fn assemble(
    source: &Path,
    format: Format,
    tokens: Array,
    lengths: Option<Array>,
    columns: Vec<(String, Array)>,
) -> Result<Dataset, DatasetError> {
    let (n, width) = match tokens.shape[..] {
        [n, w] => (n, w),
        _ => {
            return Err(DatasetError::Shape {
                path: tokens.file,
                column: "tokens".into(),
                shape: tokens.shape,
                expected: "[n, L] (data by positions)".into(),
            })
        }
    };
    let Values::Int(tok) = &tokens.values else {
        return Err(not_int(&tokens, "tokens"));
    };
    if n == 0 {
        return Err(DatasetError::Empty {
            path: source.to_path_buf(),
        });
    }
    let lens = match lengths {
        None => vec![width; n],
        Some(l) => datum_lengths(l, n, width)?,
    };
    if width == 0 {
        return Err(DatasetError::Lengths {
            path: tokens.file,
            datum: 0,
            length: 0,
            width,
        });
    }
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    for &l in &lens {
        offsets.push(offsets.last().unwrap() + l);
    }
    let mut flat = Vec::with_capacity(*offsets.last().unwrap());
    for (d, &l) in lens.iter().enumerate() {
        for (position, &t) in tok[d * width..d * width + l].iter().enumerate() {
            let t = u32::try_from(t).map_err(|_| DatasetError::TokenValue {
                path: tokens.file.clone(),
                datum: d,
                position,
                value: t,
            })?;
            flat.push(t);
        }
    }
    let mut cols = Vec::with_capacity(columns.len());
    for (name, a) in columns {
        if a.shape.first() != Some(&n) && !a.shape.is_empty() {
            return Err(DatasetError::ColumnLength {
                path: a.file,
                column: name,
                len: a.shape[0],
                n,
            });
        }
        let scope = match a.shape[..] {
            [_] => Scope::PerDatum,
            [_, w] if w == width => Scope::PerPosition,
            [_, w] => {
                return Err(DatasetError::PositionWidth {
                    path: a.file,
                    column: name,
                    width: w,
                    expected: width,
                })
            }
            _ => {
                return Err(DatasetError::Shape {
                    path: a.file,
                    column: name,
                    shape: a.shape,
                    expected: format!("[{n}] (per datum) or [{n}, {width}] (per position)"),
                })
            }
        };
        let values = match scope {
            Scope::PerDatum => a.values,
            Scope::PerPosition => unpad(a.values, &lens, width),
        };
        cols.push((name, scope, values));
    }
    Ok(Dataset::from_parts(source, format, flat, offsets, cols))
}

fn not_int(a: &Array, name: &str) -> DatasetError {
    DatasetError::Dtype {
        path: a.file.clone(),
        column: name.into(),
        dtype: a.values.kind().into(),
        hint: " (it must hold integers)",
    }
}

/// The checked `lengths` array: `[n]` integers in `1..=width`.
fn datum_lengths(l: Array, n: usize, width: usize) -> Result<Vec<usize>, DatasetError> {
    if l.shape.len() != 1 {
        return Err(DatasetError::Shape {
            path: l.file,
            column: "lengths".into(),
            shape: l.shape,
            expected: format!("[{n}]"),
        });
    }
    if l.shape[0] != n {
        return Err(DatasetError::ColumnLength {
            path: l.file,
            column: "lengths".into(),
            len: l.shape[0],
            n,
        });
    }
    let Values::Int(v) = &l.values else {
        return Err(not_int(&l, "lengths"));
    };
    v.iter()
        .enumerate()
        .map(|(datum, &len)| {
            if len >= 1 && len as u64 <= width as u64 {
                Ok(len as usize)
            } else {
                Err(DatasetError::Lengths {
                    path: l.file.clone(),
                    datum,
                    length: len,
                    width,
                })
            }
        })
        .collect()
}

/// The first `lens[d]` of each row of `width` values, back to back.
fn unpad(values: Values, lens: &[usize], width: usize) -> Values {
    fn take<T: Copy>(v: &[T], lens: &[usize], width: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(lens.iter().sum());
        for (d, &l) in lens.iter().enumerate() {
            out.extend_from_slice(&v[d * width..d * width + l]);
        }
        out
    }
    match values {
        Values::Int(v) => Values::Int(take(&v, lens, width)),
        Values::Bool(v) => Values::Bool(take(&v, lens, width)),
        Values::Float(v) => Values::Float(take(&v, lens, width)),
        Values::Str { dict, codes } => {
            // Padding may hold strings no datum has: rebuild the dictionary from what is
            // left, in order of first appearance, as a JSONL file would give it.
            let codes = take(&codes, lens, width);
            let (dict, codes) = compact(&dict, &codes);
            Values::Str { dict, codes }
        }
    }
}

/// `dict`/`codes` with only the strings `codes` uses, numbered by first appearance.
pub(super) fn compact(dict: &[String], codes: &[u32]) -> (Vec<String>, Vec<u32>) {
    const UNSEEN: u32 = u32::MAX;
    let mut new_code = vec![UNSEEN; dict.len()];
    let mut new_dict = Vec::new();
    let codes = codes
        .iter()
        .map(|&c| {
            let slot = &mut new_code[c as usize];
            if *slot == UNSEEN {
                *slot = new_dict.len() as u32;
                new_dict.push(dict[c as usize].clone());
            }
            *slot
        })
        .collect();
    (new_dict, codes)
}

/// Element types the reader accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Elem {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    F16,
    F32,
    F64,
    /// Fixed-width UTF-32 strings of this many code points.
    Unicode(usize),
}

impl Elem {
    /// Bytes per element (`None` if that overflows).
    pub(super) fn size(self) -> Option<usize> {
        Some(match self {
            Elem::I8 | Elem::U8 | Elem::Bool => 1,
            Elem::I16 | Elem::U16 | Elem::F16 => 2,
            Elem::I32 | Elem::U32 | Elem::F32 => 4,
            Elem::I64 | Elem::U64 | Elem::F64 => 8,
            Elem::Unicode(k) => k.checked_mul(4)?,
        })
    }
}

/// Decodes little-endian data of a known, checked length.
pub(super) fn decode(elem: Elem, data: &[u8]) -> Result<Values, String> {
    fn ints<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> i64) -> Values {
        Values::Int(
            data.chunks_exact(N)
                .map(|c| f(c.try_into().unwrap()))
                .collect(),
        )
    }
    fn floats<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> f64) -> Values {
        Values::Float(
            data.chunks_exact(N)
                .map(|c| f(c.try_into().unwrap()))
                .collect(),
        )
    }
    Ok(match elem {
        Elem::I8 => ints(data, |b: [u8; 1]| i8::from_le_bytes(b) as i64),
        Elem::I16 => ints(data, |b| i16::from_le_bytes(b) as i64),
        Elem::I32 => ints(data, |b| i32::from_le_bytes(b) as i64),
        Elem::I64 => ints(data, i64::from_le_bytes),
        Elem::U8 => ints(data, |b: [u8; 1]| b[0] as i64),
        Elem::U16 => ints(data, |b| u16::from_le_bytes(b) as i64),
        Elem::U32 => ints(data, |b| u32::from_le_bytes(b) as i64),
        Elem::U64 => {
            let v: Vec<u64> = data
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            if let Some(&x) = v.iter().find(|&&x| x > i64::MAX as u64) {
                return Err(format!("value {x} does not fit in a 64-bit signed integer"));
            }
            Values::Int(v.into_iter().map(|x| x as i64).collect())
        }
        Elem::Bool => Values::Bool(data.iter().map(|&b| b != 0).collect()),
        Elem::F16 => floats(data, |b| half::f16::from_le_bytes(b).to_f64()),
        Elem::F32 => floats(data, |b| f32::from_le_bytes(b) as f64),
        Elem::F64 => floats(data, f64::from_le_bytes),
        Elem::Unicode(k) => {
            if k == 0 {
                // `<U0` holds only empty strings (and has no data bytes to walk).
                return Err("dtype <U0 is not supported".into());
            }
            // Keyed by the raw UTF-32 bytes, so a string is decoded (and allocated) once per
            // distinct value rather than once per element.
            let mut index: HashMap<&[u8], u32> = HashMap::new();
            let mut dict = Vec::new();
            let mut codes = Vec::with_capacity(data.len() / (4 * k));
            for item in data.chunks_exact(4 * k) {
                let code = match index.get(item) {
                    Some(&c) => c,
                    None => {
                        let c = dict.len() as u32;
                        dict.push(utf32(item)?);
                        index.insert(item, c);
                        c
                    }
                };
                codes.push(code);
            }
            Values::Str { dict, codes }
        }
    })
}

/// One NumPy unicode element: UTF-32LE code points, NUL-padded at the end (as NumPy strips
/// them, trailing NULs are padding; NULs inside are kept).
fn utf32(item: &[u8]) -> Result<String, String> {
    let mut points: Vec<u32> = item
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    while points.last() == Some(&0) {
        points.pop();
    }
    points
        .into_iter()
        .map(|c| char::from_u32(c).ok_or_else(|| format!("{c:#x} is not a character")))
        .collect()
}
