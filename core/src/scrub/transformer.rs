//! The transformer as a scrubbing graph. Nodes are the additive terms of the residual stream
//! (`embed`, `pos_embed`, each head's output `blocks.L.attn.head.H`, each attention bias
//! `blocks.L.attn.b_O`, each `blocks.L.mlp`) and the output `unembed` (ln_final and the
//! unembedding). A head has ports `q`, `k`, `v`; an MLP and the output one port `in`; each
//! port sums every term written to the residual stream before it. Values are
//! `[n_ctx, width]`: every datum is a sequence of exactly n_ctx tokens (pad as needed).

use rayon::prelude::*;

use crate::config::PositionalKind;
use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::forward::{forward_through, head_result, mlp_out, unembed};
use crate::hooks::ActivationCache;
use crate::scrub::graph::{GraphNode, NodeId, Port, ScrubGraph};
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

/// What a node of the transformer graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Embed,
    PosEmbed,
    Head { layer: usize, head: usize },
    AttnBias { layer: usize },
    Mlp { layer: usize },
    Output,
}

/// A model and the token sequences of its dataset, seen as a scrubbing graph.
pub struct TransformerGraph<'m> {
    model: &'m Model,
    tokens: Vec<Vec<TokenId>>,
    nodes: Vec<GraphNode>,
    components: Vec<Component>,
}

/// Sequences of the plain pass computed per thread: big enough for efficient matrix products.
const PLAIN_CHUNK: usize = 64;

impl<'m> TransformerGraph<'m> {
    /// The graph of `model` over `tokens` (datum `i` is `tokens[i]`, each exactly n_ctx long).
    pub fn new(model: &'m Model, tokens: Vec<Vec<TokenId>>) -> Result<Self> {
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
                let id = add(
                    &mut nodes,
                    &mut components,
                    format!("blocks.{l}.attn.head.{h}"),
                    Component::Head { layer: l, head: h },
                    vec![port("q"), port("k"), port("v")],
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
                let port = Port {
                    name: "in".into(),
                    terms: written.clone(),
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
        })
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

    /// The hook holding `c`'s plain value, and which head of it.
    fn hook(&self, c: Component) -> Option<(String, Option<usize>)> {
        match c {
            Component::Embed => Some(("hook_embed".into(), None)),
            Component::PosEmbed => Some(("hook_pos_embed".into(), None)),
            Component::Head { layer, head } => {
                Some((format!("blocks.{layer}.attn.hook_result"), Some(head)))
            }
            Component::Mlp { layer } => Some((format!("blocks.{layer}.hook_mlp_out"), None)),
            Component::Output => Some(("hook_logits".into(), None)),
            Component::AttnBias { .. } => None,
        }
    }

    fn value_from(&self, cache: &ActivationCache, c: Component) -> Vec<f32> {
        let (d, n) = (self.model.config.d_model, self.model.config.n_ctx);
        match (c, self.hook(c)) {
            (Component::AttnBias { layer }, _) => {
                self.model.weights.blocks[layer].attn.b_o.repeat(n)
            }
            (_, Some((name, None))) => cache.get(&name).expect("hook recorded").data.clone(),
            (_, Some((name, Some(h)))) => {
                let t = cache.get(&name).expect("hook recorded");
                let heads = self.model.config.n_heads;
                (0..n)
                    .flat_map(|p| {
                        t.data[(p * heads + h) * d..(p * heads + h + 1) * d]
                            .iter()
                            .copied()
                    })
                    .collect()
            }
            (_, None) => unreachable!("only biases lack hooks"),
        }
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
        let mut keep: Vec<String> = nodes
            .iter()
            .filter_map(|&n| self.hook(self.components[n.0]).map(|h| h.0))
            .collect();
        keep.sort();
        keep.dedup();
        if let Some(d) = data.iter().find(|d| d.index() >= self.tokens.len()) {
            return Err(ModelError::Executor(format!(
                "datum {} is outside the dataset of {} sequences",
                d.0,
                self.tokens.len()
            )));
        }
        // The pass can stop after the last block any requested node lives in.
        let last = nodes
            .iter()
            .map(|&n| match self.components[n.0] {
                Component::Embed | Component::PosEmbed => Some(0),
                Component::Head { layer, .. }
                | Component::Mlp { layer }
                | Component::AttnBias { layer } => Some(layer),
                Component::Output => None,
            })
            .try_fold(0usize, |acc, l| l.map(|l| acc.max(l)));
        let chunks: Vec<Vec<Vec<Vec<f32>>>> = data
            .par_chunks(PLAIN_CHUNK)
            .map(|chunk| {
                let batch = TokenBatch::from_sequences(
                    chunk.iter().map(|d| self.tokens[d.index()].as_slice()),
                );
                let mut caches = Vec::new();
                forward_through(self.model, &batch, Some(&mut caches), Some(&keep), last);
                caches
                    .iter()
                    .map(|c| {
                        nodes
                            .iter()
                            .map(|&n| self.value_from(c, self.components[n.0]))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Ok(chunks.into_iter().flatten().collect())
    }

    fn recompute(&self, node: NodeId, home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        let tokens = self.tokens.get(home.index()).ok_or_else(|| {
            ModelError::Executor(format!("datum {} is outside the dataset", home.0))
        })?;
        Ok(match self.components[node.0] {
            Component::Head { layer, head } => head_result(
                self.model, layer, head, &ports[0], &ports[1], &ports[2], tokens,
            ),
            Component::Mlp { layer } => mlp_out(self.model, layer, &ports[0]),
            Component::Output => unembed(self.model, &ports[0]),
            c => {
                return Err(ModelError::Executor(format!(
                    "{c:?} has no inputs and cannot be recomputed"
                )))
            }
        })
    }
}

#[cfg(test)]
#[path = "transformer_tests.rs"]
mod tests;
