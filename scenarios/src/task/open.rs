//! Opening a task directory: every file the manifest names is read and checked against
//! the others (columns against the dataset, tokens against the model) before anything runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use scrub_core::dataset::{Dataset, Scope, Values};
use scrub_core::experiment::Baseline;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::{AttentionKind, DatumId, Model};

use super::manifest::{Manifest, ModelSource, MANIFEST};
use super::metric::Metric;
use super::{PredictorData, Task, TaskError};

/// The unscrubbed model: the default low baseline.
const MODEL: &str = r#"Hypothesis(scenario: ".", description: "the unscrubbed model", root: Node(name: "out", reference: true, reads: ["out"]))"#;
/// The whole model on a random datum: the default high baseline.
const RANDOM: &str = r#"Hypothesis(scenario: ".", description: "the model on a random datum", root: Node(name: "out", reads: ["out"]))"#;

impl Task {
    /// Opens the task directory `dir`, checking everything its manifest names.
    pub fn open(dir: &Path) -> Result<Task, TaskError> {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let manifest = Manifest::load(&dir)?;
        let manifest_path = dir.join(MANIFEST);
        let file = |field: &str, p: &Path| -> Result<PathBuf, TaskError> {
            let path = dir.join(p);
            if path.exists() {
                Ok(path)
            } else {
                Err(TaskError::MissingFile {
                    manifest: manifest_path.clone(),
                    field: field.to_string(),
                    path,
                })
            }
        };
        let mut model = match manifest.model.source(&manifest_path)? {
            ModelSource::Files { config, weights } => Model::load(
                &file("model.config", config)?,
                &file("model.weights", weights)?,
            )?,
            ModelSource::Hf(folder) => Model::load_hf(&file("model.hf", folder)?)?,
        };
        if let Some(p) = manifest.model.pad_token {
            if p as usize >= model.config.d_vocab {
                return Err(TaskError::Invalid(format!(
                    "{}: `pad_token` {p} is outside the vocabulary (d_vocab = {})",
                    manifest_path.display(),
                    model.config.d_vocab
                )));
            }
            model.config.pad_token = Some(p);
        }
        if manifest.batch == Some(0) {
            return Err(TaskError::Invalid(format!(
                "{}: `batch` must be at least 1 sample",
                manifest_path.display()
            )));
        }
        let dataset = Dataset::load(&file("dataset", &manifest.dataset)?)?;
        let cfg = &model.config;
        dataset.check_tokens(cfg.d_vocab, cfg.n_ctx)?;
        let ragged = (0..dataset.len()).any(|d| dataset.seq_len(DatumId(d as u32)) < cfg.n_ctx);
        if ragged && cfg.attention == AttentionKind::Bidirectional && cfg.pad_token.is_none() {
            return Err(TaskError::Invalid(format!(
                "{}: sequences shorter than n_ctx = {} are padded, and the model attends both ways, so padding would change its outputs: set `pad_token` in the manifest's `model` (the token whose keys attention ignores)",
                manifest_path.display(),
                cfg.n_ctx
            )));
        }
        // Causal attention never reads later positions, so any padding token is harmless there.
        let tokens = dataset.padded_tokens(cfg.n_ctx, cfg.pad_token.unwrap_or(0));
        let metric = Metric::new(&manifest.metric, &dataset, cfg)?;
        let mut warnings = Vec::new();
        let features = feature_columns(&manifest, &dataset, &mut warnings)?;
        let groups = manifest
            .groups
            .iter()
            .map(|g| {
                let c = column(&dataset, g, "`groups`")?;
                if c.scope != Scope::PerDatum {
                    return Err(TaskError::ColumnKind {
                        name: g.clone(),
                        found: "per-position".into(),
                        expected: "a per-datum column to group references by".into(),
                    });
                }
                Ok(c.feature(g.clone())?)
            })
            .collect::<Result<Vec<_>, TaskError>>()?;
        let pool = pool(&manifest, &dataset, &metric)?;
        let baselines = baselines(&manifest, &dir, &file)?;
        let predictors = manifest
            .predictors
            .iter()
            .map(|(name, p)| {
                let path = file(&format!("predictors.{name}"), &p.file)?;
                let (shape, values) = scrub_core::dataset::read_floats(&path)?;
                let (n, d, rows) = (dataset.len(), cfg.d_model, cfg.n_ctx);
                let want: Vec<usize> = match p.row {
                    Some(r) if r < rows => vec![n, d],
                    Some(r) => {
                        return Err(TaskError::Invalid(format!(
                            "{}: predictor `{name}`: row {r} is outside n_ctx = {rows}",
                            manifest_path.display()
                        )))
                    }
                    None => vec![n, rows, d],
                };
                if shape != want {
                    return Err(TaskError::Invalid(format!(
                        "{}: predictor `{name}` has shape {shape:?}; expected {want:?} (data, {}d_model)",
                        path.display(),
                        if p.row.is_some() { "" } else { "n_ctx, " }
                    )));
                }
                Ok(PredictorData {
                    name: name.clone(),
                    values: Arc::new(values),
                    row: p.row,
                })
            })
            .collect::<Result<Vec<_>, TaskError>>()?;
        let directions = manifest
            .directions
            .iter()
            .map(|(name, p)| {
                let path = file(&format!("directions.{name}"), p)?;
                let (shape, values) = scrub_core::dataset::read_floats(&path)?;
                if shape.len() != 1 {
                    return Err(TaskError::Invalid(format!(
                        "{}: direction `{name}` has shape {shape:?}; expected one axis (a vector as wide as the terms it projects)",
                        path.display()
                    )));
                }
                Ok((name.clone(), values))
            })
            .collect::<Result<Vec<_>, TaskError>>()?;
        for w in &warnings {
            tracing::warn!("{}: {w}", dir.display());
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Task {
            dir,
            name,
            manifest,
            model,
            dataset,
            metric,
            features,
            warnings,
            pool,
            tokens,
            baselines,
            predictors,
            directions,
            groups,
            memo: Mutex::new(HashMap::new()),
        })
    }
}

