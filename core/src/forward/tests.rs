//! The reference forward against a naive scalar-loop transformer written here, plus the
//! algebraic identities its hooks must satisfy, for every config variant.
// The naive reference indexes like the equations it transcribes; iterator style would hide that.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::testing::random_model;
use crate::tokens::TokenId;

pub(super) fn base() -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 3,
        d_model: 12,
        d_head: 4,
        d_mlp: Some(20),
        d_vocab: 7,
        d_vocab_out: 5,
        n_ctx: 9,
        act_fn: ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Bidirectional,
        positional: PositionalKind::Standard,
        pad_token: Some(1),
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

/// Every combination the scenarios need.
fn variants() -> Vec<ModelConfig> {
    let mut out = Vec::new();
    for attention in [AttentionKind::Causal, AttentionKind::Bidirectional] {
        for positional in [PositionalKind::Standard, PositionalKind::Shortformer] {
            for (normalization, act_fn, d_mlp) in [
                (Normalization::PreLayerNorm, ActFn::Relu, Some(20)),
                (Normalization::None, ActFn::GeluTanh, Some(16)),
                (Normalization::PreLayerNorm, ActFn::Relu, None),
                (Normalization::LNPre, ActFn::Gelu, Some(16)),
            ] {
                out.push(ModelConfig {
                    attention,
                    positional,
                    normalization,
                    act_fn,
                    d_mlp,
                    ..base()
                });
            }
        }
    }
    // Parallel blocks (GPT-NeoX), with and without normalisation.
    for (normalization, act_fn) in [
        (Normalization::PreLayerNorm, ActFn::Gelu),
        (Normalization::None, ActFn::Relu),
    ] {
        out.push(ModelConfig {
            normalization,
            act_fn,
            parallel_attn_mlp: true,
            ..base()
        });
    }
    out
}

fn seqs() -> Vec<Vec<TokenId>> {
    [
        vec![0, 3, 4, 2],
        vec![5],
        vec![0, 1, 3, 6, 1, 2, 4, 4, 3],
        vec![2, 6, 1, 1],
    ]
    .into_iter()
    .map(|s| s.into_iter().map(TokenId).collect())
    .collect()
}

pub(super) fn batch() -> TokenBatch {
    let s = seqs();
    TokenBatch::from_sequences(s.iter().map(Vec::as_slice))
}

