//! A user's own dataset, read from a file they wrote without Rust: token sequences (ragged)
//! plus named columns of per-datum or per-position values that hypotheses use as features
//! and metrics use as labels, targets or masks.
//!
//! Formats, chosen by the path:
//! - `*.jsonl`: one JSON object per line with `tokens` (non-negative integers) and the same
//!   other keys on every line. A value is an int, bool, string or float, or an array as long
//!   as that line's `tokens` (per-position). Ints and floats mix into a float column. Blank
//!   lines are allowed only at the end, so datum `d` is always line `d + 1`.
//! - `*.safetensors`: `tokens` `[n, L]` of integers, optional `lengths` `[n]` (without it
//!   every datum is `L` long), one tensor per column: `[n]` per-datum, `[n, L]` per-position.
//!   BOOL is bool, other integer dtypes are int (U8 too), F16/BF16/F32/F64 are float.
//! - a directory: `tokens.npy`, optional `lengths.npy`, one `<column>.npy` per column, with
//!   the same shapes; strings as unicode (`<U{k}`) arrays. Other files are ignored.
//!
//! Columns are sorted by name whatever the format, so the same data in any format gives an
//! equal [`Dataset`].

mod column;
mod columnar;
mod error;
mod floats;
mod jsonl;
mod npy;
mod safetensors_cols;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use column::ABSENT;
pub use error::{DatasetError, DatumAt};
pub use floats::{read_floats, write_floats};

use crate::feature::DatumId;
use crate::tokens::TokenId;

/// Which format a dataset was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// One safetensors file.
    Safetensors,
    /// A directory of `.npy` files.
    Npy,
}

/// Whether a column has one value per datum or one per token position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value per datum.
    PerDatum,
    /// One value per token, stored flat in the same order as the tokens.
    PerPosition,
}

