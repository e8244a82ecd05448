//! Plain evaluation of a model on labelled sequences: the number every scrub is compared to.

use serde::Serialize;

use scrub_core::metrics::{LossSummary, TargetOutcome};
use scrub_core::{Executor, SeqTarget, TokenBatch};

use crate::error::ScenarioError;
use crate::progress::Progress;

/// Loss, accuracy and where they were computed.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub scenario: String,
    pub n: usize,
    pub loss: f64,
    pub stderr: f64,
    pub accuracy: f64,
    pub errors: usize,
    pub executor: String,
    pub adapter: Option<String>,
    pub seconds: f64,
    pub sequences_per_second: f64,
}

/// Runs `executor` over `n` sequences in batches of its preferred size; `batch_of(range)`
/// gives the tokens and targets of each range.
pub fn evaluate(
    scenario: &str,
    executor: &dyn Executor,
    n: usize,
    batch_of: impl Fn(std::ops::Range<usize>) -> (TokenBatch, Vec<SeqTarget>),
    progress: &Progress,
) -> Result<EvalReport, ScenarioError> {
    let start = std::time::Instant::now();
    let step = executor.preferred_batch().max(1);
    let mut outcomes: Vec<TargetOutcome> = Vec::with_capacity(n);
    let bar = progress.bar(n as u64, "sequences");
    for lo in (0..n).step_by(step) {
        let hi = (lo + step).min(n);
        let (batch, targets) = batch_of(lo..hi);
        outcomes.extend(executor.outcomes(&batch, &targets)?);
        bar.inc((hi - lo) as u64);
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let s = LossSummary::from_outcomes(&outcomes);
    Ok(EvalReport {
        scenario: scenario.to_string(),
        n: s.n,
        loss: s.loss,
        stderr: s.stderr,
        accuracy: s.accuracy,
        errors: s.errors,
        executor: executor.name().to_string(),
        adapter: executor.adapter(),
        seconds,
        sequences_per_second: n as f64 / seconds.max(1e-9),
    })
}
