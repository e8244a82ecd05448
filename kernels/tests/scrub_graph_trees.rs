//! Whole scrubbing trees evaluated by the GPU graph against core's CPU `TransformerGraph`:
//! a 1a-like tree and a nested one, on every slot's own datum, in one batch and in batches
//! of 4; and the Llama fixture (RMSNorm, rotary, SwiGLU, grouped-query attention) and the
//! GPT-NeoX ones (partial rotary; parallel and sequential blocks) under trees recomputing
//! every node down to its heads' q/k/v from mixed data.

mod common;

use scrub_core::scrub::evaluate::{evaluate, evaluate_batched};
use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use scrub_core::scrub::validate::validate;
use scrub_core::scrub::{NodeId, ScrubGraph};
use scrub_core::testing::{hf_fixture, random_model, recompute_tree};
use scrub_core::{ActFn, AttentionKind, DatumId, Normalization, PositionalKind, TokenId};
use scrub_kernels::GpuScrubGraph;

use common::{config, ctx, data, max_diff, mixed_assignment};

const TOL: f32 = 1e-4;

/// The output recomputed from `groups` of its input terms, each a plain child.
fn split_output(g: &TransformerGraph, groups: Vec<Vec<NodeId>>) -> Tree {
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: g.output(),
            ports: vec![vec![]],
        },
    );
    for (i, terms) in groups.into_iter().enumerate() {
        let c = t.add(
            TreeId(0),
            format!("out/g{i}"),
            DatumRule::Unimportant,
            TreeBody::Plain { terms },
        );
        t.feed(TreeId(0), 0, c, Rows::All);
    }
    t
}

/// Paren experiment 1a's shape: heads 1.0, 2.0 and 2.1 each on their own datum, the rest on
/// another.
fn tree_1a(g: &TransformerGraph) -> Tree {
    let head = |l, h| g.node_of(Component::Head { layer: l, head: h }).unwrap();
    let picked = [head(1, 0), head(2, 0), head(2, 1)];
    let rest: Vec<NodeId> = g.node(g.output()).ports[0]
        .terms
        .iter()
        .copied()
        .filter(|t| !picked.contains(t))
        .collect();
    split_output(
        g,
        vec![vec![picked[0]], vec![picked[1]], vec![picked[2]], rest],
    )
}

/// Head 2.1 recomputed from separate q, k, v; inside v, MLP 1 recomputed from head 1.0
/// (itself recomputed from per-position inputs) and the rest; the output split by position.
fn tree_nested(g: &TransformerGraph) -> Tree {
    let head = |l, h| g.node_of(Component::Head { layer: l, head: h }).unwrap();
    let mlp = |l| g.node_of(Component::Mlp { layer: l }).unwrap();
    let all = g.node(g.output()).ports[0].terms.clone();
    let plain = |terms: Vec<NodeId>| TreeBody::Plain { terms };
    let recompute = |node: NodeId, ports: usize| TreeBody::Recompute {
        node,
        ports: vec![vec![]; ports],
    };
    let u = DatumRule::Unimportant;
    let mut t = Tree::new("out", DatumRule::Reference, recompute(g.output(), 1));
    let h21 = head(2, 1);
    let c = t.add(TreeId(0), "out/2.1", u.clone(), recompute(h21, 3));
    t.feed(TreeId(0), 0, c, Rows::All);
    let others: Vec<NodeId> = all.iter().copied().filter(|&x| x != h21).collect();
    for r in 0..g.rows() {
        let x = t.add(
            TreeId(0),
            format!("out/rest[{r}]"),
            u.clone(),
            plain(others.clone()),
        );
        t.feed(TreeId(0), 0, x, Rows::Only(vec![r]));
    }
    let in21 = g.node(h21).ports[0].terms.clone();
    for (port, name) in [(0, "q"), (1, "k")] {
        let x = t.add(c, format!("out/2.1/{name}"), u.clone(), plain(in21.clone()));
        t.feed(c, port, x, Rows::All);
    }
    let m1 = t.add(c, "out/2.1/v/mlp1", u.clone(), recompute(mlp(1), 1));
    t.feed(c, 2, m1, Rows::All);
    let vrest: Vec<NodeId> = in21.iter().copied().filter(|&x| x != mlp(1)).collect();
    let x = t.add(c, "out/2.1/v/rest", u.clone(), plain(vrest));
    t.feed(c, 2, x, Rows::All);
    let in_m1 = g.node(mlp(1)).ports[0].terms.clone();
    let h10 = t.add(
        m1,
        "out/2.1/v/mlp1/1.0",
        u.clone(),
        recompute(head(1, 0), 3),
    );
    t.feed(m1, 0, h10, Rows::All);
    let m1rest: Vec<NodeId> = in_m1.iter().copied().filter(|&x| x != head(1, 0)).collect();
    let x = t.add(m1, "out/2.1/v/mlp1/rest", u.clone(), plain(m1rest));
    t.feed(m1, 0, x, Rows::All);
    let in10 = g.node(head(1, 0)).ports[0].terms.clone();
    for port in 0..3 {
        for r in 0..g.rows() {
            let x = t.add(
                h10,
                format!("out/2.1/v/mlp1/1.0/p{port}[{r}]"),
                u.clone(),
                plain(in10.clone()),
            );
            t.feed(h10, port, x, Rows::Only(vec![r]));
        }
    }
    t
}

