//! The transformer as a scrubbing graph, evaluated on the GPU. The graph itself (nodes,
//! ports, the dataset) is core's [`TransformerGraph`]; this only computes its values: plain
//! values from one GPU forward per batch of data that writes the requested intermediates
//! out ([`GpuExecutor::hooks`]), and recomputed nodes with [`crate::recompute`].
//! Inputs and outputs cross between host and GPU on every call, as the evaluator assembles
//! ports on the host. Nodes the kernels do not compute (attention patterns, heads that read
//! a pattern node, the parts of a source-mask or hidden-neuron split) go to the CPU graph;
//! logits restricted to output rows are computed in full and the other rows zeroed.
//! Gradients of recomputed nodes ([`ScrubGraph::recompute_vjp`]) run on the GPU with
//! [`crate::gradient`] except for the same pattern nodes and the heads reading them.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::scrub::{GraphNode, NodeId, ScrubGraph};
use scrub_core::{DatumId, ModelError, SourceMask, TokenBatch, TokenId};

use crate::device::GpuContext;
use crate::error::{GpuError, Result};
use crate::executor::{GpuExecutor, HookChunk};
use crate::gradient::Backward;
use crate::recompute::Recompute;
use crate::workspace::Hook;

/// A [`TransformerGraph`] whose values are computed on a wgpu device.
pub struct GpuScrubGraph<'g> {
    graph: &'g TransformerGraph<'g>,
    executor: GpuExecutor,
    recompute: Recompute,
    /// The backward kernels, compiled on the first gradient asked for (most graphs never
    /// differentiate).
    backward: Mutex<Option<Arc<Backward>>>,
}

impl std::fmt::Debug for GpuScrubGraph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuScrubGraph")
            .field("executor", &self.executor)
            .field("nodes", &self.graph.nodes().len())
            .field("data", &self.graph.n_data())
            .finish()
    }
}

/// The error the CPU graph gives for bad input, so both executors read alike.
fn bad(message: String) -> ModelError {
    ModelError::Executor(message)
}

impl<'g> GpuScrubGraph<'g> {
    /// Uploads `graph`'s model to `ctx`'s device and compiles its kernels.
    pub fn new(ctx: Arc<GpuContext>, graph: &'g TransformerGraph<'g>) -> Result<Self> {
        let executor = GpuExecutor::with_hooks(ctx.clone(), graph.model())?;
        let recompute = Recompute::new(ctx, graph.model(), executor.max_rows_per_chunk())?;
        Ok(GpuScrubGraph {
            graph,
            executor,
            recompute,
            backward: Mutex::new(None),
        })
    }

    /// Caps the rows of one chunk of the plain forward and of a recomputation (tests use
    /// this to put chunk boundaries inside small batches); a recomputation still takes at
    /// least one sample per chunk.
    pub fn set_max_rows_per_chunk(&mut self, rows: usize) {
        self.executor.set_max_rows_per_chunk(rows);
        self.recompute.reset();
    }

    /// The graph whose values this computes.
    pub fn graph(&self) -> &'g TransformerGraph<'g> {
        self.graph
    }

    /// The executor running the plain forward.
    pub fn executor(&self) -> &GpuExecutor {
        &self.executor
    }

