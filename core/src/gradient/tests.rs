//! Every vector-Jacobian product against central finite differences of the function it
//! differentiates, along random directions, on random models of each config variant:
//! LayerNorm, RMSNorm and none; standard, shortformer and rotary positions; causal and
//! bidirectional attention with padding; grouped-query attention; plain and gated MLPs with
//! each nonlinearity.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::activation::derivative;
use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::forward::{activate, head_from_pattern, head_pattern, head_result, mlp_out, normalize};
use crate::mask::SourceMask;
use crate::testing::{paren_like_config, random_model};
use crate::tokens::TokenId;

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// `f(x)` is `Σ r ⊙ out(x)`; checks `⟨grad, u⟩` against `(f(x + εu) − f(x − εu)) / 2ε`
/// along three random directions.
fn check(what: &str, x: &[f32], grad: &[f32], f: impl Fn(&[f32]) -> f64) {
    check_with(1e-2, what, x, grad, f)
}

/// `check` with step `eps` (smaller across ReLU's kink, which a step may straddle).
fn check_with(eps: f32, what: &str, x: &[f32], grad: &[f32], f: impl Fn(&[f32]) -> f64) {
    assert_eq!(x.len(), grad.len(), "{what}: gradient shape");
    for seed in 0..3 {
        let u = random(x.len(), 1000 + seed, 1.0);
        let at =
            |sign: f32| -> Vec<f32> { x.iter().zip(&u).map(|(a, b)| a + sign * eps * b).collect() };
        let fd = (f(&at(1.0)) - f(&at(-1.0))) / (2.0 * eps as f64);
        let an = dot(grad, &u);
        let scale = (dot(grad, grad).sqrt() * dot(&u, &u).sqrt()).max(1e-3);
        assert!(
            (fd - an).abs() <= 2e-3 * scale,
            "{what}: finite difference {fd} vs gradient {an} (scale {scale})"
        );
    }
}

fn llama_like(n_kv_heads: usize) -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 4,
        d_model: 16,
        d_head: 8,
        d_mlp: Some(24),
        d_vocab: 11,
        d_vocab_out: 11,
        n_ctx: 7,
        act_fn: ActFn::Silu,
        normalization: Normalization::RMSNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        pad_token: None,
        ln_eps: 1e-6,
        n_kv_heads: Some(n_kv_heads),
        rope_theta: 10000.0,
        gated_mlp: true,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

/// The config variants the checks run on, each with a name.
fn variants() -> Vec<(&'static str, ModelConfig)> {
    let mut out = vec![
        (
            "standard/bidirectional/pad/LayerNorm/ReLU",
            paren_like_config(AttentionKind::Bidirectional, PositionalKind::Standard),
        ),
        ("rotary/GQA/RMSNorm/SwiGLU", llama_like(2)),
    ];
    let mut short = paren_like_config(AttentionKind::Causal, PositionalKind::Shortformer);
    short.act_fn = ActFn::Gelu;
    short.pad_token = None;
    out.push(("shortformer/causal/LayerNorm/GELU", short));
    let mut lnpre = paren_like_config(AttentionKind::Causal, PositionalKind::Standard);
    lnpre.normalization = Normalization::LNPre;
    lnpre.act_fn = ActFn::GeluTanh;
    out.push(("LNPre/gelu_new", lnpre));
    // GPT-NeoX / Pythia: LayerNorm, a quarter of each head rotating, parallel blocks.
    let mut neox = llama_like(4);
    neox.normalization = Normalization::PreLayerNorm;
    neox.gated_mlp = false;
    neox.act_fn = ActFn::Gelu;
    neox.rotary_dim = Some(2);
    neox.parallel_attn_mlp = true;
    out.push(("NeoX: partial rotary/parallel/LayerNorm/GELU", neox));
    let mut none = paren_like_config(AttentionKind::Causal, PositionalKind::Standard);
    none.normalization = Normalization::None;
    out.push(("no normalisation", none));
    out
}

fn tokens(cfg: &ModelConfig) -> Vec<TokenId> {
    // Ends in padding where the model has a pad token, so masked keys are exercised.
    (0..cfg.n_ctx as u32)
        .map(|i| match cfg.pad_token {
            Some(p) if i + 2 >= cfg.n_ctx as u32 => TokenId(p),
            _ => TokenId((i * 3 + 2) % cfg.d_vocab as u32),
        })
        .collect()
}

