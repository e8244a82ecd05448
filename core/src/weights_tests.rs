//! Bad weight files: each error names the tensor and what is wrong with it.

use std::path::PathBuf;

use super::*;
use crate::config::{ActFn, AttentionKind, PositionalKind};
use crate::testing::random_model;

fn cfg() -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 2,
        d_model: 8,
        d_head: 4,
        d_mlp: Some(12),
        d_vocab: 5,
        d_vocab_out: 3,
        n_ctx: 6,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Standard,
        pad_token: None,
        ln_eps: 1e-5,
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scrub-core-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes `tensors` (name, shape, values) as a safetensors file.
fn write(path: &Path, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, t)| (n, s, t.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn tensors_of(m: &Model) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    m.weights
        .named_tensors(&m.config)
        .into_iter()
        .map(|(n, s, t)| (n, s, t.to_vec()))
        .collect()
}

#[test]
fn save_then_load_round_trips() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("roundtrip.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    assert_eq!(Weights::load(&m.config, &p).unwrap(), m.weights);
}

#[test]
fn missing_tensor_names_itself_and_its_shape() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("missing.safetensors");
    write(
        &p,
        tensors_of(&m)
            .into_iter()
            .filter(|(n, _, _)| n != "blocks.1.attn.W_V")
            .collect(),
    );
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(
        err.contains("missing tensor `blocks.1.attn.W_V`") && err.contains("[2, 8, 4]"),
        "{err}"
    );
    assert!(err.contains("missing.safetensors"), "{err}");
}

#[test]
fn wrong_shape_says_found_and_expected() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("shape.safetensors");
    let t = tensors_of(&m)
        .into_iter()
        .map(|(n, s, v)| {
            if n == "unembed.W_U" {
                (n, vec![3, 8], v)
            } else {
                (n, s, v)
            }
        })
        .collect();
    write(&p, t);
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(
        err.contains("`unembed.W_U` has shape [3, 8], expected [8, 3]"),
        "{err}"
    );
}

#[test]
fn non_finite_weight_is_rejected_with_its_index() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("nan.safetensors");
    let t = tensors_of(&m)
        .into_iter()
        .map(|(n, s, mut v)| {
            if n == "blocks.0.mlp.b_in" {
                v[5] = f32::NAN;
            }
            if n == "ln_final.w" {
                v[0] = f32::INFINITY;
            }
            (n, s, v)
        })
        .collect();
    write(&p, t);
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(
        err.contains("`blocks.0.mlp.b_in` contains a non-finite value (NaN) at flat index 5"),
        "{err}"
    );
}

#[test]
fn garbage_file_is_not_safetensors() {
    let p = tmp("garbage.safetensors");
    std::fs::write(&p, b"this is not a tensor file").unwrap();
    let err = Weights::load(&cfg(), &p).unwrap_err().to_string();
    assert!(
        err.contains("not a valid safetensors file") && err.contains("garbage.safetensors"),
        "{err}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let err = Weights::load(&cfg(), Path::new("/nonexistent/w.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/w.safetensors"), "{err}");
}

#[test]
fn attention_only_models_need_no_mlp_tensors() {
    let mut c = cfg();
    c.d_mlp = None;
    let m = random_model(&c, 2, 0.2);
    let names: Vec<String> = tensors_of(&m).into_iter().map(|(n, _, _)| n).collect();
    assert!(
        !names.iter().any(|n| n.contains("mlp") || n.contains("ln2")),
        "{names:?}"
    );
    let p = tmp("attn_only.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    assert!(Weights::load(&c, &p)
        .unwrap()
        .blocks
        .iter()
        .all(|b| b.mlp.is_none()));
}
