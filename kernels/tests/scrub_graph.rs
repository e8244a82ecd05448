//! The GPU scrubbing graph against core's CPU `TransformerGraph`: plain values of every node,
//! every recomputable node from inputs mixed across data, the forward's hooks on ragged
//! batches, and bad input. Whole trees: `scrub_graph_trees.rs`.

mod common;

use scrub_core::forward::forward_keeping;
use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::scrub::{NodeId, ScrubGraph};
use scrub_core::testing::random_model;
use scrub_core::{DatumId, TokenBatch, TokenId};
use scrub_kernels::{GpuExecutor, GpuScrubGraph, Hook};

use common::{batch, ctx, data, max_diff, paren_like, variants};

const TOL: f32 = 1e-4;

fn scale(a: &[f32]) -> f32 {
    a.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn all_nodes(g: &dyn ScrubGraph) -> Vec<NodeId> {
    (0..g.nodes().len()).map(NodeId).collect()
}

/// Ports of `node` for `samples` samples, port p of sample s summing the plain values of
/// its terms on datum `(s + p) % n_data`; homes are `(s + 3) % n_data`. So q, k and v (and
/// the mask's datum) all disagree.
fn mixed_ports(
    g: &TransformerGraph,
    plain: &[Vec<Vec<f32>>],
    node: NodeId,
    samples: usize,
) -> (Vec<DatumId>, Vec<Vec<f32>>) {
    let n_data = g.n_data();
    let ports = g
        .node(node)
        .ports
        .iter()
        .enumerate()
        .map(|(p, port)| {
            (0..samples)
                .flat_map(|s| {
                    let per_datum = &plain[(s + p) % n_data];
                    let mut acc = vec![0.0f32; g.rows() * g.node(port.terms[0]).width];
                    for t in &port.terms {
                        acc.iter_mut()
                            .zip(&per_datum[t.0])
                            .for_each(|(a, b)| *a += b);
                    }
                    acc
                })
                .collect()
        })
        .collect();
    let homes = (0..samples)
        .map(|s| DatumId(((s + 3) % n_data) as u32))
        .collect();
    (homes, ports)
}

#[test]
fn plain_values_of_every_node_match_cpu() {
    let Some(ctx) = ctx() else { return };
    for (i, (name, cfg)) in variants().into_iter().enumerate() {
        let seed = 10 * i as u64;
        let model = random_model(&cfg, seed, 0.4);
        let cpu = TransformerGraph::new(&model, data(&cfg, seed + 1)).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        let nodes = all_nodes(&cpu);
        // Out of order, with a repeat.
        let ds: Vec<DatumId> = [3, 0, 5, 1, 1, 4, 2].into_iter().map(DatumId).collect();
        let want = cpu.plain(&ds, &nodes).unwrap();
        let got = gpu.plain(&ds, &nodes).unwrap();
        assert_eq!(got.len(), ds.len());
        for (d, (w, g)) in want.iter().zip(&got).enumerate() {
            for (j, (wv, gv)) in w.iter().zip(g).enumerate() {
                let node = &cpu.nodes()[j].name;
                let diff = max_diff(wv, gv);
                assert!(diff <= TOL, "{name}: datum {d} node {node}: |Δ| = {diff}");
            }
        }
        // Something nontrivial was compared: the output's logits on datum 0.
        assert!(
            scale(&want[0][cpu.output().0]) > 0.1,
            "{name}: logits too small"
        );
        // A subset of nodes in another order gives the same values.
        let some = [cpu.output(), NodeId(0), NodeId(nodes.len() / 2)];
        let sub = gpu.plain(&ds[..2], &some).unwrap();
        for (d, vals) in sub.iter().enumerate() {
            for (v, n) in vals.iter().zip(some) {
                assert_eq!(v, &got[d][n.0], "{name}: subset differs for node {n:?}");
            }
        }
    }
}

#[test]
fn recomputing_from_mixed_inputs_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    for (i, (name, cfg)) in variants().into_iter().enumerate() {
        let seed = 10 * i as u64 + 100;
        let model = random_model(&cfg, seed, 0.4);
        let cpu = TransformerGraph::new(&model, data(&cfg, seed + 1)).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        let every: Vec<DatumId> = (0..cpu.n_data() as u32).map(DatumId).collect();
        let plain = cpu.plain(&every, &all_nodes(&cpu)).unwrap();
        let samples = 6;
        let mut recomputed = 0;
        for node in all_nodes(&cpu) {
            if cpu.node(node).ports.is_empty() {
                continue;
            }
            let (homes, ports) = mixed_ports(&cpu, &plain, node, samples);
            let want = cpu.recompute_batch(node, &homes, &ports).unwrap();
            let got = gpu.recompute_batch(node, &homes, &ports).unwrap();
            let label = &cpu.node(node).name;
            let diff = max_diff(&want, &got);
            assert!(diff <= TOL, "{name}: {label}: |Δ| = {diff}");
            assert!(scale(&want) > 1e-2, "{name}: {label} is ~0");
            // The mixed inputs matter: recomputing the same node with every input from the
            // home datum gives its plain value, which differs.
            let home_plain: Vec<f32> = homes
                .iter()
                .flat_map(|h| plain[h.index()][node.0].iter().copied())
                .collect();
            assert!(
                max_diff(&home_plain, &got) > 1e-3,
                "{name}: {label} unmixed"
            );
            // One sample at a time agrees with the batch.
            let w = want.len() / samples;
            for s in [0, samples - 1] {
                let mine: Vec<Vec<f32>> = ports
                    .iter()
                    .map(|p| {
                        let pw = p.len() / samples;
                        p[s * pw..(s + 1) * pw].to_vec()
                    })
                    .collect();
                let one = gpu.recompute(node, homes[s], &mine).unwrap();
                assert!(max_diff(&one, &got[s * w..(s + 1) * w]) <= TOL);
            }
            recomputed += 1;
        }
        let mlps = usize::from(cfg.d_mlp.is_some());
        assert_eq!(
            recomputed,
            cfg.n_layers * (cfg.n_heads + mlps) + 1,
            "{name}"
        );
    }
}

