//! Randomly initialised models for tests and benchmarks of every config variant, and trees
//! that recompute a whole graph, to check rewrites for exactness.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{AttentionKind, ModelConfig, Normalization, PositionalKind};
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use crate::weights::{
    expected_tensors, AttnWeights, BlockWeights, LayerNorm, MlpWeights, Model, Weights,
};

/// The config of a small model shaped like the paren checker (three layers, two heads,
/// MLPs, `[pad]` = 1 masked, two classes, n_ctx 8) with the given attention and positions.
pub fn paren_like_config(attention: AttentionKind, positional: PositionalKind) -> ModelConfig {
    ModelConfig {
        n_layers: 3,
        n_heads: 2,
        d_model: 16,
        d_head: 8,
        d_mlp: Some(24),
        d_vocab: 5,
        d_vocab_out: 2,
        n_ctx: 8,
        act_fn: crate::config::ActFn::Relu,
        normalization: Normalization::PreLayerNorm,
        attention,
        positional,
        pad_token: Some(1),
        ln_eps: 1e-5,
        n_kv_heads: None,
        rope_theta: 10000.0,
        gated_mlp: false,
        rotary_dim: None,
        parallel_attn_mlp: false,
    }
}

/// A random [`paren_like_config`] model with bidirectional attention and standard positions:
/// what unit tests and fuzz targets build hypotheses over.
pub fn paren_like_model() -> Model {
    let cfg = paren_like_config(AttentionKind::Bidirectional, PositionalKind::Standard);
    random_model(&cfg, 31, 0.4)
}

/// Paren-like sequences (`[start]` 0, `(` 3, `)` 4, `[end]` 2, `[pad]` 1) padded to the
/// n_ctx of [`paren_like_model`].
pub fn paren_like_data() -> Vec<Vec<crate::tokens::TokenId>> {
    [
        vec![0, 3, 4, 2, 1, 1, 1, 1],
        vec![0, 3, 3, 4, 4, 2, 1, 1],
        vec![0, 4, 3, 3, 4, 4, 3, 2],
        vec![0, 2, 1, 1, 1, 1, 1, 1],
    ]
    .into_iter()
    .map(|s| s.into_iter().map(crate::tokens::TokenId).collect())
    .collect()
}

/// A model of `config` with weights drawn uniformly from ±`scale`·√3 (std `scale`), LayerNorm
/// scales near 1; the same seed gives the same weights.
pub fn random_model(config: &ModelConfig, seed: u64, scale: f32) -> Model {
    let mut rng = StdRng::seed_from_u64(seed);
    let shapes: std::collections::HashMap<String, Vec<usize>> =
        expected_tensors(config).into_iter().collect();
    let mut t = |name: &str| -> Vec<f32> {
        let n: usize = shapes[name].iter().product();
        let a = scale * 3f32.sqrt();
        (0..n).map(|_| rng.random_range(-a..a)).collect()
    };
    let d = config.d_model;
    let norm = |prefix: &str, t: &mut dyn FnMut(&str) -> Vec<f32>| -> Option<LayerNorm> {
        match config.normalization {
            Normalization::PreLayerNorm => Some(LayerNorm {
                w: t(&format!("{prefix}.w")).iter().map(|v| 1.0 + v).collect(),
                b: t(&format!("{prefix}.b")),
            }),
            Normalization::RMSNorm => Some(LayerNorm {
                w: t(&format!("{prefix}.w")).iter().map(|v| 1.0 + v).collect(),
                b: vec![0.0; d],
            }),
            Normalization::LNPre => Some(LayerNorm::identity(d)),
            Normalization::None => None,
        }
    };
    let mut blocks = Vec::new();
    for l in 0..config.n_layers {
        let p = format!("blocks.{l}");
        let attn = AttnWeights {
            w_q: t(&format!("{p}.attn.W_Q")),
            w_k: t(&format!("{p}.attn.W_K")),
            w_v: t(&format!("{p}.attn.W_V")),
            w_o: t(&format!("{p}.attn.W_O")),
            b_q: t(&format!("{p}.attn.b_Q")),
            b_k: t(&format!("{p}.attn.b_K")),
            b_v: t(&format!("{p}.attn.b_V")),
            b_o: t(&format!("{p}.attn.b_O")),
        };
        let ln1 = norm(&format!("{p}.ln1"), &mut t);
        let (ln2, mlp) = if config.d_mlp.is_some() {
            let ln2 = norm(&format!("{p}.ln2"), &mut t);
            let mlp = MlpWeights {
                w_gate: config.gated_mlp.then(|| t(&format!("{p}.mlp.W_gate"))),
                w_in: t(&format!("{p}.mlp.W_in")),
                b_in: t(&format!("{p}.mlp.b_in")),
                w_out: t(&format!("{p}.mlp.W_out")),
                b_out: t(&format!("{p}.mlp.b_out")),
            };
            (ln2, Some(mlp))
        } else {
            (None, None)
        };
        blocks.push(BlockWeights {
            ln1,
            ln2,
            attn,
            mlp,
        });
    }
    let weights = Weights {
        w_e: t("embed.W_E"),
        w_pos: match config.has_pos_embed() {
            true => t("pos_embed.W_pos"),
            false => Vec::new(),
        },
        blocks,
        ln_final: norm("ln_final", &mut t),
        w_u: t("unembed.W_U"),
        b_u: t("unembed.b_U"),
    };
    Model {
        config: config.clone(),
        weights,
    }
}

