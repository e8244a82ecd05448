use super::TempDir;
use crate::dataset::{Dataset, Format, Scope, Values};
use crate::feature::DatumId;

/// An NPY file as `np.save` writes it (v1 unless `v2`), header padded to `align` bytes.
pub(super) fn npy(descr: &str, shape: &str, data: &[u8], v2: bool, align: usize) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let prefix = if v2 { 12 } else { 10 };
    while (prefix + header.len() + 1) % align != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    if v2 {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `bytes` with the first `from` replaced by `to` (NPY files are not valid UTF-8).
fn replace(bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    let i = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    [&bytes[..i], to.as_bytes(), &bytes[i + from.len()..]].concat()
}

fn v1(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    npy(descr, shape, data, false, 64)
}

fn le<T: Copy, const N: usize>(xs: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    xs.iter().flat_map(|&x| f(x)).collect()
}

fn utf32(strings: &[&str], k: usize) -> Vec<u8> {
    strings
        .iter()
        .flat_map(|s| {
            let mut b: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
            b.resize(4 * k, 0);
            b
        })
        .collect()
}

/// A good directory: 3 data of width 4, lengths 3, 1, 4; negative padding in `tokens`.
fn good(dir: &TempDir) {
    dir.write(
        "tokens.npy",
        v1(
            "<i8",
            "(3, 4)",
            &le(
                &[1i64, 2, 3, -1, 4, -1, -1, -1, 5, 6, 7, 8],
                i64::to_le_bytes,
            ),
        ),
    );
    dir.write(
        "lengths.npy",
        npy(
            "<i4",
            "(3,)",
            &le(&[3i32, 1, 4], i32::to_le_bytes),
            true,
            16,
        ),
    );
    dir.write(
        "label.npy",
        v1("<i4", "(3,)", &le(&[0i32, -5, 2], i32::to_le_bytes)),
    );
    dir.write("ok.npy", v1("|b1", "(3,)", &[1, 0, 1]));
    dir.write(
        "y.npy",
        v1("<f4", "(3,)", &le(&[0.5f32, 1.0, -2.0], f32::to_le_bytes)),
    );
    dir.write(
        "name.npy",
        v1("<U5", "(3,)", &utf32(&["héllo", "b", "héllo"], 5)),
    );
    dir.write(
        "pos.npy",
        v1("|u1", "(3, 4)", &[1, 2, 3, 0, 9, 0, 0, 0, 5, 6, 7, 8]),
    );
    dir.write(
        "tag.npy",
        v1(
            "<U3",
            "(3, 4)",
            &utf32(
                &["a", "b", "a", "pad", "c", "pad", "", "", "c", "b", "a", "a"],
                3,
            ),
        ),
    );
    dir.write("notes.txt", "ignored");
}

#[test]
fn reads_a_directory_of_npy_files() {
    let dir = TempDir::new("npy-good");
    good(&dir);
    let ds = Dataset::load(dir.path()).unwrap();
    assert_eq!(ds.format(), Format::Npy);
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.tokens(DatumId(0)), &[1, 2, 3]);
    assert_eq!(ds.tokens(DatumId(1)), &[4]);
    assert_eq!(ds.tokens(DatumId(2)), &[5, 6, 7, 8]);
    assert_eq!(ds.line_of(DatumId(0)), None);
    let names: Vec<&str> = ds.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["label", "name", "ok", "pos", "tag", "y"]);
    assert_eq!(
        ds.column("label").unwrap().values,
        Values::Int(vec![0, -5, 2])
    );
    assert_eq!(
        ds.column("ok").unwrap().values,
        Values::Bool(vec![true, false, true])
    );
    assert_eq!(
        ds.column("y").unwrap().values,
        Values::Float(vec![0.5, 1.0, -2.0])
    );
    assert_eq!(
        ds.column("name").unwrap().values,
        Values::Str {
            dict: vec!["héllo".into(), "b".into()],
            codes: vec![0, 1, 0]
        }
    );
    let pos = ds.column("pos").unwrap();
    assert_eq!(pos.scope, Scope::PerPosition);
    assert_eq!(pos.values, Values::Int(vec![1, 2, 3, 9, 5, 6, 7, 8]));
    // Padding strings ("pad", "") are dropped from the dictionary.
    assert_eq!(
        ds.column("tag").unwrap().values,
        Values::Str {
            dict: vec!["a".into(), "b".into(), "c".into()],
            codes: vec![0, 1, 0, 2, 2, 1, 0, 0]
        }
    );
}

