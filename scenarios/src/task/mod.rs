//! Task directories: a scenario that is only data — a `task.ron` manifest beside a model
//! (safetensors with a RON or TransformerLens JSON config), a dataset (JSONL, safetensors
//! or `.npy` columns), a metric and optional rewrite data. Nothing here is specific to any
//! task; the built-in scenarios hand the same pipeline the same kinds of data.

mod error;
mod manifest;
mod metric;
mod open;
pub mod spelling;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use scrub_core::dataset::Dataset;
use scrub_core::experiment::{Baseline, ExperimentError, Scenario};
use scrub_core::feature::JOIN_SEPARATOR;
use scrub_core::scrub::hypothesis::FeatureNames;
use scrub_core::scrub::rewrite::RewriteLibrary;
use scrub_core::scrub::run::{Differentiable, MetricKind, Score};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::{DatumId, FeatureColumn, FeatureValue, Model, TokenId};

pub use error::TaskError;
pub use manifest::{Manifest, MetricSpec, Position, MANIFEST};
pub use metric::Metric;

/// A predictor read from a file: `[n_data, rows * d_model]` floats, zero outside `row`.
#[derive(Debug, Clone)]
struct PredictorData {
    name: String,
    values: std::sync::Arc<Vec<f32>>,
    /// `Some(r)`: each datum's vector is row `r`; `None`: whole `[n_ctx, d_model]` values.
    row: Option<usize>,
}

/// An opened task directory.
pub struct Task {
    /// The task directory (canonical).
    pub dir: PathBuf,
    /// The directory's name, the scenario's name in reports.
    pub name: String,
    pub manifest: Manifest,
    pub model: Model,
    pub dataset: Dataset,
    pub metric: Metric,
    /// Feature columns hypotheses may use, as the manifest lists them.
    pub features: Vec<String>,
    /// Warnings found while opening (a constant feature, ...), also logged.
    pub warnings: Vec<String>,
    pool: Vec<DatumId>,
    tokens: Vec<Vec<TokenId>>,
    baselines: [Baseline; 2],
    predictors: Vec<PredictorData>,
    directions: Vec<(String, Vec<f32>)>,
    groups: Vec<FeatureColumn>,
    memo: Mutex<HashMap<String, FeatureColumn>>,
}

/// How a per-position feature names every position at once: `c[all]`, equal exactly when
/// the whole sequence of values is (and so the lengths are).
const ALL_POSITIONS: &str = "all";

/// A per-position feature `c[all]`: the column.
fn split_all(name: &str) -> Option<&str> {
    let name = name.trim();
    let inner = name.strip_suffix(']')?;
    let at = inner.find('[')?;
    (inner[at + 1..].trim() == ALL_POSITIONS).then(|| inner[..at].trim())
}

/// A per-position feature `c[i]` (also spelt `c(i)`): the column and the position.
fn split_position(name: &str) -> Option<(&str, usize)> {
    let name = name.trim();
    let (open, close) = if name.ends_with(']') {
        ('[', ']')
    } else if name.ends_with(')') {
        ('(', ')')
    } else {
        return None;
    };
    let at = name.find(open)?;
    let i = name[at + 1..name.len() - close.len_utf8()]
        .trim()
        .parse()
        .ok()?;
    Some((name[..at].trim(), i))
}

impl Task {
    /// Whether `c` is a per-position feature column.
    fn per_position(&self, c: &str) -> bool {
        self.features.iter().any(|f| f == c)
            && self
                .dataset
                .column(c)
                .is_some_and(|col| col.scope == scrub_core::dataset::Scope::PerPosition)
    }

    /// The canonical spelling of feature `name`: `c` for a per-datum column, `c[i]` for a
    /// per-position one; `None` when the task has no such feature.
    pub fn canonical_feature(&self, name: &str) -> Option<String> {
        let name = name.trim();
        if self.features.iter().any(|f| f == name) && !self.per_position(name) {
            return Some(name.to_string());
        }
        if let Some(c) = split_all(name) {
            return self
                .per_position(c)
                .then(|| format!("{c}[{ALL_POSITIONS}]"));
        }
        let (c, i) = split_position(name)?;
        (self.per_position(c) && i < self.model.config.n_ctx).then(|| format!("{c}[{i}]"))
    }

    /// The features as a person reads the list: `c`, and `c[i] for i in 0..L`.
    pub fn feature_list(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|f| match self.per_position(f) {
                true => format!(
                    "{f}[i] for i in 0..{}, {f}[{ALL_POSITIONS}]",
                    self.dataset.max_len()
                ),
                false => f.clone(),
            })
            .collect()
    }

    fn column(&self, name: &str) -> Result<FeatureColumn, ExperimentError> {
        let unknown = || ExperimentError::UnknownFeature {
            scenario: self.name.clone(),
            name: name.to_string(),
            known: self.feature_list().join(", "),
        };
        let canonical = self.canonical_feature(name).ok_or_else(unknown)?;
        if let Some(c) = split_all(&canonical) {
            return self.whole_sequence(c, name);
        }
        let col = match split_position(&canonical) {
            Some((c, i)) if self.per_position(c) => self
                .dataset
                .column(c)
                .expect("checked on open")
                .feature_at(i, name.to_string()),
            _ => self
                .dataset
                .column(&canonical)
                .expect("checked on open")
                .feature(name.to_string()),
        };
        col.map_err(ExperimentError::scenario)
    }
}

