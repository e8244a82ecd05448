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
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
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

/// Writes tensors of any dtype: (name, dtype, shape, little-endian bytes).
fn write_raw(path: &Path, tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn f32_raw(m: &Model) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    tensors_of(m)
        .into_iter()
        .map(|(n, s, t)| {
            let b = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            (n, Dtype::F32, s, b)
        })
        .collect()
}

#[test]
fn a_file_with_more_layers_than_the_config_is_rejected() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("three_layers.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    let mut one = cfg();
    one.n_layers = 1;
    let err = Weights::load(&one, &p).unwrap_err();
    let text = err.to_string();
    match &err {
        ModelError::UnusedTensors { names, .. } => {
            assert!(
                names.iter().all(|n| n.starts_with("blocks.1.")),
                "{names:?}"
            );
            assert_eq!(names.len(), 16, "{names:?}");
        }
        other => panic!("expected UnusedTensors, got {other}"),
    }
    assert!(
        text.contains("blocks.1.attn.W_Q") && text.contains("`n_layers` is 1"),
        "{text}"
    );
}

#[test]
fn layer_norm_weights_under_normalization_none_are_rejected() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("with_ln.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    let mut c = cfg();
    c.normalization = Normalization::None;
    let err = Weights::load(&c, &p).unwrap_err().to_string();
    assert!(
        err.contains("ln_final.w")
            && err.contains("blocks.0.ln1.b")
            && err.contains("`normalization` is None"),
        "{err}"
    );
}

#[test]
fn mlp_weights_under_d_mlp_none_are_rejected() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("with_mlp.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    let mut c = cfg();
    c.d_mlp = None;
    let err = Weights::load(&c, &p).unwrap_err().to_string();
    assert!(
        err.contains("blocks.1.mlp.W_out")
            && err.contains("blocks.0.ln2.w")
            && err.contains("`d_mlp` is None"),
        "{err}"
    );
}

#[test]
fn an_unknown_extra_tensor_is_named() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("extra.safetensors");
    let mut t = f32_raw(&m);
    t.push(("blocks.0.attn.W_QK".into(), Dtype::F32, vec![1], vec![0; 4]));
    write_raw(&p, &t);
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(
        err.contains("1 tensor(s)") && err.contains("blocks.0.attn.W_QK"),
        "{err}"
    );
}

#[test]
fn exporter_buffers_are_accepted_within_the_configs_layers_only() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("buffers.safetensors");
    let mut t = f32_raw(&m);
    for l in 0..2 {
        t.push((
            format!("blocks.{l}.attn.IGNORE"),
            Dtype::F32,
            vec![1],
            vec![0; 4],
        ));
        t.push((
            format!("blocks.{l}.attn.mask"),
            Dtype::BOOL,
            vec![6, 6],
            vec![1; 36],
        ));
        t.push((
            format!("blocks.{l}.attn.rotary_sin"),
            Dtype::F32,
            vec![1],
            vec![0; 4],
        ));
        t.push((
            format!("blocks.{l}.attn.rotary_cos"),
            Dtype::F32,
            vec![1],
            vec![0; 4],
        ));
    }
    write_raw(&p, &t);
    assert_eq!(Weights::load(&m.config, &p).unwrap(), m.weights);

    t.push((
        "blocks.2.attn.mask".into(),
        Dtype::BOOL,
        vec![6, 6],
        vec![1; 36],
    ));
    write_raw(&p, &t);
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(err.contains("blocks.2.attn.mask"), "{err}");
}

#[test]
fn half_precision_files_are_widened() {
    let m = random_model(&cfg(), 1, 0.2);
    for (dtype, name) in [(Dtype::F16, "f16"), (Dtype::BF16, "bf16")] {
        let t: Vec<_> = tensors_of(&m)
            .into_iter()
            .map(|(n, s, v)| {
                let b = v
                    .iter()
                    .flat_map(|&x| match dtype {
                        Dtype::F16 => half::f16::from_f32(x).to_bits().to_le_bytes(),
                        _ => half::bf16::from_f32(x).to_bits().to_le_bytes(),
                    })
                    .collect();
                (n, dtype, s, b)
            })
            .collect();
        let p = tmp(&format!("{name}.safetensors"));
        write_raw(&p, &t);
        let w = Weights::load(&m.config, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
        // bf16 keeps 8 significant bits, f16 11: values of magnitude below 1 round within 2^-8.
        let tol = 1.0 / 256.0;
        for ((n, _, want), (_, _, got)) in tensors_of(&m).iter().zip(w.named_tensors(&m.config)) {
            for (a, b) in want.iter().zip(got) {
                assert!(
                    (a - b).abs() <= tol * a.abs().max(1.0),
                    "{name} {n}: {a} vs {b}"
                );
            }
        }
        assert_ne!(
            w, m.weights,
            "{name}: widened values are rounded, not the originals"
        );
    }
}

#[test]
fn other_dtypes_are_rejected_with_the_accepted_ones() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("f64.safetensors");
    let t: Vec<_> = f32_raw(&m)
        .into_iter()
        .map(|(n, d, s, b)| {
            if n == "unembed.b_U" {
                (n, Dtype::F64, s, vec![0; 3 * 8])
            } else {
                (n, d, s, b)
            }
        })
        .collect();
    write_raw(&p, &t);
    let err = Weights::load(&m.config, &p).unwrap_err().to_string();
    assert!(
        err.contains("`unembed.b_U` has dtype F64; expected F32, F16 or BF16"),
        "{err}"
    );
}

