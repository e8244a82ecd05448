//! Command-line interface of the `scrub` binary: argument parsing and dispatch.

mod attack;
mod attribute;
mod counterexample;
mod discover;
mod eval;
mod experiments;
mod groundtruth;
mod hypothesis_args;
mod induction;
mod induction_table;
mod join;
mod model;
mod paren;
mod run;
mod task;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;

/// Causal scrubbing of interpretability hypotheses, with an adversary.
#[derive(Debug, Parser)]
#[command(name = "scrub", version, about)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No progress bars (every subcommand takes it).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Memory the stored forward passes (30% of it), the plain-value caches (20%) and each batch of samples (30%) are sized from, e.g. 3G or
    /// 512M; the peak resident memory is logged at the end. Default 2G.
    #[arg(long, global = true, env = "SCRUB_MEMORY_BUDGET", value_parser = scrub_core::memory::parse_size)]
    pub memory_budget: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Loss and accuracy of a scenario's model on its labelled data, unscrubbed.
    Eval(EvalArgs),
    /// Score one hypothesis file by causal scrubbing (with 0a and 0b on the same samples).
    Run(run::RunArgs),
    /// The write-up's paren table (0a–4) beside its figures; writes markdown and JSON.
    Paren(paren::ParenArgs),
    /// Play the adversary against a hypothesis file: apply the permitted moves that hurt it
    /// most, within a budget, and say whether it survives.
    Attack(attack::AttackArgs),
    /// Attribution patching beside actual activation and path patching, for every node,
    /// residual stream and (with --edges) edge; writes markdown, JSON and a scatter plot.
    Attribute(attribute::AttributeArgs),
    /// Find a hypothesis automatically (attribution orders the candidates, a real scrub
    /// decides every step), write it as a RON file with a comment per node, and attack it.
    Discover(discover::DiscoverArgs),
    /// The write-up's counterexamples: the naive scrub, the adversary's verdict, the truth.
    Counterexample(counterexample::CounterexampleArgs),
    /// Every documented experiment: the paren and induction tables, the counterexamples and
    /// the ground-truth suite.
    Experiments(experiments::ExperimentsArgs),
    /// The ground-truth suite: compiled transformers (Tracr) whose circuits are known; the
    /// true hypothesis and planted false ones, scored and attacked, checked against what each
    /// must show.
    Groundtruth(groundtruth::GroundtruthArgs),
    /// Join two hypothesis files: the hypothesis permitting a swap exactly when both do.
    Join(join::JoinArgs),
    /// Task directories (a `task.ron` beside a model and a dataset): check one.
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Model folders: `scrub model inspect DIR` reads a Hugging Face checkpoint and lists
    /// its architecture, terms and hooks.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// The induction scenario: the write-up's table of experiments (naive to refined 5),
    /// head identification, the "inductiony" token subset, the hypothesis files.
    Induction(induction::InductionArgs),
}

/// Scenarios `scrub eval` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScenarioName {
    /// The paren balance checker of the write-up.
    Paren,
}

/// Options shared by every command that runs a model.
#[derive(Debug, Args)]
pub struct RunOptions {
    /// Folder holding the scenarios' weights and data (e.g. `paren/brackets_model.safetensors`);
    /// default: the environment variable SCRUB_DATA (unset or empty: none).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where to run the forward passes: `auto` is the GPU kernels on a hardware GPU, else the CPU.
    #[arg(long, value_enum, default_value_t = ExecutorKind::Auto)]
    pub executor: ExecutorKind,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar: set from the global `--quiet`.
    #[arg(skip)]
    pub quiet: bool,
}

impl RunOptions {
    /// Progress bars unless `--quiet`.
    pub fn progress(&self) -> crate::progress::Progress {
        if self.quiet {
            crate::progress::Progress::hidden()
        } else {
            crate::progress::Progress::visible()
        }
    }
}

/// Parses a sample count: at least two, since every figure carries a standard error.
pub fn sample_count(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of samples"))?;
    if n < scrub_core::stats::MIN_SAMPLES {
        return Err(format!(
            "{n} is too few: at least {} samples are needed (a standard error needs two)",
            scrub_core::stats::MIN_SAMPLES
        ));
    }
    Ok(n)
}

/// Parses a fraction of balanced sequences: a number in (0, 1).
pub fn balanced_fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number (a fraction between 0 and 1, e.g. 0.26)"))?;
    if !(f > 0.0 && f < 1.0) {
        return Err(format!(
            "{f} is not a fraction strictly between 0 and 1 (the pool needs both classes; e.g. 0.26)"
        ));
    }
    Ok(f)
}

/// `scrub eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Which scenario's model and data.
    #[arg(long, value_enum, default_value_t = ScenarioName::Paren)]
    pub scenario: ScenarioName,
    /// A task directory instead: its model on every datum of its pool, scored by its metric.
    #[arg(long)]
    pub task: Option<PathBuf>,
    /// Evaluate only the first N sequences (at least 2).
    #[arg(long, value_parser = sample_count)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// Sets up `tracing` on stderr; RUST_LOG wins over `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

impl Command {
    /// The options of a command that runs a model, if it is one.
    fn run_options(&mut self) -> Option<&mut RunOptions> {
        match self {
            Command::Eval(a) => Some(&mut a.run),
            Command::Run(a) => Some(&mut a.run),
            Command::Paren(a) => Some(&mut a.run),
            Command::Attack(a) => Some(&mut a.run),
            Command::Attribute(a) => Some(&mut a.run),
            Command::Discover(a) => Some(&mut a.run),
            Command::Counterexample(a) => Some(&mut a.run),
            Command::Experiments(a) => Some(&mut a.run),
            Command::Join(a) => Some(&mut a.run),
            Command::Groundtruth(a) => Some(&mut a.run),
            Command::Induction(a) => Some(&mut a.table.run),
            Command::Task(task::TaskCommand::Check(a)) => Some(&mut a.run),
            Command::Task(task::TaskCommand::Export(a)) => Some(&mut a.run),
            Command::Model(_) => None,
        }
    }
}

/// Runs the parsed command.
pub fn run(mut cli: Cli) -> Result<(), ScenarioError> {
    if let Some(o) = cli.command.run_options() {
        o.quiet = cli.quiet;
    }
    if let Some(b) = cli.memory_budget {
        scrub_core::memory::set_budget(b);
    }
    let result = dispatch(cli.command);
    if let Some(peak) = scrub_core::memory::peak_resident_bytes() {
        tracing::info!(
            "peak resident memory {:.3} GB (memory budget {:.2} GB)",
            peak as f64 / 1e9,
            scrub_core::memory::budget() as f64 / 1e9
        );
    }
    result
}

/// The command's own work.
fn dispatch(command: Command) -> Result<(), ScenarioError> {
    match command {
        Command::Eval(args) => eval::run(args),
        Command::Run(args) => run::run(args),
        Command::Paren(args) => paren::run(args),
        Command::Counterexample(args) => counterexample::run(args),
        Command::Join(args) => join::run(args),
        Command::Experiments(args) => experiments::run(args),
        Command::Attack(args) => attack::run(args),
        Command::Attribute(args) => attribute::run(args),
        Command::Discover(args) => discover::run(args),
        Command::Groundtruth(args) => groundtruth::run(args),
        Command::Induction(args) => induction::run(args),
        Command::Task(args) => task::run(args),
        Command::Model(args) => model::run(args),
    }
}
