//! Hypotheses found automatically. From the tree in which the output is recomputed from
//! all its inputs on the reference, a greedy search (`search`) drops inputs in the order
//! attribution patching ranks them (least first), gives each remaining input the coarsest
//! feature of the scenario's library that keeps % loss recovered at a threshold, then
//! recomputes it from its own inputs and repeats, down to the embeddings. Every step is a
//! real scrub on the same paired samples, never the approximation; the result is a
//! hypothesis file with a comment per node saying why it is there.

mod draft;
mod features;
mod order;
mod search;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

pub use draft::{inputs_by_port, to_file, DraftDatum, DraftNode, Input};
pub use features::{candidates as feature_candidates, partition};
pub use search::{search, FeatureCandidate, Found, Scorer, SearchSpec, Trial, SCREEN_STDERRS};

use crate::experiment::{
    reference_baselines, scrub_file, ExperimentError, Progress, RunSettings, Scenario, Silent,
    TreeScore,
};
use crate::scrub::graph::ScrubGraph;
use crate::scrub::hypothesis::{transformer_aliases, HypothesisFile};
use crate::scrub::plain_cache::PlainCache;
use crate::scrub::transformer::TransformerGraph;

/// How a discovery runs.
#[derive(Debug, Clone)]
pub struct DiscoverSettings {
    /// % loss recovered every accepted step keeps.
    pub threshold: f64,
    /// Scrub samples per step (paired: the same references and draws in every step).
    pub samples: usize,
    pub seed: u64,
    /// Scrubs the search may run.
    pub budget: usize,
    /// Reference/corrupted pairs attribution ranks the inputs on (0: no attribution, graph
    /// order).
    pub attribution_pairs: usize,
    /// Samples of the cheap first scrub of each change (see [`SearchSpec::screen`]).
    pub screen: Option<usize>,
    /// Levels below the output that are recomputed (see [`SearchSpec::depth`]).
    pub depth: Option<usize>,
}

impl Default for DiscoverSettings {
    /// `scrub discover`'s defaults.
    fn default() -> Self {
        DiscoverSettings {
            threshold: 90.0,
            samples: 500,
            seed: 0,
            budget: 2000,
            attribution_pairs: 200,
            screen: None,
            depth: None,
        }
    }
}

/// Why a discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("--threshold must be a finite percentage (got {0})")]
    Threshold(f64),
    #[error("--budget must be at least 1 scrub")]
    Budget,
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
}

/// A discovered hypothesis and how it was found.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// The hypothesis, written with [`Discovery::ron`].
    #[serde(skip)]
    pub file: HypothesisFile,
    /// Why each node is there, by path.
    pub notes: BTreeMap<String, String>,
    pub threshold: f64,
    pub samples: usize,
    pub seed: u64,
    /// Losses counted as 100% and 0% recovered, on the same samples.
    pub baselines: (f64, f64),
    pub start: TreeScore,
    pub score: TreeScore,
    /// Model components the hypothesis calls important (read or recomputed anywhere).
    pub components: Vec<String>,
    pub nodes: usize,
    /// Every scrub, in order.
    pub trials: Vec<Trial>,
    pub scrubs: usize,
    pub budget: usize,
    pub exhausted: bool,
    /// Features the search could choose from, coarsest first.
    pub features: Vec<FeatureCandidate>,
    /// Whether attribution ordered the inputs (else graph order).
    pub attribution: bool,
    /// What makes the result less trustworthy than it looks (too few samples).
    pub warnings: Vec<String>,
    pub seconds: f64,
}

impl Discovery {
    /// The hypothesis as a RON file, a comment before each node.
    pub fn ron(&self) -> String {
        let header = format!(
            "Found by `scrub discover` (threshold {}%, {} samples, seed {}, {} scrubs{}):\n{:.1} ± {:.1}% of the loss recovered with {} important components.",
            self.threshold,
            self.samples,
            self.seed,
            self.scrubs,
            if self.exhausted { ", budget spent" } else { "" },
            self.score.pct_recovered,
            self.score.pct_stderr,
            self.components.len(),
        );
        let header = std::iter::once(header)
            .chain(self.warnings.iter().map(|w| format!("Warning: {w}")))
            .collect::<Vec<_>>()
            .join("\n");
        self.file.to_ron_with_notes(&|path| match path {
            "" => Some(header.clone()),
            p => self.notes.get(p).cloned(),
        })
    }
}

