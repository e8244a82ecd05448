//! The scrubbing graph of GPT-NeoX-style models (parallel attention and MLP, partial rotary
//! embeddings): the `pythia_tiny` Hugging Face fixture and a random model of the same kind.
//! A parallel block's MLP reads the stream before the block, so its port holds none of the
//! block's heads; a tree keeping every node on the reference datum gives the model's own
//! logits and loss; heads recomputed from their q/k/v ports (partial rotary applied inside)
//! and MLPs from their port are the model's own outputs.

use super::tests::uniform;
use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization};
use crate::forward::forward;
use crate::scrub::evaluate::evaluate;
use crate::scrub::run::log_loss;
use crate::scrub::validate::validate;
use crate::testing::{hf_fixture, random_model, recompute_tree};

/// Sequences of exactly n_ctx tokens below `vocab`.
fn data(n: usize, vocab: u32) -> Vec<Vec<TokenId>> {
    (0..4u32)
        .map(|s| {
            (0..n as u32)
                .map(|i| TokenId((i * 7 + s * 13 + i * i * s) % vocab))
                .collect()
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A random NeoX-shaped model: 2 parallel layers, LayerNorm, exact GELU, 4 heads of 8 of
/// which 2 dimensions rotate.
fn random_neox() -> Model {
    let cfg = ModelConfig {
        n_layers: 2,
        n_heads: 4,
        d_model: 32,
        d_head: 8,
        d_mlp: Some(48),
        d_vocab: 23,
        d_vocab_out: 23,
        n_ctx: 10,
        act_fn: ActFn::Gelu,
        normalization: Normalization::PreLayerNorm,
        attention: AttentionKind::Causal,
        positional: PositionalKind::Rotary,
        pad_token: None,
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: Some(2),
        parallel_attn_mlp: true,
    };
    random_model(&cfg, 61, 0.4)
}

/// The fixture (with its 16-token sequence first) and the random model, with their data.
fn models() -> Vec<(&'static str, Model, Vec<Vec<TokenId>>)> {
    let f = hf_fixture("pythia_tiny");
    let longest = f.seqs.iter().find(|s| s.len() == f.model.config.n_ctx);
    let mut seqs = data(f.model.config.n_ctx, 50);
    seqs[0] = longest.unwrap().clone();
    let random = random_neox();
    let random_seqs = data(random.config.n_ctx, 23);
    vec![
        ("pythia_tiny", f.model, seqs),
        ("random", random, random_seqs),
    ]
}

/// Next-token targets of every datum.
fn targets(seqs: &[Vec<TokenId>]) -> impl Fn(DatumId) -> Vec<(usize, u32)> + Sync + '_ {
    move |d| {
        let s = &seqs[d.index()];
        (0..s.len() - 1).map(|r| (r, s[r + 1].0)).collect()
    }
}

#[test]
fn a_parallel_blocks_mlp_port_holds_the_terms_before_the_block() {
    for (name, m, seqs) in models() {
        assert!(m.config.parallel_attn_mlp && m.config.rotary_dims() < m.config.d_head);
        let g = TransformerGraph::new(&m, seqs).unwrap();
        for layer in 0..m.config.n_layers {
            let mlp = &g.nodes()[g.node_of(Component::Mlp { layer }).unwrap().0];
            let head = &g.nodes()[g.node_of(Component::Head { layer, head: 0 }).unwrap().0];
            assert_eq!(
                mlp.ports[0].terms, head.ports[0].terms,
                "{name} layer {layer}"
            );
            let bias = g.node_of(Component::AttnBias { layer }).unwrap();
            assert!(!mlp.ports[0].terms.contains(&bias), "{name} layer {layer}");
            // The next layer reads this layer's heads and MLP alike.
            if layer + 1 < m.config.n_layers {
                let next = g
                    .node_of(Component::Head {
                        layer: layer + 1,
                        head: 0,
                    })
                    .unwrap();
                let terms = &g.nodes()[next.0].ports[0].terms;
                assert!(terms.contains(&g.node_of(Component::Mlp { layer }).unwrap()));
                assert!(terms.contains(&bias));
            }
        }
    }
}

#[test]
fn a_neox_tree_on_the_reference_datum_gives_the_models_logits_and_loss() {
    let f = hf_fixture("pythia_tiny");
    for (name, m, seqs) in models() {
        let g = TransformerGraph::new(&m, seqs.clone()).unwrap();
        assert!(g.node_of(Component::PosEmbed).is_none());
        let plain = forward(
            &m,
            &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
            None,
        );
        let (n, v) = (m.config.n_ctx, m.config.d_vocab_out);
        if name == "pythia_tiny" {
            // The graph's model is transformers' model: the 16-token sequence's logits are
            // the fixture's last rows.
            let hf = &f.expected["logits"].data;
            assert!(max_diff(&plain.data[..n * v], &hf[hf.len() - n * v..]) < 1e-4 * 4.6);
        }
        let score = log_loss(targets(&seqs), v);
        let ids: Vec<u32> = (0..seqs.len() as u32).collect();
        let mut worst = 0.0f32;
        for depth in 0..=4 {
            let tree = recompute_tree(&g, depth);
            validate(&tree, &g).unwrap();
            let out = evaluate(&g, &tree, &uniform(&tree, &ids)).unwrap();
            for (s, o) in out.outputs.iter().enumerate() {
                let want = &plain.data[s * n * v..(s + 1) * n * v];
                let (loss, _) = score(DatumId(s as u32), o);
                let (want_loss, _) = score(DatumId(s as u32), want);
                if depth == 0 {
                    // Every node plain: the model's own pass, bit for bit.
                    assert_eq!(o.as_slice(), want, "{name} datum {s}");
                    assert_eq!(loss, want_loss);
                } else {
                    // Recomputed nodes sum the residual stream's terms in another order; an
                    // MLP reading its layer's heads would be off by far more.
                    let diff = max_diff(o, want);
                    worst = worst.max(diff);
                    assert!(diff < 1e-5, "{name} depth {depth}, datum {s}: {diff}");
                    assert!(
                        (loss - want_loss).abs() < 1e-5,
                        "{name} depth {depth}: {loss} vs {want_loss}"
                    );
                }
            }
        }
        eprintln!("{name}: recomputing trees, max |Δ logit| = {worst:.2e}");
    }
}

#[test]
fn neox_heads_and_mlps_recomputed_from_their_ports_are_the_models_outputs() {
    for (name, m, seqs) in models() {
        let (n, d, h) = (m.config.n_ctx, m.config.d_model, m.config.n_heads);
        let mut worst = 0.0f32;
        for patterns in [false, true] {
            let g = match patterns {
                false => TransformerGraph::new(&m, seqs.clone()),
                true => TransformerGraph::with_patterns(&m, seqs.clone()),
            }
            .unwrap();
            for (datum, seq) in seqs.iter().enumerate() {
                let home = DatumId(datum as u32);
                let mut caches = Vec::new();
                forward(
                    &m,
                    &TokenBatch::from_sequences([seq.as_slice()]),
                    Some(&mut caches),
                );
                let hook = |name: String| caches[0].get(&name).unwrap().data.clone();
                for layer in 0..m.config.n_layers {
                    let resid = hook(format!("blocks.{layer}.hook_resid_pre"));
                    let result = hook(format!("blocks.{layer}.attn.hook_result"));
                    let pattern = hook(format!("blocks.{layer}.attn.hook_pattern"));
                    for head in 0..h {
                        let node = g.node_of(Component::Head { layer, head }).unwrap();
                        // Separate q, k and v inputs, all from the same datum.
                        let ports: Vec<Vec<f32>> = if patterns {
                            let pn = g.node_of(Component::Pattern { layer, head }).unwrap();
                            let pat = g
                                .recompute(pn, home, &[resid.clone(), resid.clone()])
                                .unwrap();
                            let want = &pattern[head * n * n..(head + 1) * n * n];
                            assert!(max_diff(&pat, want) < 1e-6, "{name} pattern {layer}.{head}");
                            vec![pat, resid.clone()]
                        } else {
                            vec![resid.clone(); 3]
                        };
                        let got = g.recompute(node, home, &ports).unwrap();
                        let want: Vec<f32> = (0..n)
                            .flat_map(|p| {
                                result[(p * h + head) * d..(p * h + head + 1) * d].to_vec()
                            })
                            .collect();
                        let diff = max_diff(&got, &want);
                        assert!(diff < 1e-5, "{name} {layer}.{head} datum {datum}: {diff}");
                        worst = worst.max(diff);
                    }
                    // The MLP of a parallel block recomputed from the residual stream before
                    // the block is its recorded output.
                    let mlp = g.node_of(Component::Mlp { layer }).unwrap();
                    let got = g
                        .recompute(mlp, home, std::slice::from_ref(&resid))
                        .unwrap();
                    let want = hook(format!("blocks.{layer}.hook_mlp_out"));
                    let diff = max_diff(&got, &want);
                    assert!(diff < 1e-5, "{name} mlp {layer} datum {datum}: {diff}");
                    worst = worst.max(diff);
                }
            }
        }
        eprintln!("{name}: heads and MLPs recomputed from their ports, max |Δ| = {worst:.2e}");
    }
}

#[test]
fn only_the_rotating_dimensions_carry_position_in_a_neox_pattern() {
    // Zeroing the query and key weights of the rotating dimensions leaves scores that do
    // not depend on position at all: on a sequence of one repeated token every causal row
    // of the pattern is uniform. With them, the pattern is not.
    let m = random_neox();
    let r = m.config.rotary_dims();
    let e = m.config.d_head;
    let mut flat = m.clone();
    for blk in &mut flat.weights.blocks {
        for w in [&mut blk.attn.w_q, &mut blk.attn.w_k] {
            for (i, x) in w.iter_mut().enumerate() {
                if i % e < r {
                    *x = 0.0;
                }
            }
        }
        for b in [&mut blk.attn.b_q, &mut blk.attn.b_k] {
            for (i, x) in b.iter_mut().enumerate() {
                if i % e < r {
                    *x = 0.0;
                }
            }
        }
    }
    let n = m.config.n_ctx;
    let seq = vec![vec![TokenId(5); n]];
    let uniform_rows = |model: &Model| {
        let g = TransformerGraph::with_patterns(model, seq.clone()).unwrap();
        let pn = g.node_of(Component::Pattern { layer: 0, head: 1 }).unwrap();
        let out = g.plain(&[DatumId(0)], &[pn]).unwrap();
        let pat = &out[0][0];
        pat.chunks_exact(n).enumerate().all(|(q, row)| {
            row[..=q]
                .iter()
                .all(|&p| (p - 1.0 / (q + 1) as f32).abs() < 1e-5)
        })
    };
    assert!(uniform_rows(&flat));
    assert!(!uniform_rows(&m));
}