/// A transformer written with scalar loops and f64, sharing no code with `forward`.
fn naive_logits(m: &Model, toks: &[TokenId]) -> Vec<Vec<f64>> {
    let c = &m.config;
    let w = &m.weights;
    let (d, h, e, n) = (c.d_model, c.n_heads, c.d_head, toks.len());
    let f = |v: f32| v as f64;
    let ln = |x: &[f64], norm: &Option<crate::weights::LayerNorm>| -> Vec<f64> {
        let Some(norm) = norm else { return x.to_vec() };
        let mu = x.iter().sum::<f64>() / d as f64;
        let var = x.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / d as f64;
        (0..d)
            .map(|j| (x[j] - mu) / (var + c.ln_eps as f64).sqrt() * f(norm.w[j]) + f(norm.b[j]))
            .collect()
    };
    let pos = |p: usize, j: usize| f(w.w_pos[p * d + j]);
    let mut x: Vec<Vec<f64>> = (0..n)
        .map(|p| {
            (0..d)
                .map(|j| {
                    f(w.w_e[toks[p].0 as usize * d + j])
                        + if c.positional == PositionalKind::Standard {
                            pos(p, j)
                        } else {
                            0.0
                        }
                })
                .collect()
        })
        .collect();
    for b in &w.blocks {
        let a = &b.attn;
        let y: Vec<Vec<f64>> = x.iter().map(|r| ln(r, &b.ln1)).collect();
        let mut out: Vec<Vec<f64>> = (0..n)
            .map(|_| a.b_o.iter().map(|&v| f(v)).collect())
            .collect();
        for hd in 0..h {
            let proj = |wm: &[f32], bv: &[f32], p: usize, i: usize, with_pos: bool| -> f64 {
                let mut s = f(bv[hd * e + i]);
                for j in 0..d {
                    let inp = y[p][j]
                        + if with_pos && c.positional == PositionalKind::Shortformer {
                            pos(p, j)
                        } else {
                            0.0
                        };
                    s += inp * f(wm[hd * d * e + j * e + i]);
                }
                s
            };
            for qp in 0..n {
                let mut scores = vec![f64::NEG_INFINITY; n];
                for (kp, sc) in scores.iter_mut().enumerate() {
                    let masked = (c.attention == AttentionKind::Causal && kp > qp)
                        || c.pad_token == Some(toks[kp].0);
                    if !masked {
                        *sc = (0..e)
                            .map(|i| {
                                proj(&a.w_q, &a.b_q, qp, i, true)
                                    * proj(&a.w_k, &a.b_k, kp, i, true)
                            })
                            .sum::<f64>()
                            / (e as f64).sqrt();
                    }
                }
                let mx = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let probs: Vec<f64> = if mx == f64::NEG_INFINITY {
                    vec![0.0; n]
                } else {
                    let ex: Vec<f64> = scores.iter().map(|s| (s - mx).exp()).collect();
                    let tot: f64 = ex.iter().sum();
                    ex.iter().map(|v| v / tot).collect()
                };
                for i in 0..e {
                    let zi: f64 = (0..n)
                        .map(|kp| probs[kp] * proj(&a.w_v, &a.b_v, kp, i, false))
                        .sum();
                    for j in 0..d {
                        out[qp][j] += zi * f(a.w_o[hd * e * d + i * d + j]);
                    }
                }
            }
        }
        let pre = x.clone();
        for p in 0..n {
            for j in 0..d {
                x[p][j] += out[p][j];
            }
        }
        if let Some(mlp) = &b.mlp {
            let dm = c.d_mlp.unwrap();
            for (p, r) in x.iter_mut().enumerate() {
                let y2 = ln(if c.parallel_attn_mlp { &pre[p] } else { r }, &b.ln2);
                let hid: Vec<f64> = (0..dm)
                    .map(|k| {
                        let pre = f(mlp.b_in[k])
                            + (0..d).map(|j| y2[j] * f(mlp.w_in[j * dm + k])).sum::<f64>();
                        match c.act_fn {
                            ActFn::Relu => pre.max(0.0),
                            ActFn::GeluTanh => {
                                0.5 * pre
                                    * (1.0
                                        + ((2.0 / std::f64::consts::PI).sqrt()
                                            * (pre + 0.044715 * pre.powi(3)))
                                        .tanh())
                            }
                            ActFn::Gelu => pre * 0.5 * (1.0 + erf(pre / 2f64.sqrt())),
                            ActFn::Silu => pre / (1.0 + (-pre).exp()),
                        }
                    })
                    .collect();
                for j in 0..d {
                    r[j] += f(mlp.b_out[j])
                        + (0..dm)
                            .map(|k| hid[k] * f(mlp.w_out[k * d + j]))
                            .sum::<f64>();
                }
            }
        }
    }
    x.iter()
        .map(|r| {
            let y = ln(r, &w.ln_final);
            (0..c.d_vocab_out)
                .map(|o| {
                    f(w.b_u[o])
                        + (0..d)
                            .map(|j| y[j] * f(w.w_u[j * c.d_vocab_out + o]))
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

#[test]
fn matches_naive_scalar_transformer_for_every_variant() {
    let b = batch();
    for (i, cfg) in variants().into_iter().enumerate() {
        let m = random_model(&cfg, 10 + i as u64, 0.3);
        let logits = forward(&m, &b, None);
        for s in 0..b.n_seqs() {
            let want = naive_logits(&m, b.seq(s));
            for (p, row) in b.seq_rows(s).enumerate() {
                for (o, &got) in logits.row(row).iter().enumerate() {
                    assert!(
                        (got as f64 - want[p][o]).abs() < 1e-4,
                        "{cfg:?} seq {s} pos {p} logit {o}: {got} vs {}",
                        want[p][o]
                    );
                }
            }
        }
    }
}

#[test]
fn batching_does_not_change_any_sequence() {
    let b = batch();
    for (i, cfg) in variants().into_iter().enumerate() {
        let m = random_model(&cfg, 30 + i as u64, 0.3);
        let all = forward(&m, &b, None);
        for s in 0..b.n_seqs() {
            let alone = forward(&m, &b.slice(s..s + 1), None);
            for (p, row) in b.seq_rows(s).enumerate() {
                for (x, y) in all.row(row).iter().zip(alone.row(p)) {
                    assert!((x - y).abs() < 1e-5, "{cfg:?}: seq {s} differs in a batch");
                }
            }
        }
    }
}

#[test]
fn a_batch_big_enough_to_run_in_parallel_matches_its_sequences_alone_on_any_thread_count() {
    // Large enough that the batch's products, attention heads and activations are split
    // across threads, while each sequence alone runs them on one.
    let cfg = ModelConfig {
        n_heads: 4,
        d_model: 64,
        d_head: 16,
        d_mlp: Some(256),
        d_vocab: 11,
        n_ctx: 128,
        act_fn: ActFn::GeluTanh,
        attention: AttentionKind::Causal,
        ..base()
    };
    let m = random_model(&cfg, 77, 0.3);
    let seqs: Vec<Vec<TokenId>> = (0..24)
        .map(|s| {
            (0..96 + s)
                .map(|i| TokenId(((s * 7 + i * 5) % cfg.d_vocab) as u32))
                .collect()
        })
        .collect();
    let b = TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice));
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| forward(&m, &b, None))
    };
    let all = on(2);
    for threads in [1, 3] {
        assert!(
            on(threads).data == all.data,
            "{threads} threads changed the logits"
        );
    }
    for s in [0, 11, 23] {
        let alone = forward(&m, &b.slice(s..s + 1), None);
        for (p, row) in b.seq_rows(s).enumerate() {
            for (x, y) in all.row(row).iter().zip(alone.row(p)) {
                assert!(
                    (x - y).abs() < 1e-5,
                    "seq {s} pos {p}: {x} in the batch, {y} alone"
                );
            }
        }
    }
}

pub(super) fn get<'a>(c: &'a ActivationCache, name: &str) -> &'a Tensor {
    c.get(name).unwrap_or_else(|| {
        panic!(
            "hook {name} missing; have {:?}",
            c.names().collect::<Vec<_>>()
        )
    })
}

