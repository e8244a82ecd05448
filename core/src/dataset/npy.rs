//! A directory of `.npy` files, one per column. The NPY header (a Python dict literal) is
//! parsed here rather than with a crate: the format is small and this way every fault
//! names the file it is in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::columnar::{assemble, decode, Array, Elem};
use super::{Dataset, DatasetError, Format, Values};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads `dir/tokens.npy`, `dir/lengths.npy` (optional) and every other `dir/*.npy` as a column.
pub(super) fn load_dir(dir: &Path) -> Result<Dataset, DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("npy") || !path.is_file() {
            continue;
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            files.push((stem.to_string(), path.clone()));
        }
    }
    if !files.iter().any(|(name, _)| name == "tokens") {
        return Err(DatasetError::MissingTokenArray {
            path: dir.to_path_buf(),
            what: "file (tokens.npy)",
        });
    }
    // Files are independent: decode them in parallel, then report the first error by name.
    files.sort();
    let decoded: Vec<(String, Result<Array, DatasetError>)> = files
        .into_par_iter()
        .map(|(name, path)| {
            let a = read(&path);
            (name, a)
        })
        .collect();
    let (mut tokens, mut lengths, mut columns) = (None, None, Vec::new());
    for (name, a) in decoded {
        let a = a?;
        match name.as_str() {
            "tokens" => tokens = Some(a),
            "lengths" => lengths = Some(a),
            _ => columns.push((name, a)),
        }
    }
    let tokens = tokens.expect("tokens.npy was found above");
    assemble(dir, Format::Npy, tokens, lengths, columns)
}

/// The element type of an NPY dtype string such as `<i8` or `<U5`.
fn parse_descr(descr: &str) -> Option<Elem> {
    Some(match descr {
        "|i1" => Elem::I8,
        "<i2" => Elem::I16,
        "<i4" => Elem::I32,
        "<i8" => Elem::I64,
        "|u1" => Elem::U8,
        "<u2" => Elem::U16,
        "<u4" => Elem::U32,
        "<u8" => Elem::U64,
        "|b1" => Elem::Bool,
        "<f2" => Elem::F16,
        "<f4" => Elem::F32,
        "<f8" => Elem::F64,
        _ => Elem::Unicode(descr.strip_prefix("<U")?.parse().ok()?),
    })
}

/// Reads one `.npy` file.
pub(super) fn read(path: &Path) -> Result<Array, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| DatasetError::NpyHeader {
        path: path.to_path_buf(),
        message,
    };
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(bad("it does not start with \\x93NUMPY".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported NPY version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| bad(format!("the header ({header_len} bytes) is cut off")))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("the header is not text".into()))?;
    let dict = parse_header(header).map_err(|m| bad(format!("{m} in header {header:?}")))?;
    let field = |k: &str| {
        dict.get(k)
            .ok_or_else(|| bad(format!("no '{k}' in header {header:?}")))
    };
    let descr = match field("descr")? {
        Py::Str(s) => s.clone(),
        other => {
            return Err(DatasetError::Dtype {
                path: path.to_path_buf(),
                column: column_name(path),
                dtype: format!("{other:?}"),
                hint: " (structured arrays are not; save one .npy file per column)",
            })
        }
    };
    match field("fortran_order")? {
        Py::Bool(false) => {}
        Py::Bool(true) => {
            return Err(DatasetError::FortranOrder {
                path: path.to_path_buf(),
            })
        }
        other => {
            return Err(bad(format!(
                "'fortran_order' is {other:?}, not True or False"
            )))
        }
    }
    let shape: Vec<usize> = match field("shape")? {
        Py::Tuple(dims) => dims
            .iter()
            .map(|d| match d {
                Py::Int(x) => usize::try_from(*x).ok(),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| bad("'shape' is not a tuple of integers".into()))?,
        _ => return Err(bad("'shape' is not a tuple".into())),
    };
    let elem = parse_descr(&descr).ok_or_else(|| DatasetError::Dtype {
        path: path.to_path_buf(),
        column: column_name(path),
        dtype: descr.clone(),
        hint: if descr == "|O" {
            " (object arrays are not; save strings with a unicode dtype, np.array(xs, dtype=str))"
        } else {
            " (use <i8 <i4 <u4 <u2 |u1 |b1 <f4 <f8 or <U{k}, little-endian)"
        },
    })?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} is too large")))?;
    let data = &bytes[start + header_len..];
    let expected = elem
        .size()
        .and_then(|s| s.checked_mul(count))
        .ok_or_else(|| bad(format!("shape {shape:?} is too large")))?;
    if data.len() != expected {
        return Err(bad(format!(
            "shape {shape:?} of {descr} needs {expected} bytes of data, the file has {}",
            data.len()
        )));
    }
    let values = decode(elem, data).map_err(bad)?;
    Ok(Array {
        file: path.to_path_buf(),
        shape,
        values,
    })
}

fn column_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A value in an NPY header.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    Str(String),
    Bool(bool),
    Int(i64),
    Tuple(Vec<Py>),
}

