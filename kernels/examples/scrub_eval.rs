//! Speed of a causal scrubbing evaluation on the GPU graph against the CPU graph, on a
//! paren-shaped model with random weights: `scrub_eval [N_SAMPLES] [N_DATA] [REPEATS]`.
//! The tree has experiment 1a's shape (the output recomputed from heads 1.0, 2.0, 2.1 and
//! the remaining terms, each group on its own random datum). Checks the two agree.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scrub_core::sampler::Assignment;
use scrub_core::scrub::evaluate::evaluate;
use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use scrub_core::scrub::{NodeId, ScrubGraph};
use scrub_core::testing::random_model;
use scrub_core::{
    ActFn, AttentionKind, DatumId, ModelConfig, Normalization, PositionalKind, TokenId,
};
use scrub_kernels::{GpuContext, GpuScrubGraph};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_samples = args.first().copied().unwrap_or(2000);
    let n_data = args.get(1).copied().unwrap_or(5000);
    let repeats = args.get(2).copied().unwrap_or(2);
    let Some(ctx) = GpuContext::shared() else {
        eprintln!("no GPU adapter");
        std::process::exit(1);
    };
    let cfg = ModelConfig {
        n_layers: 3,
        n_heads: 2,
        d_model: 56,
        d_head: 28,
        d_mlp: Some(56),
        d_vocab: 5,
        d_vocab_out: 2,
        n_ctx: 42,
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
    };
    let model = random_model(&cfg, 1, 0.2);
    let mut rng = StdRng::seed_from_u64(2);
    // [start] then 1..=40 brackets, [end], padded to n_ctx.
    let seqs: Vec<Vec<TokenId>> = (0..n_data)
        .map(|_| {
            let len = rng.random_range(1..=40);
            let mut s = vec![TokenId(0)];
            s.extend((0..len).map(|_| TokenId(rng.random_range(3..5))));
            s.push(TokenId(2));
            s.resize(cfg.n_ctx, TokenId(1));
            s
        })
        .collect();
    let cpu = TransformerGraph::new(&model, seqs).expect("graph");
    let t0 = Instant::now();
    let gpu = GpuScrubGraph::new(ctx.clone(), &cpu).expect("gpu graph");
    println!(
        "adapter: {}  setup {:.3}s",
        ctx.adapter_name(),
        t0.elapsed().as_secs_f64()
    );

    let head = |l, h| cpu.node_of(Component::Head { layer: l, head: h }).unwrap();
    let picked = [head(1, 0), head(2, 0), head(2, 1)];
    let rest: Vec<NodeId> = cpu.node(cpu.output()).ports[0]
        .terms
        .iter()
        .copied()
        .filter(|t| !picked.contains(t))
        .collect();
    let mut tree = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: cpu.output(),
            ports: vec![vec![]],
        },
    );
    let groups = [vec![picked[0]], vec![picked[1]], vec![picked[2]], rest];
    for (i, terms) in groups.into_iter().enumerate() {
        let c = tree.add(
            TreeId(0),
            format!("out/g{i}"),
            DatumRule::Unimportant,
            TreeBody::Plain { terms },
        );
        tree.feed(TreeId(0), 0, c, Rows::All);
    }
    let n_slots = tree.nodes.len() + 1;
    let data: Vec<DatumId> = (0..n_samples)
        .flat_map(|_| {
            let reference = DatumId(rng.random_range(0..n_data as u32));
            let mut slots = vec![reference, reference];
            slots.extend((2..n_slots).map(|_| DatumId(rng.random_range(0..n_data as u32))));
            slots
        })
        .collect();
    let a = Assignment {
        n_samples,
        n_slots,
        data,
    };

    let mut outs = Vec::new();
    for (name, graph) in [
        ("gpu", &gpu as &dyn ScrubGraph),
        ("cpu", &cpu as &dyn ScrubGraph),
    ] {
        for r in 0..repeats {
            let t = Instant::now();
            let out = evaluate(graph, &tree, &a).expect("evaluate");
            let dt = t.elapsed().as_secs_f64();
            println!(
                "  {name} run {r}: {n_samples} samples in {dt:.3}s = {:.0} samples/s",
                n_samples as f64 / dt
            );
            if r == 0 {
                outs.push(out);
            }
        }
    }
    let worst = outs[0]
        .outputs
        .iter()
        .zip(&outs[1].outputs)
        .flat_map(|(g, c)| g.iter().zip(c).map(|(x, y)| (x - y).abs()))
        .fold(0.0f32, f32::max);
    println!("gpu vs cpu: max |Δ output| {worst:.2e}");
}