/// A tree recomputing every node that has inputs down to `depth` levels below the output,
/// each port fed one child per term (a single plain child summing the port below that
/// depth); every child is unimportant. Evaluated with one datum in every slot it must give
/// the model's output on that datum, whatever rewrites the graph carries.
pub fn recompute_tree(g: &dyn ScrubGraph, depth: usize) -> Tree {
    let out = g.output();
    if depth == 0 {
        let body = TreeBody::Plain { terms: vec![out] };
        return Tree::new("out", DatumRule::Reference, body);
    }
    let mut t = Tree::new("out", DatumRule::Reference, recompute_body(g, out));
    expand(g, &mut t, TreeId(0), out, depth - 1);
    t
}

fn recompute_body(g: &dyn ScrubGraph, node: NodeId) -> TreeBody {
    TreeBody::Recompute {
        node,
        ports: vec![Vec::new(); g.node(node).ports.len()],
    }
}

fn expand(g: &dyn ScrubGraph, t: &mut Tree, id: TreeId, node: NodeId, depth: usize) {
    let path = t.nodes[id.0].path.0.clone();
    for (p, port) in g.node(node).ports.iter().enumerate() {
        if depth == 0 {
            let body = TreeBody::Plain {
                terms: port.terms.clone(),
            };
            let c = t.add(
                id,
                format!("{path}/{}", port.name),
                DatumRule::Unimportant,
                body,
            );
            t.feed(id, p, c, Rows::All);
            continue;
        }
        for &term in &port.terms {
            let name = format!("{path}/{}:{}", port.name, g.node(term).name);
            if g.node(term).ports.is_empty() {
                let body = TreeBody::Plain { terms: vec![term] };
                let c = t.add(id, name, DatumRule::Unimportant, body);
                t.feed(id, p, c, Rows::All);
            } else {
                let c = t.add(id, name, DatumRule::Unimportant, recompute_body(g, term));
                t.feed(id, p, c, Rows::All);
                expand(g, t, c, term, depth - 1);
            }
        }
    }
}

/// Where scripts/export_tl_fixtures.py writes the TransformerLens reference fixtures.
pub const TL_FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tl");

/// Every committed TransformerLens fixture; a test over all of them fails if one goes missing.
pub const TL_FIXTURES: &[&str] = &[
    "ln_relu_causal",
    "lnpre_gelu_causal",
    "none_gelunew_bidirectional",
    "attnonly_shortformer",
    "vocab_out_gelu_bidirectional",
];

