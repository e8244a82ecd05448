//! `scrub model inspect DIR`: what a Hugging Face model folder holds, as scrub reads it.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use scrub_core::hooks::ActivationCache;
use scrub_core::scrub::graph::{NodeId, ScrubGraph};
use scrub_core::scrub::hypothesis::transformer_aliases;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::weights::HfCheckpoint;
use scrub_core::{TokenBatch, TokenId};

use crate::error::ScenarioError;

/// `scrub model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Read a Hugging Face model folder (`config.json` with `model.safetensors` or its
    /// shards; model_type gpt2, gpt_neox, llama or qwen2) and print its architecture, the terms hypotheses can name
    /// and the TransformerLens hooks the forward pass records.
    Inspect(InspectArgs),
}

/// `scrub model inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model folder.
    pub dir: PathBuf,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A node of the scrubbing graph, as a hypothesis names it.
#[derive(Debug, serde::Serialize)]
struct Term {
    name: String,
    alias: String,
    ports: Vec<String>,
}

/// What `scrub model inspect` prints.
#[derive(Debug, serde::Serialize)]
struct Inspection {
    dir: String,
    family: &'static str,
    architecture: Option<String>,
    files: Vec<String>,
    dtypes: Vec<String>,
    tie_word_embeddings: bool,
    n_layers: usize,
    n_heads: usize,
    /// Key/value heads (n_heads without grouped-query attention).
    n_kv_heads: usize,
    d_model: usize,
    d_head: usize,
    d_mlp: Option<usize>,
    d_vocab: usize,
    d_vocab_out: usize,
    n_ctx: usize,
    act_fn: String,
    normalization: String,
    attention: String,
    positional: String,
    ln_eps: f32,
    /// The rotary base θ, for rotary models only.
    rope_theta: Option<f32>,
    /// How many leading dimensions of each head rotate, for rotary models only (d_head, or
    /// fewer with GPT-NeoX's partial rotary).
    rotary_dims: Option<usize>,
    /// Whether attention and MLP are parallel (each MLP reads the stream its layer's
    /// attention reads, as GPT-NeoX's `use_parallel_residual`).
    parallel_attn_mlp: bool,
    /// Whether the MLPs are gated (SwiGLU).
    gated_mlp: bool,
    n_params: usize,
    terms: Vec<Term>,
    hooks: Vec<String>,
}

pub(super) fn run(cmd: ModelCommand) -> Result<(), ScenarioError> {
    match cmd {
        ModelCommand::Inspect(a) => inspect(&a),
    }
}

fn inspect(a: &InspectArgs) -> Result<(), ScenarioError> {
    let ck = HfCheckpoint::load(&a.dir)?;
    let model = &ck.model;
    let c = &model.config;
    let graph = TransformerGraph::new(model, Vec::new())?;
    let aliases = transformer_aliases(&graph);
    let terms = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| Term {
            name: n.name.clone(),
            alias: aliases
                .iter()
                .find(|(s, id)| *id == NodeId(i) && *s != n.name)
                .map_or_else(|| n.name.clone(), |(s, _)| s.clone()),
            ports: n.ports.iter().map(|p| p.name.clone()).collect(),
        })
        .collect();
    // The hooks are those the CPU reference records on a one-token sequence.
    let mut caches: Vec<ActivationCache> = Vec::new();
    let one = [TokenId(0)];
    let batch = TokenBatch::from_sequences(std::iter::once(&one[..]));
    scrub_core::forward::forward(model, &batch, Some(&mut caches));
    let hooks = caches[0].names().map(str::to_string).collect();
    let rotary = c.positional == scrub_core::PositionalKind::Rotary;
    let r = Inspection {
        dir: a.dir.display().to_string(),
        family: ck.family.model_type(),
        architecture: ck.architecture.clone(),
        files: ck.files.iter().map(|f| f.display().to_string()).collect(),
        dtypes: ck.dtypes.clone(),
        tie_word_embeddings: ck.tie_word_embeddings,
        n_layers: c.n_layers,
        n_heads: c.n_heads,
        n_kv_heads: c.kv_heads(),
        d_model: c.d_model,
        d_head: c.d_head,
        d_mlp: c.d_mlp,
        d_vocab: c.d_vocab,
        d_vocab_out: c.d_vocab_out,
        n_ctx: c.n_ctx,
        act_fn: format!("{:?}", c.act_fn),
        normalization: format!("{:?}", c.normalization),
        attention: format!("{:?}", c.attention),
        positional: format!("{:?}", c.positional),
        ln_eps: c.ln_eps,
        rope_theta: rotary.then_some(c.rope_theta),
        rotary_dims: rotary.then_some(c.rotary_dims()),
        parallel_attn_mlp: c.parallel_attn_mlp,
        gated_mlp: c.gated_mlp,
        n_params: ck.n_params,
        terms,
        hooks,
    };
    if a.json {
        println!("{}", serde_json::to_string(&r).expect("report serialises"));
        return Ok(());
    }
    println!("model          {}", r.dir);
    println!(
        "family         {}{}",
        r.family,
        r.architecture
            .as_deref()
            .map_or(String::new(), |a| format!(" ({a})"))
    );
    println!(
        "files          {} ({})",
        r.files.join(", "),
        r.dtypes.join(", ")
    );
    println!(
        "layers         {}, heads {}{}, d_model {}, d_head {}, d_mlp {}{}",
        r.n_layers,
        r.n_heads,
        if r.n_kv_heads == r.n_heads {
            String::new()
        } else {
            format!(" (sharing {} key/value heads)", r.n_kv_heads)
        },
        r.d_model,
        r.d_head,
        r.d_mlp.map_or("none".into(), |m| m.to_string()),
        if r.gated_mlp { " (gated)" } else { "" }
    );
    println!(
        "vocab          {} → {}, context {}",
        r.d_vocab, r.d_vocab_out, r.n_ctx
    );
    println!(
        "computes       {} attention, {} positions{}, {} (eps {}), activation {}",
        r.attention,
        r.positional,
        match (r.rope_theta, r.rotary_dims) {
            (Some(t), Some(dims)) if dims < r.d_head => {
                format!(
                    " (theta {t}, {dims} of {} head dimensions rotate)",
                    r.d_head
                )
            }
            (Some(t), _) => format!(" (theta {t})"),
            _ => String::new(),
        },
        r.normalization,
        r.ln_eps,
        r.act_fn
    );
    if r.d_mlp.is_some() {
        println!(
            "blocks         {}",
            match r.parallel_attn_mlp {
                true =>
                    "parallel: attention and MLP both read the block's input, \
                         resid_post = resid_pre + attn_out + mlp_out",
                false => "sequential: the MLP reads the stream after the attention",
            }
        );
    }
    println!(
        "parameters     {} ({} embeddings)",
        r.n_params,
        if r.tie_word_embeddings {
            "tied"
        } else {
            "untied"
        }
    );
    for t in &r.terms {
        let ports = if t.ports.is_empty() {
            String::new()
        } else {
            format!(" [ports {}]", t.ports.join(", "))
        };
        println!("term           {} = {}{ports}", t.alias, t.name);
    }
    println!("hooks          {}", r.hooks.join(", "));
    Ok(())
}
