//! `scrub attribute TARGET`: attribution patching of every node (and, with `--edges`, every
//! edge) beside the actual patching effect, on a task directory or a built-in scenario;
//! writes `attribution-<name>.{md,json,svg}`.

use std::path::{Path, PathBuf};

use clap::Args;

use scrub_core::attribution::Selection;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::run::MetricKind;

use super::RunOptions;
use crate::attribution::{attribute, scatter, AttributeSettings};
use crate::error::ScenarioError;
use crate::output::ReportDir;
use crate::registry::{self, OpenOptions};

/// `scrub attribute`.
#[derive(Debug, Args)]
pub struct AttributeArgs {
    /// A task directory or a built-in scenario (`paren`, `induction`); default: the scenario
    /// of the `--against` file.
    pub target: Option<String>,
    /// A hypothesis file whose scenario, sample count and seed the run takes (its
    /// unimportant inputs are drawn as the corrupted data are).
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Sample pairs (default: the `--against` file's samples, else 500).
    #[arg(long, value_parser = super::sample_count)]
    pub samples: Option<usize>,
    /// Seed of the pairing (default: the `--against` file's seed, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Draw each corrupted datum agreeing with its reference on this feature.
    #[arg(long)]
    pub agree: Option<String>,
    /// Every edge too (one term into one port of one node: direct path patching).
    #[arg(long)]
    pub edges: bool,
    /// Residual streams also at single positions: `all`, or a comma-separated list.
    #[arg(long)]
    pub positions: Option<String>,
    /// The metric differentiated and patched: `log-odds` of the label (does not saturate
    /// where the loss is near 0; a task's logit difference or squared error is used as is)
    /// or the scenario's `loss`.
    #[arg(long, value_enum, default_value_t = Metric::LogOdds)]
    pub metric: Metric,
    /// Attribution only: skip the actual patching (the slow part).
    #[arg(long)]
    pub no_actual: bool,
    /// Induction: the model directory (default: the committed one).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Folder for the reports.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: AttributeArgs) -> Result<(), ScenarioError> {
    let against = match &args.against {
        Some(p) => Some(HypothesisFile::load(p)?),
        None => None,
    };
    let (scenario_name, file): (String, PathBuf) = match (&args.target, &against, &args.against) {
        (Some(t), _, _) => (t.clone(), PathBuf::from("<command line>")),
        (None, Some(h), Some(p)) => (h.scenario.clone(), p.clone()),
        _ => {
            return Err(ScenarioError::Scrub(
                "name a task directory or built-in scenario, or give --against FILE".into(),
            ))
        }
    };
    let options = OpenOptions {
        data_dir: args.run.data_dir.clone(),
        balanced_fraction: None,
        model_dir: args.model_dir.clone(),
    };
    let scenario = registry::open(&scenario_name, &file, &options)?;
    let out = ReportDir::prepare(&args.out)?;
    let stream_rows = match args.positions.as_deref() {
        None | Some("none") => Vec::new(),
        Some("all") => (0..scenario.graph()?.model().config.n_ctx).collect(),
        Some(list) => parse_positions(list)?,
    };
    let settings = AttributeSettings {
        samples: args
            .samples
            .or(against.as_ref().map(|h| h.samples))
            .unwrap_or(500),
        seed: args.seed.or(against.as_ref().map(|h| h.seed)).unwrap_or(0),
        agree: args.agree.clone(),
        selection: Selection {
            stream_rows,
            edges: args.edges,
        },
        actual: !args.no_actual,
        metric: match args.metric {
            Metric::LogOdds => MetricKind::LogOdds,
            Metric::Loss => MetricKind::Loss,
        },
        executor: args.run.executor,
    };
    let progress = args.run.progress();
    let report = attribute(scenario.as_ref(), &settings, &progress)?;
    let name = report_name(&scenario_name);
    let json = report.json();
    let md = report.markdown();
    let mut files = vec![
        (format!("attribution-{name}.md"), md),
        (format!("attribution-{name}.json"), json.clone()),
    ];
    if let Some(svg) = scatter::svg(&report) {
        files.push((format!("attribution-{name}.svg"), svg));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let written = out.write_or_print(&refs, &json)?;
    if args.run.json {
        println!("{json}");
    } else {
        print!("{}", report.table());
    }
    eprintln!("wrote {written}");
    Ok(())
}

/// `--metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    LogOdds,
    Loss,
}

/// A file-name-safe name for the reports: the built-in's name or the task folder's.
fn report_name(scenario: &str) -> String {
    Path::new(scenario)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "." && s != "..")
        .unwrap_or_else(|| "task".into())
}

fn parse_positions(list: &str) -> Result<Vec<usize>, ScenarioError> {
    list.split(',')
        .map(|p| {
            p.trim().parse::<usize>().map_err(|_| {
                ScenarioError::Scrub(format!(
                    "--positions: `{p}` is not a position (give `all`, `none` or numbers like 0,3,5)"
                ))
            })
        })
        .collect()
}
