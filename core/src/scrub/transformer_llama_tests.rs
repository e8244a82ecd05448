//! The scrubbing graph of a Llama-family model (the `llama_tiny` Hugging Face fixture:
//! RMSNorm, rotary queries and keys, SwiGLU, grouped-query attention): no `pos_embed` term,
//! a tree keeping every node on the reference datum gives the model's own logits and loss,
//! and a head recomputed from its q/k/v port values (rotary applied inside, at the datum's
//! positions) is the model's head output.

use super::tests::uniform;
use super::*;
use crate::forward::forward;
use crate::scrub::evaluate::evaluate;
use crate::scrub::run::log_loss;
use crate::scrub::validate::validate;
use crate::testing::{hf_fixture, recompute_tree};

/// Sequences of exactly n_ctx = 16 tokens: the fixture's 16-token one and three more.
fn data(m: &Model, longest: &[TokenId]) -> Vec<Vec<TokenId>> {
    let n = m.config.n_ctx;
    let mut seqs = vec![longest.to_vec()];
    for s in 1..4u32 {
        seqs.push(
            (0..n as u32)
                .map(|i| TokenId((i * 7 + s * 13) % 50))
                .collect(),
        );
    }
    seqs
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Next-token targets of every datum.
fn targets(seqs: &[Vec<TokenId>]) -> impl Fn(DatumId) -> Vec<(usize, u32)> + Sync + '_ {
    move |d| {
        let s = &seqs[d.index()];
        (0..s.len() - 1).map(|r| (r, s[r + 1].0)).collect()
    }
}

#[test]
fn a_llama_tree_on_the_reference_datum_gives_the_models_logits_and_loss() {
    let f = hf_fixture("llama_tiny");
    let m = &f.model;
    let longest = f.seqs.iter().find(|s| s.len() == m.config.n_ctx).unwrap();
    let seqs = data(m, longest);
    let g = TransformerGraph::new(m, seqs.clone()).unwrap();
    assert!(g.node_of(Component::PosEmbed).is_none());
    assert!(g.find("pos_embed").is_none());
    // embed, 2 × (4 heads + b_O + mlp), unembed.
    assert_eq!(g.nodes().len(), 1 + 2 * 6 + 1);
    let plain = forward(
        m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        None,
    );
    let (n, v) = (m.config.n_ctx, m.config.d_vocab_out);
    // The graph's model is transformers' model: the 16-token sequence's logits are the
    // fixture's last rows.
    let hf = &f.expected["logits"].data;
    assert!(max_diff(&plain.data[..n * v], &hf[hf.len() - n * v..]) < 1e-4 * 4.3);

    let score = log_loss(targets(&seqs), v);
    let ids: Vec<u32> = (0..seqs.len() as u32).collect();
    let mut worst = 0.0f32;
    for depth in 0..=4 {
        let tree = recompute_tree(&g, depth);
        validate(&tree, &g).unwrap();
        let out = evaluate(&g, &tree, &uniform(&tree, &ids)).unwrap();
        for (s, o) in out.outputs.iter().enumerate() {
            let want = &plain.data[s * n * v..(s + 1) * n * v];
            let diff = max_diff(o, want);
            let (loss, _) = score(DatumId(s as u32), o);
            let (want_loss, _) = score(DatumId(s as u32), want);
            if depth == 0 {
                // Every node plain: the model's own pass, bit for bit.
                assert_eq!(o.as_slice(), want, "datum {s}");
                assert_eq!(loss, want_loss);
            } else {
                // Recomputed nodes sum the residual stream's terms in another order.
                worst = worst.max(diff);
                assert!(
                    diff < 1e-5,
                    "depth {depth}, datum {s}: max |Δ logit| = {diff}"
                );
                assert!(
                    (loss - want_loss).abs() < 1e-5,
                    "depth {depth}: {loss} vs {want_loss}"
                );
            }
        }
    }
    eprintln!("llama_tiny: recomputing trees, max |Δ logit| = {worst:.2e}");
}