#[test]
fn a_pytorch_checkpoint_is_told_how_to_convert() {
    // What `torch.save` writes: a zip archive; the name alone is not what is recognised.
    let p = tmp("model_state.data");
    std::fs::write(&p, b"PK\x03\x04\x14\x00\x00\x00\x08\x00archive/data.pkl").unwrap();
    let err = Weights::load(&cfg(), &p).unwrap_err();
    assert!(matches!(err, ModelError::PyTorchCheckpoint { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("PyTorch checkpoint")
            && text.contains("safetensors.torch import save_file")
            && text.contains("model_state.data"),
        "{text}"
    );
    let pickle = tmp("old.pt");
    std::fs::write(&pickle, [0x80, 0x02, b'c', b'x']).unwrap();
    let err = Weights::load(&cfg(), &pickle).unwrap_err();
    assert!(matches!(err, ModelError::PyTorchCheckpoint { .. }), "{err}");
}

#[test]
fn a_cut_short_file_names_the_tensor_whose_data_is_missing() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("cut.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let cut = &bytes[..bytes.len() - 10];
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let last = header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .max_by_key(|(_, v)| v["data_offsets"][1].as_u64().unwrap())
        .map(|(k, _)| k.clone())
        .unwrap();
    let err = Weights::from_safetensors_bytes(&m.config, cut, Path::new("cut.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("tensor `{last}`")) && err.contains("cut short"),
        "{err}"
    );
}

#[test]
fn a_config_claiming_more_layers_than_any_file_holds_is_a_missing_tensor() {
    let m = random_model(&cfg(), 1, 0.2);
    let p = tmp("huge_n_layers.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    let mut c = cfg();
    c.n_layers = usize::MAX / 64;
    let err = Weights::load(&c, &p).unwrap_err().to_string();
    assert!(err.contains("missing tensor `blocks.2.attn.W_Q`"), "{err}");
}

/// An LNPre file (what `fold_ln` leaves) holds no LayerNorm tensors; the loaded model has
/// unit ones in every place, and saving writes none back.
#[test]
fn an_lnpre_file_has_no_layer_norm_tensors_and_round_trips() {
    let mut c = cfg();
    c.normalization = Normalization::LNPre;
    assert!(!expected_tensors(&c).iter().any(|(n, _)| n.contains("ln")));
    let m = random_model(&c, 3, 0.2);
    let p = tmp("lnpre.safetensors");
    m.weights.save(&c, &p).unwrap();
    let back = Weights::load(&c, &p).unwrap();
    assert_eq!(back, m.weights);
    let unit = Some(LayerNorm::identity(c.d_model));
    assert!(back.blocks.iter().all(|b| b.ln1 == unit && b.ln2 == unit));
    assert_eq!(back.ln_final, unit);
    // A file with LayerNorm weights is not an LNPre model.
    let with_ln = tmp("lnpre_with_ln.safetensors");
    random_model(&cfg(), 3, 0.2)
        .weights
        .save(&cfg(), &with_ln)
        .unwrap();
    let err = Weights::load(&c, &with_ln).unwrap_err().to_string();
    assert!(err.contains("`normalization` is LNPre"), "{err}");
}

#[test]
fn a_llama_shaped_model_round_trips_with_its_own_tensors() {
    let c = ModelConfig {
        n_heads: 4,
        n_kv_heads: Some(2),
        act_fn: ActFn::Silu,
        normalization: Normalization::RMSNorm,
        positional: PositionalKind::Rotary,
        gated_mlp: true,
        ..cfg()
    };
    let shapes: HashMap<String, Vec<usize>> = expected_tensors(&c).into_iter().collect();
    assert_eq!(shapes["blocks.0.attn.W_K"], [2, 8, 4]);
    assert_eq!(shapes["blocks.1.attn.b_V"], [2, 4]);
    assert_eq!(shapes["blocks.0.attn.W_Q"], [4, 8, 4]);
    assert_eq!(shapes["blocks.1.mlp.W_gate"], [8, 12]);
    assert!(shapes.contains_key("ln_final.w") && !shapes.contains_key("ln_final.b"));
    assert!(!shapes.contains_key("pos_embed.W_pos"));
    let m = random_model(&c, 5, 0.3);
    assert!(m.weights.w_pos.is_empty());
    let p = tmp("llama.safetensors");
    m.weights.save(&m.config, &p).unwrap();
    assert_eq!(Weights::load(&c, &p).unwrap(), m.weights);
    // Without the gate the file has a tensor the config does not use.
    let plain = ModelConfig {
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
        ..c
    };
    let err = Weights::load(&plain, &p).unwrap_err().to_string();
    assert!(err.contains("W_gate"), "{err}");
}
