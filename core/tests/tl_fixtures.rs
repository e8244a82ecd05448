//! The CPU reference against TransformerLens itself: models saved from TransformerLens
//! 2.18.0 (`scripts/export_tl_fixtures.py`) load through `Model::load(config.json,
//! model.safetensors)` and give TransformerLens's logits and hooks.

use scrub_core::forward::forward;
use scrub_core::hooks::ActivationCache;
use scrub_core::testing::{tl_fixture, TL_FIXTURES};
use scrub_core::{ActFn, Normalization, TokenBatch};

const LOGIT_TOL: f32 = 1e-4;
const HOOK_TOL: f32 = 1e-4;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_fixture_matches_transformer_lens_logits_and_hooks() {
    for name in TL_FIXTURES {
        let f = tl_fixture(name);
        let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
        batch.validate(&f.model.config).unwrap();
        let mut caches: Vec<ActivationCache> = Vec::new();
        let logits = forward(&f.model, &batch, Some(&mut caches));
        let want = &f.expected["logits"];
        assert_eq!(logits.shape, want.shape, "{name}");
        let diff = max_abs_diff(&logits.data, &want.data);
        let scale = want.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        eprintln!("{name}: max |Δ logit| = {diff:.2e} (logits up to {scale:.2})");
        assert!(scale > 0.5, "{name}: logits too small to test anything");
        assert!(diff <= LOGIT_TOL, "{name}: max |Δ logit| = {diff}");

        let mut compared = 0;
        for (key, t) in &f.expected {
            let (hook, seqs): (&str, Vec<usize>) = if let Some(h) = key.strip_prefix("hook/") {
                (h, (0..batch.n_seqs()).collect())
            } else if let Some(rest) = key.strip_prefix("seq") {
                let (i, h) = rest.split_once('/').unwrap();
                (h, vec![i.parse().unwrap()])
            } else {
                continue;
            };
            let got: Vec<f32> = seqs
                .iter()
                .flat_map(|&s| {
                    let c = caches[s]
                        .get(hook)
                        .unwrap_or_else(|| panic!("{name}: no hook {hook}"));
                    c.data.clone()
                })
                .collect();
            let diff = max_abs_diff(&got, &t.data);
            assert!(diff <= HOOK_TOL, "{name}: {key}: max |Δ| = {diff}");
            compared += 1;
        }
        assert!(compared >= 4, "{name}: only {compared} hooks compared");
    }
}

/// The fixtures cover what the loader maps: both norms and no norm, all three activations,
/// both attention directions, both positional kinds, attention-only, d_vocab_out ≠ d_vocab.
#[test]
fn fixtures_cover_every_supported_variant() {
    let cfgs: Vec<_> = TL_FIXTURES
        .iter()
        .map(|n| tl_fixture(n).model.config)
        .collect();
    let has = |p: &dyn Fn(&scrub_core::ModelConfig) -> bool| cfgs.iter().any(p);
    assert!(has(&|c| c.normalization == Normalization::PreLayerNorm));
    assert!(has(&|c| c.normalization == Normalization::LNPre));
    assert!(has(&|c| c.normalization == Normalization::None));
    for act in [ActFn::Relu, ActFn::Gelu, ActFn::GeluTanh] {
        assert!(has(&|c| c.d_mlp.is_some() && c.act_fn == act), "{act:?}");
    }
    assert!(has(&|c| c.d_mlp.is_none()));
    assert!(has(
        &|c| c.positional == scrub_core::PositionalKind::Shortformer
    ));
    assert!(has(
        &|c| c.attention == scrub_core::AttentionKind::Bidirectional
    ));
    assert!(has(&|c| c.d_vocab_out != c.d_vocab));
    assert!(cfgs.iter().all(|c| c.pad_token.is_none()));
}
