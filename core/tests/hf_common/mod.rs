//! Helpers the Hugging Face fixture tests share: copies of a fixture folder to break, and
//! the error a broken folder gives.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

use scrub_core::testing::HF_FIXTURE_DIR;
use scrub_core::Model;

/// The largest |a − b| over two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A fresh copy of fixture `name` in a temporary folder of this process, tagged `tag`.
pub fn copy_of(name: &str, tag: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!("scrub-hf-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(Path::new(HF_FIXTURE_DIR).join(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

/// The error `Model::load_hf` gives on `dir`.
pub fn load_err(dir: &Path) -> String {
    Model::load_hf(dir).unwrap_err().to_string()
}

/// Replaces the first `from` in `dir`'s `config.json` by `to`.
pub fn edit_config(dir: &Path, from: &str, to: &str) {
    let p = dir.join("config.json");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// Rewrites `model.safetensors` of `dir` through `edit` (name, shape, f32 data).
pub fn edit_tensors(dir: &Path, edit: impl Fn(&mut Vec<(String, Vec<usize>, Vec<u8>)>)) {
    let p = dir.join("model.safetensors");
    let bytes = std::fs::read(&p).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b);
            (n.clone(), v.unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, &p).unwrap();
}
