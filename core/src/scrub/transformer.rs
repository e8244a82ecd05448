//! The transformer as a scrubbing graph. Nodes are the additive terms of the residual stream
//! (`embed`, `pos_embed`, each head's output `blocks.L.attn.head.H`, each attention bias
//! `blocks.L.attn.b_O`, each `blocks.L.mlp`) and the output `unembed` (ln_final and the
//! unembedding). A head has ports `q`, `k`, `v`; an MLP and the output one port `in`; each
//! port sums every term written to the residual stream before it (for a parallel block's
//! MLP, before the block: it reads what the block's heads read). Values are
//! `[n_ctx, width]`: every datum is a sequence of exactly n_ctx tokens (pad as needed).
//!
//! [`TransformerGraph::with_patterns`] gives each head a node of its own for its attention
//! pattern, `blocks.L.attn.pattern.H` (ports `q`, `k`; `[n_ctx, n_ctx]`, row = query), and
//! the head ports `pattern`, `v`, so a hypothesis can take a head's pattern and its values
//! from different data. Pattern nodes are not terms of the residual stream.

use crate::config::PositionalKind;
use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::forward::{head_from_pattern, head_pattern, head_result, mlp_out, mlp_out_neurons};
use crate::hooks::ActivationCache;
use crate::mask::SourceMask;
use crate::scrub::graph::{GraphNode, NodeId, Port, ScrubGraph};
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

/// What a node of the transformer graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Embed,
    PosEmbed,
    Head {
        layer: usize,
        head: usize,
    },
    /// A head's attention pattern (only in graphs built with `with_patterns`).
    Pattern {
        layer: usize,
        head: usize,
    },
    AttnBias {
        layer: usize,
    },
    Mlp {
        layer: usize,
    },
    Output,
}

/// A model and the token sequences of its dataset, seen as a scrubbing graph.
pub struct TransformerGraph<'m> {
    model: &'m Model,
    tokens: Vec<Vec<TokenId>>,
    nodes: Vec<GraphNode>,
    components: Vec<Component>,
    /// Whether heads read a separate pattern node (ports `pattern`, `v`).
    patterns: bool,
    /// Per datum, the rows whose logits are computed; every row when `None`.
    output_rows: Option<Vec<Vec<usize>>>,
    /// What each datum's forward pass left behind, for its plain values in later runs.
    replays: replay::ReplayStore,
}

/// Sequences of the plain pass computed per thread: big enough for efficient matrix products.
const PLAIN_CHUNK: usize = 64;

impl<'m> TransformerGraph<'m> {
    /// The graph of `model` over `tokens` (datum `i` is `tokens[i]`, each exactly n_ctx long).
    pub fn new(model: &'m Model, tokens: Vec<Vec<TokenId>>) -> Result<Self> {
        Self::build(model, tokens, false)
    }

    /// `new`, with every head's attention pattern as a node of its own.
    pub fn with_patterns(model: &'m Model, tokens: Vec<Vec<TokenId>>) -> Result<Self> {
        Self::build(model, tokens, true)
    }

