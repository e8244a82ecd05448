//! What a scored hypothesis reports, the same for every scenario.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feature::{FeatureColumn, FeatureValue};
use crate::scrub::run::SampleOutcome;
use crate::stats::{Estimate, StatsError};

/// A baseline's name and loss.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedLoss {
    pub name: String,
    pub loss: f64,
    pub stderr: f64,
}

impl NamedLoss {
    /// `name` with the loss estimate `e`.
    pub fn new(name: String, e: Estimate) -> Self {
        NamedLoss {
            name,
            loss: e.mean,
            stderr: e.stderr,
        }
    }
}

/// Mean loss over the samples whose reference has one value of a grouping column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupLoss {
    pub column: String,
    /// The value's code (what the column stores).
    pub code: i64,
    /// The value as a person reads it (its label and code).
    pub value: String,
    /// Samples with this value.
    pub n: usize,
    pub loss: f64,
    /// `None` (null) with fewer than two samples.
    pub stderr: Option<f64>,
}

/// Statistics of one run's outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub loss: Estimate,
    /// Fraction of samples scored correct; `None` when the metric has no "correct".
    pub accuracy: Option<f64>,
    pub groups: Vec<GroupLoss>,
}

impl Summary {
    /// Mean loss with its standard error, accuracy, and the loss per value of each of
    /// `groups` (values in their code order).
    pub fn of(
        outcomes: &[SampleOutcome],
        has_accuracy: bool,
        groups: &[FeatureColumn],
    ) -> Result<Summary, StatsError> {
        let losses: Vec<f64> = outcomes.iter().map(|o| o.loss).collect();
        let loss = Estimate::of(&losses, "scrubbed loss")?;
        let accuracy = has_accuracy
            .then(|| outcomes.iter().filter(|o| o.correct).count() as f64 / loss.n as f64);
        let mut out = Vec::new();
        for g in groups {
            let mut by: BTreeMap<FeatureValue, Vec<f64>> = BTreeMap::new();
            for o in outcomes {
                by.entry(g.value(o.reference)).or_default().push(o.loss);
            }
            for (v, xs) in by {
                out.push(GroupLoss {
                    column: g.name.clone(),
                    code: v.0,
                    value: g.describe(v),
                    n: xs.len(),
                    loss: xs.iter().sum::<f64>() / xs.len() as f64,
                    stderr: Estimate::of(&xs, "group loss").ok().map(|e| e.stderr),
                });
            }
        }
        Ok(Summary {
            loss,
            accuracy,
            groups: out,
        })
    }
}

/// One scored hypothesis with its baselines and settings: what `scrub run` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HypothesisResult {
    pub hypothesis: String,
    pub scenario: String,
    pub loss: f64,
    pub stderr: f64,
    pub accuracy: Option<f64>,
    /// `None` (null) when the high baseline does not lose clearly more than the low one.
    pub pct_recovered: Option<f64>,
    /// The baseline counted as 100% recovered.
    pub low: NamedLoss,
    /// The baseline counted as 0% recovered.
    pub high: NamedLoss,
    pub groups: Vec<GroupLoss>,
    pub samples: usize,
    pub seed: u64,
    pub executor: String,
    pub loss_definition: String,
}

/// The names a result is reported under: what ran, on which scenario, against which
/// baselines, on which executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultLabels {
    pub hypothesis: String,
    pub scenario: String,
    /// The baselines' names: (100%-recovered, 0%-recovered).
    pub baselines: (String, String),
    pub executor: String,
    pub loss_definition: String,
}

impl ResultLabels {
    /// The labels of hypothesis `hypothesis` run on `scenario` with `executor`.
    pub fn of(
        scenario: &dyn super::Scenario,
        hypothesis: &str,
        executor: &str,
    ) -> Result<Self, super::ExperimentError> {
        let [low, high] = scenario.baselines()?;
        Ok(ResultLabels {
            hypothesis: hypothesis.to_string(),
            scenario: scenario.name().to_string(),
            baselines: (low.name, high.name),
            executor: executor.to_string(),
            loss_definition: scenario.loss_definition(),
        })
    }
}

impl HypothesisResult {
    /// The result reported for `summary` of `(samples, seed)` against baselines `refs`.
    pub fn new(
        labels: &ResultLabels,
        summary: Summary,
        refs: &crate::stats::Baselines,
        (samples, seed): (usize, u64),
    ) -> Self {
        HypothesisResult {
            hypothesis: labels.hypothesis.clone(),
            scenario: labels.scenario.clone(),
            loss: summary.loss.mean,
            stderr: summary.loss.stderr,
            accuracy: summary.accuracy,
            pct_recovered: refs.pct_recovered(summary.loss.mean),
            low: NamedLoss::new(labels.baselines.0.clone(), refs.low),
            high: NamedLoss::new(labels.baselines.1.clone(), refs.high),
            groups: summary.groups,
            samples,
            seed,
            executor: labels.executor.clone(),
            loss_definition: labels.loss_definition.clone(),
        }
    }
}
