//! JSONL: one JSON object per line. Lines are parsed in parallel chunks straight into typed
//! column buffers (a serde visitor per value, no `serde_json::Value` tree), because a
//! `Value` per cell makes a 100,000-line file with 50 columns several times slower.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, IgnoredAny};

use super::{Dataset, DatasetError, Format, Scope, Values};

mod cell;
mod visit;

use cell::{kind_name, Buf, NotScalar, Scalar, Ty};

use visit::LineSeed;

/// Lines per parallel task: large enough that merging chunks costs little, small enough
/// that two cores stay busy on a few thousand lines.
const CHUNK: usize = 2048;

/// Reads a JSONL file.
pub(super) fn load(path: &Path) -> Result<Dataset, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    while lines.last().is_some_and(|l| blank(l)) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    if let Some(i) = lines.iter().position(|l| blank(l)) {
        return Err(DatasetError::BlankLine {
            path: path.to_path_buf(),
            line: i + 1,
        });
    }
    let schema = Schema::from_first_line(path, lines[0])?;
    let chunks: Vec<Result<Chunk, DatasetError>> = lines
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, ls)| parse_chunk(path, &schema, k * CHUNK, ls))
        .collect();
    // The text is no longer needed: free it before the merge copies the chunks together.
    drop(lines);
    drop(bytes);
    merge(path, &schema, chunks)
}