/// A TransformerLens model with its inputs and TransformerLens's outputs on them.
pub struct TlFixture {
    /// Loaded by `Model::load(config.json, model.safetensors)`, as users load theirs.
    pub model: Model,
    /// The input sequences, each run on its own in TransformerLens.
    pub seqs: Vec<Vec<crate::tokens::TokenId>>,
    /// `logits` `[rows, d_vocab_out]` and `hook/<name>` `[rows, ...]` with the sequences'
    /// rows back to back; `seq<i>/<name>` for per-sequence hooks (attention patterns).
    pub expected: std::collections::HashMap<String, crate::tensor::Tensor>,
}

/// Loads the fixture `name` from [`TL_FIXTURE_DIR`]; panics (naming the file) if it is
/// unreadable, as befits a test helper.
pub fn tl_fixture(name: &str) -> TlFixture {
    let dir = std::path::Path::new(TL_FIXTURE_DIR).join(name);
    let model = Model::load(&dir.join("config.json"), &dir.join("model.safetensors"))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let (seqs, expected) = fixture_io(&dir);
    TlFixture {
        model,
        seqs,
        expected,
    }
}

/// A fixture folder's `tokens.json` and `expected.safetensors`.
fn fixture_io(
    dir: &std::path::Path,
) -> (
    Vec<Vec<crate::tokens::TokenId>>,
    std::collections::HashMap<String, crate::tensor::Tensor>,
) {
    let tokens = std::fs::read_to_string(dir.join("tokens.json")).expect("tokens.json");
    let seqs: Vec<Vec<u32>> = serde_json::from_str(&tokens).expect("tokens.json: [[u32]]");
    let seqs = seqs
        .into_iter()
        .map(|s| s.into_iter().map(crate::tokens::TokenId).collect())
        .collect();
    let bytes = std::fs::read(dir.join("expected.safetensors")).expect("expected.safetensors");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("expected.safetensors");
    let expected = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            assert_eq!(v.dtype(), safetensors::Dtype::F32, "{n}");
            let data = v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (n, crate::tensor::Tensor::new(v.shape().to_vec(), data))
        })
        .collect();
    (seqs, expected)
}

/// Where scripts/export_hf_fixtures.py writes the Hugging Face reference fixtures.
pub const HF_FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hf");

/// The committed Hugging Face GPT-2 fixture folders.
pub const HF_FIXTURES: &[&str] = &[
    "gpt2_tiny",
    "gpt2_tiny_sharded",
    "gpt2_tiny_base",
    "gpt2_tiny_f16",
    "gpt2_untied",
];

/// The Llama-family Hugging Face fixtures (RMSNorm, rotary, SwiGLU, grouped-query
/// attention): a `LlamaForCausalLM` and a `Qwen2ForCausalLM` with its q/k/v biases.
pub const HF_LLAMA_FIXTURES: &[&str] = &["llama_tiny", "qwen2_tiny"];

/// The GPT-NeoX Hugging Face fixtures (LayerNorm, partial rotary): Pythia-style parallel
/// blocks with a quarter of each head rotating, and sequential blocks with half.
pub const HF_NEOX_FIXTURES: &[&str] = &["pythia_tiny", "neox_sequential"];

/// Loads the Hugging Face fixture `name` from [`HF_FIXTURE_DIR`] with [`Model::load_hf`]:
/// `expected` holds `logits` and `hidden/<i>` (transformers' `hidden_states[i]`), rows of
/// the sequences back to back. Panics (naming the folder) if unreadable.
pub fn hf_fixture(name: &str) -> TlFixture {
    let dir = std::path::Path::new(HF_FIXTURE_DIR).join(name);
    let model = Model::load_hf(&dir).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let (seqs, expected) = fixture_io(&dir);
    TlFixture {
        model,
        seqs,
        expected,
    }
}
