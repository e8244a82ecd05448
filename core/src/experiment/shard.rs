//! A run's per-sample record: enough to rebuild its result, and to merge runs split by
//! sample index into exactly the result of one run over all of them. Every sample's draws
//! come from its own streams (seed, node path, sample index), so a shard of samples
//! `a..b` holds what a whole run holds there; merging concatenates in index order and
//! computes the statistics once, with the same code and summation order as a single run,
//! so the merged numbers are the single run's to the last digit (moments summed per shard
//! would not be).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feature::{DatumId, FeatureColumn, FeatureValue};
use crate::scrub::graph::ScrubGraph;
use crate::scrub::hypothesis::HypothesisFile;
use crate::scrub::run::SampleOutcome;
use crate::scrub::transformer::TransformerGraph;
use crate::stats::Baselines;

use super::pipeline::{baseline_losses, scrub_file, RunSettings};
use super::result::{HypothesisResult, ResultLabels, Summary};
use super::{ExperimentError, Scenario};

/// One sample of a run: its reference, the hypothesis's loss and the two baselines'.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub reference: DatumId,
    pub loss: f64,
    pub correct: bool,
    /// The 100%-recovered baseline's loss on this sample.
    pub low: f64,
    /// The 0%-recovered baseline's loss on this sample.
    pub high: f64,
}

/// A grouping column's value on each sample's reference, with the labels of the values that
/// occur.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleGroups {
    pub column: String,
    /// `codes[k]`: the value on sample k's reference.
    pub codes: Vec<i64>,
    /// The column's labels of the values that occur (values without one are absent).
    pub labels: BTreeMap<i64, String>,
}

/// Samples `first_sample..first_sample + samples.len()` of one hypothesis's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    pub labels: ResultLabels,
    pub seed: u64,
    pub first_sample: usize,
    pub has_accuracy: bool,
    pub samples: Vec<SampleRecord>,
    pub groups: Vec<SampleGroups>,
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no shards to merge")]
    Empty,
    #[error(
        "shard {index} is of {what} {found}, shard 0 of {expected}: only shards of one run merge"
    )]
    Mismatch {
        index: usize,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error(
        "shard {index} starts at sample {found}, but the shards before it end at {expected}: \
         shards must cover consecutive sample ranges (sort them by their first sample)"
    )]
    Gap {
        index: usize,
        found: usize,
        expected: usize,
    },
}

