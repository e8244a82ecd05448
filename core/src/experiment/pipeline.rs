//! The pipeline's steps, each usable alone (the adversary scores trees, a table scores
//! files) and all of them scenario-blind.

use std::collections::BTreeMap;

use crate::feature::FeatureValue;
use crate::sampler::Assignment;
use crate::scrub::evaluate::evaluate_into;
use crate::scrub::graph::ScrubGraph;
use crate::scrub::hypothesis::{HypothesisFile, NameResolver};
use crate::scrub::plain_cache::PlainCache;
use crate::scrub::rewrite::{apply, RewriteError, RewriteLibrary, RewriteSpec};
use crate::scrub::run::{run, RunSpec, SampleOutcome};
use crate::scrub::transformer::TransformerGraph;
use crate::scrub::tree::{DatumRule, Tree, TreeBody};
use crate::stats::Baselines;

use super::result::{HypothesisResult, ResultLabels, Summary};
use super::{ExperimentError, Progress, Scenario};

/// Pools with fewer data of one group value than this get a warning: the breakdown and
/// % recovered rest on them.
const FEW_OF_A_VALUE: usize = 10;

/// How many samples, which seed, and what a run may reuse.
#[derive(Clone, Copy)]
pub struct RunSettings<'a> {
    pub samples: usize,
    /// The first sample's index (0 but for a shard of a larger run).
    pub first_sample: usize,
    pub seed: u64,
    /// Plain values remembered across runs; must belong to the graph the run is over.
    pub cache: Option<&'a PlainCache>,
    pub progress: &'a dyn Progress,
}

impl<'a> RunSettings<'a> {
    /// The same settings without a cache (for a graph the cache does not belong to).
    pub fn uncached(self) -> Self {
        RunSettings {
            cache: None,
            ..self
        }
    }
}

/// Applies `specs` in order to `graph`, then calls `f` with the rewritten graph; `base`
/// names the model's nodes.
pub fn with_rewrites<R, E: From<RewriteError>>(
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    specs: &[RewriteSpec],
    library: &RewriteLibrary,
    f: &mut dyn FnMut(&dyn ScrubGraph) -> Result<R, E>,
) -> Result<R, E> {
    match specs.split_first() {
        None => f(graph),
        Some((spec, rest)) => {
            let names = NameResolver::transformer(base);
            let rewritten = apply(graph, spec, library, &|n| names.resolve(graph, n))?;
            with_rewrites(rewritten.as_ref(), base, rest, library, f)
        }
    }
}

/// `file`'s tree over `graph` (already rewritten as the file says).
pub fn build_tree(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
) -> Result<Tree, ExperimentError> {
    let names = NameResolver::transformer(base);
    Ok(file.build_tree(graph, &names, &scenario.feature_names())?)
}

/// Per-sample losses of `tree` over `graph`, with a progress bar called `label`.
pub fn scrub_tree(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    tree: &Tree,
    run_settings: &RunSettings,
    label: &str,
) -> Result<Vec<SampleOutcome>, ExperimentError> {
    scenario.check_tree(tree)?;
    let columns = scenario.columns(&tree.features())?;
    let score = scenario.score();
    let spec = RunSpec {
        features: &columns,
        pool: scenario.pool().to_vec(),
        samples: run_settings.samples,
        first_sample: run_settings.first_sample,
        seed: run_settings.seed,
        sharing: None,
        score: &*score,
        cache: run_settings.cache,
        batch: scenario.batch(),
    };
    let bar = run_settings
        .progress
        .start(run_settings.samples as u64, &format!("samples ({label})"));
    let out = run(graph, tree, &spec, &mut |n| bar.inc(n as u64));
    bar.finish();
    Ok(out?)
}

/// Per-sample losses of hypothesis `file` on `graph` (the un-rewritten model; `base`
/// names its nodes). A cache in `run_settings` must belong to the graph after the file's
/// rewrites.
pub fn scrub_file(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    run_settings: &RunSettings,
    label: &str,
) -> Result<Vec<SampleOutcome>, ExperimentError> {
    // A rewrite naming a missing term is reported at its position in the file.
    file.check_rewrites(base, &NameResolver::transformer(base))?;
    let library = scenario.rewrite_library();
    with_rewrites(graph, base, &file.rewrites, &library, &mut |g| {
        let tree = build_tree(scenario, g, base, file)?;
        scrub_tree(scenario, g, &tree, run_settings, label)
    })
}

/// The scenario's two baselines on the same samples, paired; warns when the pool cannot
/// give a meaningful range. A cache is used for the baselines without rewrites only.
pub fn reference_baselines(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    run_settings: &RunSettings,
) -> Result<Baselines, ExperimentError> {
    let [l, h] = baseline_losses(scenario, graph, base, run_settings)?;
    paired_baselines(&l, &h)
}

