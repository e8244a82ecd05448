use super::TempDir;
use crate::dataset::{Dataset, Format, Scope, Values};
use crate::feature::DatumId;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

/// A safetensors file of `(name, dtype, shape, bytes)`.
pub(super) fn file(
    dir: &TempDir,
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
) -> std::path::PathBuf {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let p = dir.path().join("data.safetensors");
    safetensors::serialize_to_file(views, None, &p).unwrap();
    p
}

fn i32s(xs: &[i32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn good() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("tokens", Dtype::I32, vec![2, 3], i32s(&[1, 2, 3, 4, 5, 6])),
        ("digit", Dtype::U8, vec![2], vec![7, 200]),
        ("ok", Dtype::BOOL, vec![2], vec![1, 0]),
        (
            "y",
            Dtype::F32,
            vec![2],
            [0.25f32, -1.0]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        (
            "h",
            Dtype::BF16,
            vec![2],
            [half::bf16::from_f32(1.5), half::bf16::from_f32(-2.0)]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        (
            "pos",
            Dtype::I64,
            vec![2, 3],
            [0i64, 1, 2, 0, 1, 2]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
    ]
}

#[test]
fn reads_a_safetensors_file() {
    let dir = TempDir::new("st-good");
    let p = file(&dir, &good());
    let ds = Dataset::load(&p).unwrap();
    assert_eq!(ds.format(), Format::Safetensors);
    assert_eq!(ds.len(), 2);
    // No `lengths`: every row is full width.
    assert_eq!(ds.tokens(DatumId(1)), &[4, 5, 6]);
    // U8 is an int column (labels such as digits), not bool.
    assert_eq!(
        ds.column("digit").unwrap().values,
        Values::Int(vec![7, 200])
    );
    assert_eq!(
        ds.column("ok").unwrap().values,
        Values::Bool(vec![true, false])
    );
    assert_eq!(
        ds.column("y").unwrap().values,
        Values::Float(vec![0.25, -1.0])
    );
    assert_eq!(
        ds.column("h").unwrap().values,
        Values::Float(vec![1.5, -2.0])
    );
    let pos = ds.column("pos").unwrap();
    assert_eq!(pos.scope, Scope::PerPosition);
    assert_eq!(pos.ints_at(DatumId(1)), Some(&[0, 1, 2][..]));
}

#[test]
fn lengths_drop_padding() {
    let dir = TempDir::new("st-lengths");
    let mut t = good();
    t.push((
        "lengths",
        Dtype::I64,
        vec![2],
        [3i64, 1].iter().flat_map(|x| x.to_le_bytes()).collect(),
    ));
    let ds = Dataset::load(&file(&dir, &t)).unwrap();
    assert_eq!(ds.tokens(DatumId(1)), &[4]);
    assert_eq!(
        ds.column("pos").unwrap().values,
        Values::Int(vec![0, 1, 2, 0])
    );
}

fn error(
    name: &str,
    edit: impl FnOnce(&mut Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)>),
) -> String {
    let dir = TempDir::new(name);
    let mut t = good();
    edit(&mut t);
    let msg = Dataset::load(&file(&dir, &t)).unwrap_err().to_string();
    assert!(msg.contains("data.safetensors"), "{msg}");
    msg
}

#[test]
fn errors_name_the_tensor() {
    let msg = error("st-dtype", |t| {
        t.push(("q", Dtype::F8_E4M3, vec![2], vec![0, 0]))
    });
    assert!(
        msg.contains("`q` has dtype F8_E4M3, which is not supported"),
        "{msg}"
    );
    let msg = error("st-collen", |t| {
        t.push(("q", Dtype::I32, vec![3], i32s(&[0, 0, 0])))
    });
    assert!(
        msg.contains("`q` has 3 rows but `tokens` has 2 data"),
        "{msg}"
    );
    let msg = error("st-width", |t| {
        t.push(("q", Dtype::I32, vec![2, 2], i32s(&[0; 4])))
    });
    assert!(
        msg.contains("per-position column `q` is 2 wide but `tokens` is 3 wide"),
        "{msg}"
    );
    let msg = error("st-no-tokens", |t| {
        t.remove(0);
    });
    assert!(msg.contains("no `tokens` tensor"), "{msg}");
    let msg = error("st-lengths", |t| {
        t.push(("lengths", Dtype::I32, vec![2], i32s(&[4, 1])))
    });
    assert!(msg.contains("lengths[0] is 4, outside 1..=3"), "{msg}");
    let msg = error("st-neg", |t| t[0].3 = i32s(&[1, 2, 3, 4, -5, 6]));
    assert!(msg.contains("token -5 of datum 1 at position 1"), "{msg}");
    let msg = error("st-tokens-bool", |t| {
        t[0] = ("tokens", Dtype::BOOL, vec![2, 3], vec![0; 6])
    });
    assert!(msg.contains("`tokens` has dtype bool"), "{msg}");
}

#[test]
fn not_a_safetensors_file() {
    let dir = TempDir::new("st-garbage");
    let p = dir.write("x.safetensors", b"\x05\x00\x00\x00\x00\x00\x00\x00{}");
    let msg = Dataset::load(&p).unwrap_err().to_string();
    assert!(
        msg.contains("x.safetensors: not a valid safetensors file"),
        "{msg}"
    );
}