#[test]
fn a_llama_head_recomputed_from_its_ports_is_the_models_head_output() {
    let f = hf_fixture("llama_tiny");
    let m = &f.model;
    let longest = f.seqs.iter().find(|s| s.len() == m.config.n_ctx).unwrap();
    let seqs = data(m, longest);
    let (n, d, h) = (m.config.n_ctx, m.config.d_model, m.config.n_heads);
    let mut worst = 0.0f32;
    for patterns in [false, true] {
        let g = match patterns {
            false => TransformerGraph::new(m, seqs.clone()),
            true => TransformerGraph::with_patterns(m, seqs.clone()),
        }
        .unwrap();
        for (datum, seq) in seqs.iter().enumerate() {
            let batch = TokenBatch::from_sequences([seq.as_slice()]);
            let mut caches = Vec::new();
            forward(m, &batch, Some(&mut caches));
            let c = &caches[0];
            for layer in 0..m.config.n_layers {
                let resid = &c
                    .get(&format!("blocks.{layer}.hook_resid_pre"))
                    .unwrap()
                    .data;
                let result = &c
                    .get(&format!("blocks.{layer}.attn.hook_result"))
                    .unwrap()
                    .data;
                let pattern = &c
                    .get(&format!("blocks.{layer}.attn.hook_pattern"))
                    .unwrap()
                    .data;
                for head in 0..h {
                    let node = g.node_of(Component::Head { layer, head }).unwrap();
                    // The ports sum the terms before the layer: the residual stream.
                    let ports: Vec<Vec<f32>> = if patterns {
                        let pn = g.node_of(Component::Pattern { layer, head }).unwrap();
                        let pat = g
                            .recompute(pn, DatumId(datum as u32), &[resid.clone(), resid.clone()])
                            .unwrap();
                        let want = &pattern[head * n * n..(head + 1) * n * n];
                        assert!(max_diff(&pat, want) < 1e-6, "pattern {layer}.{head}");
                        vec![pat, resid.clone()]
                    } else {
                        vec![resid.clone(); 3]
                    };
                    let got = g.recompute(node, DatumId(datum as u32), &ports).unwrap();
                    let want: Vec<f32> = (0..n)
                        .flat_map(|p| result[(p * h + head) * d..(p * h + head + 1) * d].to_vec())
                        .collect();
                    let diff = max_diff(&got, &want);
                    assert!(diff < 1e-5, "{layer}.{head} datum {datum}: {diff}");
                    worst = worst.max(diff);
                }
            }
        }
    }
    eprintln!("llama_tiny: heads recomputed from their ports, max |Δ| = {worst:.2e}");
}

#[test]
fn a_key_port_from_another_datum_changes_a_llama_pattern_which_stays_causal() {
    // The pattern recomputed with its k port from another datum differs from the
    // reference's, and each row is still a distribution over the keys up to the query.
    let f = hf_fixture("llama_tiny");
    let m = &f.model;
    let longest = f.seqs.iter().find(|s| s.len() == m.config.n_ctx).unwrap();
    let seqs = data(m, longest);
    let g = TransformerGraph::with_patterns(m, seqs.clone()).unwrap();
    let pn = g.node_of(Component::Pattern { layer: 0, head: 3 }).unwrap();
    let resid = |s: usize| {
        let mut c = Vec::new();
        forward(
            m,
            &TokenBatch::from_sequences([seqs[s].as_slice()]),
            Some(&mut c),
        );
        c[0].get("blocks.0.hook_resid_pre").unwrap().data.clone()
    };
    let (a, b) = (resid(0), resid(1));
    let same = g
        .recompute(pn, DatumId(0), &[a.clone(), a.clone()])
        .unwrap();
    let mixed = g.recompute(pn, DatumId(0), &[a.clone(), b]).unwrap();
    assert!(max_diff(&same, &mixed) > 1e-3);
    // Each row is a distribution over the keys up to the query (causal).
    let n = m.config.n_ctx;
    for (q, row) in mixed.chunks_exact(n).enumerate() {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(row[q + 1..].iter().all(|&p| p == 0.0));
    }
}