#[test]
fn hooks_decompose_the_residual_stream() {
    let b = batch();
    for (i, cfg) in variants().into_iter().enumerate() {
        let m = random_model(&cfg, 50 + i as u64, 0.3);
        let mut caches = Vec::new();
        let logits = forward(&m, &b, Some(&mut caches));
        assert_eq!(caches.len(), b.n_seqs());
        for (s, c) in caches.iter().enumerate() {
            let n = b.seq(s).len();
            let (h, d) = (cfg.n_heads, cfg.d_model);
            for l in 0..cfg.n_layers {
                let p = format!("blocks.{l}");
                let pre = get(c, &format!("{p}.hook_resid_pre"));
                let attn_out = get(c, &format!("{p}.hook_attn_out"));
                let result = get(c, &format!("{p}.attn.hook_result"));
                let pattern = get(c, &format!("{p}.attn.hook_pattern"));
                assert_eq!(result.shape, vec![n, h, d]);
                assert_eq!(pattern.shape, vec![h, n, n]);
                assert_eq!(
                    get(c, &format!("{p}.attn.hook_z")).shape,
                    vec![n, h, cfg.d_head]
                );
                for pos in 0..n {
                    for j in 0..d {
                        let heads: f32 = (0..h).map(|hd| result.data[(pos * h + hd) * d + j]).sum();
                        let want = m.weights.blocks[l].attn.b_o[j] + heads;
                        assert!(
                            (attn_out.data[pos * d + j] - want).abs() < 1e-5,
                            "attn_out = b_O + Σ result"
                        );
                    }
                }
                for hd in 0..h {
                    for q in 0..n {
                        let row = &pattern.data[(hd * n + q) * n..(hd * n + q + 1) * n];
                        assert!(
                            (row.iter().sum::<f32>() - 1.0).abs() < 1e-5,
                            "pattern rows sum to 1"
                        );
                        for (k, &pr) in row.iter().enumerate() {
                            let masked = (cfg.attention == AttentionKind::Causal && k > q)
                                || cfg.pad_token == Some(b.seq(s)[k].0);
                            assert!(
                                !masked || pr == 0.0,
                                "masked key {k} of query {q} has weight {pr}"
                            );
                        }
                    }
                }
                let mut sum = pre.data.clone();
                sum.iter_mut()
                    .zip(&attn_out.data)
                    .for_each(|(a, x)| *a += x);
                if cfg.d_mlp.is_some() {
                    get(c, &format!("{p}.hook_mlp_out"))
                        .data
                        .iter()
                        .zip(sum.iter_mut())
                        .for_each(|(x, a)| *a += x);
                }
                let post = get(c, &format!("{p}.hook_resid_post"));
                assert!(
                    post.data
                        .iter()
                        .zip(&sum)
                        .all(|(a, b)| (a - b).abs() < 1e-5),
                    "resid_post = resid_pre + attn_out + mlp_out"
                );
            }
            let emb = get(c, "hook_embed");
            let pos = get(c, "hook_pos_embed");
            let pre0 = get(c, "blocks.0.hook_resid_pre");
            let expect: Vec<f32> = match cfg.positional {
                PositionalKind::Standard => {
                    emb.data.iter().zip(&pos.data).map(|(a, b)| a + b).collect()
                }
                PositionalKind::Shortformer | PositionalKind::Rotary => emb.data.clone(),
            };
            assert_eq!(
                pre0.data, expect,
                "shortformer keeps positions out of the residual stream"
            );
            let lg = get(c, "hook_logits");
            assert_eq!(
                lg.data.as_slice(),
                &logits.data
                    [b.seq_rows(s).start * cfg.d_vocab_out..b.seq_rows(s).end * cfg.d_vocab_out]
            );
        }
    }
}

