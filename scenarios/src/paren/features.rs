//! The features of the paren experiments, evaluated once per dataset: the label, the count
//! and count( tests, the right-to-left horizon test overall and per position (with p or with
//! p_adj), the length and p_1 of open-starting sequences.
//!
//! p_i is the open fraction of the parens from position i to the end. The horizon test is
//! max_i p_i ≤ 1/2: scanning right to left, every suffix has at least as many ")" as "(".
//! That is not the left-to-right "depth never below zero" check; the two disagree on about a
//! fifth of these strings and only the right-to-left one is what the model computes.

use std::collections::HashMap;

use scrub_core::{DatumId, FeatureColumn, FeatureValue, Model};

use super::padj::PrefixWeights;
use super::ParenDataset;
use crate::error::ScenarioError;

/// What the input to a later layer at one token position says about the horizon test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionClass {
    /// Past [end]: a [pad] position.
    Pad,
    /// The [end] position of a sequence whose last paren is "(".
    EndAfterOpen,
    /// The [end] position of a sequence whose last paren is ")".
    EndAfterClose,
    /// The [end] position of the empty sequence (absent from the shipped data).
    EndAfterStart,
    /// A paren position whose (adjusted) proportion exceeds 1/2: the horizon test fails here.
    Fails,
    /// A paren position whose (adjusted) proportion is at most 1/2.
    Passes,
}

impl PositionClass {
    const ALL: [PositionClass; 6] = [
        PositionClass::Pad,
        PositionClass::EndAfterOpen,
        PositionClass::EndAfterClose,
        PositionClass::EndAfterStart,
        PositionClass::Fails,
        PositionClass::Passes,
    ];

    /// The class's code in a feature column.
    pub fn value(self) -> FeatureValue {
        FeatureValue(self as i64)
    }

    fn label(self, p: &str) -> String {
        match self {
            PositionClass::Pad => "[pad]".into(),
            PositionClass::EndAfterOpen => "[end] after (".into(),
            PositionClass::EndAfterClose => "[end] after )".into(),
            PositionClass::EndAfterStart => "[end] after [start]".into(),
            PositionClass::Fails => format!("{p} > 1/2 (horizon fails here)"),
            PositionClass::Passes => format!("{p} <= 1/2 (horizon passes here)"),
        }
    }
}

/// One feature, parsed from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    IsBalanced,
    Count,
    StartOpen,
    CountOpen,
    Horizon,
    HorizonAdj,
    Length,
    P1Open,
    HorizonAt(usize),
    HorizonAdjAt(usize),
}

const PLAIN: [(&str, Feature); 8] = [
    ("is_balanced", Feature::IsBalanced),
    ("count", Feature::Count),
    ("start_open", Feature::StartOpen),
    ("count_open", Feature::CountOpen),
    ("horizon", Feature::Horizon),
    ("horizon_adj", Feature::HorizonAdj),
    ("length", Feature::Length),
    ("p1_open", Feature::P1Open),
];

const PER_POSITION: [&str; 2] = ["horizon_at", "horizon_adj_at"];

impl Feature {
    /// The canonical spelling, e.g. `horizon_at(3)` for `horizon_at( 3 )`.
    fn name(self) -> String {
        match self {
            Feature::HorizonAt(i) => format!("horizon_at({i})"),
            Feature::HorizonAdjAt(i) => format!("horizon_adj_at({i})"),
            f => PLAIN
                .iter()
                .find(|(_, g)| *g == f)
                .map(|(n, _)| n.to_string())
                .expect("every plain feature is in PLAIN"),
        }
    }
}

/// Per-datum open counts of suffixes: `opens_from[i - 1]` = opens among parens i..=n, with a
/// final 0 for the empty suffix at i = n + 1.
fn suffix_opens(parens: &[bool]) -> Vec<usize> {
    let mut v = vec![0; parens.len() + 1];
    for i in (0..parens.len()).rev() {
        v[i] = v[i + 1] + parens[i] as usize;
    }
    v
}