    fn build(model: &'m Model, tokens: Vec<Vec<TokenId>>, patterns: bool) -> Result<Self> {
        let cfg = &model.config;
        let batch = TokenBatch::from_sequences(tokens.iter().map(Vec::as_slice));
        batch.validate(cfg)?;
        if let Some((i, s)) = tokens
            .iter()
            .enumerate()
            .find(|(_, s)| s.len() != cfg.n_ctx)
        {
            return Err(ModelError::Executor(format!(
                "scrubbing needs every sequence padded to n_ctx = {}; sequence {i} has {} tokens",
                cfg.n_ctx,
                s.len()
            )));
        }
        let d = cfg.d_model;
        let mut nodes = Vec::new();
        let mut components = Vec::new();
        let mut written: Vec<NodeId> = Vec::new();
        let add = |nodes: &mut Vec<GraphNode>,
                   components: &mut Vec<Component>,
                   name: String,
                   c: Component,
                   ports: Vec<Port>,
                   width: usize| {
            nodes.push(GraphNode { name, ports, width });
            components.push(c);
            NodeId(nodes.len() - 1)
        };
        written.push(add(
            &mut nodes,
            &mut components,
            "embed".into(),
            Component::Embed,
            vec![],
            d,
        ));
        if cfg.positional == PositionalKind::Standard {
            written.push(add(
                &mut nodes,
                &mut components,
                "pos_embed".into(),
                Component::PosEmbed,
                vec![],
                d,
            ));
        }
        for l in 0..cfg.n_layers {
            let before = written.clone();
            let port = |name: &str| Port {
                name: name.into(),
                terms: before.clone(),
            };
            for h in 0..cfg.n_heads {
                let ports = if patterns {
                    let pattern = add(
                        &mut nodes,
                        &mut components,
                        format!("blocks.{l}.attn.pattern.{h}"),
                        Component::Pattern { layer: l, head: h },
                        vec![port("q"), port("k")],
                        cfg.n_ctx,
                    );
                    let from_pattern = Port {
                        name: "pattern".into(),
                        terms: vec![pattern],
                    };
                    vec![from_pattern, port("v")]
                } else {
                    vec![port("q"), port("k"), port("v")]
                };
                let id = add(
                    &mut nodes,
                    &mut components,
                    format!("blocks.{l}.attn.head.{h}"),
                    Component::Head { layer: l, head: h },
                    ports,
                    d,
                );
                written.push(id);
            }
            written.push(add(
                &mut nodes,
                &mut components,
                format!("blocks.{l}.attn.b_O"),
                Component::AttnBias { layer: l },
                vec![],
                d,
            ));
            if cfg.d_mlp.is_some() {
                // A parallel block's MLP reads the stream its attention read, without this
                // layer's heads and attention bias.
                let port = Port {
                    name: "in".into(),
                    terms: match cfg.parallel_attn_mlp {
                        true => before.clone(),
                        false => written.clone(),
                    },
                };
                written.push(add(
                    &mut nodes,
                    &mut components,
                    format!("blocks.{l}.mlp"),
                    Component::Mlp { layer: l },
                    vec![port],
                    d,
                ));
            }
        }
        let port = Port {
            name: "in".into(),
            terms: written.clone(),
        };
        add(
            &mut nodes,
            &mut components,
            "unembed".into(),
            Component::Output,
            vec![port],
            cfg.d_vocab_out,
        );
        Ok(TransformerGraph {
            model,
            tokens,
            nodes,
            components,
            patterns,
            output_rows: None,
            replays: replay::ReplayStore::for_model(cfg),
        })
    }

    /// This graph with every plain value from a forward pass, none rebuilt from a stored
    /// replay (what the replays are checked against; also the least memory).
    pub fn without_replays(self) -> Self {
        self.with_replay_limit(0)
    }