/// Column `name` of `dataset`, or an error saying `what` names it and listing the columns.
pub(super) fn column<'d>(
    dataset: &'d Dataset,
    name: &str,
    what: &str,
) -> Result<&'d scrub_core::dataset::Column, TaskError> {
    dataset
        .column(name)
        .ok_or_else(|| TaskError::MissingColumn {
            what: what.to_string(),
            name: name.to_string(),
            dataset: dataset.source().to_path_buf(),
            known: dataset
                .columns()
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The feature columns: the manifest's list, or every int, bool and string column (the
/// label too: a baseline like the write-up's 0a agrees on it); a constant one is a warning (conditioning on it is conditioning
/// on nothing).
fn feature_columns(
    manifest: &Manifest,
    dataset: &Dataset,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, TaskError> {
    let names: Vec<String> = match &manifest.features {
        Some(f) => f.clone(),
        None => dataset
            .columns()
            .iter()
            .filter(|c| !matches!(c.values, Values::Float(_)))
            .filter(|c| Some(&c.name) != manifest.pool.as_ref())
            .map(|c| c.name.clone())
            .collect(),
    };
    for n in &names {
        let c = column(dataset, n, "`features`")?;
        if let Values::Float(_) = c.values {
            return Err(TaskError::ColumnKind {
                name: n.clone(),
                found: "float".into(),
                expected: "an int, bool or string column: floats are targets, not features (discretise them into an int column)".into(),
            });
        }
        if c.scope == Scope::PerDatum && c.distinct_values() == 1 {
            warnings.push(format!(
                "feature `{n}` has one value for every datum: conditioning on it is conditioning on nothing"
            ));
        }
    }
    Ok(names)
}

/// The data the metric can score, within the manifest's pool column.
fn pool(
    manifest: &Manifest,
    dataset: &Dataset,
    metric: &Metric,
) -> Result<Vec<DatumId>, TaskError> {
    let chosen: Option<&Vec<bool>> = match &manifest.pool {
        None => None,
        Some(p) => match (
            &column(dataset, p, "`pool`")?.values,
            column(dataset, p, "`pool`")?.scope,
        ) {
            (Values::Bool(v), Scope::PerDatum) => Some(v),
            _ => {
                return Err(TaskError::ColumnKind {
                    name: p.clone(),
                    found: "non-bool or per-position".into(),
                    expected: "a per-datum bool column".into(),
                })
            }
        },
    };
    let pool: Vec<DatumId> = (0..dataset.len() as u32)
        .map(DatumId)
        .filter(|&d| metric.scores(d) && chosen.is_none_or(|c| c[d.index()]))
        .collect();
    if pool.len() < scrub_core::stats::MIN_SAMPLES {
        return Err(TaskError::Invalid(format!(
            "{}: only {} datum(s) can be scored (the metric selects nothing in the others, or the pool column excludes them); scrubbing needs at least {}",
            dataset.source().display(),
            pool.len(),
            scrub_core::stats::MIN_SAMPLES
        )));
    }
    Ok(pool)
}

/// The manifest's baseline files, or the unscrubbed model and the random-datum model.
fn baselines(
    manifest: &Manifest,
    dir: &Path,
    file: &dyn Fn(&str, &Path) -> Result<PathBuf, TaskError>,
) -> Result<[Baseline; 2], TaskError> {
    let named = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    Ok(match &manifest.baselines {
        Some(b) => {
            let low = file("baselines.low", &b.low)?;
            let high = file("baselines.high", &b.high)?;
            [
                Baseline {
                    name: named(&b.low),
                    file: HypothesisFile::load(&low)?,
                },
                Baseline {
                    name: named(&b.high),
                    file: HypothesisFile::load(&high)?,
                },
            ]
        }
        None => [
            Baseline {
                name: "model".into(),
                file: HypothesisFile::parse(MODEL, &dir.join("(default low baseline)"))?,
            },
            Baseline {
                name: "random".into(),
                file: HypothesisFile::parse(RANDOM, &dir.join("(default high baseline)"))?,
            },
        ],
    })
}