    /// The tokens of `datum`, or the CPU graph's error for a datum outside the dataset.
    fn tokens(&self, datum: DatumId) -> scrub_core::Result<&'g [TokenId]> {
        self.graph.tokens(datum).ok_or_else(|| {
            bad(format!(
                "datum {} is outside the dataset of {} sequences",
                datum.0,
                self.graph.n_data()
            ))
        })
    }

    fn component(&self, node: NodeId) -> scrub_core::Result<Component> {
        if node.0 >= self.graph.nodes().len() {
            return Err(bad(format!(
                "node {} is not in the graph of {} nodes",
                node.0,
                self.graph.nodes().len()
            )));
        }
        Ok(self.graph.component(node))
    }

    /// One datum's value of `c` that needs no forward: embeddings and attention biases.
    fn host_value(&self, c: Component, tokens: &[TokenId]) -> Option<Vec<f32>> {
        let m = self.graph.model();
        let (d, n) = (m.config.d_model, m.config.n_ctx);
        match c {
            Component::Embed => Some(
                tokens
                    .iter()
                    .flat_map(|t| {
                        let at = t.0 as usize * d;
                        m.weights.w_e[at..at + d].iter().copied()
                    })
                    .collect(),
            ),
            Component::PosEmbed => Some(m.weights.w_pos[..n * d].to_vec()),
            Component::AttnBias { layer } => Some(m.weights.blocks[layer].attn.b_o.repeat(n)),
            _ => None,
        }
    }

    /// The backward kernels, compiled now if this is the first gradient.
    fn backward(&self) -> Result<Arc<Backward>> {
        // Compiling cannot leave the slot half-written, so a poisoned lock is still usable.
        let mut slot = self.backward.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = slot.as_ref() {
            return Ok(b.clone());
        }
        let b = Arc::new(Backward::new(
            self.executor.context().clone(),
            &self.graph.model().config,
            &self.recompute,
        )?);
        *slot = Some(b.clone());
        Ok(b)
    }

    /// Checks that `ports` hold `samples` samples of every port of node `g`, with the CPU
    /// graph's wording.
    fn check_ports(
        &self,
        g: &GraphNode,
        samples: usize,
        ports: &[Vec<f32>],
    ) -> scrub_core::Result<()> {
        if ports.len() != g.ports.len() {
            return Err(bad(format!(
                "`{}` has {} ports, got {} inputs",
                g.name,
                g.ports.len(),
                ports.len()
            )));
        }
        let rows = self.graph.rows();
        for (p, (port, value)) in g.ports.iter().zip(ports).enumerate() {
            let width = port.terms.first().map_or(0, |&t| self.graph.node(t).width);
            let want = samples * rows * width;
            if value.len() != want {
                return Err(bad(format!(
                    "port {p} (`{}`) of `{}` holds {} values; {samples} samples of [{rows}, \
                     {width}] need {want}",
                    port.name,
                    g.name,
                    value.len(),
                )));
            }
        }
        Ok(())
    }

    /// Whether node kind `c` is computed by the CPU graph: the kernels have no pattern
    /// hook and no attention from a given pattern.
    fn on_cpu(&self, c: Component) -> bool {
        match c {
            Component::Pattern { .. } => true,
            Component::Head { .. } => self.graph.has_patterns(),
            _ => false,
        }
    }

    /// Plain values of nodes the GPU forward computes.
    fn plain_on_gpu(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
    ) -> scrub_core::Result<Vec<Vec<Vec<f32>>>> {
        let tokens = data
            .iter()
            .map(|&d| self.tokens(d))
            .collect::<scrub_core::Result<Vec<_>>>()?;
        let components = nodes
            .iter()
            .map(|&n| self.component(n))
            .collect::<scrub_core::Result<Vec<_>>>()?;
        // Which hook holds each node's value, and which block of its rows.
        let hook_of = |c: Component| match c {
            Component::Head { layer, head } => Some((Hook::HeadResults { layer }, head)),
            Component::Mlp { layer } => Some((Hook::MlpOut { layer }, 0)),
            Component::Output => Some((Hook::Logits, 0)),
            Component::Embed
            | Component::PosEmbed
            | Component::AttnBias { .. }
            | Component::Pattern { .. } => None,
        };
        let mut hooks: Vec<Hook> = components
            .iter()
            .filter_map(|&c| hook_of(c).map(|h| h.0))
            .collect();
        hooks.sort();
        hooks.dedup();
        let n = self.graph.rows();
        // Datum `i`'s values, its hooks read from `chunk`, whose first row is the batch's
        // row `chunk.rows.start` (every datum is exactly n rows, so chunks hold whole data).
        let values_of = |i: usize, chunk: Option<&HookChunk<'_>>| {
            nodes
                .iter()
                .zip(&components)
                .map(|(&node, &c)| match (hook_of(c), chunk) {
                    (Some((hook, block)), Some(chunk)) => {
                        let first = i * n - chunk.rows.start;
                        let mut v = Vec::with_capacity(n * self.graph.node(node).width);
                        for r in first..first + n {
                            v.extend_from_slice(chunk.block(hook, r, block)?);
                        }
                        Some(v)
                    }
                    (Some(_), None) => None,
                    (None, _) => self.host_value(c, tokens[i]),
                })
                .collect::<Option<Vec<Vec<f32>>>>()
                .ok_or_else(|| {
                    GpuError::Shape(format!("intermediates of datum {i} missing after readback"))
                })
        };
        // Copying out of the readback buffer is most of a plain call's time on a real GPU,
        // so data are filled in parallel.
        let mut out: Vec<Vec<Vec<f32>>> = vec![Vec::new(); data.len()];
        if hooks.is_empty() {
            out.par_iter_mut()
                .enumerate()
                .try_for_each(|(i, o)| values_of(i, None).map(|v| *o = v))?;
        } else if !data.is_empty() {
            let batch = TokenBatch::from_sequences(tokens.iter().copied());
            self.executor.hooks_with(&batch, &hooks, &mut |chunk| {
                let (d0, d1) = (chunk.rows.start / n, chunk.rows.end.div_ceil(n));
                out[d0..d1]
                    .par_iter_mut()
                    .enumerate()
                    .try_for_each(|(k, o)| values_of(d0 + k, Some(chunk)).map(|v| *o = v))
            })?;
        }
        Ok(out)
    }
}