fn error_with(name: &str, file: &str, bytes: Vec<u8>) -> String {
    let dir = TempDir::new(name);
    good(&dir);
    dir.write(file, bytes);
    Dataset::load(dir.path()).unwrap_err().to_string()
}

#[test]
fn fortran_order_names_the_file() {
    let bytes = replace(v1("<i4", "(3, 4)", &[0; 48]), "False", "True ");
    let msg = error_with("npy-fortran", "pos.npy", bytes);
    assert!(msg.contains("pos.npy: array is in Fortran order"), "{msg}");
}

#[test]
fn unsupported_dtypes_name_file_and_dtype() {
    let msg = error_with("npy-dtype-be", "label.npy", v1(">i8", "(3,)", &[0; 24]));
    assert!(msg.contains("label.npy: `label` has dtype >i8"), "{msg}");
    let msg = error_with("npy-dtype-obj", "label.npy", v1("|O", "(3,)", &[0; 24]));
    assert!(msg.contains("dtype |O") && msg.contains("unicode"), "{msg}");
    let msg = error_with("npy-dtype-c", "label.npy", v1("<c8", "(3,)", &[0; 24]));
    assert!(msg.contains("dtype <c8"), "{msg}");
    let msg = error_with(
        "npy-tokens-float",
        "tokens.npy",
        v1("<f8", "(3, 4)", &[0; 96]),
    );
    assert!(
        msg.contains("tokens.npy: `tokens` has dtype float"),
        "{msg}"
    );
}

#[test]
fn malformed_files() {
    let msg = error_with("npy-magic", "ok.npy", b"PK\x03\x04junk".to_vec());
    assert!(
        msg.contains("ok.npy: malformed NPY file: it does not start"),
        "{msg}"
    );
    let msg = error_with("npy-short", "ok.npy", v1("|b1", "(3,)", &[1, 0]));
    assert!(
        msg.contains("needs 3 bytes of data, the file has 2"),
        "{msg}"
    );
    let mut cut = v1("|b1", "(3,)", &[1, 0, 1]);
    cut.truncate(20);
    let msg = error_with("npy-cut", "ok.npy", cut);
    assert!(
        msg.contains("ok.npy: malformed NPY file: the header"),
        "{msg}"
    );
    let bad = v1("|b1", "(3,)", &[1, 0, 1]);
    let bad = replace(bad, "'shape'", "'shapo'");
    let msg = error_with("npy-no-shape", "ok.npy", bad);
    assert!(msg.contains("no 'shape'"), "{msg}");
    let bad = v1("|b1", "(3,)", &[1, 0, 1]);
    let bad = replace(bad, "(3,)", "(3,x)");
    let msg = error_with("npy-bad-dim", "ok.npy", bad);
    assert!(msg.contains("ok.npy: malformed NPY file"), "{msg}");
    let mut ver = v1("|b1", "(3,)", &[1, 0, 1]);
    ver[6] = 9;
    let msg = error_with("npy-version", "ok.npy", ver);
    assert!(msg.contains("unsupported NPY version 9"), "{msg}");
    let msg = error_with(
        "npy-bad-char",
        "name.npy",
        v1("<U1", "(3,)", &le(&[0xD800u32, 65, 66], u32::to_le_bytes)),
    );
    assert!(
        msg.contains("name.npy: malformed NPY file: 0xd800 is not a character"),
        "{msg}"
    );
}

