//! The paren scenario written out as a task directory: its features computed into dataset
//! columns, phi(p_1) as a predictor file, the shipped hypotheses pointed at the task. Run
//! through the task path, every file must give the built-in's numbers exactly: the proof
//! that nothing paren-specific is left in the pipeline.

use std::io::Write;
use std::path::Path;

use scrub_core::experiment::Scenario;
use scrub_core::DatumId;

use super::scrub::ParenScrub;
use super::table::{hypotheses_dir, SHIPPED};
use crate::data_dir::DataDir;
use crate::error::ScenarioError;

/// Writes the task directory `out` (created; must not hold a `task.ron` yet) for `scrub`,
/// whose weights are read from the data directory `data` (referenced, never copied).
pub fn export_task(scrub: &ParenScrub, data: &DataDir, out: &Path) -> Result<(), ScenarioError> {
    let write = |name: &str, text: &str| -> Result<(), ScenarioError> {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| ScenarioError::Write { path, source })
    };
    let hyp = out.join("hypotheses");
    std::fs::create_dir_all(&hyp).map_err(|source| ScenarioError::Write {
        path: hyp.clone(),
        source,
    })?;
    let weights =
        std::fs::canonicalize(data.file(super::NAME, super::WEIGHTS_FILE)?).map_err(|source| {
            ScenarioError::Read {
                path: data
                    .file(super::NAME, super::WEIGHTS_FILE)
                    .unwrap_or_default(),
                source,
            }
        })?;
    write("model.ron", super::CONFIG_RON)?;
    // Features in the order of the built-in's library, so the adversary meets its
    // refinements in the same order.
    let library = scrub.feature_library();
    let plain: Vec<&str> = library
        .iter()
        .filter(|f| !f.contains('{'))
        .map(|s| s.as_str())
        .collect();
    let per_position: Vec<&str> = library
        .iter()
        .filter_map(|f| f.strip_suffix("({i})"))
        .collect();
    let names: Vec<String> = plain
        .iter()
        .chain(&per_position)
        .map(|n| format!("{n:?}"))
        .collect();
    write(
        "task.ron",
        &format!(
            "// The paren balancer of the write-up as a task directory, written by `scrub task export paren`.\n\
             Task(\n    description: \"paren balance classifier (generated from the built-in scenario)\",\n    \
             model: (config: \"model.ron\", weights: {:?}),\n    dataset: \"data.jsonl\",\n    \
             metric: CrossEntropy(label: \"label\", position: At(0)),\n    features: Some([{}]),\n    \
             groups: [\"is_balanced\"],\n    baselines: Some((low: \"hypotheses/0a.ron\", high: \"hypotheses/0b.ron\")),\n    \
             predictors: {{\"phi\": (file: \"phi.npy\", row: Some(1))}},\n)\n",
            weights.display().to_string(),
            names.join(", ")
        ),
    )?;
    let n = scrub.dataset.len();
    let plain_cols = plain
        .iter()
        .map(|p| Ok(scrub.columns(&[p.to_string()])?.remove(0)))
        .collect::<Result<Vec<_>, ScenarioError>>()?;
    let positions = scrub.features.positions();
    // Per-position columns: position i of the tokens ([start] is 0) holds `name(i)`; the
    // built-in has no position 0, which holds the [pad] class.
    let mut per_pos_cols = Vec::new();
    for p in &per_position {
        let cols = positions
            .clone()
            .map(|i| Ok(scrub.columns(&[format!("{p}({i})")])?.remove(0)))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        per_pos_cols.push(cols);
    }
    let path = out.join("data.jsonl");
    let f = std::fs::File::create(&path).map_err(|source| ScenarioError::Write {
        path: path.clone(),
        source,
    })?;
    let mut w = std::io::BufWriter::new(f);
    let pad = super::PositionClass::Pad.value().0;
    for d in 0..n {
        let id = DatumId(d as u32);
        let e = &scrub.dataset.examples[d];
        let tokens: Vec<u32> = e.tokens().iter().map(|t| t.0).collect();
        let mut line = serde_json::Map::new();
        line.insert("tokens".into(), tokens.clone().into());
        line.insert("label".into(), e.label().into());
        for (name, c) in plain.iter().zip(&plain_cols) {
            line.insert(name.to_string(), c.value(id).0.into());
        }
        for (name, cols) in per_position.iter().zip(&per_pos_cols) {
            let v: Vec<i64> = (0..tokens.len())
                .map(|i| match i {
                    0 => pad,
                    i => cols[i - 1].value(id).0,
                })
                .collect();
            line.insert(name.to_string(), v.into());
        }
        writeln!(w, "{}", serde_json::Value::Object(line)).map_err(|source| {
            ScenarioError::Write {
                path: path.clone(),
                source,
            }
        })?;
    }
    w.flush().map_err(|source| ScenarioError::Write {
        path: path.clone(),
        source,
    })?;
    let d_model = scrub.model.config.d_model;
    let phi: Vec<f32> = (0..n)
        .flat_map(|d| scrub.phi_at_1(DatumId(d as u32)))
        .collect();
    scrub_core::dataset::write_floats(&out.join("phi.npy"), &[n, d_model], &phi)?;
    for s in SHIPPED {
        let from = hypotheses_dir().join(format!("{}.ron", s.name));
        let text = std::fs::read_to_string(&from).map_err(|source| ScenarioError::Read {
            path: from.clone(),
            source,
        })?;
        let mut text = text.replacen("scenario: \"paren\"", "scenario: \"..\"", 1);
        for p in &per_position {
            text = crate::task::spelling::bracket_positions(&text, p);
        }
        write(&format!("hypotheses/{}.ron", s.name), &text)?;
    }
    Ok(())
}