#[test]
fn activation_derivatives_match_finite_differences() {
    for act in [ActFn::Relu, ActFn::Gelu, ActFn::GeluTanh, ActFn::Silu] {
        for i in -40..=40 {
            let x = i as f64 * 0.1 + 0.013;
            let h = 1e-5;
            let f = |x: f64| {
                let mut v = [x as f32];
                activate(&mut v, act);
                v[0] as f64
            };
            let fd = (f(x + h) - f(x - h)) / (2.0 * h);
            assert!(
                (fd - derivative(x, act)).abs() < 2e-2,
                "{act:?} at {x}: {fd} vs {}",
                derivative(x, act)
            );
        }
    }
    // f64 reference formulas where f32 differences are too coarse.
    let gelu = |x: f64| crate::forward::gelu(x);
    for x in [-3.0, -0.5, 0.2, 2.5] {
        let fd = (gelu(x + 1e-6) - gelu(x - 1e-6)) / 2e-6;
        assert!((fd - derivative(x, ActFn::Gelu)).abs() < 1e-8);
    }
}

#[test]
fn normalisation_vjp_matches_finite_differences() {
    for (name, cfg) in variants() {
        let m = random_model(&cfg, 3, 0.4);
        let ln = m.weights.blocks[0].ln1.as_ref();
        let x = random(5 * cfg.d_model, 7, 2.0);
        let r = random(x.len(), 8, 1.0);
        let g = norm::normalize_vjp(&cfg, &x, ln, &r);
        check(name, &x, &g, |x| dot(&normalize(&cfg, x, ln), &r));
    }
}

#[test]
fn head_vjp_matches_finite_differences_on_each_input() {
    for (name, cfg) in variants() {
        let m = random_model(&cfg, 5, 0.5);
        let t = tokens(&cfg);
        let n = t.len();
        let d = cfg.d_model;
        let (q, k, v) = (
            random(n * d, 1, 1.5),
            random(n * d, 2, 1.5),
            random(n * d, 3, 1.5),
        );
        let r = random(n * d, 4, 1.0);
        for (layer, head) in [(0, 0), (1, cfg.n_heads - 1)] {
            let g = head_result_vjp(&m, layer, head, &q, &k, &v, &t, &r);
            let f = |q: &[f32], k: &[f32], v: &[f32]| {
                dot(&head_result(&m, layer, head, q, k, v, &t), &r)
            };
            check(&format!("{name} {layer}.{head} q"), &q, &g.q, |x| {
                f(x, &k, &v)
            });
            check(&format!("{name} {layer}.{head} k"), &k, &g.k, |x| {
                f(&q, x, &v)
            });
            check(&format!("{name} {layer}.{head} v"), &v, &g.v, |x| {
                f(&q, &k, x)
            });
        }
    }
}

#[test]
fn pattern_halves_match_finite_differences_with_a_source_mask() {
    let cfg = paren_like_config(AttentionKind::Causal, PositionalKind::Standard);
    let m = random_model(&cfg, 9, 0.5);
    let t = tokens(&cfg);
    let (n, d) = (t.len(), cfg.d_model);
    let (q, k, v) = (
        random(n * d, 11, 1.5),
        random(n * d, 12, 1.5),
        random(n * d, 13, 1.5),
    );
    let pattern = head_pattern(&m, 1, 1, &q, &k, &t);
    let mask = SourceMask::Previous;
    let r = random(n * d, 14, 1.0);
    let (d_pattern, d_v) = head_from_pattern_vjp(&m, 1, 1, &pattern, &v, &mask, &r);
    let f = |p: &[f32], v: &[f32]| dot(&head_from_pattern(&m, 1, 1, p, v, &mask), &r);
    check("pattern", &pattern, &d_pattern, |x| f(x, &v));
    check("v through a mask", &v, &d_v, |x| f(&pattern, x));
    let rp = random(n * n, 15, 1.0);
    let (dq, dk) = head_pattern_vjp(&m, 1, 1, &q, &k, &t, &rp);
    check("pattern q", &q, &dq, |x| {
        dot(&head_pattern(&m, 1, 1, x, &k, &t), &rp)
    });
    check("pattern k", &k, &dk, |x| {
        dot(&head_pattern(&m, 1, 1, &q, x, &t), &rp)
    });
}

#[test]
fn mlp_and_unembed_vjp_match_finite_differences() {
    for (name, cfg) in variants() {
        let m = random_model(&cfg, 21, 0.4);
        let d = cfg.d_model;
        let x = random(5 * d, 22, 1.5);
        let r = random(5 * d, 23, 1.0);
        let g = mlp_out_vjp(&m, 1, &x, &r);
        let eps = if cfg.act_fn == ActFn::Relu {
            1e-3
        } else {
            1e-2
        };
        check_with(eps, &format!("{name} mlp"), &x, &g, |x| {
            dot(&mlp_out(&m, 1, x), &r)
        });
        let rl = random(5 * cfg.d_vocab_out, 24, 1.0);
        let g = unembed_vjp(&m, &x, &rl);
        check(&format!("{name} unembed"), &x, &g, |x| {
            dot(&crate::forward::unembed(&m, x), &rl)
        });
    }
}