#[test]
fn shapes_must_match_tokens() {
    let msg = error_with("npy-collen", "label.npy", v1("<i4", "(2,)", &[0; 8]));
    assert!(
        msg.contains("label.npy: `label` has 2 rows but `tokens` has 3 data"),
        "{msg}"
    );
    let msg = error_with("npy-width", "pos.npy", v1("|u1", "(3, 5)", &[0; 15]));
    assert!(
        msg.contains("pos.npy: per-position column `pos` is 5 wide but `tokens` is 4 wide"),
        "{msg}"
    );
    let msg = error_with("npy-rank3", "pos.npy", v1("|u1", "(3, 4, 1)", &[0; 12]));
    assert!(msg.contains("pos.npy: `pos` has shape [3, 4, 1]"), "{msg}");
    let msg = error_with("npy-scalar", "pos.npy", v1("|u1", "()", &[0]));
    assert!(msg.contains("pos.npy: `pos` has shape []"), "{msg}");
    let msg = error_with("npy-tokens-1d", "tokens.npy", v1("<i8", "(3,)", &[0; 24]));
    assert!(
        msg.contains("tokens.npy: `tokens` has shape [3], expected [n, L]"),
        "{msg}"
    );
}

#[test]
fn lengths_and_tokens_must_be_in_range() {
    let msg = error_with(
        "npy-len0",
        "lengths.npy",
        v1("<i8", "(3,)", &le(&[3i64, 0, 4], i64::to_le_bytes)),
    );
    assert!(
        msg.contains("lengths.npy: lengths[1] is 0, outside 1..=4"),
        "{msg}"
    );
    let msg = error_with(
        "npy-len5",
        "lengths.npy",
        v1("<i8", "(3,)", &le(&[3i64, 1, 5], i64::to_le_bytes)),
    );
    assert!(msg.contains("lengths[2] is 5, outside 1..=4"), "{msg}");
    let msg = error_with(
        "npy-lenneg",
        "lengths.npy",
        v1("<i8", "(3,)", &le(&[-3i64, 1, 4], i64::to_le_bytes)),
    );
    assert!(msg.contains("lengths[0] is -3"), "{msg}");
    let msg = error_with("npy-lenrows", "lengths.npy", v1("<i8", "(2,)", &[0; 16]));
    assert!(
        msg.contains("`lengths` has 2 rows but `tokens` has 3 data"),
        "{msg}"
    );
    let msg = error_with(
        "npy-negtoken",
        "tokens.npy",
        v1(
            "<i8",
            "(3, 4)",
            &le(&[1i64, -2, 3, 0, 4, 0, 0, 0, 5, 6, 7, 8], i64::to_le_bytes),
        ),
    );
    assert!(
        msg.contains("tokens.npy: token -2 of datum 0 at position 1 is not in 0..2^32"),
        "{msg}"
    );
    let msg = error_with(
        "npy-u64",
        "label.npy",
        v1("<u8", "(3,)", &le(&[1u64, u64::MAX, 0], u64::to_le_bytes)),
    );
    assert!(
        msg.contains("does not fit in a 64-bit signed integer"),
        "{msg}"
    );
}

#[test]
fn missing_tokens_and_empty_datasets() {
    let dir = TempDir::new("npy-no-tokens");
    dir.write("label.npy", v1("<i4", "(3,)", &[0; 12]));
    let msg = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no `tokens` file (tokens.npy)"), "{msg}");
    let dir = TempDir::new("npy-empty");
    dir.write("tokens.npy", v1("<i8", "(0, 4)", &[]));
    let msg = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("has no data"), "{msg}");
    let dir = TempDir::new("npy-width0");
    dir.write("tokens.npy", v1("<i8", "(2, 0)", &[]));
    let msg = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("lengths[0] is 0"), "{msg}");
}

#[test]
fn without_lengths_every_row_is_full() {
    let dir = TempDir::new("npy-no-lengths");
    dir.write(
        "tokens.npy",
        v1(
            "<u2",
            "(2, 3)",
            &le(&[1u16, 2, 3, 4, 5, 65535], u16::to_le_bytes),
        ),
    );
    dir.write(
        "x.npy",
        v1(
            "<f8",
            "(2, 3)",
            &le(&[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0], f64::to_le_bytes),
        ),
    );
    let ds = Dataset::load(dir.path()).unwrap();
    assert_eq!(ds.tokens(DatumId(1)), &[4, 5, 65535]);
    assert_eq!(
        ds.column("x").unwrap().floats_at(DatumId(1)),
        Some(&[3.0, 4.0, 5.0][..])
    );
}