#[test]
fn trailing_pads_change_no_other_position_when_pad_keys_are_masked() {
    let cfg = base();
    let m = random_model(&cfg, 77, 0.3);
    let short: Vec<TokenId> = [0, 3, 4, 3, 2].into_iter().map(TokenId).collect();
    let mut padded = short.clone();
    padded.resize(cfg.n_ctx, TokenId(1));
    let a = forward(&m, &TokenBatch::from_sequences([short.as_slice()]), None);
    let b = forward(&m, &TokenBatch::from_sequences([padded.as_slice()]), None);
    for p in 0..short.len() {
        for (x, y) in a.row(p).iter().zip(b.row(p)) {
            assert!((x - y).abs() < 1e-5);
        }
    }
}

#[test]
fn causal_models_do_not_look_ahead() {
    let cfg = ModelConfig {
        attention: AttentionKind::Causal,
        pad_token: None,
        ..base()
    };
    let m = random_model(&cfg, 78, 0.3);
    let a: Vec<TokenId> = [0, 3, 4, 3, 2].into_iter().map(TokenId).collect();
    let mut b = a.clone();
    b[4] = TokenId(6);
    let la = forward(&m, &TokenBatch::from_sequences([a.as_slice()]), None);
    let lb = forward(&m, &TokenBatch::from_sequences([b.as_slice()]), None);
    assert_eq!(
        la.data[..4 * cfg.d_vocab_out],
        lb.data[..4 * cfg.d_vocab_out]
    );
    assert_ne!(la.row(4), lb.row(4));
}