/// 2·opens > total, the exact form of "open proportion above 1/2".
fn above_half(opens: usize, total: usize) -> bool {
    2 * opens > total
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The paren features of one dataset; `DatumId(k)` is the dataset's sequence k.
#[derive(Debug, Clone)]
pub struct ParenFeatures {
    /// `parens[d][i - 1]` is true when paren position i of datum d holds "(".
    parens: Vec<Vec<bool>>,
    balanced: Vec<bool>,
    prefix: PrefixWeights,
}

impl ParenFeatures {
    /// Features of `dataset`, with p_adj from head 0.0 of `model`.
    pub fn new(dataset: &ParenDataset, model: &Model) -> Result<Self, ScenarioError> {
        Self::with_prefix_weights(dataset, PrefixWeights::from_model(model)?)
    }

    /// Features of `dataset` with given b_{q,n} (e.g. `PrefixWeights::upper_triangular`).
    pub fn with_prefix_weights(
        dataset: &ParenDataset,
        prefix: PrefixWeights,
    ) -> Result<Self, ScenarioError> {
        let len = dataset.len();
        if u32::try_from(len).is_err() {
            return Err(ScenarioError::DatasetMismatch {
                len,
                message: format!("datum ids are 32-bit, so at most {} fit", u32::MAX),
            });
        }
        if let Some((k, e)) = dataset
            .examples
            .iter()
            .enumerate()
            .find(|(_, e)| e.text.len() > prefix.max_len())
        {
            return Err(ScenarioError::DatasetMismatch {
                len,
                message: format!(
                    "sequence {k} has {} parens but the model's context holds {}",
                    e.text.len(),
                    prefix.max_len()
                ),
            });
        }
        Ok(ParenFeatures {
            parens: dataset
                .examples
                .iter()
                .map(|e| e.text.bytes().map(|b| b == b'(').collect())
                .collect(),
            balanced: dataset.examples.iter().map(|e| e.balanced).collect(),
            prefix,
        })
    }

    /// Number of data.
    pub fn len(&self) -> usize {
        self.parens.len()
    }

    /// True when there are no data.
    pub fn is_empty(&self) -> bool {
        self.parens.is_empty()
    }

    /// The b_{q,n} used for p_adj.
    pub fn prefix_weights(&self) -> &PrefixWeights {
        &self.prefix
    }

    /// Token positions that per-position features take: 1 (first paren) to the last [end].
    pub fn positions(&self) -> std::ops::RangeInclusive<usize> {
        1..=self.prefix.max_len() + 1
    }

    /// p_i of `datum`, or `None` unless i is a paren position (1 ≤ i ≤ n).
    pub fn p(&self, datum: DatumId, i: usize) -> Option<f64> {
        let parens = self.parens.get(datum.index())?;
        if i == 0 || i > parens.len() {
            return None;
        }
        let opens = parens[i - 1..].iter().filter(|&&o| o).count();
        Some(opens as f64 / (parens.len() - i + 1) as f64)
    }

    /// p_adj,i of `datum`, or `None` unless i is a paren position.
    pub fn p_adj(&self, datum: DatumId, i: usize) -> Option<f64> {
        self.prefix.p_adj(self.parens.get(datum.index())?, i)
    }

    /// Every feature name; per-position ones as `horizon_at(i) for i in 1..=41`.
    pub fn names(&self) -> Vec<String> {
        let (lo, hi) = self.positions().into_inner();
        PLAIN
            .iter()
            .map(|(n, _)| n.to_string())
            .chain(
                PER_POSITION
                    .iter()
                    .map(|n| format!("{n}(i) for i in {lo}..={hi}")),
            )
            .collect()
    }

    /// Every plain feature and every per-position one as a `{i}` template, for the
    /// adversary's refinements.
    pub fn library(&self) -> Vec<String> {
        PLAIN
            .iter()
            .map(|(n, _)| n.to_string())
            .chain(PER_POSITION.iter().map(|n| format!("{n}({{i}})")))
            .collect()
    }

    /// The canonical spelling of feature `name` (`horizon_at(5)` for `horizon_at( 05 )`), or
    /// `None` when it names no feature: hypotheses must use this spelling, since runs, joins
    /// and the adversary compare names as written.
    pub fn canonical_name(&self, name: &str) -> Option<String> {
        self.parse(name).ok().map(Feature::name)
    }

    /// The column of feature `name` over every datum, with readable value labels.
    pub fn column(&self, name: &str) -> Result<FeatureColumn, ScenarioError> {
        let feature = self.parse(name)?;
        let mut labels: HashMap<FeatureValue, String> = HashMap::new();
        let mut bool_labels = |no: &str, yes: &str| {
            labels.insert(FeatureValue::from(false), no.to_string());
            labels.insert(FeatureValue::from(true), yes.to_string());
        };
        let values: Vec<FeatureValue> = match feature {
            Feature::IsBalanced => {
                bool_labels("unbalanced", "balanced");
                self.balanced.iter().map(|&b| b.into()).collect()
            }
            Feature::Count => {
                bool_labels("unequal counts", "equal counts");
                self.map(|s| Self::equal_count(s).into())
            }
            Feature::StartOpen => {
                bool_labels("does not start with (", "starts with (");
                self.map(|s| Self::start_open(s).into())
            }
            Feature::CountOpen => {
                bool_labels("fails count(", "passes count(");
                self.map(|s| (Self::start_open(s) && Self::equal_count(s)).into())
            }
            Feature::Horizon => {
                bool_labels("fails horizon", "passes horizon");
                self.map(|s| {
                    let opens = suffix_opens(s);
                    (1..=s.len())
                        .all(|i| !above_half(opens[i - 1], s.len() - i + 1))
                        .into()
                })
            }
            Feature::HorizonAdj => {
                bool_labels("fails adjusted horizon", "passes adjusted horizon");
                self.map(|s| {
                    let opens = suffix_opens(s);
                    (1..=s.len())
                        .all(|i| {
                            !self.adjusted_fails(s.len(), i, opens[0] - opens[i - 1], opens[i - 1])
                        })
                        .into()
                })
            }
            Feature::Length => self.map(|s| {
                let v = FeatureValue(s.len() as i64);
                labels
                    .entry(v)
                    .or_insert_with(|| format!("{} parens", s.len()));
                v
            }),
            Feature::P1Open => {
                // p_1 as a reduced fraction: sequences with the same proportion share a class
                // whatever their length, as head 0.0's ideal output depends on p_1 alone.
                let closed = FeatureValue(-1);
                labels.insert(closed, "does not start with (".into());
                self.map(|s| {
                    if !Self::start_open(s) {
                        return closed;
                    }
                    let opens = s.iter().filter(|&&o| o).count();
                    let g = gcd(opens, s.len());
                    let (num, den) = (opens / g, s.len() / g);
                    let v = FeatureValue(((num as i64) << 32) | den as i64);
                    labels
                        .entry(v)
                        .or_insert_with(|| format!("p1 = {num}/{den}"));
                    v
                })
            }
            Feature::HorizonAt(i) => {
                for c in PositionClass::ALL {
                    labels.insert(c.value(), c.label("p"));
                }
                self.map(|s| {
                    Self::class_at(s, i, |_, suffix_open| {
                        above_half(suffix_open, s.len() - i + 1)
                    })
                    .value()
                })
            }
            Feature::HorizonAdjAt(i) => {
                for c in PositionClass::ALL {
                    labels.insert(c.value(), c.label("p_adj"));
                }
                self.map(|s| {
                    Self::class_at(s, i, |prefix_open, suffix_open| {
                        self.adjusted_fails(s.len(), i, prefix_open, suffix_open)
                    })
                    .value()
                })
            }
        };
        Ok(FeatureColumn {
            name: feature.name(),
            values,
            labels,
        })
    }

    fn map(&self, mut f: impl FnMut(&[bool]) -> FeatureValue) -> Vec<FeatureValue> {
        self.parens.iter().map(|s| f(s)).collect()
    }

    fn equal_count(s: &[bool]) -> bool {
        2 * s.iter().filter(|&&o| o).count() == s.len()
    }

    fn start_open(s: &[bool]) -> bool {
        s.first() == Some(&true)
    }

    /// The class of token position i; `fails(prefix_opens, suffix_opens)` decides paren
    /// positions, the prefix being parens 1..i-1 and the suffix parens i..=n.
    fn class_at(s: &[bool], i: usize, fails: impl Fn(usize, usize) -> bool) -> PositionClass {
        let n = s.len();
        if i > n + 1 {
            PositionClass::Pad
        } else if i == n + 1 {
            match s.last() {
                Some(true) => PositionClass::EndAfterOpen,
                Some(false) => PositionClass::EndAfterClose,
                None => PositionClass::EndAfterStart,
            }
        } else {
            let suffix_open = s[i - 1..].iter().filter(|&&o| o).count();
            let prefix_open = s[..i - 1].iter().filter(|&&o| o).count();
            if fails(prefix_open, suffix_open) {
                PositionClass::Fails
            } else {
                PositionClass::Passes
            }
        }
    }

    /// p_adj,i > 1/2 for paren position i of a sequence of n parens.
    fn adjusted_fails(&self, n: usize, i: usize, prefix_open: usize, suffix_open: usize) -> bool {
        self.prefix
            .excess(i, n, prefix_open, suffix_open)
            .expect("construction checked n <= max_len, and i is a paren position")
            > 0.0
    }

    /// Parses a name, tolerating whitespace around it and inside `horizon_at( 3 )`.
    fn parse(&self, name: &str) -> Result<Feature, ScenarioError> {
        let trimmed = name.trim();
        let unknown = || ScenarioError::UnknownFeature {
            name: name.to_string(),
            valid: self.names().join(", "),
        };
        let bad = |message: String| ScenarioError::BadFeatureParameter {
            name: name.to_string(),
            message,
        };
        let positions = self.positions();
        let range = format!("{}..={}", positions.start(), positions.end());
        let Some(open) = trimmed.find('(') else {
            if let Some((_, f)) = PLAIN.iter().find(|(n, _)| *n == trimmed) {
                return Ok(*f);
            }
            if PER_POSITION.contains(&trimmed) {
                return Err(bad(format!(
                    "needs a token position: {trimmed}(i) for i in {range}"
                )));
            }
            return Err(unknown());
        };
        let head = trimmed[..open].trim_end();
        if !PER_POSITION.contains(&head) {
            if PLAIN.iter().any(|(n, _)| *n == head) {
                return Err(bad(format!("`{head}` takes no parameter")));
            }
            return Err(unknown());
        }
        let arg = trimmed[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| bad("expected `)` at the end".into()))?
            .trim();
        let i: usize = arg.parse().map_err(|_| {
            bad(format!(
                "`{arg}` is not a token position; expected an integer in {range}"
            ))
        })?;
        if !positions.contains(&i) {
            return Err(bad(format!(
                "token position {i} is outside {range} (1 is the first paren, {} the last [end])",
                positions.end()
            )));
        }
        Ok(if head == "horizon_at" {
            Feature::HorizonAt(i)
        } else {
            Feature::HorizonAdjAt(i)
        })
    }
}

#[cfg(test)]
#[path = "features_tests.rs"]
pub(crate) mod tests;
