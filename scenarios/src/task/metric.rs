//! A task's metric, checked against its dataset and model once, as per-datum targets the
//! core's scoring functions read.

use scrub_core::dataset::{Column, Dataset, Scope, Values};
use scrub_core::scrub::run::{log_loss, Differentiable, MetricKind, Score};
use scrub_core::{DatumId, ModelConfig};

use super::manifest::{MetricSpec, Position};
use super::TaskError;

/// What one datum is scored on.
#[derive(Debug, Clone, PartialEq)]
enum Targets {
    /// `(row, class)` pairs whose log losses are averaged.
    Labels(Vec<(usize, u32)>),
    /// Logit of `incorrect` minus logit of `correct` at `row`.
    LogitDiff {
        row: usize,
        correct: u32,
        incorrect: u32,
    },
    /// The mean over `(row, target)` of `(output[row][k] − target)²`.
    Squared { k: usize, at: Vec<(usize, f64)> },
    /// Nothing to score (a language-model datum whose mask selects nothing).
    None,
}

impl Targets {
    fn rows(&self) -> Vec<usize> {
        let mut r: Vec<usize> = match self {
            Targets::Labels(l) => l.iter().map(|&(r, _)| r).collect(),
            Targets::LogitDiff { row, .. } => vec![*row],
            Targets::Squared { at, .. } => at.iter().map(|&(r, _)| r).collect(),
            Targets::None => Vec::new(),
        };
        r.dedup();
        r
    }
}

/// A checked metric: every datum's targets, in range for the model.
#[derive(Debug, Clone)]
pub struct Metric {
    spec: MetricSpec,
    targets: Vec<Targets>,
    width: usize,
}

