//! The Llama- and NeoX-family parts of the forward: grouped-query attention against
//! repeated key/value heads, rotary scores that depend on relative positions only, and
//! partial rotary leaving the trailing dimensions alone.

use super::tests::{base, batch, get};
use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::testing::random_model;
use crate::tokens::TokenId;

fn llama_cfg() -> ModelConfig {
    ModelConfig {
        n_heads: 4,
        d_head: 4,
        n_kv_heads: Some(2),
        act_fn: ActFn::Silu,
        normalization: Normalization::RMSNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        rope_theta: 100.0,
        gated_mlp: true,
        ..base()
    }
}

#[test]
fn grouped_query_attention_is_attention_with_repeated_key_value_heads() {
    let cfg = llama_cfg();
    let m = random_model(&cfg, 40, 0.3);
    // The same model with each key/value head copied for the two query heads reading it.
    let mut full = m.clone();
    full.config.n_kv_heads = None;
    let per = cfg.d_model * cfg.d_head;
    for b in &mut full.weights.blocks {
        let a = &mut b.attn;
        let rep = |t: &[f32], n: usize| -> Vec<f32> {
            (0..4)
                .flat_map(|h| t[(h / 2) * n..(h / 2 + 1) * n].to_vec())
                .collect()
        };
        a.w_k = rep(&a.w_k, per);
        a.w_v = rep(&a.w_v, per);
        a.b_k = rep(&a.b_k, cfg.d_head);
        a.b_v = rep(&a.b_v, cfg.d_head);
    }
    let b = batch();
    let mut grouped = Vec::new();
    let mut repeated = Vec::new();
    let got = forward(&m, &b, Some(&mut grouped));
    let want = forward(&full, &b, Some(&mut repeated));
    assert_eq!(got.data, want.data);
    assert_eq!(get(&grouped[2], "blocks.0.attn.hook_k").shape, [9, 2, 4]);
    assert_eq!(get(&repeated[2], "blocks.0.attn.hook_k").shape, [9, 4, 4]);
}

#[test]
fn rotary_scores_depend_on_relative_positions_only() {
    // A one-layer attention-only rotary model without normalisation: the pattern of a
    // sequence whose tokens all repeat is the same at every query, shifted.
    let cfg = ModelConfig {
        n_layers: 1,
        d_mlp: None,
        gated_mlp: false,
        normalization: Normalization::None,
        pad_token: None,
        ..llama_cfg()
    };
    let m = random_model(&cfg, 41, 0.5);
    let toks: Vec<TokenId> = vec![TokenId(3); 9];
    let mut c = Vec::new();
    forward(
        &m,
        &TokenBatch::from_sequences([toks.as_slice()]),
        Some(&mut c),
    );
    let pat = get(&c[0], "blocks.0.attn.hook_pattern");
    let n = 9;
    for h in 0..4 {
        let p = |q: usize, k: usize| pat.data[(h * n + q) * n + k];
        // Identical tokens: the score of (q, k) depends on q − k only, so the ratio of the
        // probabilities at offsets 0 and 1 is the same at every query.
        let r7 = p(7, 7) / p(7, 6);
        let r8 = p(8, 8) / p(8, 7);
        assert!((r7 - r8).abs() < 1e-4 * r7.abs(), "head {h}: {r7} vs {r8}");
    }
    // And rotation matters: hook_rot_q differs from hook_q away from position 0.
    let (q, rq) = (
        get(&c[0], "blocks.0.attn.hook_q"),
        get(&c[0], "blocks.0.attn.hook_rot_q"),
    );
    assert_eq!(q.data[..16], rq.data[..16]);
    assert!(q.data[16..]
        .iter()
        .zip(&rq.data[16..])
        .any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn partial_rotary_rotates_only_the_leading_dimensions() {
    // GPT-NeoX's layout: of d_head = 8, the first 4 rotate in rotate-half pairs (i, i + 2),
    // exactly as a whole 4-wide head would, and the last 4 pass through.
    let full = ModelConfig {
        d_head: 4,
        ..llama_cfg()
    };
    let partial = ModelConfig {
        d_head: 8,
        rotary_dim: Some(4),
        ..llama_cfg()
    };
    assert_eq!(rotary_inv_freq(&partial), rotary_inv_freq(&full));
    let heads = 3;
    let positions = [0, 5, 11];
    let x: Vec<f32> = (0..positions.len() * heads * 8)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 5.0)
        .collect();
    let mut got = x.clone();
    rotate(&partial, &mut got, heads, &positions);
    let mut lead: Vec<f32> = x.chunks_exact(8).flat_map(|v| v[..4].to_vec()).collect();
    rotate(&full, &mut lead, heads, &positions);
    for (i, (g, v)) in got.chunks_exact(8).zip(x.chunks_exact(8)).enumerate() {
        assert_eq!(g[..4], lead[i * 4..(i + 1) * 4], "vector {i}: rotated part");
        assert_eq!(g[4..], v[4..], "vector {i}: the unrotated dimensions");
    }
    assert_ne!(
        got[heads * 8..],
        x[heads * 8..],
        "positions 5 and 11 rotate"
    );
}