#[test]
fn evaluating_trees_on_mixed_data_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    for (attention, positional) in [
        (AttentionKind::Bidirectional, PositionalKind::Standard),
        (AttentionKind::Causal, PositionalKind::Shortformer),
    ] {
        let cfg = config(
            3,
            2,
            16,
            8,
            Some(24),
            5,
            2,
            8,
            ActFn::Relu,
            Normalization::PreLayerNorm,
            attention,
            positional,
            Some(1),
        );
        let model = random_model(&cfg, 300, 0.4);
        let cpu = TransformerGraph::new(&model, data(&cfg, 301)).unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        for (name, tree) in [("1a", tree_1a(&cpu)), ("nested", tree_nested(&cpu))] {
            validate(&tree, &cpu).unwrap_or_else(|e| panic!("{name}: {e}"));
            let a = mixed_assignment(&tree, 9, cpu.n_data(), 302);
            let want = evaluate(&cpu, &tree, &a).unwrap();
            let got = evaluate(&gpu, &tree, &a).unwrap();
            assert_eq!(got.outputs.len(), 9);
            for (s, (w, g)) in want.outputs.iter().zip(&got.outputs).enumerate() {
                let diff = max_diff(w, g);
                assert!(
                    diff <= TOL,
                    "{attention:?} {positional:?} {name}: sample {s} |Δ| = {diff}"
                );
            }
            // Batches of 4 cut the samples differently; results stay within tolerance.
            let small = evaluate_batched(&gpu, &tree, &a, 4, None, &mut |_| {}).unwrap();
            for (w, g) in want.outputs.iter().zip(&small.outputs) {
                assert!(max_diff(w, g) <= TOL);
            }
            // The data really were mixed: the outputs are not the plain model's on the
            // reference data.
            let refs: Vec<DatumId> = (0..9).map(|s| a.get(s, Tree::slot(TreeId(0)))).collect();
            let plain = cpu.plain(&refs, &[cpu.output()]).unwrap();
            let moved = (0..9)
                .map(|s| max_diff(&plain[s][0], &got.outputs[s]))
                .fold(0.0, f32::max);
            assert!(moved > 1e-3, "{name}: mixing changed nothing");
        }
    }
}

#[test]
fn the_rotary_fixtures_under_recomputing_trees_on_mixed_data_match_cpu() {
    let Some(ctx) = ctx() else { return };
    for name in ["llama_tiny", "pythia_tiny", "neox_sequential"] {
        rotary_fixture_under_recomputing_trees(&ctx, name);
    }
}

fn rotary_fixture_under_recomputing_trees(
    ctx: &std::sync::Arc<scrub_kernels::GpuContext>,
    name: &str,
) {
    let f = hf_fixture(name);
    let model = &f.model;
    let n = model.config.n_ctx;
    let seqs: Vec<Vec<TokenId>> = (0..6u32)
        .map(|s| {
            (0..n as u32)
                .map(|i| TokenId((i * 11 + s * 17 + 3) % 50))
                .collect()
        })
        .collect();
    for patterns in [false, true] {
        let cpu = match patterns {
            false => TransformerGraph::new(model, seqs.clone()),
            true => TransformerGraph::with_patterns(model, seqs.clone()),
        }
        .unwrap();
        let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).unwrap();
        for depth in [1, 3] {
            let tree = recompute_tree(&cpu, depth);
            validate(&tree, &cpu).unwrap();
            let a = mixed_assignment(&tree, 5, cpu.n_data(), 700 + depth as u64);
            let want = evaluate(&cpu, &tree, &a).unwrap();
            let got = evaluate(&gpu, &tree, &a).unwrap();
            let diff = want
                .outputs
                .iter()
                .zip(&got.outputs)
                .map(|(w, g)| max_diff(w, g))
                .fold(0.0, f32::max);
            eprintln!(
                "{name}, patterns {patterns}, depth {depth}: GPU vs CPU max |Δ| = {diff:.2e}"
            );
            assert!(
                diff <= TOL,
                "{name} patterns {patterns} depth {depth}: |Δ| = {diff}"
            );
            let refs: Vec<DatumId> = (0..5).map(|s| a.get(s, Tree::slot(TreeId(0)))).collect();
            let plain = cpu.plain(&refs, &[cpu.output()]).unwrap();
            let moved = (0..5)
                .map(|s| max_diff(&plain[s][0], &got.outputs[s]))
                .fold(0.0, f32::max);
            assert!(moved > 1e-3, "{name} depth {depth}: mixing changed nothing");
        }
    }
}