/// A column's values; strings are dictionary-encoded (one `dict` per column) so a million
/// data with ten labels cost a million `u32`s, not a million `String`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Integers.
    Int(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Floats: targets for metrics, never features.
    Float(Vec<f64>),
    /// Strings: value `i` is `dict[codes[i]]`; `dict` is in order of first appearance.
    Str { dict: Vec<String>, codes: Vec<u32> },
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Str { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `"int"`, `"bool"`, `"float"` or `"string"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Values::Int(_) => "int",
            Values::Bool(_) => "bool",
            Values::Float(_) => "float",
            Values::Str { .. } => "string",
        }
    }
}

/// One named column of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The name hypotheses and metrics refer to it by.
    pub name: String,
    /// Per datum or per position.
    pub scope: Scope,
    /// The values; per-position values are flattened like the tokens.
    pub values: Values,
    /// The dataset's token offsets (shared, not copied), so per-position values can be
    /// sliced per datum without the dataset at hand.
    offsets: Arc<[usize]>,
}

/// Token sequences and their columns, as read from one file or directory.
#[derive(Debug, Clone)]
pub struct Dataset {
    source: PathBuf,
    format: Format,
    /// All tokens back to back: datum `d` is `tokens[offsets[d]..offsets[d + 1]]`.
    tokens: Vec<u32>,
    offsets: Arc<[usize]>,
    columns: Vec<Column>,
}

/// Equal when the data are: tokens and columns. Where they were read from is not compared,
/// so the same data as JSONL and as npy are equal.
impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        self.tokens == other.tokens
            && self.offsets == other.offsets
            && self.columns == other.columns
    }
}

impl Dataset {
    /// Reads a dataset: `.jsonl`, `.safetensors`, or a directory of `.npy` files.
    pub fn load(path: &Path) -> Result<Dataset, DatasetError> {
        let start = std::time::Instant::now();
        let ds = if path.is_dir() {
            npy::load_dir(path)?
        } else {
            match path.extension().and_then(|e| e.to_str()) {
                Some("jsonl") => jsonl::load(path)?,
                Some("safetensors") => safetensors_cols::load(path)?,
                _ if !path.exists() => {
                    return Err(DatasetError::Io {
                        path: path.to_path_buf(),
                        source: std::io::ErrorKind::NotFound.into(),
                    })
                }
                _ => {
                    return Err(DatasetError::UnknownFormat {
                        path: path.to_path_buf(),
                    })
                }
            }
        };
        tracing::debug!(
            path = %path.display(),
            data = ds.len(),
            columns = ds.columns.len(),
            secs = start.elapsed().as_secs_f64(),
            "loaded dataset"
        );
        Ok(ds)
    }

    /// Builds a dataset from parts a loader has checked: `offsets` has `n + 1` entries, the
    /// last `tokens.len()`; columns are sorted here.
    fn from_parts(
        source: &Path,
        format: Format,
        tokens: Vec<u32>,
        offsets: Vec<usize>,
        columns: Vec<(String, Scope, Values)>,
    ) -> Dataset {
        let offsets: Arc<[usize]> = offsets.into();
        let mut columns: Vec<Column> = columns
            .into_iter()
            .map(|(name, scope, values)| Column {
                name,
                scope,
                values,
                offsets: offsets.clone(),
            })
            .collect();
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        Dataset {
            source: source.to_path_buf(),
            format,
            tokens,
            offsets,
            columns,
        }
    }

    /// Number of data.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no data (never true of a loaded dataset).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens of datum `d`, without padding (panics if `d` is not below `len()`).
    pub fn tokens(&self, d: DatumId) -> &[u32] {
        &self.tokens[self.offsets[d.index()]..self.offsets[d.index() + 1]]
    }

    /// Length of datum `d` in tokens.
    pub fn seq_len(&self, d: DatumId) -> usize {
        self.offsets[d.index() + 1] - self.offsets[d.index()]
    }

    /// Token offsets: datum `d` is positions `offsets[d]..offsets[d + 1]` of the flat tokens
    /// and of every per-position column.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Length of the longest datum.
    pub fn max_len(&self) -> usize {
        self.offsets
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// Every datum as a row of `width` tokens, padded with `pad` on the right. Rows longer
    /// than `width` are cut, so callers pass at least [`Dataset::max_len`].
    pub fn padded_tokens(&self, width: usize, pad: u32) -> Vec<Vec<TokenId>> {
        self.offsets
            .windows(2)
            .map(|w| {
                let seq = &self.tokens[w[0]..w[1]];
                let mut row: Vec<TokenId> = seq.iter().take(width).map(|&t| TokenId(t)).collect();
                row.resize(width, TokenId(pad));
                row
            })
            .collect()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.columns[i])
    }

    /// All columns, sorted by name.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The file or directory the dataset was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The format it was read in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The JSONL line datum `d` was read from (`None` for columnar formats).
    pub fn line_of(&self, d: DatumId) -> Option<usize> {
        // Blank lines are refused between data, so the mapping needs no table.
        (self.format == Format::Jsonl).then_some(d.index() + 1)
    }

    /// Datum `d` as messages name it: `datum 5 (line 6)`.
    pub fn at(&self, d: DatumId) -> DatumAt {
        DatumAt {
            datum: d.index(),
            line: self.line_of(d),
        }
    }

    /// Checks the tokens against a model: every id below `d_vocab` and every datum at most
    /// `n_ctx` long. The error names the first offending datum (and its JSONL line).
    pub fn check_tokens(&self, d_vocab: usize, n_ctx: usize) -> Result<(), DatasetError> {
        for d in 0..self.len() {
            let d = DatumId(d as u32);
            let seq = self.tokens(d);
            if let Some((position, &token)) =
                seq.iter().enumerate().find(|(_, &t)| t as usize >= d_vocab)
            {
                return Err(DatasetError::TokenOutOfVocab {
                    path: self.source.clone(),
                    at: self.at(d),
                    position,
                    token,
                    d_vocab,
                });
            }
            if seq.len() > n_ctx {
                return Err(DatasetError::TooLong {
                    path: self.source.clone(),
                    at: self.at(d),
                    len: seq.len(),
                    n_ctx,
                });
            }
        }
        Ok(())
    }

    /// Writes the dataset as a directory of `.npy` files that [`Dataset::load`] reads back
    /// equal (a compact, fast form of a JSONL file).
    pub fn write_npy_dir(&self, dir: &Path) -> Result<(), DatasetError> {
        npy::write_dir(self, dir)
    }

    /// Writes the dataset as one safetensors file that [`Dataset::load`] reads back equal;
    /// string columns cannot be stored there and are an error.
    pub fn write_safetensors(&self, path: &Path) -> Result<(), DatasetError> {
        safetensors_cols::write(self, path)
    }
}