impl ScrubGraph for GpuScrubGraph<'_> {
    fn nodes(&self) -> &[GraphNode] {
        self.graph.nodes()
    }

    fn output(&self) -> NodeId {
        self.graph.output()
    }

    fn rows(&self) -> usize {
        self.graph.rows()
    }

    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> scrub_core::Result<Vec<Vec<Vec<f32>>>> {
        let components = nodes
            .iter()
            .map(|&n| self.component(n))
            .collect::<scrub_core::Result<Vec<_>>>()?;
        // The kernels record no attention patterns: those come from the CPU graph.
        let no_hook = |c: &Component| matches!(c, Component::Pattern { .. });
        let pick = |cpu: bool| -> Vec<NodeId> {
            nodes
                .iter()
                .zip(&components)
                .filter(|(_, c)| no_hook(c) == cpu)
                .map(|(&n, _)| n)
                .collect()
        };
        let (cpu, gpu) = (pick(true), pick(false));
        let mut from_gpu = self.plain_on_gpu(data, &gpu)?.into_iter();
        let mut from_cpu = match cpu.is_empty() {
            true => vec![Vec::new(); data.len()],
            false => self.graph.plain(data, &cpu)?,
        }
        .into_iter();
        let mut out = Vec::with_capacity(data.len());
        for &d in data {
            let (mut g, mut c) = (
                from_gpu.next().unwrap_or_default().into_iter(),
                from_cpu.next().unwrap_or_default().into_iter(),
            );
            let mut values = Vec::with_capacity(nodes.len());
            for &comp in &components {
                let source = if no_hook(&comp) { &mut c } else { &mut g };
                let mut v = source.next().ok_or_else(|| {
                    GpuError::Shape(format!("plain values of datum {} missing", d.0))
                })?;
                if comp == Component::Output {
                    self.graph.zero_unscored_rows(d, &mut v);
                }
                values.push(v);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn recompute(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
    ) -> scrub_core::Result<Vec<f32>> {
        self.recompute_batch(node, &[home], ports)
    }

    fn recompute_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
    ) -> scrub_core::Result<Vec<f32>> {
        let c = self.component(node)?;
        let g = self.graph.node(node);
        if g.ports.is_empty() {
            return Err(bad(format!("{c:?} has no inputs and cannot be recomputed")));
        }
        self.check_ports(g, homes.len(), ports)?;
        let tokens = homes
            .iter()
            .map(|&d| self.tokens(d))
            .collect::<scrub_core::Result<Vec<_>>>()?;
        if self.on_cpu(c) {
            return self.graph.recompute_batch(node, homes, ports);
        }
        let ports: Vec<&[f32]> = ports.iter().map(Vec::as_slice).collect();
        let mut out = self.recompute.run(&self.executor, c, &tokens, &ports)?;
        if c == Component::Output && !homes.is_empty() {
            let len = out.len() / homes.len();
            for (logits, &home) in out.chunks_exact_mut(len).zip(homes) {
                self.graph.zero_unscored_rows(home, logits);
            }
        }
        Ok(out)
    }

    /// On the GPU for heads from their q/k/v inputs, MLPs and the unembedding, in every
    /// architecture the forward runs (LayerNorm, LNPre, RMSNorm or none; standard,
    /// shortformer or rotary positions, partial rotary, grouped-query attention; causal or
    /// bidirectional attention with pad keys masked; plain or gated MLPs with ReLU, both
    /// GELUs or SiLU). Delegated to the CPU graph: graphs built with patterns (pattern nodes
    /// and the heads that read them, which the forward kernels do not compute either) and
    /// nodes without ports (for its error).
    fn recompute_vjp(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        d_out: &[f32],
    ) -> scrub_core::Result<Vec<Vec<f32>>> {
        let c = self.component(node)?;
        let g = self.graph.node(node);
        if self.on_cpu(c) || g.ports.is_empty() {
            return self.graph.recompute_vjp(node, home, ports, d_out);
        }
        self.check_ports(g, 1, ports)?;
        let want = self.graph.rows() * g.width;
        if d_out.len() != want {
            return Err(bad(format!(
                "the gradient of `{}` holds {} values, not [{}, {}]",
                g.name,
                d_out.len(),
                self.graph.rows(),
                g.width
            )));
        }
        let tokens = self.tokens(home)?;
        // Logit rows the graph leaves at zero do not depend on the input.
        let mut d = d_out.to_vec();
        if c == Component::Output {
            self.graph.zero_unscored_rows(home, &mut d);
        }
        let ports: Vec<&[f32]> = ports.iter().map(Vec::as_slice).collect();
        let backward = self.backward()?;
        Ok(backward.run(&self.executor, &self.recompute, c, tokens, &ports, &d)?)
    }

    fn maskable(&self, node: NodeId) -> bool {
        self.graph.maskable(node)
    }

    fn recompute_masked(
        &self,
        node: NodeId,
        home: DatumId,
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> scrub_core::Result<Vec<f32>> {
        self.graph.recompute_masked(node, home, ports, mask)
    }

    fn recompute_masked_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        mask: &SourceMask,
    ) -> scrub_core::Result<Vec<f32>> {
        self.graph.recompute_masked_batch(node, homes, ports, mask)
    }

    fn hidden_width(&self, node: NodeId) -> Option<usize> {
        self.graph.hidden_width(node)
    }

    fn recompute_neurons_batch(
        &self,
        node: NodeId,
        homes: &[DatumId],
        ports: &[Vec<f32>],
        neurons: &[usize],
        bias: bool,
    ) -> scrub_core::Result<Vec<f32>> {
        self.graph
            .recompute_neurons_batch(node, homes, ports, neurons, bias)
    }
}