/// Per-sample losses of the scenario's two baselines (100%- and 0%-recovered), warning
/// when the pool is degenerate for the run.
pub fn baseline_losses(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    run_settings: &RunSettings,
) -> Result<[Vec<f64>; 2], ExperimentError> {
    warn_about_pool(scenario, run_settings.samples)?;
    let [low, high] = scenario.baselines()?;
    let losses = |b: &super::Baseline| -> Result<Vec<f64>, ExperimentError> {
        let settings = match b.file.rewrites.is_empty() {
            true => *run_settings,
            false => run_settings.uncached(),
        };
        let out = scrub_file(scenario, graph, base, &b.file, &settings, &b.name)?;
        Ok(out.iter().map(|o| o.loss).collect())
    };
    Ok([losses(&low)?, losses(&high)?])
}

/// The paired baselines of per-sample losses `low` and `high`, warning when their range
/// is not clearly positive.
pub fn paired_baselines(low: &[f64], high: &[f64]) -> Result<Baselines, ExperimentError> {
    let b = Baselines::from_paired(low, high)?;
    if let Err(why) = b.range() {
        tracing::warn!("{why}");
    }
    Ok(b)
}

/// The unscrubbed model on every datum of the pool once: the metric's mean ± s.e., the
/// accuracy and the breakdown by the scenario's groups.
pub fn evaluate_model(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    progress: &dyn Progress,
) -> Result<Summary, ExperimentError> {
    let tree = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: vec![graph.output()],
        },
    );
    // Slot 0 is the reference, slot i + 1 tree node i: all the reference here.
    let n_slots = tree.nodes.len() + 1;
    let pool = scenario.pool();
    let assignment = Assignment {
        n_samples: pool.len(),
        n_slots,
        data: pool
            .iter()
            .flat_map(|&d| std::iter::repeat_n(d, n_slots))
            .collect(),
    };
    let score = scenario.score();
    let bar = progress.start(pool.len() as u64, "data");
    let mut outcomes = Vec::with_capacity(pool.len());
    let done = evaluate_into(
        graph,
        &tree,
        &assignment,
        scenario.batch(),
        None,
        &mut |n| bar.inc(n as u64),
        &mut |s, out| {
            let reference = pool[s];
            let (loss, correct) = score(reference, out);
            outcomes.push(SampleOutcome {
                reference,
                loss,
                correct,
            });
        },
    );
    bar.finish();
    done?;
    Ok(Summary::of(
        &outcomes,
        scenario.has_accuracy(),
        &scenario.groups()?,
    )?)
}

/// Scores `file` against `refs` (the scenario's baselines on the same samples and seed).
#[allow(clippy::too_many_arguments)]
pub fn run_hypothesis(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    name: &str,
    run_settings: &RunSettings,
    refs: &Baselines,
    executor: &str,
) -> Result<HypothesisResult, ExperimentError> {
    let outcomes = scrub_file(scenario, graph, base, file, run_settings, name)?;
    let summary = Summary::of(&outcomes, scenario.has_accuracy(), &scenario.groups()?)?;
    Ok(HypothesisResult::new(
        &ResultLabels::of(scenario, name, executor)?,
        summary,
        refs,
        (run_settings.samples, run_settings.seed),
    ))
}

/// Says when the pool is degenerate for a run of `samples`: references repeat, or a
/// grouping column has one value only (resampling cannot change what follows it), or
/// few data of some value.
fn warn_about_pool(scenario: &dyn Scenario, samples: usize) -> Result<(), ExperimentError> {
    let pool = scenario.pool();
    let n = pool.len();
    for g in scenario.groups()? {
        let mut counts: BTreeMap<FeatureValue, usize> = BTreeMap::new();
        for &d in pool {
            *counts.entry(g.value(d)).or_default() += 1;
        }
        if counts.len() == 1 {
            let v = *counts.keys().next().expect("one value");
            tracing::warn!(
                "the scrubbing pool holds one value of `{}` only: all {n} data are {}; \
                 resampling cannot destroy what follows it, so % loss recovered may be undefined",
                g.name,
                g.describe(v)
            );
        } else if let Some((&v, &m)) = counts.iter().min_by_key(|(_, &c)| c) {
            if m < FEW_OF_A_VALUE {
                tracing::warn!(
                    "the scrubbing pool holds only {m} data with `{}` = {} (of {n}): % loss recovered rests on them",
                    g.name,
                    g.describe(v)
                );
            }
        }
    }
    if n < samples {
        tracing::warn!(
            "the scrubbing pool holds {n} distinct data, fewer than the {samples} samples asked for: references repeat"
        );
    }
    Ok(())
}