impl Shard {
    /// Runs `file` and the scenario's baselines on samples `settings.first_sample ..
    /// + settings.samples`.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        scenario: &dyn Scenario,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        file: &HypothesisFile,
        name: &str,
        settings: &RunSettings,
        executor: &str,
    ) -> Result<Shard, ExperimentError> {
        let [low, high] = baseline_losses(scenario, graph, base, settings)?;
        let outcomes = scrub_file(scenario, graph, base, file, settings, name)?;
        let groups = scenario
            .groups()?
            .iter()
            .map(|g| {
                let codes: Vec<i64> = outcomes.iter().map(|o| g.value(o.reference).0).collect();
                let occurring: std::collections::BTreeSet<i64> = codes.iter().copied().collect();
                SampleGroups {
                    column: g.name.clone(),
                    labels: occurring
                        .into_iter()
                        .filter_map(|c| Some((c, g.labels.get(&FeatureValue(c))?.clone())))
                        .collect(),
                    codes,
                }
            })
            .collect();
        Ok(Shard {
            labels: ResultLabels::of(scenario, name, executor)?,
            seed: settings.seed,
            first_sample: settings.first_sample,
            has_accuracy: scenario.has_accuracy(),
            samples: outcomes
                .iter()
                .zip(low.iter().zip(&high))
                .map(|(o, (&low, &high))| SampleRecord {
                    reference: o.reference,
                    loss: o.loss,
                    correct: o.correct,
                    low,
                    high,
                })
                .collect(),
            groups,
        })
    }

    /// The sample indices the shard holds.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.first_sample..self.first_sample + self.samples.len()
    }

    /// The paired baselines over the shard's samples.
    pub fn baselines(&self) -> Result<Baselines, ExperimentError> {
        let (low, high): (Vec<f64>, Vec<f64>) =
            self.samples.iter().map(|s| (s.low, s.high)).unzip();
        super::pipeline::paired_baselines(&low, &high)
    }

    /// The result `scrub run` reports for these samples.
    pub fn result(&self) -> Result<HypothesisResult, ExperimentError> {
        let refs = self.baselines()?;
        // The groups are computed over sample positions: each column below holds, at k, the
        // value on sample k's reference.
        let outcomes: Vec<SampleOutcome> = self
            .samples
            .iter()
            .enumerate()
            .map(|(k, s)| SampleOutcome {
                reference: DatumId(k as u32),
                loss: s.loss,
                correct: s.correct,
            })
            .collect();
        let columns: Vec<FeatureColumn> = self
            .groups
            .iter()
            .map(|g| FeatureColumn {
                name: g.column.clone(),
                values: g.codes.iter().map(|&c| FeatureValue(c)).collect(),
                labels: g
                    .labels
                    .iter()
                    .map(|(&c, l)| (FeatureValue(c), l.clone()))
                    .collect(),
            })
            .collect();
        let summary = Summary::of(&outcomes, self.has_accuracy, &columns)?;
        Ok(HypothesisResult::new(
            &self.labels,
            summary,
            &refs,
            (self.samples.len(), self.seed),
        ))
    }

    /// Shards of one run over consecutive sample ranges, as one shard.
    pub fn merge(shards: &[Shard]) -> Result<Shard, MergeError> {
        let first = shards.first().ok_or(MergeError::Empty)?;
        let mut out = first.clone();
        for (index, s) in shards.iter().enumerate().skip(1) {
            let same = |what: &'static str, found: String, expected: String| match found == expected
            {
                true => Ok(()),
                false => Err(MergeError::Mismatch {
                    index,
                    what,
                    found,
                    expected,
                }),
            };
            let (l, f) = (&s.labels, &first.labels);
            same("hypothesis", l.hypothesis.clone(), f.hypothesis.clone())?;
            same("scenario", l.scenario.clone(), f.scenario.clone())?;
            same("seed", s.seed.to_string(), first.seed.to_string())?;
            same("executor", l.executor.clone(), f.executor.clone())?;
            let expected = out.range().end;
            if s.first_sample != expected {
                return Err(MergeError::Gap {
                    index,
                    found: s.first_sample,
                    expected,
                });
            }
            out.samples.extend_from_slice(&s.samples);
            for (g, sg) in out.groups.iter_mut().zip(&s.groups) {
                g.codes.extend_from_slice(&sg.codes);
                g.labels.extend(sg.labels.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(first: usize, losses: &[f64]) -> Shard {
        Shard {
            labels: ResultLabels {
                hypothesis: "h".into(),
                scenario: "s".into(),
                baselines: ("low".into(), "high".into()),
                executor: "cpu".into(),
                loss_definition: "log loss".into(),
            },
            seed: 3,
            first_sample: first,
            has_accuracy: true,
            samples: losses
                .iter()
                .enumerate()
                .map(|(k, &l)| SampleRecord {
                    reference: DatumId((first + k) as u32 % 3),
                    loss: l,
                    correct: l < 0.5,
                    low: 0.1 * l,
                    high: 1.0 + l * l,
                })
                .collect(),
            groups: vec![SampleGroups {
                column: "g".into(),
                codes: (first..first + losses.len())
                    .map(|k| (k % 2) as i64)
                    .collect(),
                labels: [(0, "even".to_string()), (1, "odd".to_string())]
                    .into_iter()
                    .collect(),
            }],
        }
    }

    #[test]
    fn merged_shards_give_the_whole_runs_result_to_the_last_digit() {
        let losses: Vec<f64> = (0..50).map(|i| ((i * 37 % 11) as f64) / 7.0).collect();
        let whole = shard(0, &losses);
        let parts = [
            shard(0, &losses[..17]),
            shard(17, &losses[17..18]),
            shard(18, &losses[18..]),
        ];
        let merged = Shard::merge(&parts).unwrap();
        assert_eq!(merged, whole);
        assert_eq!(merged.result().unwrap(), whole.result().unwrap());
        let r = whole.result().unwrap();
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[1].value, "odd (1)");
        assert_eq!(r.groups[0].n + r.groups[1].n, 50);
    }

    #[test]
    fn shards_of_other_runs_or_with_gaps_are_refused() {
        let a = shard(0, &[0.1, 0.2]);
        let mut b = shard(3, &[0.3, 0.4]);
        let e = Shard::merge(&[a.clone(), b.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("starts at sample 3") && e.contains("end at 2"),
            "{e}"
        );
        b.first_sample = 2;
        b.seed = 4;
        let e = Shard::merge(&[a, b]).unwrap_err().to_string();
        assert!(e.contains("seed 4") && e.contains("of 3"), "{e}");
        assert!(matches!(Shard::merge(&[]), Err(MergeError::Empty)));
    }
}
