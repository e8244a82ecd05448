//! `scrub induction` (the experiment table) and `scrub induction hypotheses` (the files the
//! table runs, generated from the identified heads).

use std::path::PathBuf;

use clap::Args;
use scrub_core::experiment::Scenario;

use super::RunOptions;
use crate::error::ScenarioError;
use crate::induction::experiment::table as run_table;
use crate::induction::heads::{HeadProbe, HeadScores};
use crate::induction::hypotheses::{self, Family, Roles};
use crate::induction::scrub::InductionScrub;
use crate::induction::{identify, Induction, InductionError, ModelDir};
use crate::output::ReportDir;
use crate::progress::Progress;
use crate::scrub_graph::ScrubExecutor;

/// `scrub induction` without a subcommand.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// Scrub samples per hypothesis (at least 2).
    #[arg(long, default_value_t = 2000, value_parser = super::sample_count)]
    pub samples: usize,
    /// Seed of the sampler (the same seed pairs every reference with the same emb2).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only these hypotheses (comma-separated: naive, refined1, ..., refined5).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Directory with the model (default: the committed scenarios/induction/model).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Directory with the hypothesis files (default: the committed ones).
    #[arg(long)]
    pub hypotheses: Option<PathBuf>,
    /// Folder for `induction.md` and `induction.json`.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

/// `scrub induction hypotheses`.
#[derive(Debug, Args)]
pub struct HypothesesArgs {
    /// Directory with the model (default: the committed scenarios/induction/model).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Write the files into this directory (default: print the roles only).
    #[arg(long)]
    pub write: Option<PathBuf>,
}

fn err(e: InductionError) -> ScenarioError {
    e.into()
}

/// The families `only` names (all when empty), with an error naming an unknown one.
fn families(only: &[String]) -> Result<Vec<Family>, ScenarioError> {
    if only.is_empty() {
        return Ok(Family::ALL.to_vec());
    }
    only.iter()
        .map(|n| {
            Family::ALL
                .into_iter()
                .find(|f| f.name() == n.trim())
                .ok_or_else(|| {
                    let known: Vec<String> = Family::ALL.iter().map(|f| f.name()).collect();
                    ScenarioError::Scrub(format!(
                        "--only: unknown hypothesis `{n}`; known: {}",
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

pub(super) fn table(a: TableArgs) -> Result<(), ScenarioError> {
    if a.samples < 2 {
        return Err(ScenarioError::Scrub(
            "--samples must be at least 2 (standard errors need two)".into(),
        ));
    }
    let fams = families(&a.only)?;
    let out = ReportDir::prepare(&a.out)?;
    let dir = ModelDir::resolve(a.model_dir.as_deref()).map_err(err)?;
    let mut scrub = InductionScrub::load(&dir).map_err(err)?;
    if let Some(h) = &a.hypotheses {
        scrub.hypotheses_dir = h.clone();
    }
    let progress = if a.run.quiet {
        Progress::hidden()
    } else {
        Progress::visible()
    };
    let base = scrub.graph()?;
    let exec = ScrubExecutor::new(a.run.executor, &base)?;
    let t = run_table(
        &scrub,
        exec.graph(),
        &base,
        &fams,
        a.samples,
        a.seed,
        exec.name(),
        &progress,
    )?;
    let json = serde_json::to_string_pretty(&t).expect("table serialises");
    let written = out.write_or_print(
        &[("induction.md", &t.markdown()), ("induction.json", &json)],
        &json,
    )?;
    if a.run.json {
        println!("{}", serde_json::to_string(&t).expect("table serialises"));
    } else {
        print!("{}", t.terminal());
        println!("wrote {written}");
    }
    Ok(())
}

/// The experiments' roles from measured head scores, or why they cannot be named.
pub fn roles(scores: &HeadScores, n_heads: usize, n_ctx: usize) -> Result<Roles, ScenarioError> {
    if scores.induction_heads.is_empty() {
        return Err(ScenarioError::Scrub(
            "the model has no induction head (no layer-1 head reaches the prefix-matching threshold); see `scrub induction heads`".into(),
        ));
    }
    // The experiments need a previous-token head even when the best one misses the
    // identification goal; they then use the best-scoring layer-0 head and say so.
    let previous = match scores.previous_token_head {
        Some(h) => h,
        None => {
            let row = scores
                .previous_token
                .first()
                .ok_or_else(|| ScenarioError::Scrub("the model has no layer-0 heads".into()))?;
            let (head, s) = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .ok_or_else(|| ScenarioError::Scrub("layer 0 has no heads".into()))?;
            tracing::warn!(
                head = %format!("0.{head}"),
                score = format!("{s:.2}"),
                "no layer-0 head reaches the previous-token threshold; the experiments use the best one"
            );
            crate::induction::Head { layer: 0, head }
        }
    };
    Ok(Roles {
        induction: scores.induction_heads.clone(),
        previous,
        // A head cannot be both: the previous-token head's splits differ.
        self_attending: scores
            .self_attending_heads
            .iter()
            .copied()
            .filter(|&h| h != previous)
            .collect(),
        n_heads,
        n_ctx,
    })
}

/// Roles of the model in `dir`, measured with the default probe.
pub fn measured_roles(dir: &ModelDir) -> Result<Roles, ScenarioError> {
    let sc = Induction::load(dir).map_err(err)?;
    let probe = HeadProbe::default();
    let text = sc.validation_sequences(probe.text_sequences);
    let scores = identify(&sc.model, &text, &probe).map_err(err)?;
    roles(&scores, sc.model.config.n_heads, sc.model.config.n_ctx)
}

pub(super) fn hypotheses(a: HypothesesArgs) -> Result<(), ScenarioError> {
    let out = a.write.as_deref().map(ReportDir::prepare).transpose()?;
    let dir = ModelDir::resolve(a.model_dir.as_deref()).map_err(err)?;
    let r = measured_roles(&dir)?;
    let names = |hs: &[crate::induction::Head]| {
        hs.iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "induction heads {}; previous-token head {}; self-attending heads {}",
        names(&r.induction),
        r.previous,
        if r.self_attending.is_empty() {
            "none".into()
        } else {
            names(&r.self_attending)
        }
    );
    if let Some(out) = out {
        let files: Vec<(String, String)> = hypotheses::all(&r)
            .into_iter()
            .map(|(stem, text)| (format!("{stem}.ron"), text))
            .collect();
        let set: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let written = out.write(&set)?;
        tracing::info!(files = %written, "written");
    }
    Ok(())
}
