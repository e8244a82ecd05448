//! Attribution patching beside activation patching, on any differentiable scrubbing graph.
//! For a reference datum and a corrupted one (by default the datum a hypothesis would
//! resample), the attribution of a candidate is (a_corrupted − a_reference) · ∂metric/∂a
//! at the reference, where `a` is a node's value (or a residual stream's terms) and, for an
//! edge, the gradient is that of the receiving port alone; the actual effect is the
//! metric's change when the candidate is patched and everything downstream recomputed
//! ([`patch`]). Both are measured per sample on the same pairs.

pub mod candidates;
pub mod correlation;
pub mod pairs;
pub mod patch;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::experiment::Progress;
use crate::feature::DatumId;
use crate::gradient::graph::backward;
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::run::{Score, ScoreGradient};
use crate::stats::Estimate;

pub use candidates::{candidates, Candidate, Kind, Selection};
pub use pairs::pairs;
pub use patch::{patched_outputs, Site};

/// One datum's plain value of every node, by node index.
type Values<'a> = &'a [Vec<f32>];

/// Pairs evaluated together. Small on purpose: larger batches measured slower (their
/// buffers stop being reused and come back as freshly zeroed pages).
pub const CHUNK: usize = 2;

/// What an attribution run compares on.
pub struct AttributionSpec<'a> {
    /// `(reference, corrupted)` data, one pair per sample.
    pub pairs: &'a [(DatumId, DatumId)],
    /// The metric of an output against its reference (lower is better).
    pub score: &'a Score<'a>,
    /// Its gradient with respect to the output.
    pub gradient: &'a ScoreGradient<'a>,
    /// Whether to measure the actual patching effect too.
    pub actual: bool,
}

/// One candidate's figures over the samples.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateResult {
    pub name: String,
    pub kind: Kind,
    /// Mean attribution with its standard error.
    pub attribution: Estimate,
    /// Mean actual patching effect (metric after patching − metric before).
    pub actual: Option<Estimate>,
    /// Per sample, in pair order (not serialised: reports keep the estimates).
    #[serde(skip)]
    pub attribution_per_sample: Vec<f64>,
    #[serde(skip)]
    pub actual_per_sample: Option<Vec<f64>>,
    /// Mean attribution at each row (position) for whole-node and whole-stream candidates.
    pub attribution_by_row: Option<Vec<f64>>,
    /// Whether the candidate's value was the same on both data of every pair (a bias, a
    /// position embedding): nothing to attribute.
    pub constant: bool,
}

/// What an attribution run measured.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// One per candidate, in the candidates' order.
    pub candidates: Vec<CandidateResult>,
    /// The references' own metric (unpatched), per sample.
    pub reference_metric: Vec<f64>,
}

