//! Running the induction experiments: the unscrubbed model and the baseline on the same
//! samples, then every hypothesis file, and % loss recovered
//! = (L_baseline − L) / (L_baseline − L_model).

use std::path::Path;

use serde::Serialize;

use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::{DatumRule, Tree, TreeBody};
use scrub_core::scrub::ScrubGraph;

use super::hypotheses::{Family, Part};
use super::scrub::{InductionScrub, NAME};
use crate::error::ScenarioError;
use crate::paren::scrub::ScrubStats;
use crate::progress::Progress;
use crate::scrub_scenario::{run_with_progress, with_rewrites};
use scrub_core::stats::Baselines;

/// Plain values kept across the runs of one hypothesis (its four parts share a graph).
const CACHE_BYTES: usize = 6 << 30;

/// Mean loss and its standard error over samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Loss {
    pub loss: f64,
    pub stderr: f64,
}

/// One scored hypothesis file.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `naive`, `refined1`, ...
    pub hypothesis: String,
    /// `q`, `k`, `v` or `all`.
    pub part: String,
    pub loss: f64,
    pub stderr: f64,
    /// `None` (null in JSON) when the baseline does not lose clearly more than the model.
    pub pct_recovered: Option<f64>,
    /// The write-up's figure for this cell.
    pub write_up: f64,
}

/// The whole table with its settings.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub model_loss: f64,
    pub model_stderr: f64,
    pub baseline_loss: f64,
    pub baseline_stderr: f64,
    pub rows: Vec<Row>,
    pub samples: usize,
    pub seed: u64,
    pub executor: String,
    /// Validation sequences with at least one inductiony position (the pool).
    pub sequences: usize,
    /// Inductiony (sequence, position) examples in the pool.
    pub examples: usize,
    /// How a sample's loss is defined.
    pub loss_definition: String,
    pub seconds: f64,
}

pub use super::scrub::hypotheses_dir;

/// Loads `dir/{stem}.ron`, checking it is an induction hypothesis.
pub fn load(dir: &Path, stem: &str) -> Result<HypothesisFile, ScenarioError> {
    let path = dir.join(format!("{stem}.ron"));
    let file = HypothesisFile::load(&path)?;
    if file.scenario != NAME {
        return Err(ScenarioError::Scrub(format!(
            "{}: scenario `{}`, expected `{NAME}`",
            path.display(),
            file.scenario
        )));
    }
    Ok(file)
}

/// The loss of `file` on `graph` (`base` is the same model on the CPU, for names).
#[allow(clippy::too_many_arguments)]
pub fn score_file(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    samples: usize,
    seed: u64,
    cache: Option<&PlainCache>,
    progress: &Progress,
    label: &str,
) -> Result<Loss, ScenarioError> {
    let library = scrub.library();
    file.check_rewrites(base, &NameResolver::transformer(base))?;
    with_rewrites(graph, base, &file.rewrites, &library, &mut |g| {
        let tree = build_tree(scrub, g, base, file)?;
        score_tree(scrub, g, &tree, samples, seed, cache, progress, label)
    })
}

/// `file`'s tree over `graph` (already rewritten; `base` names the model's nodes).
pub fn build_tree(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
) -> Result<Tree, ScenarioError> {
    let names = NameResolver::transformer(base);
    Ok(file.build_tree(graph, &names, &scrub.feature_names())?)
}

/// The per-sample losses of `tree` on `graph`.
#[allow(clippy::too_many_arguments)]
pub fn scrub_outcomes(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    tree: &Tree,
    samples: usize,
    seed: u64,
    cache: Option<&PlainCache>,
    progress: &Progress,
    label: &str,
) -> Result<Vec<SampleOutcome>, ScenarioError> {
    let columns = scrub.columns(&tree.features())?;
    let score = scrub.score();
    let mut spec = scrub.spec(&columns, &score, samples, seed);
    spec.cache = cache;
    run_with_progress(graph, tree, &spec, progress, label)
}

/// The loss of `tree` on `graph`.
#[allow(clippy::too_many_arguments)]
pub fn score_tree(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    tree: &Tree,
    samples: usize,
    seed: u64,
    cache: Option<&PlainCache>,
    progress: &Progress,
    label: &str,
) -> Result<Loss, ScenarioError> {
    let out = scrub_outcomes(scrub, graph, tree, samples, seed, cache, progress, label)?;
    let s = ScrubStats::of(&out, |_| true)?;
    Ok(Loss {
        loss: s.loss,
        stderr: s.stderr,
    })
}