/// Finds a hypothesis for `scenario` on `graph` (the un-rewritten model, on any executor;
/// `base` names its nodes and runs attribution on the CPU).
pub fn discover(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    settings: &DiscoverSettings,
    progress: &dyn Progress,
) -> Result<Discovery, DiscoverError> {
    if !settings.threshold.is_finite() {
        return Err(DiscoverError::Threshold(settings.threshold));
    }
    if settings.budget == 0 {
        return Err(DiscoverError::Budget);
    }
    let started = Instant::now();
    let run = RunSettings {
        samples: settings.samples,
        first_sample: 0,
        seed: settings.seed,
        cache: None,
        progress,
    };
    let range = reference_baselines(scenario, graph, base, &run)?
        .range()
        .map_err(ExperimentError::from)?;
    let short = short_names(base);
    let inputs_of = |term: &str| inputs_of(graph, &short, term);
    let importance = order::importance(scenario, base, &short, settings, progress)?;
    let features = features::candidates(scenario)?;
    let output = short[graph.output().0].clone();
    let spec = SearchSpec {
        threshold: settings.threshold,
        samples: settings.samples,
        screen: settings.screen,
        budget: settings.budget,
        depth: settings.depth,
        output: &output,
        inputs_of: &inputs_of,
        importance: &|reader, term| importance.as_ref().map_or(0.0, |m| m.of(reader, term)),
        features: &features,
        constant: &|term| constant(base, &short, term),
    };
    let cache = PlainCache::default();
    let name = scenario.name().to_string();
    let mut score = |draft: &DraftNode, n: usize| -> Result<TreeScore, ExperimentError> {
        let file = to_file(&name, draft, n, settings.seed, String::new());
        let quiet = RunSettings {
            samples: n,
            first_sample: 0,
            seed: settings.seed,
            cache: Some(&cache),
            progress: &Silent,
        };
        let out = scrub_file(scenario, graph, base, &file, &quiet, "discover")?;
        Ok(TreeScore::of(&out, range)?)
    };
    let bar = progress.start(settings.budget as u64, "scrubs (discover)");
    let found = search(&spec, &mut score, &mut |n| {
        bar.set(n as u64, settings.budget as u64)
    })?;
    bar.finish();
    let components: Vec<String> = found.root.terms_below().into_iter().collect();
    let description = format!(
        "found by scrub discover at {}% (threshold {}%): {} important components",
        format_args!("{:.1}", found.score.pct_recovered),
        settings.threshold,
        components.len()
    );
    let file = to_file(
        &name,
        &found.root,
        settings.samples,
        settings.seed,
        description,
    );
    let mut notes = BTreeMap::new();
    found.root.notes_by_path(&found.root.name, &mut notes);
    let warnings = noise_warning(&found.start, settings).into_iter().collect();
    Ok(Discovery {
        file,
        notes,
        threshold: settings.threshold,
        samples: settings.samples,
        seed: settings.seed,
        baselines: range,
        start: found.start,
        score: found.score,
        nodes: found.root.count(),
        components,
        scrubs: found.scrubs,
        trials: found.trials,
        budget: settings.budget,
        exhausted: found.exhausted,
        features,
        attribution: importance.is_some(),
        warnings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A warning when % recovered is too noisy on these samples for the threshold to decide:
/// its standard error exceeds the margin between 100% and the threshold.
fn noise_warning(start: &TreeScore, settings: &DiscoverSettings) -> Option<String> {
    let margin = 100.0 - settings.threshold;
    let se = start.pct_stderr;
    (se > margin).then(|| {
        let need = (settings.samples as f64 * (se / margin.max(1e-9)).powi(2)).ceil();
        let message = format!(
            "% recovered has a standard error of {se:.1} points on {} samples, more than the {margin:.1} points between 100% and the threshold: single decisions are within noise (about {need:.0} samples would bring it inside the margin)",
            settings.samples
        );
        tracing::warn!("{message}");
        message
    })
}

/// Each node's short name (`1.0`, `mlp0`, `emb`), as hypothesis files write it.
fn short_names(base: &TransformerGraph) -> Vec<String> {
    let mut out: Vec<Option<String>> = vec![None; base.nodes().len()];
    for (alias, id) in transformer_aliases(base) {
        out[id.0].get_or_insert(alias);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, s)| s.unwrap_or_else(|| base.nodes()[i].name.clone()))
        .collect()
}

/// Whether `term` is the same on every datum of a padded batch: the positional embedding
/// and the attention output biases.
fn constant(base: &TransformerGraph, short: &[String], term: &str) -> bool {
    use crate::scrub::transformer::Component;
    short.iter().position(|s| s == term).is_some_and(|i| {
        matches!(
            base.component(crate::scrub::graph::NodeId(i)),
            Component::PosEmbed | Component::AttnBias { .. }
        )
    })
}

/// The inputs `term` is computed from (see [`inputs_by_port`]); `None` for a term without
/// ports.
fn inputs_of(graph: &dyn ScrubGraph, short: &[String], term: &str) -> Option<Vec<Input>> {
    let id = short.iter().position(|s| s == term)?;
    let node = &graph.nodes()[id];
    if node.ports.is_empty() {
        return None;
    }
    let ports: Vec<(String, Vec<String>)> = node
        .ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.terms.iter().map(|t| short[t.0].clone()).collect(),
            )
        })
        .collect();
    Some(inputs_by_port(&ports))
}

#[cfg(test)]
mod tests;
