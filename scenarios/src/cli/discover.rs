//! `scrub discover TARGET`: a hypothesis found automatically (attribution orders, scrubs
//! decide), written as a RON file with a comment per node, then attacked by the adversary;
//! `discover-<name>.{md,json}` beside the attack's reports.

use std::path::{Path, PathBuf};

use clap::Args;

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::AttackSettings;
use scrub_core::discover::{DiscoverSettings, Discovery};

use super::RunOptions;
use crate::discover::{file_safe, find_and_attack};
use crate::error::ScenarioError;
use crate::groundtruth::TrueCircuit;
use crate::output::ReportDir;
use crate::registry::{self, OpenOptions, Resolved};
use crate::scrub_graph::ScrubExecutor;

/// `scrub discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A task directory or a built-in scenario (`paren`, `induction`).
    pub target: String,
    /// % loss recovered every accepted step must keep.
    #[arg(long, default_value_t = 90.0)]
    pub threshold: f64,
    /// Where to write the hypothesis (default: `<out>/found-<name>.ron`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Scrub samples per step (the same paired samples in every step).
    #[arg(long, default_value_t = 500, value_parser = super::sample_count)]
    pub samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Scrubs the search may run; when they are spent, the nodes not yet examined stay as
    /// they are (on their parent's datum) and the report says so.
    #[arg(long, default_value_t = 2000)]
    pub budget: usize,
    /// Samples of a cheap first scrub of each change: a change it puts 3 standard errors
    /// below the threshold is rejected on it, any other is scored on all samples (default:
    /// none, every scrub on all samples; on the suite and paren it saved less than it cost).
    #[arg(long)]
    pub screen: Option<usize>,
    /// Levels below the output that are recomputed from their inputs (1: the output's
    /// inputs are read plainly, each on its feature, as in the write-up's paren 1a/1b;
    /// default: down to the embeddings).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub depth: Option<u64>,
    /// Pairs attribution patching ranks the inputs on (0: graph order, no attribution).
    #[arg(long, default_value_t = 200)]
    pub attribution_pairs: usize,
    /// Rounds the adversary plays against the found hypothesis.
    #[arg(long, default_value_t = 4)]
    pub attack_budget: usize,
    /// A move fails the hypothesis when it changes % recovered by more than this many
    /// points (and --tolerance-stderrs paired standard errors).
    #[arg(long, default_value_t = 3.0)]
    pub tolerance: f64,
    #[arg(long, default_value_t = 3.0)]
    pub tolerance_stderrs: f64,
    /// Find only: no attack.
    #[arg(long)]
    pub no_attack: bool,
    /// Induction: the model directory (default: the committed one).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Folder for the reports (and, by default, the hypothesis).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: DiscoverArgs) -> Result<(), ScenarioError> {
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    if !args.threshold.is_finite() {
        return Err(ScenarioError::Scrub(format!(
            "--threshold {} is not a percentage",
            args.threshold
        )));
    }
    if !ok(args.tolerance) || !ok(args.tolerance_stderrs) {
        return Err(ScenarioError::Scrub(
            "--tolerance and --tolerance-stderrs must be finite and non-negative".into(),
        ));
    }
    if args.budget == 0 {
        return Err(ScenarioError::Scrub(
            "--budget must be at least 1 scrub".into(),
        ));
    }
    if args.attack_budget == 0 && !args.no_attack {
        return Err(ScenarioError::Scrub(
            "--attack-budget must be at least 1 round (or give --no-attack)".into(),
        ));
    }
    let here = Path::new("<command line>");
    let resolved = registry::resolve(&args.target, here)?;
    let options = OpenOptions {
        data_dir: args.run.data_dir.clone(),
        balanced_fraction: None,
        model_dir: args.model_dir.clone(),
    };
    let scenario = registry::open(&args.target, here, &options)?;
    let name = scenario.name().to_string();
    let safe = file_safe(&name);
    // Both folders are checked before any work, so a long search is never lost to them.
    let out = ReportDir::prepare(&args.out)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.out.join(format!("found-{safe}.ron")));
    let (folder, file_name) = split_file(&output)?;
    let found_dir = ReportDir::prepare(&folder)?;
    let base = scenario.graph()?;
    let exec = ScrubExecutor::new(args.run.executor, &base)?;
    let progress = args.run.progress();
    let settings = DiscoverSettings {
        threshold: args.threshold,
        samples: args.samples,
        seed: args.seed,
        budget: args.budget,
        attribution_pairs: args.attribution_pairs,
        screen: args.screen.filter(|&n| n >= scrub_core::stats::MIN_SAMPLES),
        depth: args.depth.map(|d| d as usize),
    };
    let attack = AttackSettings {
        library: scenario.feature_library(),
        samples: args.samples,
        seed: args.seed,
        budget: args.attack_budget,
        tolerance: Tolerance {
            points: args.tolerance,
            stderrs: args.tolerance_stderrs,
        },
        prune: Some(Prune::default()),
        given: Vec::new(),
    };
    let truth = match &resolved {
        Resolved::Task(dir) => TrueCircuit::load(dir)?,
        Resolved::BuiltIn(_) => None,
    };
    // The hypothesis is written before the attack, so a failed attack does not lose it.
    let mut write_found = |d: &mut Discovery| -> Result<String, ScenarioError> {
        d.file.scenario = match &resolved {
            Resolved::BuiltIn(b) => b.to_string(),
            Resolved::Task(dir) => registry::relative_to(dir, &folder),
        };
        let written = found_dir.write(&[(&file_name, &d.ron())])?;
        eprintln!("wrote {written}");
        Ok(output.display().to_string())
    };
    let report = find_and_attack(
        scenario.as_ref(),
        exec.graph(),
        &base,
        &settings,
        (!args.no_attack).then_some(&attack),
        truth.as_ref(),
        &progress,
        &mut write_found,
    )?;
    let json = report.json();
    let mut files = vec![
        (format!("discover-{safe}.md"), report.markdown()),
        (format!("discover-{safe}.json"), json.clone()),
    ];
    if let Some(a) = &report.attack {
        files.push((format!("attack-found-{safe}.md"), a.markdown()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let written = out.write_or_print(&refs, &json)?;
    if args.run.json {
        println!("{}", report.json_value());
    } else {
        print!("{}", report.terminal());
        println!("wrote {written}");
    }
    Ok(())
}

/// `path` as its folder and file name.
fn split_file(path: &Path) -> Result<(PathBuf, String), ScenarioError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ScenarioError::Scrub(format!(
                "-o {}: give a file name for the hypothesis",
                path.display()
            ))
        })?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((folder, name))
}