fn blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The columns every line must have: the keys of line 1 but `tokens`, sorted.
struct Schema {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Schema {
    fn from_first_line(path: &Path, line: &[u8]) -> Result<Schema, DatasetError> {
        let keys: BTreeMap<String, IgnoredAny> =
            serde_json::from_slice(line).map_err(|e| json_error(path, 1, &e))?;
        if !keys.contains_key("tokens") {
            return Err(DatasetError::MissingTokens {
                path: path.to_path_buf(),
                line: 1,
            });
        }
        if keys.contains_key("lengths") {
            return Err(DatasetError::ReservedKey {
                path: path.to_path_buf(),
                line: 1,
            });
        }
        let names: Vec<String> = keys.into_keys().filter(|k| k != "tokens").collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Ok(Schema { names, index })
    }
}

/// serde_json's error at `line` as `path:line:column: message`; the parser saw one line,
/// so its own line number is always 1 and is dropped.
fn json_error(path: &Path, line: usize, e: &serde_json::Error) -> DatasetError {
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    DatasetError::Json {
        path: path.to_path_buf(),
        line,
        // serde_json gives no position for some errors (a line that is not an object):
        // point at the line's start.
        column: e.column().max(1),
        message,
    }
}

/// Why a value does not fit its column: the kinds and lines to name.
struct Mismatch {
    first: String,
    first_line: usize,
    other: String,
    other_line: usize,
}

/// One column's buffer and what fixed its kind.
struct Builder {
    /// Scope and type, with the line where each was first seen.
    scope: Option<(Scope, usize)>,
    ty_line: usize,
    buf: Buf,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            scope: None,
            ty_line: 0,
            buf: Buf::Empty,
        }
    }

    fn kind(&self) -> String {
        let scope = self.scope.map_or(Scope::PerDatum, |s| s.0);
        kind_name(scope, self.buf.ty().unwrap_or(Ty::Int))
    }

    /// Fixes the scope on first use; a later value of the other scope is a mismatch.
    fn scope(&mut self, scope: Scope, ty: Ty, line: usize) -> Result<(), Mismatch> {
        match self.scope {
            None => {
                self.scope = Some((scope, line));
                Ok(())
            }
            Some((s, _)) if s == scope => Ok(()),
            Some((_, first_line)) => Err(Mismatch {
                first: self.kind(),
                first_line,
                other: kind_name(scope, ty),
                other_line: line,
            }),
        }
    }

    fn push(&mut self, v: &Scalar<'_>, line: usize) -> Result<(), Ty> {
        match (&mut self.buf, v) {
            (Buf::Empty, _) => {
                self.ty_line = line;
                self.buf = match v {
                    Scalar::Int(x) => Buf::Int(vec![*x]),
                    Scalar::Bool(b) => Buf::Bool(vec![*b]),
                    Scalar::Float(x) => Buf::Float(vec![*x]),
                    Scalar::Str(s) => {
                        let mut index = HashMap::new();
                        let mut dict = Vec::new();
                        let c = Buf::intern(&mut index, &mut dict, s);
                        Buf::Str {
                            index,
                            dict,
                            codes: vec![c],
                        }
                    }
                    Scalar::Big(_) => unreachable!("rejected before push"),
                };
            }
            (Buf::Int(xs), Scalar::Int(x)) => xs.push(*x),
            (Buf::Int(xs), Scalar::Float(x)) => {
                // A float among ints: the column is numeric, a target; keep it exact as f64.
                let mut fs: Vec<f64> = xs.iter().map(|&i| i as f64).collect();
                fs.push(*x);
                self.buf = Buf::Float(fs);
            }
            (Buf::Float(xs), Scalar::Float(x)) => xs.push(*x),
            (Buf::Float(xs), Scalar::Int(x)) => xs.push(*x as f64),
            (Buf::Bool(xs), Scalar::Bool(b)) => xs.push(*b),
            (Buf::Str { index, dict, codes }, Scalar::Str(s)) => {
                codes.push(Buf::intern(index, dict, s))
            }
            (_, v) => {
                return Err(match v {
                    Scalar::Int(_) | Scalar::Big(_) => Ty::Int,
                    Scalar::Bool(_) => Ty::Bool,
                    Scalar::Float(_) => Ty::Float,
                    Scalar::Str(_) => Ty::Str,
                })
            }
        }
        Ok(())
    }

    /// Appends the next chunk's values of the same column.
    fn append(&mut self, other: Builder) -> Result<(), Mismatch> {
        if let (Some((a, la)), Some((b, lb))) = (self.scope, other.scope) {
            if a != b {
                return Err(Mismatch {
                    first: self.kind(),
                    first_line: la,
                    other: other.kind(),
                    other_line: lb,
                });
            }
        }
        if self.scope.is_none() {
            self.scope = other.scope;
        }
        let mismatch = |this: &Builder, other: &Builder| Mismatch {
            first: this.kind(),
            first_line: this.ty_line,
            other: other.kind(),
            other_line: other.ty_line,
        };
        match (&mut self.buf, other.buf) {
            (_, Buf::Empty) => {}
            (Buf::Empty, b) => {
                self.buf = b;
                self.ty_line = other.ty_line;
            }
            (Buf::Int(a), Buf::Int(b)) => a.extend(b),
            (Buf::Bool(a), Buf::Bool(b)) => a.extend(b),
            (Buf::Float(a), Buf::Float(b)) => a.extend(b),
            (Buf::Float(a), Buf::Int(b)) => a.extend(b.into_iter().map(|x| x as f64)),
            (Buf::Int(a), Buf::Float(b)) => {
                let mut fs: Vec<f64> = a.iter().map(|&x| x as f64).collect();
                fs.extend(b);
                self.buf = Buf::Float(fs);
            }
            (
                Buf::Str { index, dict, codes },
                Buf::Str {
                    dict: d2,
                    codes: c2,
                    ..
                },
            ) => {
                let remap: Vec<u32> = d2.iter().map(|s| Buf::intern(index, dict, s)).collect();
                codes.extend(c2.into_iter().map(|c| remap[c as usize]));
            }
            (_, b) => {
                let other = Builder {
                    scope: other.scope,
                    ty_line: other.ty_line,
                    buf: b,
                };
                return Err(mismatch(self, &other));
            }
        }
        Ok(())
    }

    fn finish(self) -> (Scope, Values) {
        let scope = self.scope.map_or(Scope::PerDatum, |s| s.0);
        let values = match self.buf {
            // Unreachable for a loaded file (every line has a value), kept total.
            Buf::Empty => Values::Int(Vec::new()),
            Buf::Int(v) => Values::Int(v),
            Buf::Bool(v) => Values::Bool(v),
            Buf::Float(v) => Values::Float(v),
            Buf::Str { dict, codes, .. } => Values::Str { dict, codes },
        };
        (scope, values)
    }
}