/// With at most two sequences per chunk, a batch crosses chunk boundaries in both the plain
/// forward and recomputation; nothing changes.
#[test]
fn chunk_boundaries_do_not_change_results() {
    let Some(ctx) = ctx() else { return };
    let (_, cfg) = variants().swap_remove(1);
    let model = random_model(&cfg, 200, 0.4);
    let cpu = TransformerGraph::new(&model, data(&cfg, 201)).unwrap();
    let mut gpu = GpuScrubGraph::new(ctx, &cpu).unwrap();
    let every: Vec<DatumId> = (0..cpu.n_data() as u32).map(DatumId).collect();
    let nodes = all_nodes(&cpu);
    let plain = cpu.plain(&every, &nodes).unwrap();
    for cap in [2 * cfg.n_ctx, cfg.n_ctx, 1 << 16] {
        gpu.set_max_rows_per_chunk(cap);
        let got = gpu.plain(&every, &nodes).unwrap();
        for (w, g) in plain.iter().zip(&got) {
            for (wv, gv) in w.iter().zip(g) {
                assert!(max_diff(wv, gv) <= TOL, "cap {cap}");
            }
        }
        for node in [NodeId(2), cpu.output()] {
            let (homes, ports) = mixed_ports(&cpu, &plain, node, 5);
            let want = cpu.recompute_batch(node, &homes, &ports).unwrap();
            let got = gpu.recompute_batch(node, &homes, &ports).unwrap();
            assert!(max_diff(&want, &got) <= TOL, "cap {cap} node {node:?}");
        }
    }
}