#[test]
fn components_recompute_the_recorded_hooks() {
    let b = batch();
    for (i, cfg) in variants().into_iter().enumerate() {
        let m = random_model(&cfg, 90 + i as u64, 0.3);
        let mut caches = Vec::new();
        forward(&m, &b, Some(&mut caches));
        for (s, c) in caches.iter().enumerate() {
            let toks = b.seq(s);
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len());
                let diff = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-5, "{cfg:?} {what}: {diff}");
            };
            for l in 0..cfg.n_layers {
                let p = format!("blocks.{l}");
                let pre = &get(c, &format!("{p}.hook_resid_pre")).data;
                let result = get(c, &format!("{p}.attn.hook_result"));
                for hd in 0..cfg.n_heads {
                    let got = head_result(&m, l, hd, pre, pre, pre, toks);
                    let want: Vec<f32> = (0..toks.len())
                        .flat_map(|pos| {
                            result.data[(pos * cfg.n_heads + hd) * cfg.d_model..][..cfg.d_model]
                                .to_vec()
                        })
                        .collect();
                    close(&got, &want, "head_result");
                    // The pattern alone is the recorded one, and a source mask and its
                    // complement split the head exactly.
                    let pattern = head_pattern(&m, l, hd, pre, pre, toks);
                    let n = toks.len();
                    let recorded = &get(c, &format!("{p}.attn.hook_pattern")).data;
                    close(&pattern, &recorded[hd * n * n..(hd + 1) * n * n], "pattern");
                    for mask in [
                        SourceMask::Previous,
                        SourceMask::Current,
                        SourceMask::Last(3),
                    ] {
                        let kept = head_from_pattern(&m, l, hd, &pattern, pre, &mask);
                        let rest = head_from_pattern(&m, l, hd, &pattern, pre, &mask.complement());
                        let sum: Vec<f32> = kept.iter().zip(&rest).map(|(a, b)| a + b).collect();
                        close(&sum, &want, &format!("{mask} + ~{mask}"));
                        if mask == SourceMask::Previous {
                            // Position 0 has no previous token to attend to.
                            assert!(kept[..cfg.d_model].iter().all(|&x| x == 0.0));
                        }
                    }
                }
                if cfg.d_mlp.is_some() {
                    // A parallel block's MLP reads the stream its attention read.
                    let mid = match cfg.parallel_attn_mlp {
                        true => pre,
                        false => &get(c, &format!("{p}.hook_resid_mid")).data,
                    };
                    assert_eq!(
                        c.get(&format!("{p}.hook_resid_mid")).is_none(),
                        cfg.parallel_attn_mlp
                    );
                    close(
                        &mlp_out(&m, l, mid),
                        &get(c, &format!("{p}.hook_mlp_out")).data,
                        "mlp_out",
                    );
                }
            }
            let last = &get(c, &format!("blocks.{}.hook_resid_post", cfg.n_layers - 1)).data;
            close(&unembed(&m, last), &get(c, "hook_logits").data, "unembed");
        }
    }
}

#[test]
fn keeping_records_only_the_named_hooks() {
    let m = random_model(&base(), 5, 0.3);
    let keep = vec![
        "blocks.1.attn.hook_result".to_string(),
        "hook_embed".to_string(),
    ];
    let mut caches = Vec::new();
    let logits = forward_keeping(&m, &batch(), Some(&mut caches), Some(&keep));
    assert_eq!(logits, forward(&m, &batch(), None));
    let names: Vec<&str> = caches[0].names().collect();
    assert_eq!(names, vec!["blocks.1.attn.hook_result", "hook_embed"]);
}