/// The parsed values of consecutive lines.
struct Chunk {
    tokens: Vec<u32>,
    lens: Vec<usize>,
    cols: Vec<Builder>,
}

/// Per-chunk parsing state, reused line after line.
struct State<'a> {
    path: &'a Path,
    schema: &'a Schema,
    line: usize,
    chunk: Chunk,
    seen: Vec<bool>,
    /// Length of each per-position list on this line, checked against the tokens at its end.
    list_len: Vec<Option<usize>>,
    tokens_len: Option<usize>,
    /// Column index of each key position on the previous line: lines usually list their
    /// keys in the same order, so this guess spares most hash lookups.
    order: Vec<usize>,
    /// The error that stopped the parse, when it is ours rather than a JSON syntax error.
    err: Option<DatasetError>,
}

impl State<'_> {
    /// Records `e` and stops the parse (serde's error is replaced by `e` afterwards).
    fn fail<T, E: de::Error>(&mut self, e: DatasetError) -> Result<T, E> {
        self.err = Some(e);
        Err(E::custom("dataset error"))
    }

    fn mixed<T, E: de::Error>(&mut self, col: usize, m: Mismatch) -> Result<T, E> {
        let e = DatasetError::MixedKinds {
            path: self.path.to_path_buf(),
            column: self.schema.names[col].clone(),
            first: m.first,
            first_line: m.first_line,
            other: m.other,
            other_line: m.other_line,
        };
        self.fail(e)
    }

    fn bad_value<T, E: de::Error>(&mut self, col: usize, message: String) -> Result<T, E> {
        let e = DatasetError::BadValue {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.schema.names[col].clone(),
            message,
        };
        self.fail(e)
    }

    /// Adds one value to column `col` in `scope`.
    fn push<E: de::Error>(&mut self, col: usize, scope: Scope, v: Scalar<'_>) -> Result<(), E> {
        if let Scalar::Big(x) = v {
            return self.bad_value(col, format!("{x} does not fit in a 64-bit signed integer"));
        }
        let line = self.line;
        let b = &mut self.chunk.cols[col];
        let ty = match &v {
            Scalar::Bool(_) => Ty::Bool,
            Scalar::Float(_) => Ty::Float,
            Scalar::Str(_) => Ty::Str,
            _ => Ty::Int,
        };
        if let Err(m) = b.scope(scope, ty, line) {
            return self.mixed(col, m);
        }
        if let Err(ty) = b.push(&v, line) {
            let m = Mismatch {
                first: b.kind(),
                first_line: b.ty_line,
                other: kind_name(scope, ty),
                other_line: line,
            };
            return self.mixed(col, m);
        }
        Ok(())
    }

    /// Checks what can only be checked once the whole line is read.
    fn end_line(&mut self) -> Result<(), DatasetError> {
        let (path, line) = (self.path.to_path_buf(), self.line);
        let Some(tokens) = self.tokens_len else {
            return Err(DatasetError::MissingTokens { path, line });
        };
        if let Some(i) = self.seen.iter().position(|s| !s) {
            let column = self.schema.names[i].clone();
            return Err(DatasetError::MissingKey { path, line, column });
        }
        for (i, len) in self.list_len.iter().enumerate() {
            if let Some(len) = *len {
                if len != tokens {
                    let column = self.schema.names[i].clone();
                    return Err(DatasetError::PositionLength {
                        path,
                        line,
                        column,
                        len,
                        tokens,
                    });
                }
            }
        }
        self.chunk.lens.push(tokens);
        Ok(())
    }
}