impl Metric {
    /// Checks `spec` against `data` and the model's `config`: columns exist with the right
    /// scope and kind, labels and token ids are in range, positions inside each datum.
    pub fn new(spec: &MetricSpec, data: &Dataset, config: &ModelConfig) -> Result<Self, TaskError> {
        let width = config.d_vocab_out;
        let column = |name: &str| -> Result<&Column, TaskError> {
            super::open::column(data, name, "the metric")
        };
        let bad = |d: usize, message: String| TaskError::Metric {
            dataset: data.source().to_path_buf(),
            at: data.at(DatumId(d as u32)).to_string(),
            message,
        };
        let per_datum_int = |name: &str| -> Result<Vec<i64>, TaskError> {
            let c = column(name)?;
            match (&c.scope, &c.values) {
                (Scope::PerDatum, Values::Int(v)) => Ok(v.clone()),
                (Scope::PerDatum, Values::Bool(v)) => Ok(v.iter().map(|&b| b as i64).collect()),
                _ => Err(TaskError::ColumnKind {
                    name: name.to_string(),
                    found: format!("{:?} {}", c.scope, c.values.kind()),
                    expected: "a per-datum int column".into(),
                }),
            }
        };
        let per_position_bool = |name: &str| -> Result<&Column, TaskError> {
            let c = column(name)?;
            match (&c.scope, &c.values) {
                (Scope::PerPosition, Values::Bool(_)) => Ok(c),
                _ => Err(TaskError::ColumnKind {
                    name: name.to_string(),
                    found: format!("{:?} {}", c.scope, c.values.kind()),
                    expected: "a per-position bool column".into(),
                }),
            }
        };
        // The rows each datum is scored at.
        let rows: Vec<Vec<usize>> = match spec.position() {
            None => Vec::new(),
            Some(Position::Where(mask)) => {
                let c = per_position_bool(mask)?;
                (0..data.len())
                    .map(|d| {
                        let on = c.bools_at(DatumId(d as u32)).expect("per-position bool");
                        Ok(on
                            .iter()
                            .enumerate()
                            .filter(|(_, &b)| b)
                            .map(|(p, _)| p)
                            .collect())
                    })
                    .collect::<Result<_, TaskError>>()?
            }
            Some(p) => {
                let given: Option<Vec<i64>> = match p {
                    Position::Column(c) => Some(per_datum_int(c)?),
                    _ => None,
                };
                (0..data.len())
                    .map(|d| {
                        let len = data.seq_len(DatumId(d as u32));
                        let row = match p {
                            Position::At(i) => *i as i64,
                            Position::Last => len as i64 - 1,
                            Position::Column(_) => given.as_ref().expect("read")[d],
                            Position::Where(_) => unreachable!("handled above"),
                        };
                        if row < 0 || row as usize >= len {
                            return Err(bad(
                                d,
                                format!(
                                    "the metric reads position {row}, outside its {len} tokens"
                                ),
                            ));
                        }
                        Ok(vec![row as usize])
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        // A label or target column read at each datum's scored rows: one value for every
        // row of a per-datum column, the row's own value of a per-position one.
        let at_rows = |name: &str, floats: bool| -> Result<Vec<Vec<f64>>, TaskError> {
            let c = column(name)?;
            let expected = match floats {
                true => "a float or int column, per datum or per position",
                false => "an int or bool column, per datum or per position",
            };
            let wrong = || TaskError::ColumnKind {
                name: name.to_string(),
                found: format!("{:?} {}", c.scope, c.values.kind()),
                expected: expected.into(),
            };
            let value = |d: DatumId, i: usize| -> Option<f64> {
                match (&c.scope, &c.values) {
                    (Scope::PerDatum, Values::Int(v)) => Some(v[d.index()] as f64),
                    (Scope::PerDatum, Values::Bool(v)) if !floats => {
                        Some(v[d.index()] as u8 as f64)
                    }
                    (Scope::PerDatum, Values::Float(_)) if floats => c.float(d),
                    (Scope::PerPosition, Values::Int(_)) => Some(c.ints_at(d)?[i] as f64),
                    (Scope::PerPosition, Values::Bool(_)) if !floats => {
                        Some(c.bools_at(d)?[i] as u8 as f64)
                    }
                    (Scope::PerPosition, Values::Float(_)) if floats => Some(c.floats_at(d)?[i]),
                    _ => None,
                }
            };
            (0..data.len())
                .map(|d| {
                    rows[d]
                        .iter()
                        .map(|&r| value(DatumId(d as u32), r).ok_or_else(wrong))
                        .collect()
                })
                .collect()
        };
        let in_range = |d: usize, what: &str, v: i64, limit: usize| {
            if v < 0 || v as usize >= limit {
                Err(bad(
                    d,
                    format!("{what} {v} is outside the model's {limit} outputs (d_vocab_out)"),
                ))
            } else {
                Ok(v as u32)
            }
        };
        let targets: Vec<Targets> = match spec {
            MetricSpec::CrossEntropy { label, .. } => {
                if width < 2 {
                    return Err(TaskError::OneLogitClassifier { width });
                }
                let labels = at_rows(label, false)?;
                (0..data.len())
                    .map(|d| {
                        let l = rows[d]
                            .iter()
                            .zip(&labels[d])
                            .map(|(&r, &v)| {
                                Ok((
                                    r,
                                    in_range(d, &format!("label `{label}` ="), v as i64, width)?,
                                ))
                            })
                            .collect::<Result<Vec<_>, TaskError>>()?;
                        Ok(if l.is_empty() {
                            Targets::None
                        } else {
                            Targets::Labels(l)
                        })
                    })
                    .collect::<Result<_, TaskError>>()?
            }
            MetricSpec::NextToken { mask } => {
                let c = column(mask)?;
                let Values::Bool(_) = &c.values else {
                    return Err(TaskError::ColumnKind {
                        name: mask.clone(),
                        found: format!("{:?} {}", c.scope, c.values.kind()),
                        expected: "a per-position bool column".into(),
                    });
                };
                if c.scope != Scope::PerPosition {
                    return Err(TaskError::ColumnKind {
                        name: mask.clone(),
                        found: format!("{:?} {}", c.scope, c.values.kind()),
                        expected: "a per-position bool column".into(),
                    });
                }
                (0..data.len())
                    .map(|d| {
                        let id = DatumId(d as u32);
                        let m = c.bools_at(id).expect("per-position bool");
                        let toks = data.tokens(id);
                        let mut t = Vec::new();
                        for (p, &on) in m.iter().enumerate() {
                            if !on {
                                continue;
                            }
                            let Some(&next) = toks.get(p + 1) else {
                                return Err(bad(d, format!("mask `{mask}` selects the last position {p}, which has no next token")));
                            };
                            t.push((p, in_range(d, "next token", next as i64, width)?));
                        }
                        Ok(if t.is_empty() {
                            Targets::None
                        } else {
                            Targets::Labels(t)
                        })
                    })
                    .collect::<Result<_, TaskError>>()?
            }
            MetricSpec::LogitDiff {
                correct,
                incorrect,
                position,
            } => {
                if let Position::Where(_) = position {
                    return Err(TaskError::Invalid(
                        "metric LogitDiff reads one position per datum: give At, Last or Column, not Where".into(),
                    ));
                }
                let (c, i) = (per_datum_int(correct)?, per_datum_int(incorrect)?);
                (0..data.len())
                    .map(|d| {
                        Ok(Targets::LogitDiff {
                            row: rows[d][0],
                            correct: in_range(d, &format!("token `{correct}` ="), c[d], width)?,
                            incorrect: in_range(d, &format!("token `{incorrect}` ="), i[d], width)?,
                        })
                    })
                    .collect::<Result<_, TaskError>>()?
            }
            MetricSpec::SquaredError { target, output, .. } => {
                if *output >= width {
                    return Err(TaskError::Invalid(format!(
                        "metric SquaredError reads output {output}, but the model has {width} outputs"
                    )));
                }
                let values = at_rows(target, true)?;
                (0..data.len())
                    .map(|d| {
                        if let Some(v) = values[d].iter().find(|v| !v.is_finite()) {
                            return Err(bad(d, format!("target `{target}` is {v}")));
                        }
                        Ok(if rows[d].is_empty() {
                            Targets::None
                        } else {
                            Targets::Squared {
                                k: *output,
                                at: rows[d]
                                    .iter()
                                    .copied()
                                    .zip(values[d].iter().copied())
                                    .collect(),
                            }
                        })
                    })
                    .collect::<Result<_, TaskError>>()?
            }
        };
        Ok(Metric {
            spec: spec.clone(),
            targets,
            width,
        })
    }

    /// Whether datum `d` has anything to score.
    pub fn scores(&self, d: DatumId) -> bool {
        self.targets[d.index()] != Targets::None
    }

    /// The output rows each datum's score reads (the graph computes only these).
    pub fn rows(&self) -> Vec<Vec<usize>> {
        self.targets.iter().map(Targets::rows).collect()
    }

    /// Whether "correct" means anything: not for squared error.
    pub fn has_accuracy(&self) -> bool {
        !matches!(self.spec, MetricSpec::SquaredError { .. })
    }

    /// The score of one sample's `[rows, width]` output against its reference.
    pub fn score(&self) -> Box<Score<'_>> {
        let width = self.width;
        match self.spec {
            MetricSpec::CrossEntropy { .. } | MetricSpec::NextToken { .. } => Box::new(log_loss(
                move |d: DatumId| match &self.targets[d.index()] {
                    Targets::Labels(l) => l.clone(),
                    _ => Vec::new(),
                },
                width,
            )),
            MetricSpec::LogitDiff { .. } | MetricSpec::SquaredError { .. } => Box::new(
                move |d: DatumId, out: &[f32]| match self.targets[d.index()] {
                    Targets::LogitDiff {
                        row,
                        correct,
                        incorrect,
                    } => {
                        let at = |t: u32| out[row * width + t as usize] as f64;
                        let diff = at(incorrect) - at(correct);
                        (diff, diff < 0.0)
                    }
                    Targets::Squared { k, ref at } => {
                        let sum: f64 = at
                            .iter()
                            .map(|&(row, target)| (out[row * width + k] as f64 - target).powi(2))
                            .sum();
                        (sum / at.len() as f64, false)
                    }
                    _ => (0.0, false),
                },
            ),
        }
    }

    /// This metric (`kind` `Loss`) or the negative log-odds of its labels (`LogOdds`) with
    /// its gradient. Logit differences and squared errors do not saturate: they are their
    /// own differentiable metric under either kind.
    pub fn differentiable(&self, kind: MetricKind) -> Option<Differentiable<'_>> {
        let width = self.width;
        match self.spec {
            MetricSpec::CrossEntropy { .. } | MetricSpec::NextToken { .. } => {
                let targets = move |d: DatumId| match &self.targets[d.index()] {
                    Targets::Labels(l) => l.clone(),
                    _ => Vec::new(),
                };
                Some(Differentiable::of_targets(
                    kind,
                    targets,
                    width,
                    self.definition(),
                ))
            }
            MetricSpec::LogitDiff { .. } | MetricSpec::SquaredError { .. } => {
                Some(Differentiable {
                    score: self.score(),
                    gradient: Box::new(move |d: DatumId, out: &[f32]| {
                        let mut g = vec![0.0f32; out.len()];
                        match self.targets[d.index()] {
                            Targets::LogitDiff {
                                row,
                                correct,
                                incorrect,
                            } => {
                                g[row * width + incorrect as usize] += 1.0;
                                g[row * width + correct as usize] -= 1.0;
                            }
                            Targets::Squared { k, ref at } => {
                                for &(row, target) in at {
                                    let j = row * width + k;
                                    g[j] +=
                                        (2.0 * (out[j] as f64 - target) / at.len() as f64) as f32;
                                }
                            }
                            _ => {}
                        }
                        g
                    }),
                    definition: self.definition(),
                })
            }
        }
    }

    /// The metric in words, for reports.
    pub fn definition(&self) -> String {
        let at = |p: &Position| match p {
            Position::At(i) => format!("position {i}"),
            Position::Last => "the last position".into(),
            Position::Column(c) => format!("the position in column `{c}`"),
            Position::Where(c) => format!("every position `{c}` marks (the mean)"),
        };
        match &self.spec {
            MetricSpec::CrossEntropy { label, position } => format!(
                "per sample: the log loss (nats) of the output at {} against the reference's `{label}`",
                at(position)
            ),
            MetricSpec::NextToken { mask } => format!(
                "per sample: the mean next-token log loss (nats) over the reference's positions selected by `{mask}`"
            ),
            MetricSpec::LogitDiff {
                correct,
                incorrect,
                position,
            } => format!(
                "per sample: logit[`{incorrect}`] − logit[`{correct}`] at {} (lower is better)",
                at(position)
            ),
            MetricSpec::SquaredError {
                target,
                position,
                output,
            } => format!(
                "per sample: (output {output} at {} − `{target}`)²",
                at(position)
            ),
        }
    }
}