/// Parses the header's Python dict literal, e.g.
/// `{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(s: &str) -> Result<HashMap<String, Py>, String> {
    let mut p = Parser {
        s: s.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let mut out = HashMap::new();
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let Py::Str(key) = p.value()? else {
            return Err(format!("a key at byte {} is not a string", p.i));
        };
        p.expect(b':')?;
        let v = p.value()?;
        out.insert(key, v);
        p.ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.i));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Py, String> {
        self.ws();
        let start = self.i;
        match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => {
                self.i += 1;
                let end = self.s[self.i..]
                    .iter()
                    .position(|&c| c == q)
                    .ok_or_else(|| format!("unterminated string at byte {start}"))?;
                let text = String::from_utf8_lossy(&self.s[self.i..self.i + end]).into_owned();
                self.i += end + 1;
                Ok(Py::Str(text))
            }
            Some(b'(' | b'[') => {
                let close = if self.s[self.i] == b'(' { b')' } else { b']' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        break;
                    }
                    items.push(self.value()?);
                    if !self.eat(b',') {
                        self.expect(close)?;
                        break;
                    }
                }
                Ok(Py::Tuple(items))
            }
            _ => {
                let end = self.s[self.i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_'))
                    .unwrap_or(self.s.len() - self.i);
                let word = std::str::from_utf8(&self.s[self.i..self.i + end]).unwrap_or("");
                self.i += end;
                match word {
                    "True" => Ok(Py::Bool(true)),
                    "False" => Ok(Py::Bool(false)),
                    // numpy writes `3L` for longs under Python 2.
                    w => w
                        .trim_end_matches('L')
                        .parse()
                        .map(Py::Int)
                        .map_err(|_| format!("cannot read {w:?} at byte {start}")),
                }
            }
        }
    }
}

/// Writes `values` with `shape` as an NPY v1 file (v2 if the header needs it), the way
/// `np.save` does.
fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) -> Result<(), DatasetError> {
    let dims = match shape {
        [n] => format!("{n},"),
        _ => shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    // The data start at a multiple of 64 bytes; the header ends with a newline.
    let v1 = header.len() + 11 < u16::MAX as usize;
    let prefix = if v1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(prefix + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `ds` as `tokens.npy` (`<u4`, padded with 0), `lengths.npy` (`<i8`) and one file
/// per column (per-position columns padded with 0, false, 0.0 or "").
pub(super) fn write_dir(ds: &Dataset, dir: &Path) -> Result<(), DatasetError> {
    std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let (n, width) = (ds.len(), ds.max_len());
    let offsets = ds.offsets();
    let padded = |d: usize| offsets[d]..offsets[d + 1];
    // Bytes of a per-position column laid out [n, width], `pad` after each datum.
    let rows = |elem: &dyn Fn(usize, &mut Vec<u8>), pad: &[u8]| {
        let mut out = Vec::new();
        for d in 0..n {
            let r = padded(d);
            for j in r.clone() {
                elem(j, &mut out);
            }
            for _ in r.len()..width {
                out.extend_from_slice(pad);
            }
        }
        out
    };
    let tokens = rows(
        &|j, o| o.extend_from_slice(&ds.tokens[j].to_le_bytes()),
        &[0; 4],
    );
    write_npy(&dir.join("tokens.npy"), "<u4", &[n, width], &tokens)?;
    let lengths: Vec<u8> = (0..n)
        .flat_map(|d| (padded(d).len() as i64).to_le_bytes())
        .collect();
    write_npy(&dir.join("lengths.npy"), "<i8", &[n], &lengths)?;
    for c in ds.columns() {
        let per_position = c.scope == super::Scope::PerPosition;
        let shape: Vec<usize> = if per_position {
            vec![n, width]
        } else {
            vec![n]
        };
        let lay = |elem: &dyn Fn(usize, &mut Vec<u8>), pad: &[u8]| {
            if per_position {
                rows(elem, pad)
            } else {
                let mut out = Vec::new();
                for d in 0..n {
                    elem(d, &mut out);
                }
                out
            }
        };
        let (descr, data) = match &c.values {
            Values::Int(v) => (
                "<i8".to_string(),
                lay(&|j, o| o.extend_from_slice(&v[j].to_le_bytes()), &[0; 8]),
            ),
            Values::Bool(v) => ("|b1".to_string(), lay(&|j, o| o.push(v[j] as u8), &[0])),
            Values::Float(v) => (
                "<f8".to_string(),
                lay(&|j, o| o.extend_from_slice(&v[j].to_le_bytes()), &[0; 8]),
            ),
            Values::Str { dict, codes } => {
                let k = dict
                    .iter()
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1);
                let utf32: Vec<Vec<u8>> = dict
                    .iter()
                    .map(|s| {
                        let mut b: Vec<u8> =
                            s.chars().flat_map(|ch| (ch as u32).to_le_bytes()).collect();
                        b.resize(4 * k, 0);
                        b
                    })
                    .collect();
                let pad = vec![0u8; 4 * k];
                (
                    format!("<U{k}"),
                    lay(&|j, o| o.extend_from_slice(&utf32[codes[j] as usize]), &pad),
                )
            }
        };
        write_npy(&dir.join(format!("{}.npy", c.name)), &descr, &shape, &data)?;
    }
    Ok(())
}