fn parse_chunk(
    path: &Path,
    schema: &Schema,
    first: usize,
    lines: &[&[u8]],
) -> Result<Chunk, DatasetError> {
    let n_cols = schema.names.len();
    let mut st = State {
        path,
        schema,
        line: 0,
        chunk: Chunk {
            tokens: Vec::with_capacity(lines.iter().map(|l| l.len() / 8).sum()),
            lens: Vec::with_capacity(lines.len()),
            cols: (0..n_cols).map(|_| Builder::new()).collect(),
        },
        seen: vec![false; n_cols],
        list_len: vec![None; n_cols],
        tokens_len: None,
        order: Vec::new(),
        err: None,
    };
    for (i, text) in lines.iter().enumerate() {
        st.line = first + i + 1;
        st.seen.fill(false);
        st.list_len.fill(None);
        st.tokens_len = None;
        let mut de = serde_json::Deserializer::from_slice(text);
        let parsed = LineSeed { st: &mut st }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        if let Err(e) = parsed {
            return Err(st
                .err
                .take()
                .unwrap_or_else(|| json_error(path, st.line, &e)));
        }
        st.end_line()?;
    }
    Ok(st.chunk)
}

/// Concatenates chunks in order; the first error (by line) wins.
fn merge(
    path: &Path,
    schema: &Schema,
    chunks: Vec<Result<Chunk, DatasetError>>,
) -> Result<Dataset, DatasetError> {
    let mut tokens = Vec::new();
    let mut offsets = vec![0];
    let mut cols: Option<Vec<Builder>> = None;
    for chunk in chunks {
        let chunk = match (chunk, &cols) {
            (Ok(c), _) => c,
            (Err(e), Some(cols)) => return Err(earliest_mismatch(e, schema, cols)),
            (Err(e), None) => return Err(e),
        };
        tokens.extend_from_slice(&chunk.tokens);
        for l in chunk.lens {
            offsets.push(offsets.last().unwrap() + l);
        }
        match &mut cols {
            None => cols = Some(chunk.cols),
            Some(cols) => {
                for (i, (a, b)) in cols.iter_mut().zip(chunk.cols).enumerate() {
                    a.append(b).map_err(|m| DatasetError::MixedKinds {
                        path: path.to_path_buf(),
                        column: schema.names[i].clone(),
                        first: m.first,
                        first_line: m.first_line,
                        other: m.other,
                        other_line: m.other_line,
                    })?;
                }
            }
        }
    }
    let columns = schema
        .names
        .iter()
        .zip(cols.unwrap_or_default())
        .map(|(name, b)| {
            let (scope, values) = b.finish();
            (name.clone(), scope, values)
        })
        .collect();
    Ok(Dataset::from_parts(
        path,
        Format::Jsonl,
        tokens,
        offsets,
        columns,
    ))
}

/// A kind mismatch found inside one chunk names the chunk's first line of the column's
/// kind; the earlier chunks may hold that kind since line 1, and the message should say so.
fn earliest_mismatch(e: DatasetError, schema: &Schema, cols: &[Builder]) -> DatasetError {
    let DatasetError::MixedKinds {
        path,
        column,
        first,
        first_line,
        other,
        other_line,
    } = e
    else {
        return e;
    };
    let b = &cols[schema.index[&column]];
    let numeric = |k: &str| k.ends_with("int") || k.ends_with("float");
    let before = b.kind();
    let same_scope = before.starts_with("per-position") == first.starts_with("per-position");
    let compatible = before == first || (same_scope && numeric(&before) && numeric(&first));
    if b.buf.ty().is_none() {
        return DatasetError::MixedKinds {
            path,
            column,
            first,
            first_line,
            other,
            other_line,
        };
    }
    let earlier = b.ty_line;
    if compatible {
        // The earlier chunks agree with this chunk's first kind: the conflict is with them.
        DatasetError::MixedKinds {
            path,
            column,
            first: before,
            first_line: earlier,
            other,
            other_line,
        }
    } else {
        // The earlier chunks already disagree with this chunk's first value.
        DatasetError::MixedKinds {
            path,
            column,
            first: before,
            first_line: earlier,
            other: first,
            other_line: first_line,
        }
    }
}