/// Attribution (and, when asked, the actual effect) of every candidate on every pair.
pub fn attribute(
    graph: &dyn ScrubGraph,
    candidates: &[Candidate],
    spec: &AttributionSpec,
    progress: &dyn Progress,
) -> Result<Attribution> {
    let pairs = spec.pairs;
    if pairs.len() < crate::stats::MIN_SAMPLES {
        return Err(crate::stats::StatsError::TooFewSamples {
            what: "attribution".into(),
            got: pairs.len(),
        }
        .into());
    }
    let all: Vec<NodeId> = (0..graph.nodes().len()).map(NodeId).collect();
    let out = graph.output();
    let rows = graph.rows();
    let n = candidates.len();
    let mut attr: Vec<Vec<f64>> = vec![Vec::with_capacity(pairs.len()); n];
    let mut actual: Vec<Vec<f64>> = vec![Vec::with_capacity(pairs.len()); n];
    let mut by_row: Vec<Vec<f64>> = vec![vec![0.0; rows]; n];
    let mut differs = vec![false; n];
    let mut reference_metric = Vec::with_capacity(pairs.len());
    let bar = progress.start(pairs.len() as u64, "attribution");
    // Seconds in the plain pass, the backward pass, the dot products and the patching.
    let mut phases = [0.0f64; 4];
    let mut clock = std::time::Instant::now();
    let mut lap = |phase: usize, clock: &mut std::time::Instant| {
        phases[phase] += clock.elapsed().as_secs_f64();
        *clock = std::time::Instant::now();
    };
    for chunk in pairs.chunks(CHUNK) {
        crate::cancel::check()?;
        let data: Vec<DatumId> = chunk.iter().flat_map(|&(r, c)| [r, c]).collect();
        let values = graph.plain(&data, &all)?;
        lap(0, &mut clock);
        let (refs, corrs): (Vec<Values>, Vec<Values>) = values
            .chunks_exact(2)
            .map(|v| (v[0].as_slice(), v[1].as_slice()))
            .unzip();
        let homes: Vec<DatumId> = chunk.iter().map(|&(r, _)| r).collect();
        // The actual effects are differences from the output recomputed as patched outputs
        // are; the report's reference metric is that output's. Without them the plain
        // output is the same up to rounding and costs no second unembedding.
        let base: Vec<f64> = match spec.actual {
            true => patch::recomputed_outputs(graph, &homes, &refs)?,
            false => refs.iter().map(|v| v[out.0].clone()).collect(),
        }
        .iter()
        .zip(&homes)
        .map(|(o, &h)| (spec.score)(h, o).0)
        .collect();
        reference_metric.extend(&base);
        let grads = homes
            .par_iter()
            .zip(&refs)
            .map(|(&h, v)| backward(graph, h, v, &(spec.gradient)(h, &v[out.0])))
            .collect::<Result<Vec<_>>>()?;
        lap(1, &mut clock);
        for s in 0..chunk.len() {
            let mut dots = SetDots::new(graph, refs[s], corrs[s], &grads[s]);
            for (c, cand) in candidates.iter().enumerate() {
                let (a, rowwise, moved) = dots.attribution(&cand.site);
                attr[c].push(a);
                differs[c] |= moved;
                if let Some(rw) = rowwise {
                    by_row[c].iter_mut().zip(rw).for_each(|(acc, x)| *acc += x);
                }
            }
        }
        lap(2, &mut clock);
        if spec.actual {
            for (c, cand) in candidates.iter().enumerate() {
                let outs = patched_outputs(graph, &homes, &refs, &corrs, &cand.site)?;
                for (s, o) in outs.iter().enumerate() {
                    actual[c].push((spec.score)(homes[s], o).0 - base[s]);
                }
            }
            lap(3, &mut clock);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    tracing::debug!(
        "attribution: {:.2} s plain pass, {:.2} s backward, {:.2} s attribution, {:.2} s patching",
        phases[0],
        phases[1],
        phases[2],
        phases[3]
    );
    let total = pairs.len() as f64;
    let results = candidates
        .iter()
        .enumerate()
        .map(|(c, cand)| {
            let whole = matches!(cand.site, Site::Nodes { row: None, .. });
            Ok(CandidateResult {
                name: cand.name.clone(),
                kind: cand.kind,
                attribution: Estimate::of(&attr[c], &cand.name)?,
                actual: match spec.actual {
                    true => Some(Estimate::of(&actual[c], &cand.name)?),
                    false => None,
                },
                attribution_per_sample: std::mem::take(&mut attr[c]),
                actual_per_sample: spec.actual.then(|| std::mem::take(&mut actual[c])),
                attribution_by_row: whole.then(|| by_row[c].iter().map(|x| x / total).collect()),
                constant: !differs[c],
            })
        })
        .collect::<std::result::Result<Vec<_>, crate::stats::StatsError>>()
        .map_err(ModelError::from)?;
    Ok(Attribution {
        candidates: results,
        reference_metric,
    })
}

/// One sample's per-row dot products `(a_corrupted − a_reference) · gradient`, summed over
/// each node set a candidate patches, computed once per set: the candidates at every
/// position of one residual stream share them.
struct SetDots<'a> {
    graph: &'a dyn ScrubGraph,
    reference: Values<'a>,
    corrupted: Values<'a>,
    grads: &'a crate::gradient::GraphGradients,
    /// By node set: the dot product at each row and whether that row differs at all.
    sets: std::collections::HashMap<Vec<NodeId>, (Vec<f64>, Vec<bool>)>,
}

impl<'a> SetDots<'a> {
    fn new(
        graph: &'a dyn ScrubGraph,
        reference: Values<'a>,
        corrupted: Values<'a>,
        grads: &'a crate::gradient::GraphGradients,
    ) -> Self {
        SetDots {
            graph,
            reference,
            corrupted,
            grads,
            sets: std::collections::HashMap::new(),
        }
    }

    /// `n`'s contribution at each row against the gradient `g`, into `acc`, with the rows
    /// where its values move.
    fn dot_rows(&self, n: NodeId, g: &[f32], acc: &mut [f64], moved: &mut [bool]) {
        let w = self.graph.nodes()[n.0].width;
        let (c, r) = (&self.corrupted[n.0], &self.reference[n.0]);
        let rows = c
            .chunks_exact(w)
            .zip(r.chunks_exact(w))
            .zip(g.chunks_exact(w));
        for (((c, r), g), (a, m)) in rows.zip(acc.iter_mut().zip(moved.iter_mut())) {
            // Eight running sums, so that the loop vectorises (a single one is a chain of
            // dependent additions); differences of two f32 are exact in f64.
            let mut sums = [0.0f64; 8];
            let mut any = false;
            let (c8, r8, g8) = (c.chunks_exact(8), r.chunks_exact(8), g.chunks_exact(8));
            let tail = c8
                .remainder()
                .iter()
                .zip(r8.remainder())
                .zip(g8.remainder());
            for ((c, r), g) in c8.zip(r8).zip(g8) {
                for k in 0..8 {
                    let delta = c[k] as f64 - r[k] as f64;
                    any |= delta != 0.0;
                    sums[k] += delta * g[k] as f64;
                }
            }
            for ((&c, &r), &g) in tail {
                let delta = c as f64 - r as f64;
                any |= delta != 0.0;
                sums[0] += delta * g as f64;
            }
            *a += sums.iter().sum::<f64>();
            *m |= any;
        }
    }

    /// The attribution of `site`, its per-row parts for whole-node sites, and whether the
    /// patched values differ from the reference's at all.
    fn attribution(&mut self, site: &Site) -> (f64, Option<Vec<f64>>, bool) {
        let rows = self.graph.rows();
        match site {
            Site::Nodes { nodes, row } => {
                if !self.sets.contains_key(nodes) {
                    let mut acc = vec![0.0f64; rows];
                    let mut moved = vec![false; rows];
                    for &n in nodes {
                        match nodes.len() {
                            1 => self.dot_rows(n, &self.grads.nodes[n.0], &mut acc, &mut moved),
                            _ => {
                                let g = outside(self.graph, nodes, n, self.grads);
                                self.dot_rows(n, &g, &mut acc, &mut moved)
                            }
                        }
                    }
                    self.sets.insert(nodes.clone(), (acc, moved));
                }
                let (acc, moved) = &self.sets[nodes];
                match row {
                    None => (acc.iter().sum(), Some(acc.clone()), moved.contains(&true)),
                    Some(r) => (acc[*r], None, moved[*r]),
                }
            }
            Site::Edge { from, to, port } => {
                let mut acc = vec![0.0f64; rows];
                let mut moved = vec![false; rows];
                self.dot_rows(*from, &self.grads.ports[to.0][*port], &mut acc, &mut moved);
                (acc.iter().sum(), None, moved.contains(&true))
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// The gradient of `n`'s value through the readers outside `set` alone: the patched nodes
/// are overwritten, not recomputed, so a change of one reaches the metric only through
/// them (its own gradient would count its effect through the others a second time).
fn outside(
    graph: &dyn ScrubGraph,
    set: &[NodeId],
    n: NodeId,
    grads: &crate::gradient::GraphGradients,
) -> Vec<f32> {
    let mut g = vec![0.0f32; grads.nodes[n.0].len()];
    for (m, node) in graph.nodes().iter().enumerate() {
        if set.contains(&NodeId(m)) {
            continue;
        }
        for (p, port) in node.ports.iter().enumerate() {
            if port.terms.contains(&n) {
                g.iter_mut()
                    .zip(&grads.ports[m][p])
                    .for_each(|(a, b)| *a += b);
            }
        }
    }
    g
}
