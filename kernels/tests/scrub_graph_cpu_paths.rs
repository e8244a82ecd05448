//! The GPU scrubbing graph on the node kinds its kernels do not compute: attention pattern
//! nodes and heads reading them, the parts of a source-mask or neuron split (computed by
//! the CPU graph) and logits restricted to output rows (computed in full, other rows
//! zeroed). Each must give what the CPU graph gives, for plain values and for whole trees
//! on mixed data.

mod common;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::scrub::evaluate::evaluate;
use scrub_core::scrub::hypothesis::NameResolver;
use scrub_core::scrub::masked::Masked;
use scrub_core::scrub::neurons::Neurons;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::validate::validate;
use scrub_core::scrub::{NodeId, ScrubGraph};
use scrub_core::testing::{random_model, recompute_tree};
use scrub_core::{
    ActFn, AttentionKind, DatumId, ModelConfig, Normalization, PositionalKind, TokenId,
};
use scrub_kernels::GpuScrubGraph;

use common::{config, ctx, max_diff, mixed_assignment};

const TOL: f32 = 1e-4;

#[test]
fn cpu_computed_nodes_match_the_cpu_graph() {
    let Some(ctx) = ctx() else { return };
    for (attention, positional, pad) in [
        (AttentionKind::Causal, PositionalKind::Shortformer, None),
        (
            AttentionKind::Bidirectional,
            PositionalKind::Standard,
            Some(1),
        ),
    ] {
        let cfg = config(
            2,
            2,
            16,
            8,
            None,
            6,
            6,
            8,
            ActFn::Relu,
            Normalization::PreLayerNorm,
            attention,
            positional,
            pad,
        );
        let model = random_model(&cfg, 400, 0.4);
        let mut rng = StdRng::seed_from_u64(401);
        let data: Vec<Vec<TokenId>> = (0..5)
            .map(|_| (0..8).map(|_| TokenId(rng.random_range(0..6))).collect())
            .collect();
        let rows = vec![vec![0, 7], vec![3], vec![], vec![1, 2, 6], vec![5]];
        for patterns in [false, true] {
            let cpu = match patterns {
                false => TransformerGraph::new(&model, data.clone()),
                true => TransformerGraph::with_patterns(&model, data.clone()),
            };
            let cpu = cpu.unwrap().with_output_rows(rows.clone()).unwrap();
            let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
            let names = NameResolver::transformer(&cpu);
            let masked_cpu = Masked::new(&cpu, "1.0", "prev", &|n| names.resolve(&cpu, n)).unwrap();
            let masked_gpu = Masked::new(&gpu, "1.0", "prev", &|n| names.resolve(&gpu, n)).unwrap();
            let label = format!("{attention:?} patterns {patterns}");

            let every: Vec<DatumId> = (0..5).map(DatumId).collect();
            let all: Vec<NodeId> = (0..masked_cpu.nodes().len()).map(NodeId).collect();
            let want = masked_cpu.plain(&every, &all).unwrap();
            let got = masked_gpu.plain(&every, &all).unwrap();
            for (d, (w, g)) in want.iter().zip(&got).enumerate() {
                for (j, (wv, gv)) in w.iter().zip(g).enumerate() {
                    let diff = max_diff(wv, gv);
                    let node = &masked_cpu.nodes()[j].name;
                    assert!(diff <= TOL, "{label}: plain {node} on {d}: |Δ| = {diff}");
                }
            }

            for (name, c, g) in [
                ("unsplit", &cpu as &dyn ScrubGraph, &gpu as &dyn ScrubGraph),
                ("1.0 by prev", &masked_cpu, &masked_gpu),
            ] {
                for depth in 0..=3 {
                    let tree = recompute_tree(c, depth);
                    validate(&tree, c).unwrap();
                    let a = mixed_assignment(&tree, 6, 5, 402 + depth as u64);
                    let want = evaluate(c, &tree, &a).unwrap();
                    let got = evaluate(g, &tree, &a).unwrap();
                    for (s, (w, o)) in want.outputs.iter().zip(&got.outputs).enumerate() {
                        let diff = max_diff(w, o);
                        assert!(
                            diff <= TOL,
                            "{label} {name} depth {depth}: sample {s} |Δ| = {diff}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn neuron_split_parts_match_the_cpu_graph() {
    let Some(ctx) = ctx() else { return };
    let cfg = config(
        2,
        2,
        16,
        8,
        Some(24),
        6,
        6,
        8,
        ActFn::Gelu,
        Normalization::PreLayerNorm,
        AttentionKind::Bidirectional,
        PositionalKind::Standard,
        Some(1),
    );
    // And a Llama-shaped model: the parts of a gated (SwiGLU) MLP, with RMSNorm, rotary
    // positions and grouped-query attention upstream.
    let llama = ModelConfig {
        n_kv_heads: Some(1),
        gated_mlp: true,
        ..config(
            2,
            2,
            16,
            8,
            Some(24),
            6,
            6,
            8,
            ActFn::Silu,
            Normalization::RMSNorm,
            AttentionKind::Causal,
            PositionalKind::Rotary,
            None,
        )
    };
    for cfg in [cfg, llama] {
        let model = random_model(&cfg, 410, 0.4);
        let mut rng = StdRng::seed_from_u64(411);
        let data: Vec<Vec<TokenId>> = (0..5)
            .map(|_| (0..8).map(|_| TokenId(rng.random_range(0..6))).collect())
            .collect();
        let cpu = TransformerGraph::new(&model, data).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        let names = NameResolver::transformer(&cpu);
        let groups: BTreeMap<String, String> = [("length", "0..8"), ("flag", "8..12,15")]
            .into_iter()
            .map(|(g, n)| (g.to_string(), n.to_string()))
            .collect();
        let split_cpu = Neurons::new(&cpu, "mlp1", &groups, &|n| names.resolve(&cpu, n)).unwrap();
        let split_gpu = Neurons::new(&gpu, "mlp1", &groups, &|n| names.resolve(&gpu, n)).unwrap();
        let mlp = names.resolve(&cpu, "mlp1").unwrap();
        assert_eq!(gpu.hidden_width(mlp), Some(24));

        let every: Vec<DatumId> = (0..5).map(DatumId).collect();
        let all: Vec<NodeId> = (0..split_cpu.nodes().len()).map(NodeId).collect();
        let want = split_cpu.plain(&every, &all).unwrap();
        let got = split_gpu.plain(&every, &all).unwrap();
        for (d, (w, g)) in want.iter().zip(&got).enumerate() {
            for (j, (wv, gv)) in w.iter().zip(g).enumerate() {
                let diff = max_diff(wv, gv);
                let node = &split_cpu.nodes()[j].name;
                assert!(
                    diff <= TOL,
                    "{:?} plain {node} on {d}: |Δ| = {diff}",
                    cfg.act_fn
                );
            }
        }
        // A part recomputed from ports assembled out of several data.
        for depth in 0..=3 {
            let tree = recompute_tree(&split_cpu, depth);
            validate(&tree, &split_cpu).unwrap();
            let a = mixed_assignment(&tree, 6, 5, 412 + depth as u64);
            let want = evaluate(&split_cpu, &tree, &a).unwrap();
            let got = evaluate(&split_gpu, &tree, &a).unwrap();
            for (s, (w, o)) in want.outputs.iter().zip(&got.outputs).enumerate() {
                let diff = max_diff(w, o);
                assert!(
                    diff <= TOL,
                    "{:?} depth {depth}: sample {s} |Δ| = {diff}",
                    cfg.act_fn
                );
            }
        }
    }
}
