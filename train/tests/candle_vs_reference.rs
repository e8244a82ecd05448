//! The candle model that trained the weights and the project's CPU reference forward must
//! compute the same function: same logits to 1e-3 on the committed weights and on a fresh
//! initialisation.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use scrub_core::forward::forward;
use scrub_core::{Model, ModelConfig, TokenBatch, TokenId};
use scrub_train::tokens_file::TokenFile;
use scrub_train::AttnOnly;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/induction/model")
}

/// Max |candle - reference| over all logits of `seqs`.
fn max_logit_diff(
    cfg: &ModelConfig,
    candle: &AttnOnly,
    reference: &Model,
    seqs: &[Vec<u32>],
) -> f32 {
    let t = seqs[0].len();
    let flat: Vec<u32> = seqs.iter().flatten().copied().collect();
    let x = Tensor::from_vec(flat, (seqs.len(), t), &Device::Cpu).unwrap();
    let ours: Vec<f32> = candle
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let ids: Vec<Vec<TokenId>> = seqs
        .iter()
        .map(|s| s.iter().map(|&i| TokenId(i)).collect())
        .collect();
    let batch = TokenBatch::from_sequences(ids.iter().map(Vec::as_slice));
    let theirs = forward(reference, &batch, None);
    assert_eq!(ours.len(), theirs.data.len());
    assert_eq!(theirs.shape, vec![seqs.len() * t, cfg.d_vocab_out]);
    ours.iter()
        .zip(&theirs.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn validation(n: usize) -> Vec<Vec<u32>> {
    let f = TokenFile::read(&model_dir().join("validation.u16")).unwrap();
    f.sequences()
        .unwrap()
        .take(n)
        .map(|s| s.iter().map(|&t| t as u32).collect())
        .collect()
}

#[test]
fn committed_weights_give_the_reference_logits() {
    let dir = model_dir();
    let reference = Model::load(&dir.join("config.ron"), &dir.join("model.safetensors")).unwrap();
    let cfg = reference.config.clone();
    let candle = AttnOnly::load(&cfg, &dir.join("model.safetensors")).unwrap();
    let d = max_logit_diff(&cfg, &candle, &reference, &validation(4));
    println!("committed model: max |candle - reference| logit = {d:.2e}");
    assert!(d <= 1e-3, "max |Δ logit| = {d}");
}

#[test]
fn fresh_initialisation_saved_and_reloaded_gives_the_reference_logits() {
    let dir = model_dir();
    let cfg = ModelConfig::load(&dir.join("config.ron")).unwrap();
    let candle = AttnOnly::init(&cfg, 5).unwrap();
    let tmp = std::env::temp_dir().join(format!(
        "scrub-train-init-{}.safetensors",
        std::process::id()
    ));
    candle.save(&tmp).unwrap();
    let reference = Model::load(&dir.join("config.ron"), &tmp).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    let d = max_logit_diff(&cfg, &candle, &reference, &validation(2));
    assert!(d <= 1e-3, "max |Δ logit| = {d}");
}
