//! Reading a column: as a feature (datum-level, or at one position), or value by value for
//! metrics (labels, target tokens, masks).

use std::collections::{HashMap, HashSet};

use super::{Column, DatasetError, Scope, Values};
use crate::feature::{DatumId, FeatureColumn, FeatureValue};

/// The label of the value given to data too short to have the position asked for.
pub const ABSENT: &str = "(absent)";

impl Column {
    /// `"int"`, `"bool"`, `"float"` or `"string"`.
    pub fn kind(&self) -> &'static str {
        self.values.kind()
    }

    /// Positions of datum `d` in the flat per-position values.
    fn range(&self, d: DatumId) -> std::ops::Range<usize> {
        self.offsets[d.index()]..self.offsets[d.index() + 1]
    }

    /// The per-datum column as a feature called `name`: ints as they are, bools as 0/1 and
    /// strings as their dictionary codes, both labelled.
    pub fn feature(&self, name: String) -> Result<FeatureColumn, DatasetError> {
        if self.scope == Scope::PerPosition {
            return Err(DatasetError::PerPositionFeature {
                column: self.name.clone(),
            });
        }
        let mut col = match &self.values {
            Values::Int(v) => {
                FeatureColumn::new(name, v.iter().map(|&x| FeatureValue(x)).collect())
            }
            Values::Bool(v) => bool_labels(FeatureColumn::new(
                name,
                v.iter().map(|&b| FeatureValue::from(b)).collect(),
            )),
            Values::Str { dict, codes } => {
                let col = FeatureColumn::new(
                    name,
                    codes.iter().map(|&c| FeatureValue(c as i64)).collect(),
                );
                str_labels(col, dict)
            }
            Values::Float(_) => return Err(self.float_feature()),
        };
        col.labels.shrink_to_fit();
        Ok(col)
    }

    /// The per-position column at position `i` as a feature called `name`. Data shorter than
    /// `i + 1` all get one value of their own, labelled `(absent)`.
    pub fn feature_at(&self, i: usize, name: String) -> Result<FeatureColumn, DatasetError> {
        if self.scope == Scope::PerDatum {
            return Err(DatasetError::NotPerPosition {
                column: self.name.clone(),
            });
        }
        let n = self.offsets.len() - 1;
        // The flat index of position i of each datum, if it is that long.
        let at: Vec<Option<usize>> = (0..n)
            .map(|d| {
                let r = self.range(DatumId(d as u32));
                (i < r.len()).then_some(r.start + i)
            })
            .collect();
        let any_absent = at.iter().any(Option::is_none);
        let (col, absent) = match &self.values {
            Values::Int(v) => {
                let present = at.iter().flatten().map(|&j| v[j]);
                let (lo, hi) =
                    present.fold((i64::MAX, i64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
                // Any value no datum has will do; below the smallest reads best.
                let absent = lo.checked_sub(1).or(hi.checked_add(1)).unwrap_or(0);
                let values = at
                    .iter()
                    .map(|j| FeatureValue(j.map_or(absent, |j| v[j])))
                    .collect();
                (FeatureColumn::new(name, values), absent)
            }
            Values::Bool(v) => {
                let values = at
                    .iter()
                    .map(|j| FeatureValue(j.map_or(2, |j| v[j] as i64)))
                    .collect();
                (bool_labels(FeatureColumn::new(name, values)), 2)
            }
            Values::Str { dict, codes } => {
                let absent = dict.len() as i64;
                let values = at
                    .iter()
                    .map(|j| FeatureValue(j.map_or(absent, |j| codes[j] as i64)))
                    .collect();
                (str_labels(FeatureColumn::new(name, values), dict), absent)
            }
            Values::Float(_) => return Err(self.float_feature()),
        };
        Ok(if any_absent {
            col.with_label(FeatureValue(absent), ABSENT)
        } else {
            col
        })
    }

    fn float_feature(&self) -> DatasetError {
        DatasetError::FloatFeature {
            column: self.name.clone(),
        }
    }

    /// Per-datum value of an int or bool column (bools as 0/1): labels, token ids, positions.
    pub fn int(&self, d: DatumId) -> Option<i64> {
        if self.scope != Scope::PerDatum {
            return None;
        }
        match &self.values {
            Values::Int(v) => v.get(d.index()).copied(),
            Values::Bool(v) => v.get(d.index()).map(|&b| b as i64),
            _ => None,
        }
    }

    /// Per-datum value of a float, int or bool column, as a float: regression targets.
    pub fn float(&self, d: DatumId) -> Option<f64> {
        if self.scope != Scope::PerDatum {
            return None;
        }
        match &self.values {
            Values::Float(v) => v.get(d.index()).copied(),
            _ => self.int(d).map(|x| x as f64),
        }
    }

    /// Per-datum value of a string column.
    pub fn str(&self, d: DatumId) -> Option<&str> {
        match (&self.values, self.scope) {
            (Values::Str { dict, codes }, Scope::PerDatum) => {
                codes.get(d.index()).map(|&c| dict[c as usize].as_str())
            }
            _ => None,
        }
    }

    /// Values of a per-position int column for datum `d`, one per token.
    pub fn ints_at(&self, d: DatumId) -> Option<&[i64]> {
        match (&self.values, self.scope) {
            (Values::Int(v), Scope::PerPosition) => v.get(self.range(d)),
            _ => None,
        }
    }

    /// Values of a per-position bool column for datum `d`, one per token (e.g. a loss mask).
    pub fn bools_at(&self, d: DatumId) -> Option<&[bool]> {
        match (&self.values, self.scope) {
            (Values::Bool(v), Scope::PerPosition) => v.get(self.range(d)),
            _ => None,
        }
    }

    /// Values of a per-position float column for datum `d`, one per token.
    pub fn floats_at(&self, d: DatumId) -> Option<&[f64]> {
        match (&self.values, self.scope) {
            (Values::Float(v), Scope::PerPosition) => v.get(self.range(d)),
            _ => None,
        }
    }

    /// How many different values the column holds (over all positions, if per-position), so
    /// a caller can warn about a constant feature.
    pub fn distinct_values(&self) -> usize {
        match &self.values {
            Values::Int(v) => v.iter().collect::<HashSet<_>>().len(),
            Values::Bool(v) => v.contains(&true) as usize + v.contains(&false) as usize,
            // -0.0 and 0.0 are one value; NaNs count by bit pattern.
            Values::Float(v) => v
                .iter()
                .map(|&x| if x == 0.0 { 0u64 } else { x.to_bits() })
                .collect::<HashSet<_>>()
                .len(),
            Values::Str { codes, .. } => codes.iter().collect::<HashSet<_>>().len(),
        }
    }
}

fn bool_labels(col: FeatureColumn) -> FeatureColumn {
    col.with_label(FeatureValue(0), "false")
        .with_label(FeatureValue(1), "true")
}

fn str_labels(mut col: FeatureColumn, dict: &[String]) -> FeatureColumn {
    col.labels = dict
        .iter()
        .enumerate()
        .map(|(i, s)| (FeatureValue(i as i64), s.clone()))
        .collect::<HashMap<_, _>>();
    col
}