    /// This graph keeping replays up to `bytes` whatever the model's size (by default a
    /// model whose forward pass is cheap keeps none).
    pub fn with_replay_limit(mut self, bytes: usize) -> Self {
        self.replays = replay::ReplayStore::with_limit(bytes);
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// The (padded) tokens of `datum`.
    pub fn tokens(&self, datum: DatumId) -> Option<&[TokenId]> {
        self.tokens.get(datum.index()).map(Vec::as_slice)
    }

    /// Number of data.
    pub fn n_data(&self) -> usize {
        self.tokens.len()
    }

    /// What node `id` is.
    pub fn component(&self, id: NodeId) -> Component {
        self.components[id.0]
    }

    /// The node of `c`, if the model has it.
    pub fn node_of(&self, c: Component) -> Option<NodeId> {
        self.components.iter().position(|&x| x == c).map(NodeId)
    }

    /// Whether heads read a separate pattern node ([`TransformerGraph::with_patterns`]).
    pub fn has_patterns(&self) -> bool {
        self.patterns
    }

    /// The hook holding (or leading to) `c`'s plain value.
    fn hook(&self, c: Component) -> Option<String> {
        Some(match c {
            Component::Embed => "hook_embed".into(),
            Component::PosEmbed => "hook_pos_embed".into(),
            Component::Head { layer, .. } => format!("blocks.{layer}.attn.hook_result"),
            Component::Pattern { layer, .. } => format!("blocks.{layer}.attn.hook_pattern"),
            Component::Mlp { layer } => format!("blocks.{layer}.hook_mlp_out"),
            Component::Output => match self.logits_from_block() {
                Some(l) => format!("blocks.{l}.hook_resid_post"),
                None => "hook_logits".into(),
            },
            Component::AttnBias { .. } => return None,
        })
    }

    fn value_from(&self, cache: &ActivationCache, c: Component, datum: DatumId) -> Vec<f32> {
        let (d, n) = (self.model.config.d_model, self.model.config.n_ctx);
        let recorded = || {
            let name = self.hook(c).expect("only biases lack hooks");
            cache.get(&name).expect("hook recorded")
        };
        match c {
            Component::AttnBias { layer } => self.model.weights.blocks[layer].attn.b_o.repeat(n),
            // hook_result is [pos, head, d_model]: gather the head's rows.
            Component::Head { head, .. } => {
                let (t, heads) = (recorded(), self.model.config.n_heads);
                (0..n)
                    .flat_map(|p| {
                        t.data[(p * heads + head) * d..(p * heads + head + 1) * d]
                            .iter()
                            .copied()
                    })
                    .collect()
            }
            // hook_pattern is [head, query, key].
            Component::Pattern { head, .. } => {
                recorded().data[head * n * n..(head + 1) * n * n].to_vec()
            }
            Component::Output if self.logits_from_block().is_some() => {
                self.logits(datum, &recorded().data)
            }
            Component::Output => {
                let mut logits = recorded().data.clone();
                self.zero_unscored_rows(datum, &mut logits);
                logits
            }
            Component::Embed | Component::PosEmbed | Component::Mlp { .. } => {
                recorded().data.clone()
            }
        }
    }

    /// The tokens of `home` and a check that `ports` fit `node`, as `recompute` needs them.
    fn inputs(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<&[TokenId]> {
        let g = self
            .nodes
            .get(node.0)
            .ok_or_else(|| ModelError::Executor(format!("node {} is not in the graph", node.0)))?;
        if ports.len() != g.ports.len() {
            return Err(ModelError::Executor(format!(
                "`{}` has {} ports, got {} inputs",
                g.name,
                g.ports.len(),
                ports.len()
            )));
        }
        for (port, value) in g.ports.iter().zip(ports) {
            let width = port.terms.first().map_or(0, |t| self.nodes[t.0].width);
            if value.len() != self.rows() * width {
                return Err(ModelError::Executor(format!(
                    "port `{}` of `{}` holds {} values, not [{}, {width}]",
                    port.name,
                    g.name,
                    value.len(),
                    self.rows()
                )));
            }
        }
        self.tokens(home)
            .ok_or_else(|| ModelError::Executor(format!("datum {} is outside the dataset", home.0)))
    }
}

impl ScrubGraph for TransformerGraph<'_> {
    fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    fn output(&self) -> NodeId {
        NodeId(self.nodes.len() - 1)
    }

    fn rows(&self) -> usize {
        self.model.config.n_ctx
    }

    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        self.plain_on(data, nodes, None)
    }

    fn plain_rows(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        rows: &[usize],
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        if let Some(r) = rows.iter().find(|&&r| r >= self.rows()) {
            return Err(ModelError::Executor(format!(
                "row {r} is outside the {} positions",
                self.rows()
            )));
        }
        self.plain_on(data, nodes, Some(rows))
    }

