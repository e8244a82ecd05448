//! Running the induction experiments: the unscrubbed model and the baseline on the same
//! samples, then every hypothesis file, and % loss recovered
//! = (L_baseline − L) / (L_baseline − L_model).

use std::path::Path;

use serde::Serialize;

use scrub_core::experiment::{reference_baselines, scrub_file, RunSettings, Summary};
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::ScrubGraph;

use super::hypotheses::{Family, Part};
use super::scrub::{InductionScrub, NAME};
use crate::error::ScenarioError;
use crate::progress::Progress;

/// Plain values kept by each of the table's two live caches (the unrewritten graph's and
/// the current family's): half the caches' share of the memory budget.
fn cache_bytes() -> usize {
    scrub_core::memory::cache_bytes() / 2
}

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
pub fn score_file(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    run: &RunSettings,
    label: &str,
) -> Result<Loss, ScenarioError> {
    let out = scrub_file(scrub, graph, base, file, run, label)?;
    let s = Summary::of(&out, true, &[])?;
    Ok(Loss {
        loss: s.loss.mean,
        stderr: s.loss.stderr,
    })
}

/// Runs the baselines and every (hypothesis, part) file of the scenario's hypotheses
/// folder on `graph`.
#[allow(clippy::too_many_arguments)]
pub fn table(
    scrub: &InductionScrub,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    families: &[Family],
    samples: usize,
    seed: u64,
    executor: &str,
    progress: &Progress,
) -> Result<Table, ScenarioError> {
    let t0 = std::time::Instant::now();
    // Plain values are shared by every run over the same graph: the runs without rewrites
    // (model, baseline, refined 1) share one cache, each family with rewrites has its own;
    // only one of the latter is alive at a time, so the two halve the caches' share.
    let unrewritten = PlainCache::with_limit(cache_bytes());
    fn run<'a>(
        samples: usize,
        seed: u64,
        cache: &'a PlainCache,
        progress: &'a Progress,
    ) -> RunSettings<'a> {
        RunSettings {
            samples,
            first_sample: 0,
            seed,
            cache: Some(cache),
            progress,
        }
    }
    let dir = &scrub.hypotheses_dir;
    let refs = reference_baselines(
        scrub,
        graph,
        base,
        &run(samples, seed, &unrewritten, progress),
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
                    current = Some((key, PlainCache::with_limit(cache_bytes())));
                }
                &current.as_ref().expect("set above").1
            };
            let l = score_file(
                scrub,
                graph,
                base,
                &file,
                &run(samples, seed, cache, progress),
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
