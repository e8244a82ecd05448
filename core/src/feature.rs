//! Features: named functions of a datum with a discrete value, precomputed once over a
//! dataset as a column, plus the equivalence-class buckets that make "draw a datum that
//! agrees with this one on feature f" an O(1) operation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Index of one datum in a scenario's dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DatumId(pub u32);

impl DatumId {
    /// The index as a `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The discrete value of a feature on one datum. Scenarios encode their values (booleans,
/// classes, exact rationals such as (opens, total)) into one integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureValue(pub i64);

impl From<bool> for FeatureValue {
    fn from(b: bool) -> Self {
        FeatureValue(b as i64)
    }
}

/// A feature evaluated on every datum of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureColumn {
    /// The feature's name as hypotheses spell it, e.g. `count_open` or `horizon_at(3)`.
    pub name: String,
    /// `values[d]` is the feature on datum `d`.
    pub values: Vec<FeatureValue>,
    /// Human-readable names of values, for reports and errors (may be empty).
    pub labels: HashMap<FeatureValue, String>,
}

impl FeatureColumn {
    /// A column without value labels.
    pub fn new(name: impl Into<String>, values: Vec<FeatureValue>) -> Self {
        FeatureColumn {
            name: name.into(),
            values,
            labels: HashMap::new(),
        }
    }

    /// Adds a readable name for `value`.
    pub fn with_label(mut self, value: FeatureValue, label: impl Into<String>) -> Self {
        self.labels.insert(value, label.into());
        self
    }

    /// The feature's value on `datum`.
    pub fn value(&self, datum: DatumId) -> FeatureValue {
        self.values[datum.index()]
    }

    /// `value` as a person reads it: its label if it has one, else the integer.
    pub fn describe(&self, value: FeatureValue) -> String {
        match self.labels.get(&value) {
            Some(l) => format!("{l} ({})", value.0),
            None => value.0.to_string(),
        }
    }

    /// The joint feature (self, other): equal exactly when both are equal.
    pub fn join(&self, other: &FeatureColumn) -> FeatureColumn {
        assert_eq!(
            self.values.len(),
            other.values.len(),
            "joined features must cover the same dataset"
        );
        let mut codes: HashMap<(FeatureValue, FeatureValue), FeatureValue> = HashMap::new();
        let mut labels = HashMap::new();
        let values = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(&a, &b)| {
                let next = FeatureValue(codes.len() as i64);
                *codes.entry((a, b)).or_insert_with(|| {
                    labels.insert(
                        next,
                        format!("({}, {})", self.describe(a), other.describe(b)),
                    );
                    next
                })
            })
            .collect();
        FeatureColumn {
            name: joined_name(&self.name, &other.name),
            values,
            labels,
        }
    }
}

/// How the name of a joined feature is spelled: `a & b`, the tuple feature equal exactly
/// when `a` and `b` both are (what joining two hypotheses makes of their features).
pub const JOIN_SEPARATOR: &str = " & ";

/// The name of the join of features `a` and `b`; joining a feature with one it already
/// contains gives it back unchanged, so repeated joins do not grow names.
pub fn joined_name(a: &str, b: &str) -> String {
    let mut parts: Vec<&str> = a.split(JOIN_SEPARATOR).collect();
    for p in b.split(JOIN_SEPARATOR) {
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join(JOIN_SEPARATOR)
}

/// The column called `name` among `columns`; a joined name (`a & b`) is resolved by joining
/// its parts' columns. The error is the first part that no column provides.
pub fn resolve<'c>(
    name: &str,
    columns: &'c [FeatureColumn],
) -> Result<std::borrow::Cow<'c, FeatureColumn>, String> {
    use std::borrow::Cow;
    if let Some(c) = columns.iter().find(|c| c.name == name) {
        return Ok(Cow::Borrowed(c));
    }
    let mut out: Option<FeatureColumn> = None;
    for part in name.split(JOIN_SEPARATOR) {
        let c = columns
            .iter()
            .find(|c| c.name == part)
            .ok_or_else(|| part.to_string())?;
        out = Some(match out {
            None => c.clone(),
            Some(acc) => acc.join(c),
        });
    }
    let mut col = out.ok_or_else(|| name.to_string())?;
    col.name = name.to_string();
    Ok(Cow::Owned(col))
}

/// The data of a column grouped by value, so an agreeing datum is one random index away.
#[derive(Debug, Clone)]
pub struct Buckets {
    by_value: HashMap<FeatureValue, Vec<DatumId>>,
}

impl Buckets {
    /// Groups the data `pool` (a subset of the column's data, in order) by the column's value.
    pub fn new(column: &FeatureColumn, pool: &[DatumId]) -> Self {
        let mut by_value: HashMap<FeatureValue, Vec<DatumId>> = HashMap::new();
        for &d in pool {
            by_value.entry(column.value(d)).or_default().push(d);
        }
        Buckets { by_value }
    }

    /// The data whose value is `value` (empty when none).
    pub fn class(&self, value: FeatureValue) -> &[DatumId] {
        self.by_value.get(&value).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of distinct values present.
    pub fn n_classes(&self) -> usize {
        self.by_value.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, v: &[i64]) -> FeatureColumn {
        FeatureColumn::new(name, v.iter().map(|&x| FeatureValue(x)).collect())
    }

    #[test]
    fn buckets_group_by_value_within_the_pool() {
        let c = col("f", &[0, 1, 0, 2, 1]);
        let pool: Vec<DatumId> = [0, 1, 2, 4].into_iter().map(DatumId).collect();
        let b = Buckets::new(&c, &pool);
        assert_eq!(b.class(FeatureValue(0)), &[DatumId(0), DatumId(2)]);
        assert_eq!(b.class(FeatureValue(1)), &[DatumId(1), DatumId(4)]);
        assert!(
            b.class(FeatureValue(2)).is_empty(),
            "datum 3 is outside the pool"
        );
        assert_eq!(b.n_classes(), 2);
    }

    #[test]
    fn join_is_equal_iff_both_are_equal() {
        let a = col("a", &[0, 0, 1, 1, 0]);
        let b = col("b", &[5, 6, 5, 6, 5]);
        let j = a.join(&b);
        for x in 0..5 {
            for y in 0..5 {
                let both = a.values[x] == a.values[y] && b.values[x] == b.values[y];
                assert_eq!(j.values[x] == j.values[y], both, "{x} {y}");
            }
        }
        assert_eq!(j.name, "a & b");
        assert!(j.describe(j.values[1]).contains("(0, 6)"));
    }
}