/// Hooks of the forward on a ragged batch (several chunks) against the CPU forward's cache.
#[test]
fn forward_hooks_match_the_cpu_cache() {
    let Some(ctx) = ctx() else { return };
    let cfg = paren_like();
    let model = random_model(&cfg, 400, 0.2);
    let mut gpu = GpuExecutor::with_hooks(ctx, &model).unwrap();
    gpu.set_max_rows_per_chunk(100);
    let b = batch(&cfg, 12, 401);
    let hooks = [
        Hook::Logits,
        Hook::HeadResults { layer: 2 },
        Hook::MlpOut { layer: 0 },
        Hook::Logits,
    ];
    let got = gpu.hooks(&b, &hooks).unwrap();
    let mut caches = Vec::new();
    forward_keeping(&model, &b, Some(&mut caches), None);
    let names = [
        "hook_logits",
        "blocks.2.attn.hook_result",
        "blocks.0.hook_mlp_out",
        "hook_logits",
    ];
    for (t, name) in got.iter().zip(names) {
        let want: Vec<f32> = caches
            .iter()
            .flat_map(|c| c.get(name).unwrap().data.iter().copied())
            .collect();
        assert_eq!(t.shape[0], b.n_rows(), "{name}");
        assert_eq!(t.data.len(), want.len(), "{name}");
        assert!(max_diff(&t.data, &want) <= TOL, "{name}");
        assert!(scale(&want) > 0.05, "{name} is ~0");
    }
    // Asking again with another set rebuilds the buffers correctly.
    let again = gpu.hooks(&b, &[Hook::MlpOut { layer: 0 }]).unwrap();
    assert_eq!(again[0], got[2]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let Some(ctx) = ctx() else { return };
    let (_, cfg) = variants().swap_remove(0);
    let model = random_model(&cfg, 500, 0.4);
    let cpu = TransformerGraph::new(&model, data(&cfg, 501)).unwrap();
    let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
    let outside = DatumId(cpu.n_data() as u32);
    let err = gpu.plain(&[DatumId(0), outside], &[NodeId(0)]).unwrap_err();
    assert!(err.to_string().contains("outside the dataset"), "{err}");
    assert!(gpu.plain(&[DatumId(0)], &[NodeId(999)]).is_err());
    // Nothing asked, nothing computed.
    assert!(gpu.plain(&[], &all_nodes(&cpu)).unwrap().is_empty());
    assert_eq!(
        gpu.plain(&[DatumId(1)], &[]).unwrap(),
        vec![Vec::<Vec<f32>>::new()]
    );

    let head = cpu.node_of(Component::Head { layer: 0, head: 1 }).unwrap();
    let sample = cfg.n_ctx * cfg.d_model;
    let ok = vec![vec![0.5f32; 2 * sample]; 3];
    let homes = [DatumId(0), DatumId(1)];
    assert!(gpu.recompute_batch(head, &homes, &ok).is_ok());
    let err = gpu
        .recompute_batch(head, &homes, &ok[..2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 ports"), "{err}");
    let mut short = ok.clone();
    short[1].pop();
    let err = gpu
        .recompute_batch(head, &homes, &short)
        .unwrap_err()
        .to_string();
    assert!(err.contains("port 1"), "{err}");
    assert!(gpu
        .recompute_batch(head, &[DatumId(0), outside], &ok)
        .is_err());
    assert!(
        gpu.recompute(head, DatumId(0), &ok).is_err(),
        "two samples' ports for one"
    );
    let err = gpu
        .recompute_batch(NodeId(0), &homes, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be recomputed"), "{err}");
    assert!(gpu.recompute_batch(NodeId(999), &homes, &ok).is_err());
    assert!(gpu
        .recompute_batch(head, &[], &[vec![], vec![], vec![]])
        .unwrap()
        .is_empty());

    // The executor reads hooks only when built for them, and only ones the model has.
    let plain_ex = GpuExecutor::new(ctx.clone(), &model).unwrap();
    let b = TokenBatch::from_sequences([cpu.tokens(DatumId(0)).unwrap()]);
    let err = plain_ex.hooks(&b, &[Hook::Logits]).unwrap_err().to_string();
    assert!(err.contains("with_hooks"), "{err}");
    let hooked = gpu.executor();
    assert!(hooked.hooks(&b, &[Hook::MlpOut { layer: 2 }]).is_err());
    let (_, attn_only) = variants().swap_remove(3);
    let m2 = random_model(&attn_only, 502, 0.4);
    let ex2 = GpuExecutor::with_hooks(ctx, &m2).unwrap();
    let b2 = TokenBatch::from_sequences([vec![TokenId(0); 3].as_slice()]);
    let err = ex2
        .hooks(&b2, &[Hook::MlpOut { layer: 0 }])
        .unwrap_err()
        .to_string();
    assert!(err.contains("attention only"), "{err}");
    let bad_tokens = TokenBatch::from_sequences([vec![TokenId(99)].as_slice()]);
    assert!(hooked.hooks(&bad_tokens, &[Hook::Logits]).is_err());
}