impl Task {
    /// `c[all]`: one value per distinct sequence of `c`'s values (absent positions, past a
    /// datum's end, count as a value of their own).
    fn whole_sequence(&self, c: &str, name: &str) -> Result<FeatureColumn, ExperimentError> {
        let col = self.dataset.column(c).expect("checked on open");
        let at: Vec<FeatureColumn> = (0..self.dataset.max_len())
            .map(|i| col.feature_at(i, name.to_string()))
            .collect::<Result<_, _>>()
            .map_err(ExperimentError::scenario)?;
        let mut codes: HashMap<Vec<FeatureValue>, FeatureValue> = HashMap::new();
        let mut labels = HashMap::new();
        let values = (0..self.dataset.len())
            .map(|d| {
                let id = DatumId(d as u32);
                let key: Vec<FeatureValue> = at.iter().map(|f| f.value(id)).collect();
                let next = FeatureValue(codes.len() as i64);
                *codes.entry(key).or_insert_with_key(|key| {
                    let parts: Vec<String> = (0..self.dataset.seq_len(id))
                        .map(|i| at[i].describe(key[i]))
                        .collect();
                    labels.insert(next, format!("[{}]", parts.join(", ")));
                    next
                })
            })
            .collect();
        let mut out = FeatureColumn::new(name, values);
        out.labels = labels;
        Ok(out)
    }
}

impl Scenario for Task {
    fn name(&self) -> &str {
        &self.name
    }

    /// Logits only at the rows the metric reads, the same rows for every datum: a
    /// scrubbed output is computed on its root's datum but scored at its reference's rows,
    /// so with ragged data each datum computes the union of all data's rows.
    fn graph(&self) -> Result<TransformerGraph<'_>, ExperimentError> {
        let mut union: Vec<usize> = self.metric.rows().into_iter().flatten().collect();
        union.sort_unstable();
        union.dedup();
        let rows = vec![union; self.tokens.len()];
        let graph = match self.manifest.attention_patterns {
            true => TransformerGraph::with_patterns(&self.model, self.tokens.clone())?,
            false => TransformerGraph::new(&self.model, self.tokens.clone())?,
        };
        Ok(graph.with_output_rows(rows)?)
    }

    fn pool(&self) -> &[DatumId] {
        &self.pool
    }

    fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ExperimentError> {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<FeatureColumn> = Vec::new();
        for part in names.iter().flat_map(|n| n.split(JOIN_SEPARATOR)) {
            if out.iter().any(|c| c.name == part) {
                continue;
            }
            let c = match memo.get(part) {
                Some(c) => c.clone(),
                None => {
                    let c = self.column(part)?;
                    memo.insert(part.to_string(), c.clone());
                    c
                }
            };
            out.push(c);
        }
        Ok(out)
    }

    fn feature_names(&self) -> FeatureNames<'_> {
        FeatureNames::new(self.feature_list(), |n| self.canonical_feature(n))
    }

    fn feature_library(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|f| match self.per_position(f) {
                true => format!("{f}[{{i}}]"),
                false => f.clone(),
            })
            .collect()
    }

    fn rewrite_library(&self) -> RewriteLibrary {
        let mut lib = RewriteLibrary::default();
        let (rows, d) = (self.model.config.n_ctx, self.model.config.d_model);
        for p in &self.predictors {
            let values = std::sync::Arc::clone(&p.values);
            let row = p.row;
            lib = lib.predictor(p.name.clone(), move |datum: DatumId| match row {
                Some(r) => {
                    let mut v = vec![0.0f32; rows * d];
                    v[r * d..(r + 1) * d]
                        .copy_from_slice(&values[datum.index() * d..(datum.index() + 1) * d]);
                    v
                }
                None => values[datum.index() * rows * d..(datum.index() + 1) * rows * d].to_vec(),
            });
        }
        for (name, v) in &self.directions {
            lib = lib.direction(name.clone(), v.clone());
        }
        lib
    }

    fn score(&self) -> Box<Score<'_>> {
        self.metric.score()
    }

    fn differentiable(&self, kind: MetricKind) -> Option<Differentiable<'_>> {
        self.metric.differentiable(kind)
    }

    fn baselines(&self) -> Result<[Baseline; 2], ExperimentError> {
        Ok(self.baselines.clone())
    }

    fn loss_definition(&self) -> String {
        self.metric.definition()
    }

    fn has_accuracy(&self) -> bool {
        self.metric.has_accuracy()
    }

    fn groups(&self) -> Result<Vec<FeatureColumn>, ExperimentError> {
        Ok(self.groups.clone())
    }

    fn batch(&self) -> usize {
        self.manifest.batch.unwrap_or_else(|| {
            let c = &self.model.config;
            // The widest value a recomputed node holds per sample: the residual stream, an
            // MLP's hidden layer, or an attention pattern.
            let width = c.d_model.max(c.d_mlp.unwrap_or(0)).max(c.n_ctx);
            let per_sample = c.n_ctx * width * std::mem::size_of::<f32>();
            ((64 << 20) / per_sample.max(1)).clamp(16, scrub_core::scrub::evaluate::SAMPLE_BATCH)
        })
    }
}
