//! `scrub attribute`: attribution patching beside actual activation and path patching on a
//! scenario's model, grouped by what each candidate is (head output, MLP output, embedding,
//! residual stream, edge), with how well one predicts the other in each group.

pub mod report;
pub mod scatter;

use std::time::Instant;

use scrub_core::attribution::{self, AttributionSpec, Candidate, Kind, Selection, Site};
use scrub_core::experiment::{Progress, Scenario};
use scrub_core::scrub::run::MetricKind;
use scrub_core::scrub::transformer::{Component, TransformerGraph};
use scrub_core::stats::Estimate;

use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;
use crate::scrub_graph::ScrubExecutor;
pub use report::{AttributionReport, GroupCorrelation};

/// What to attribute and how to pair the data.
#[derive(Debug, Clone)]
pub struct AttributeSettings {
    pub samples: usize,
    pub seed: u64,
    /// Draw each corrupted datum agreeing with its reference on this feature.
    pub agree: Option<String>,
    pub selection: Selection,
    /// Measure the actual patching effects (the slow part) as well.
    pub actual: bool,
    /// The metric differentiated and patched.
    pub metric: MetricKind,
    /// Where the passes, the gradients and the patching run.
    pub executor: ExecutorKind,
}

/// Runs attribution on `scenario`'s un-rewritten model and builds the report.
pub fn attribute(
    scenario: &dyn Scenario,
    settings: &AttributeSettings,
    progress: &dyn Progress,
) -> Result<AttributionReport, ScenarioError> {
    let graph = scenario.graph()?;
    let metric = scenario.differentiable(settings.metric).ok_or_else(|| {
        ScenarioError::Scrub(format!(
            "scenario `{}` has no differentiable metric ({}): attribution needs one",
            scenario.name(),
            scenario.loss_definition()
        ))
    })?;
    let score = metric.score.as_ref();
    let features = match &settings.agree {
        Some(f) => scenario.columns(std::slice::from_ref(f))?,
        None => Vec::new(),
    };
    let pairs = attribution::pairs(
        scenario.pool().to_vec(),
        &features,
        settings.agree.as_deref(),
        settings.samples,
        settings.seed,
    )?;
    let rows = scrub_core::scrub::graph::ScrubGraph::rows(&graph);
    if let Some(r) = settings.selection.stream_rows.iter().find(|&&r| r >= rows) {
        return Err(ScenarioError::Scrub(format!(
            "position {r} is outside the model's {rows} positions (0..{rows})"
        )));
    }
    let candidates = attribution::candidates(&graph, &settings.selection);
    let spec = AttributionSpec {
        pairs: &pairs,
        score,
        gradient: metric.gradient.as_ref(),
        actual: settings.actual,
    };
    let exec = ScrubExecutor::new(settings.executor, &graph)?;
    let started = Instant::now();
    let run = attribution::attribute(exec.graph(), &candidates, &spec, progress)?;
    let seconds = started.elapsed().as_secs_f64();
    let groups: Vec<String> = candidates.iter().map(|c| group(&graph, c)).collect();
    Ok(AttributionReport::new(
        scenario,
        settings,
        Estimate::of(&run.reference_metric, "the references' metric")?,
        metric.definition.clone(),
        run.candidates,
        groups,
        report::Ran {
            seconds,
            executor: exec.name(),
        },
    ))
}

/// The group a candidate is reported in.
fn group(graph: &TransformerGraph, c: &Candidate) -> String {
    match (&c.kind, &c.site) {
        (Kind::Node, Site::Nodes { nodes, .. }) => match graph.component(nodes[0]) {
            Component::Embed | Component::PosEmbed => "embedding",
            Component::Head { .. } => "head output",
            Component::Pattern { .. } => "attention pattern",
            Component::AttnBias { .. } => "attention bias",
            Component::Mlp { layer: 0 } => "MLP 0 output",
            Component::Mlp { .. } => "MLP output (layer ≥ 1)",
            Component::Output => "output",
        }
        .into(),
        (Kind::Stream, Site::Nodes { row: None, .. }) => "residual stream (all positions)".into(),
        (Kind::Stream, _) => "residual stream (one position)".into(),
        _ => "edge".into(),
    }
}
