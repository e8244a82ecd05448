//! `scrub discover TARGET`: a hypothesis found automatically (attribution orders, scrubs
//! decide), written as a RON file with a comment per node, then attacked by the adversary;
//! `discover-<name>.{md,json}` beside the attack's reports.

use std::path::{Path, PathBuf};

use clap::Args;

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::{attack_file, AttackSettings};
use scrub_core::discover::{discover, DiscoverSettings};

use super::RunOptions;
use crate::discover::DiscoverReport;
use crate::error::ScenarioError;
use crate::groundtruth::{Comparison, TrueCircuit};
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
    };
    let mut discovery = discover(scenario.as_ref(), exec.graph(), &base, &settings, &progress)
        .map_err(|e| ScenarioError::Scrub(format!("discover on {name}: {e}")))?;
    discovery.file.scenario = match &resolved {
        Resolved::BuiltIn(b) => b.to_string(),
        Resolved::Task(dir) => registry::relative_to(dir, &folder),
    };
    let ron = discovery.ron();
    let written = found_dir.write(&[(&file_name, &ron)])?;
    eprintln!("wrote {written}");
    let attack = match args.no_attack {
        true => None,
        false => {
            let settings = AttackSettings {
                library: scenario.feature_library(),
                samples: args.samples,
                seed: args.seed,
                budget: args.attack_budget,
                tolerance: Tolerance {
                    points: args.tolerance,
                    stderrs: args.tolerance_stderrs,
                },
                prune: Some(Prune {
                    divisor: 8,
                    keep: 3,
                }),
                given: Vec::new(),
            };
            let stem = format!("found-{safe}");
            let (report, _) = attack_file(
                scenario.as_ref(),
                exec.graph(),
                &base,
                &discovery.file,
                &stem,
                &settings,
                &progress,
            )?;
            Some(report)
        }
    };
    let truth = match &resolved {
        Resolved::Task(dir) => match TrueCircuit::load(dir)? {
            Some(t) => Some(Comparison::new(&t, &discovery.file, scenario.as_ref())?),
            None => None,
        },
        Resolved::BuiltIn(_) => None,
    };
    let report = DiscoverReport {
        scenario: name,
        file: output.display().to_string(),
        discovery,
        attack,
        truth,
    };
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
        println!(
            "{}",
            serde_json::to_string(
                &serde_json::from_str::<serde_json::Value>(&json).expect("valid")
            )
            .expect("serialises")
        );
    } else {
        print!("{}", report.terminal());
        println!("wrote {written}");
    }
    Ok(())
}

/// A file-name-safe form of a scenario's name.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c,
                false => '_',
            },
        )
        .collect();
    match s.is_empty() {
        true => "task".into(),
        false => s,
    }
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