    fn recompute(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        let tokens = self.inputs(node, home, ports)?;
        let m = self.model;
        Ok(match self.components[node.0] {
            Component::Head { layer, head } if self.patterns => {
                head_from_pattern(m, layer, head, &ports[0], &ports[1], &SourceMask::All)
            }
            Component::Head { layer, head } => {
                head_result(m, layer, head, &ports[0], &ports[1], &ports[2], tokens)
            }
            Component::Pattern { layer, head } => {
                head_pattern(m, layer, head, &ports[0], &ports[1], tokens)
            }
            Component::Mlp { layer } => mlp_out(m, layer, &ports[0]),
            Component::Output => self.logits(home, &ports[0]),
            c => {
                return Err(ModelError::Executor(format!(
                    "{c:?} has no inputs and cannot be recomputed"
                )))
            }
        })
    }

    fn recompute_vjp(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        d_out: &[f32],
    ) -> Result<Vec<Vec<f32>>> {
        self.vjp(node, home, ports, d_out)
    }

    fn maskable(&self, node: NodeId) -> bool {
        matches!(self.components.get(node.0), Some(Component::Head { .. }))
    }

    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        match self.components.get(node.0) {
            Some(Component::Mlp { .. }) => self.model.config.d_mlp,
            _ => None,
        }
    }

    /// The MLP's hidden activations are computed for every row of the batch at once, as
    /// the full MLP computes them; the neurons outside `neurons` are zeroed.
    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> Result<Vec<f32>> {
        let name = |n: NodeId| self.nodes.get(n.0).map_or("?", |g| g.name.as_str());
        let (Some(Component::Mlp { layer }), Some(m)) =
            (self.components.get(node.0), self.hidden_width(node))
        else {
            return Err(ModelError::Executor(format!(
                "`{}` is not an MLP; only MLPs can be split by hidden neuron",
                name(node)
            )));
        };
        let d = self.model.config.d_model;
        let want = homes.len() * self.rows() * d;
        if ports.len() != 1 || ports[0].len() != want {
            return Err(ModelError::Executor(format!(
                "`{}` takes one port of {} samples of [{}, {d}] ({want} values); got {} ports \
                 of {:?} values",
                name(node),
                homes.len(),
                self.rows(),
                ports.len(),
                ports.iter().map(Vec::len).collect::<Vec<_>>()
            )));
        }
        if let Some(h) = homes.iter().find(|h| h.index() >= self.tokens.len()) {
            return Err(ModelError::Executor(format!(
                "datum {} is outside the dataset",
                h.0
            )));
        }
        let mut keep = vec![false; m];
        for &i in neurons {
            *keep.get_mut(i).ok_or_else(|| {
                ModelError::Executor(format!(
                    "`{}` has {m} hidden neurons; there is no neuron {i}",
                    name(node)
                ))
            })? = true;
        }
        Ok(mlp_out_neurons(self.model, *layer, &ports[0], &keep, bias))
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> Result<Vec<f32>> {
        let tokens = self.inputs(node, home, ports)?;
        let Component::Head { layer, head } = self.components[node.0] else {
            return Err(ModelError::Executor(format!(
                "`{}` is not an attention head; only heads can be split by source position",
                self.nodes[node.0].name
            )));
        };
        let m = self.model;
        let computed;
        let pattern = if self.patterns {
            &ports[0]
        } else {
            computed = head_pattern(m, layer, head, &ports[0], &ports[1], tokens);
            &computed
        };
        let v = ports.last().expect("a head has ports");
        Ok(head_from_pattern(m, layer, head, pattern, v, mask))
    }
}

#[path = "transformer_vjp.rs"]
mod vjp;

#[path = "transformer_layer0.rs"]
mod layer0;

#[path = "transformer_replay.rs"]
mod replay;

#[path = "transformer_plain.rs"]
mod plain;

#[cfg(test)]
#[path = "transformer_replay_tests.rs"]
mod replay_tests;

#[path = "transformer_output_rows.rs"]
mod output_rows;

#[cfg(test)]
#[path = "transformer_layer0_tests.rs"]
mod layer0_tests;

#[cfg(test)]
#[path = "transformer_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "transformer_forms_tests.rs"]
mod forms_tests;

#[cfg(test)]
#[path = "transformer_llama_tests.rs"]
mod llama_tests;

#[cfg(test)]
#[path = "transformer_neox_tests.rs"]
mod neox_tests;
