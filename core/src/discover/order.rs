//! How much each input matters to each reader, by attribution patching: the mean absolute
//! attribution of every edge (one term into one port), summed over the reader's ports. It
//! only orders what the search tries; scrubs decide.

use std::collections::HashMap;

use super::DiscoverSettings;
use crate::attribution::{self, AttributionSpec, Selection, Site};
use crate::experiment::{ExperimentError, Progress, Scenario};
use crate::scrub::run::MetricKind;
use crate::scrub::transformer::TransformerGraph;

/// Edge importances by (reader, term), both short names.
pub struct Importance(HashMap<(String, String), f64>);

impl Importance {
    /// The importance of `term` to `reader` (0 for an edge never seen).
    pub fn of(&self, reader: &str, term: &str) -> f64 {
        self.0
            .get(&(reader.to_string(), term.to_string()))
            .copied()
            .unwrap_or(0.0)
    }
}

/// Edge importances on `settings.attribution_pairs` pairs of the scenario's pool, or
/// `None` when the scenario has no differentiable metric or no pairs are asked for.
pub fn importance(
    scenario: &dyn Scenario,
    base: &TransformerGraph,
    short: &[String],
    settings: &DiscoverSettings,
    progress: &dyn Progress,
) -> Result<Option<Importance>, ExperimentError> {
    if settings.attribution_pairs < crate::stats::MIN_SAMPLES {
        return Ok(None);
    }
    let Some(metric) = scenario
        .differentiable(MetricKind::LogOdds)
        .or_else(|| scenario.differentiable(MetricKind::Loss))
    else {
        tracing::info!("no differentiable metric: inputs are tried in graph order");
        return Ok(None);
    };
    let pairs = attribution::pairs(
        scenario.pool().to_vec(),
        &[],
        None,
        settings.attribution_pairs,
        settings.seed,
    )?;
    let selection = Selection {
        stream_rows: Vec::new(),
        edges: true,
    };
    let candidates: Vec<_> = attribution::candidates(base, &selection)
        .into_iter()
        .filter(|c| matches!(c.site, Site::Edge { .. }))
        .collect();
    let spec = AttributionSpec {
        pairs: &pairs,
        score: metric.score.as_ref(),
        gradient: metric.gradient.as_ref(),
        actual: false,
    };
    let run = attribution::attribute(base, &candidates, &spec, progress)?;
    let mut map: HashMap<(String, String), f64> = HashMap::new();
    for (c, r) in candidates.iter().zip(&run.candidates) {
        let Site::Edge { from, to, .. } = c.site else {
            continue;
        };
        let n = r.attribution_per_sample.len().max(1) as f64;
        let mean_abs = r
            .attribution_per_sample
            .iter()
            .map(|x| x.abs())
            .sum::<f64>()
            / n;
        *map.entry((short[to.0].clone(), short[from.0].clone()))
            .or_default() += mean_abs;
    }
    Ok(Some(Importance(map)))
}
