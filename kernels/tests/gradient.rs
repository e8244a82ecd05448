//! The GPU scrubbing graph's vector-Jacobian products against core's CPU `TransformerGraph`
//! (whose products are checked against finite differences in core): every node with
//! inputs, on every config variant the graph distinguishes (LayerNorm, LNPre, RMSNorm and
//! none; ReLU, both GELUs and SwiGLU; standard, shortformer and rotary positions; causal
//! and bidirectional attention over ragged, padded data), from inputs mixed across data;
//! logits scored at a few rows; pattern graphs on the CPU; bad input; and the whole graph's
//! backward pass.

mod common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::gradient::backward;
use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::scrub::{NodeId, ScrubGraph};
use scrub_core::testing::random_model;
use scrub_core::DatumId;
use scrub_kernels::GpuScrubGraph;

use common::{ctx, data, max_diff, variants};

/// Relative part of the tolerance: f32 sums in another order, f32 where the CPU uses f64.
const REL: f32 = 1e-4;
/// Absolute part, for gradients that are exactly or nearly zero.
const ABS: f32 = 1e-6;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn scale(a: &[f32]) -> f32 {
    a.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn all_nodes(g: &dyn ScrubGraph) -> Vec<NodeId> {
    (0..g.nodes().len()).map(NodeId).collect()
}

/// `got` within `REL · max|want| + ABS` of `want`; returns |Δ| / max|want|.
fn assert_close(what: &str, want: &[f32], got: &[f32]) -> f32 {
    assert_close_at(what, want, got, 0.0)
}

/// `assert_close` relative to at least `floor`: for gradients that vanish by cancellation
/// of terms of that size, whose rounding noise is relative to the terms.
fn assert_close_at(what: &str, want: &[f32], got: &[f32], floor: f32) -> f32 {
    let (diff, s) = (max_diff(want, got), scale(want).max(floor));
    assert!(
        diff <= REL * s + ABS,
        "{what}: |Δ| = {diff:.3e}, max |g| = {s:.3e}"
    );
    diff / s.max(f32::MIN_POSITIVE)
}

/// One sample's ports of `node`: port p sums its terms' plain values on datum
/// `(seed + p) % n_data`, so q, k and v come from different data.
fn mixed_ports(
    g: &TransformerGraph,
    plain: &[Vec<Vec<f32>>],
    node: NodeId,
    seed: usize,
) -> Vec<Vec<f32>> {
    g.node(node)
        .ports
        .iter()
        .enumerate()
        .map(|(p, port)| {
            let datum = &plain[(seed + p) % g.n_data()];
            let mut acc = vec![0.0f32; g.rows() * g.node(port.terms[0]).width];
            for t in &port.terms {
                acc.iter_mut().zip(&datum[t.0]).for_each(|(a, b)| *a += b);
            }
            acc
        })
        .collect()
}

/// Every node with inputs: the GPU's port gradients against the CPU's, from mixed inputs
/// with the key mask of yet another datum, on random output gradients.
#[test]
fn every_node_vjp_matches_cpu_on_every_variant() {
    let Some(ctx) = ctx() else { return };
    for (i, (name, cfg)) in variants().into_iter().enumerate() {
        let seed = 10 * i as u64 + 300;
        let model = random_model(&cfg, seed, 0.4);
        let cpu = TransformerGraph::new(&model, data(&cfg, seed + 1)).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        let every: Vec<DatumId> = (0..cpu.n_data() as u32).map(DatumId).collect();
        let plain = cpu.plain(&every, &all_nodes(&cpu)).unwrap();
        let (mut worst, mut checked) = (0.0f32, 0);
        for (k, node) in all_nodes(&cpu).into_iter().enumerate() {
            let g = cpu.node(node);
            if g.ports.is_empty() {
                continue;
            }
            let ports = mixed_ports(&cpu, &plain, node, k);
            let home = DatumId(((k + 3) % cpu.n_data()) as u32);
            let d_out = random(cpu.rows() * g.width, seed + k as u64);
            let want = cpu.recompute_vjp(node, home, &ports, &d_out).unwrap();
            // Heads have exactly zero gradients when their home datum is all pad (they attend
            // to nothing), and zero q and k gradients when their values are all alike (an
            // all-pad datum's): then the pattern does not matter.
            let pad = cfg.pad_token;
            let all_pad = |d: usize| {
                cpu.tokens(DatumId(d as u32))
                    .unwrap()
                    .iter()
                    .all(|t| Some(t.0) == pad)
            };
            let head = matches!(cpu.component(node), Component::Head { .. });
            let may_vanish = |p: usize| {
                head && (all_pad(home.index()) || (p < 2 && all_pad((k + 2) % cpu.n_data())))
            };
            let got = gpu.recompute_vjp(node, home, &ports, &d_out).unwrap();
            assert_eq!(got.len(), want.len(), "{name}: {}: ports", g.name);
            let node_scale = want.iter().map(|w| scale(w)).fold(0.0, f32::max);
            for (p, (w, gv)) in want.iter().zip(&got).enumerate() {
                let what = format!("{name}: {} port {}", g.name, g.ports[p].name);
                if may_vanish(p) {
                    assert_close_at(&what, w, gv, node_scale);
                } else {
                    assert!(scale(w) > 1e-3, "{what}: gradient ~0");
                    worst = worst.max(assert_close(&what, w, gv));
                }
            }
            checked += 1;
        }
        assert!(checked >= 3, "{name}: only {checked} nodes differentiated");
        eprintln!("{name}: {checked} nodes, max |Δ| / max |g| = {worst:.2e}");
    }
}

/// Logits scored at a few rows: the GPU zeroes the others' gradient as the CPU does, and a
/// logit gradient with a single live row (the rows the unembedding skips) agrees too.
#[test]
fn output_rows_and_sparse_logit_gradients_match_cpu() {
    let Some(ctx) = ctx() else { return };
    let (_, cfg) = variants().swap_remove(1);
    let model = random_model(&cfg, 41, 0.4);
    let n = cfg.n_ctx;
    let tokens = data(&cfg, 42);
    let rows: Vec<Vec<usize>> = (0..tokens.len()).map(|d| vec![d % n, n - 1]).collect();
    let cpu = TransformerGraph::new(&model, tokens)
        .unwrap()
        .with_output_rows(rows)
        .unwrap();
    let gpu = GpuScrubGraph::new(ctx, &cpu).unwrap();
    let out = cpu.output();
    let plain = cpu.plain(&[DatumId(2)], &all_nodes(&cpu)).unwrap();
    let ports = mixed_ports(&cpu, &plain, out, 0);
    let v = cfg.d_vocab_out;
    let full = random(n * v, 43);
    let mut one_row = vec![0.0f32; n * v];
    one_row[(n - 1) * v..].copy_from_slice(&full[(n - 1) * v..]);
    for (what, d_out) in [("all rows", full), ("one row", one_row)] {
        let want = cpu.recompute_vjp(out, DatumId(2), &ports, &d_out).unwrap();
        let got = gpu.recompute_vjp(out, DatumId(2), &ports, &d_out).unwrap();
        assert_close(what, &want[0], &got[0]);
        let d = cfg.d_model;
        let zero_rows = (0..n).filter(|&r| got[0][r * d..(r + 1) * d].iter().all(|&g| g == 0.0));
        // Datum 2 scores rows 2 and n − 1; every other row's gradient is exactly zero.
        let expected = if what == "all rows" { n - 2 } else { n - 1 };
        assert_eq!(
            zero_rows.count(),
            expected,
            "{what}: rows outside the scored ones"
        );
    }
}

/// Heads that read a pattern node, and the pattern nodes, go to the CPU graph: identical.
#[test]
fn pattern_graphs_are_differentiated_on_the_cpu() {
    let Some(ctx) = ctx() else { return };
    let (_, cfg) = variants().swap_remove(0);
    let model = random_model(&cfg, 51, 0.4);
    let cpu = TransformerGraph::with_patterns(&model, data(&cfg, 52)).unwrap();
    let gpu = GpuScrubGraph::new(ctx, &cpu).unwrap();
    let plain = cpu
        .plain(&[DatumId(0), DatumId(1)], &all_nodes(&cpu))
        .unwrap();
    for c in [
        Component::Head { layer: 1, head: 0 },
        Component::Pattern { layer: 1, head: 0 },
        Component::Mlp { layer: 0 },
    ] {
        let node = cpu.node_of(c).unwrap();
        let ports = mixed_ports(&cpu, &plain, node, 0);
        let d_out = random(cpu.rows() * cpu.node(node).width, 53);
        let want = cpu.recompute_vjp(node, DatumId(1), &ports, &d_out).unwrap();
        let got = gpu.recompute_vjp(node, DatumId(1), &ports, &d_out).unwrap();
        if matches!(c, Component::Mlp { .. }) {
            assert_close("mlp of a pattern graph", &want[0], &got[0]);
        } else {
            assert_eq!(want, got, "{c:?}");
        }
    }
}

/// Wrong shapes, nodes without inputs and data outside the dataset are errors, not panics.
#[test]
fn bad_input_is_an_error() {
    let Some(ctx) = ctx() else { return };
    let (_, cfg) = variants().swap_remove(1);
    let model = random_model(&cfg, 61, 0.4);
    let cpu = TransformerGraph::new(&model, data(&cfg, 62)).unwrap();
    let gpu = GpuScrubGraph::new(ctx, &cpu).unwrap();
    let head = cpu.node_of(Component::Head { layer: 0, head: 1 }).unwrap();
    let every: Vec<DatumId> = (0..cpu.n_data() as u32).map(DatumId).collect();
    let plain = cpu.plain(&every, &all_nodes(&cpu)).unwrap();
    let ports = mixed_ports(&cpu, &plain, head, 0);
    let d_out = random(cpu.rows() * cfg.d_model, 63);
    let err = |r: scrub_core::Result<Vec<Vec<f32>>>| r.unwrap_err().to_string();
    let short = err(gpu.recompute_vjp(head, DatumId(0), &ports, &d_out[1..]));
    assert!(
        short.contains("gradient of `blocks.0.attn.head.1`"),
        "{short}"
    );
    let few = err(gpu.recompute_vjp(head, DatumId(0), &ports[..2], &d_out));
    assert!(few.contains("has 3 ports, got 2"), "{few}");
    let mut cut = ports.clone();
    cut[2].pop();
    let narrow = err(gpu.recompute_vjp(head, DatumId(0), &cut, &d_out));
    assert!(narrow.contains("port 2 (`v`)"), "{narrow}");
    let far = err(gpu.recompute_vjp(head, DatumId(99), &ports, &d_out));
    assert!(far.contains("outside the dataset"), "{far}");
    let embed = cpu.node_of(Component::Embed).unwrap();
    assert!(gpu.recompute_vjp(embed, DatumId(0), &[], &d_out).is_err());
    assert!(gpu
        .recompute_vjp(NodeId(10_000), DatumId(0), &[], &d_out)
        .is_err());
}

/// `scrub_core::gradient::backward` over the whole GPU graph against the CPU graph on the
/// same datum: every node's and every port's gradient, on a LayerNorm/ReLU model with pad
/// keys and on a Llama-like one (RMSNorm, rotary, SwiGLU, grouped-query attention).
#[test]
fn whole_graph_backward_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    let all = variants();
    for (name, cfg) in [&all[1], &all[all.len() - 1]] {
        let model = random_model(cfg, 71, 0.4);
        let cpu = TransformerGraph::new(&model, data(cfg, 72)).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        let datum = DatumId(0);
        let values = cpu.plain(&[datum], &all_nodes(&cpu)).unwrap().remove(0);
        let d_output = random(values[cpu.output().0].len(), 73);
        let want = backward(&cpu, datum, &values, &d_output).unwrap();
        let got = backward(&gpu, datum, &values, &d_output).unwrap();
        let mut worst = 0.0f32;
        for (i, node) in cpu.nodes().iter().enumerate() {
            let what = format!("{name}: node {}", node.name);
            worst = worst.max(assert_close(&what, &want.nodes[i], &got.nodes[i]));
            for (p, (w, g)) in want.ports[i].iter().zip(&got.ports[i]).enumerate() {
                let what = format!("{name}: {} port {p}", node.name);
                worst = worst.max(assert_close(&what, w, g));
            }
        }
        let embed = cpu.node_of(Component::Embed).unwrap();
        assert!(
            scale(&want.nodes[embed.0]) > 1e-3,
            "{name}: embed gradient ~0"
        );
        eprintln!("{name}: whole graph, max |Δ| / max |g| = {worst:.2e}");
    }
}
