//! The score of one tree: its loss and % loss recovered, each with a standard error. The
//! adversary and discovery both decide on it, so it is computed here once.

use serde::Serialize;

use crate::scrub::run::SampleOutcome;
use crate::stats::{pct_recovered, Estimate, StatsError};

/// Loss and % loss recovered of one tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TreeScore {
    pub loss: f64,
    pub stderr: f64,
    pub pct_recovered: f64,
    /// Standard error of `pct_recovered` (from the loss's, unpaired).
    pub pct_stderr: f64,
}

impl TreeScore {
    /// The score of a tree's per-sample `outcomes`, measured between the losses
    /// `(l0a, l0b)` that count as 100% and 0% recovered.
    pub fn of(outcomes: &[SampleOutcome], (l0a, l0b): (f64, f64)) -> Result<TreeScore, StatsError> {
        let losses: Vec<f64> = outcomes.iter().map(|o| o.loss).collect();
        let e = Estimate::of(&losses, "scrubbed loss")?;
        Ok(TreeScore {
            loss: e.mean,
            stderr: e.stderr,
            pct_recovered: pct_recovered(e.mean, l0a, l0b),
            pct_stderr: 100.0 * e.stderr / (l0b - l0a),
        })
    }
}
