//! Plain values rebuilt from replays are the forward pass's bits, on every architecture the
//! graph supports: a value must not depend on whether its datum was run before.

use super::layer0_tests::data;
use super::*;
use crate::config::{ActFn, AttentionKind, ModelConfig, Normalization};
use crate::testing::{paren_like_config, random_model};

fn configs() -> Vec<(&'static str, ModelConfig)> {
    let base = |positional| {
        let mut cfg = paren_like_config(AttentionKind::Causal, positional);
        cfg.n_ctx = 12;
        cfg.d_vocab = 7;
        cfg.d_vocab_out = 7;
        cfg
    };
    let mut out = vec![
        ("standard", base(PositionalKind::Standard)),
        ("shortformer", base(PositionalKind::Shortformer)),
    ];
    let mut bidirectional = base(PositionalKind::Standard);
    bidirectional.attention = AttentionKind::Bidirectional;
    out.push(("bidirectional", bidirectional));
    let mut llama = base(PositionalKind::Rotary);
    llama.normalization = Normalization::RMSNorm;
    llama.n_heads = 4;
    llama.n_kv_heads = Some(2);
    llama.gated_mlp = true;
    llama.act_fn = ActFn::Silu;
    out.push(("llama", llama));
    let mut neox = base(PositionalKind::Rotary);
    neox.rotary_dim = Some(4);
    neox.parallel_attn_mlp = true;
    neox.act_fn = ActFn::Gelu;
    out.push(("neox", neox));
    let mut attn_only = base(PositionalKind::Standard);
    attn_only.d_mlp = None;
    // Wider than matrixmultiply's depth block, so the products are blocked in depth.
    attn_only.d_model = 320;
    attn_only.n_heads = 4;
    out.push(("attn-only, wide", attn_only));
    out
}

/// Checks every value bit for bit, naming the node; with `rows`, `got` holds only those
/// rows of `want`'s values, in order.
fn assert_matches(
    g: &TransformerGraph,
    got: &[Vec<Vec<f32>>],
    want: &[Vec<Vec<f32>>],
    rows: Option<&[usize]>,
    what: &str,
) {
    assert_eq!(got.len(), want.len(), "{what}: data");
    for (d, (x, y)) in got.iter().zip(want).enumerate() {
        for (j, (u, v)) in x.iter().zip(y).enumerate() {
            let w = g.node(NodeId(j)).width;
            let every: Vec<usize> = (0..v.len() / w).collect();
            let rows = rows.unwrap_or(&every);
            assert_eq!(u.len(), rows.len() * w, "{what}: length of node {j}");
            for (k, &r) in rows.iter().enumerate() {
                assert!(
                    u[k * w..(k + 1) * w]
                        .iter()
                        .zip(&v[r * w..(r + 1) * w])
                        .all(|(p, q)| p.to_bits() == q.to_bits()),
                    "{what}: `{}` on datum {d}, row {r}, differs from the pass",
                    g.node(NodeId(j)).name
                );
            }
        }
    }
}

#[test]
fn replayed_plain_values_are_the_forward_passs_bits() {
    for (name, cfg) in configs() {
        let m = random_model(&cfg, 11, 0.4);
        let seqs = data(&cfg);
        let ids: Vec<DatumId> = (0..seqs.len() as u32).map(DatumId).collect();
        let scored: Vec<Vec<usize>> = (0..seqs.len()).map(|s| vec![s % 3, 7, 11]).collect();
        for patterns in [false, true] {
            for rows in [false, true] {
                let make = || {
                    let g = match patterns {
                        true => TransformerGraph::with_patterns(&m, seqs.clone()),
                        false => TransformerGraph::new(&m, seqs.clone()),
                    }
                    .unwrap();
                    match rows {
                        true => g.with_output_rows(scored.clone()).unwrap(),
                        false => g,
                    }
                };
                let (g, passes) = (make().with_replay_limit(1 << 30), make().without_replays());
                let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
                let what = format!("{name}, patterns {patterns}, output rows {rows}");
                // Part of the data first (recorded), then all of it (some replayed, some
                // recorded now), then again (all replayed), asking for every node.
                let early = g.plain(&ids[2..4], &all[..3]).unwrap();
                let want = passes.plain(&ids[2..4], &all[..3]).unwrap();
                assert_matches(&g, &early, &want, None, &format!("{what}, first request"));
                assert!(g.replays.bytes() > 0, "{what}: replays stored");
                let want = passes.plain(&ids, &all).unwrap();
                for round in 0..2 {
                    let got = g.plain(&ids, &all).unwrap();
                    assert_matches(&g, &got, &want, None, &format!("{what}, round {round}"));
                }
            }
        }
    }
}