/// The unscrubbed model's and the baseline's losses on the same samples, paired; the
/// baseline is `baseline.ron` of `dir`. `cache` must belong to `graph` (no rewrites).
#[allow(clippy::too_many_arguments)]
pub fn reference_losses(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    dir: &Path,
    samples: usize,
    seed: u64,
    cache: Option<&PlainCache>,
    progress: &Progress,
) -> Result<Baselines, ScenarioError> {
    if scrub.pool.len() < samples {
        tracing::warn!(
            "the pool holds {} distinct sequences, fewer than the {samples} samples asked for: references repeat",
            scrub.pool.len()
        );
    }
    let losses = |out: Vec<SampleOutcome>| out.iter().map(|o| o.loss).collect::<Vec<_>>();
    let model = losses(scrub_outcomes(
        scrub,
        graph,
        &model_tree(graph),
        samples,
        seed,
        cache,
        progress,
        "model",
    )?);
    let file = load(dir, "baseline")?;
    let baseline = losses(with_rewrites(
        graph,
        base,
        &file.rewrites,
        &scrub.library(),
        &mut |g| {
            let tree = build_tree(scrub, g, base, &file)?;
            let c = if file.rewrites.is_empty() {
                cache
            } else {
                None
            };
            scrub_outcomes(scrub, g, &tree, samples, seed, c, progress, "baseline")
        },
    )?);
    let l = Baselines::from_paired(&model, &baseline)?;
    if let Err(why) = l.range() {
        tracing::warn!("{why}");
    }
    Ok(l)
}

impl crate::scrub_scenario::ScrubScenario for InductionScrub {
    fn library(&self) -> scrub_core::scrub::rewrite::RewriteLibrary {
        InductionScrub::library(self)
    }

    fn build_tree(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        file: &HypothesisFile,
    ) -> Result<Tree, ScenarioError> {
        build_tree(self, graph, base, file)
    }

    fn scrub(
        &self,
        graph: &dyn ScrubGraph,
        tree: &Tree,
        samples: usize,
        seed: u64,
        cache: Option<&PlainCache>,
        progress: &Progress,
        label: &str,
    ) -> Result<Vec<SampleOutcome>, ScenarioError> {
        scrub_outcomes(self, graph, tree, samples, seed, cache, progress, label)
    }

    /// The unscrubbed model and the baseline (induction heads on emb2) of the committed
    /// hypothesis files.
    fn reference_baselines(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        samples: usize,
        seed: u64,
        progress: &Progress,
    ) -> Result<Baselines, ScenarioError> {
        let dir = self.hypotheses_dir.clone();
        reference_losses(self, graph, base, &dir, samples, seed, None, progress)
    }

    fn feature_library(&self) -> Vec<String> {
        InductionScrub::feature_library(self)
    }
}

/// The unscrubbed model on the references.
pub fn model_tree(graph: &dyn ScrubGraph) -> Tree {
    Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: vec![graph.output()],
        },
    )
}

/// Runs the baseline and every (hypothesis, part) file of `dir` on `graph`.
#[allow(clippy::too_many_arguments)]
pub fn table(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    dir: &Path,
    families: &[Family],
    samples: usize,
    seed: u64,
    executor: &str,
    progress: &Progress,
) -> Result<Table, ScenarioError> {
    let t0 = std::time::Instant::now();
    // Plain values are shared by every run over the same graph: the runs without rewrites
    // (model, baseline, refined 1) share one cache, each family with rewrites has its own.
    let unrewritten = PlainCache::with_limit(CACHE_BYTES);
    let refs = reference_losses(
        scrub,
        graph,
        base,
        dir,
        samples,
        seed,
        Some(&unrewritten),
        progress,
    )?;
    let mut rows = Vec::new();
    // One cache per rewrite list: node numbers mean the same only over the same rewrites.
    // Files come family by family, so only the current list's cache is kept.
    let mut current: Option<(String, PlainCache)> = None;
    for &family in families {
        for (part, write_up) in Part::ALL.into_iter().zip(family.write_up()) {
            let stem = format!("{}_{}", family.name(), part.name());
            let file = load(dir, &stem)?;
            let cache = if file.rewrites.is_empty() {
                &unrewritten
            } else {
                let key = format!("{:?}", file.rewrites);
                if current.as_ref().map(|(k, _)| k) != Some(&key) {
                    current = Some((key, PlainCache::with_limit(CACHE_BYTES)));
                }
                &current.as_ref().expect("set above").1
            };
            let l = score_file(
                scrub,
                graph,
                base,
                &file,
                samples,
                seed,
                Some(cache),
                progress,
                &stem,
            )?;
            tracing::info!(hypothesis = %stem, loss = l.loss, "scored");
            rows.push(Row {
                hypothesis: family.name(),
                part: part.name().into(),
                loss: l.loss,
                stderr: l.stderr,
                pct_recovered: refs.pct_recovered(l.loss),
                write_up,
            });
        }
    }
    Ok(Table {
        model_loss: refs.low.mean,
        model_stderr: refs.low.stderr,
        baseline_loss: refs.high.mean,
        baseline_stderr: refs.high.stderr,
        rows,
        samples,
        seed,
        executor: executor.into(),
        sequences: scrub.pool.len(),
        examples: scrub.n_examples(),
        loss_definition: "per sample: the mean next-token log loss (nats) over the reference sequence's inductiony positions; reported: the mean over samples".into(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}
