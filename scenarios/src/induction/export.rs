//! The induction scenario written out as a task directory: the validation sequences with
//! the inductiony mask and `typical_at` as per-position columns, attention patterns as
//! nodes, the committed hypotheses pointed at the task. Scored through the task path,
//! every file gives the built-in's numbers exactly.

use std::io::Write;
use std::path::Path;

use super::paths::{ModelDir, CONFIG, WEIGHTS};
use super::scrub::{hypotheses_dir, InductionScrub};
use crate::error::ScenarioError;
use crate::task::spelling::bracket_positions;

/// Writes the task directory `out` for `scrub`, whose model files are in `model`
/// (referenced, not copied).
pub fn export_task(
    scrub: &InductionScrub,
    model: &ModelDir,
    out: &Path,
) -> Result<(), ScenarioError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScenarioError::Write { path, source }
    };
    let hyp = out.join("hypotheses");
    std::fs::create_dir_all(&hyp).map_err(write_err(&hyp))?;
    let abs = |name: &str| -> Result<String, ScenarioError> {
        let p = model.file(name);
        Ok(std::fs::canonicalize(&p)
            .map_err(|source| ScenarioError::Read { path: p, source })?
            .display()
            .to_string())
    };
    let manifest = format!(
        "// The induction model of the write-up as a task directory, written by `scrub task export induction`.\n\
         Task(\n    description: \"induction on the project's 2-layer attention-only model (generated from the built-in scenario)\",\n    \
         model: (config: {:?}, weights: {:?}),\n    dataset: \"data.jsonl\",\n    \
         metric: NextToken(mask: \"inductiony\"),\n    features: Some([\"typical_at\"]),\n    \
         baselines: Some((low: \"hypotheses/model.ron\", high: \"hypotheses/baseline.ron\")),\n    \
         attention_patterns: true,\n    batch: Some({}),\n)\n",
        abs(CONFIG)?,
        abs(WEIGHTS)?,
        super::scrub::BATCH
    );
    let path = out.join("task.ron");
    std::fs::write(&path, manifest).map_err(write_err(&path))?;
    let n_ctx = scrub.model().config.n_ctx;
    let typical: Vec<_> = (0..n_ctx)
        .map(|i| {
            Ok(
                scrub_core::experiment::Scenario::columns(scrub, &[format!("typical_at({i})")])?
                    .remove(0),
            )
        })
        .collect::<Result<_, ScenarioError>>()?;
    let path = out.join("data.jsonl");
    let f = std::fs::File::create(&path).map_err(write_err(&path))?;
    let mut w = std::io::BufWriter::new(f);
    for (d, seq) in scrub.seqs.iter().enumerate() {
        let mut mask = vec![false; seq.len()];
        for &p in &scrub.positions[d] {
            mask[p] = true;
        }
        let typ: Vec<i64> = (0..seq.len()).map(|i| typical[i].values[d].0).collect();
        let line = serde_json::json!({ "tokens": seq, "inductiony": mask, "typical_at": typ });
        writeln!(w, "{line}").map_err(write_err(&path))?;
    }
    w.flush().map_err(write_err(&path))?;
    let mut files: Vec<_> = std::fs::read_dir(hypotheses_dir())
        .map_err(|source| ScenarioError::Read {
            path: hypotheses_dir(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    for from in files {
        let text = std::fs::read_to_string(&from).map_err(|source| ScenarioError::Read {
            path: from.clone(),
            source,
        })?;
        let text = text.replacen("scenario: \"induction\"", "scenario: \"..\"", 1);
        let to = hyp.join(from.file_name().expect("a file"));
        std::fs::write(&to, bracket_positions(&text, "typical_at")).map_err(write_err(&to))?;
    }
    let to = hyp.join("model.ron");
    std::fs::write(
        &to,
        super::scrub::MODEL_TREE.replacen("\"induction\"", "\"..\"", 1),
    )
    .map_err(write_err(&to))?;
    Ok(())
}