#[test]
fn a_full_store_keeps_its_replays_and_passes_the_rest() {
    let cfg = configs().remove(0).1;
    let m = random_model(&cfg, 5, 0.4);
    let seqs = data(&cfg);
    let ids: Vec<DatumId> = (0..seqs.len() as u32).map(DatumId).collect();
    let one = 4 * cfg.n_ctx * (cfg.n_heads * cfg.d_head + cfg.d_model) * cfg.n_layers;
    // Room for two replays: the first request stores two of its three data.
    let g = TransformerGraph::new(&m, seqs.clone())
        .unwrap()
        .with_replay_limit(2 * one);
    let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
    let passes = TransformerGraph::new(&m, seqs).unwrap().without_replays();
    let first = g.plain(&ids[..3], &all).unwrap();
    assert_eq!(g.replays.bytes(), 2 * one);
    let want = passes.plain(&ids[..3], &all).unwrap();
    assert_matches(&g, &first, &want, None, "while filling");
    let rest = g.plain(&ids, &all).unwrap();
    assert_eq!(g.replays.bytes(), 2 * one, "nothing stored once full");
    let want = passes.plain(&ids, &all).unwrap();
    assert_matches(&g, &rest, &want, None, "once full");
}

#[test]
fn a_few_rows_of_heads_and_patterns_are_those_rows_of_the_whole_values() {
    for (name, cfg) in configs() {
        let m = random_model(&cfg, 13, 0.4);
        let seqs = data(&cfg);
        let ids: Vec<DatumId> = (0..seqs.len() as u32).map(DatumId).collect();
        let g = TransformerGraph::with_patterns(&m, seqs.clone())
            .unwrap()
            .with_replay_limit(1 << 30);
        let passes = TransformerGraph::with_patterns(&m, seqs)
            .unwrap()
            .without_replays();
        let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
        let whole = passes.plain(&ids, &all).unwrap();
        // One row is few enough to be computed alone; two of twelve are not.
        for rows in [vec![0], vec![5], vec![11], vec![3, 9]] {
            let got = g.plain_rows(&ids, &all, &rows).unwrap();
            let what = format!("{name}, rows {rows:?}");
            assert_matches(&g, &got, &whole, Some(&rows), &what);
            // Without replays the pass's values are cut to the same rows.
            let cut = passes.plain_rows(&ids, &all, &rows).unwrap();
            assert_matches(
                &g,
                &cut,
                &whole,
                Some(&rows),
                &format!("{what}, no replays"),
            );
        }
        assert!(
            g.plain_rows(&ids, &all, &[cfg.n_ctx]).is_err(),
            "{name}: a row past n_ctx"
        );
    }
}

#[test]
fn only_models_with_a_costly_forward_pass_keep_replays() {
    let cfg = configs().remove(0).1;
    let m = random_model(&cfg, 5, 0.4);
    let seqs = data(&cfg);
    let g = TransformerGraph::new(&m, seqs).unwrap();
    let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
    g.plain(&[DatumId(0)], &all).unwrap();
    assert_eq!(g.replays.bytes(), 0, "a paren-sized model runs passes");
    let mut big = cfg.clone();
    big.n_ctx = 256;
    big.d_model = 256;
    big.n_heads = 8;
    big.d_head = 32;
    big.d_mlp = None;
    big.n_layers = 2;
    assert!(
        replay::ReplayStore::for_model(&big).has_room(),
        "an induction-sized model"
    );
}
