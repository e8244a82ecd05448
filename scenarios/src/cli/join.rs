//! `scrub join A.ron B.ron -o C.ron`: the hypothesis permitting exactly the swaps both
//! permit, written as an explicit hypothesis file.

use std::path::{Path, PathBuf};

use clap::Args;

use super::RunOptions;
use crate::error::ScenarioError;
use crate::output::ReportDir;
use crate::registry::{self, OpenOptions};
use scrub_adversary::join_files;
use scrub_core::scrub::hypothesis::HypothesisFile;

/// `scrub join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The first hypothesis (its samples, seed and sharing are kept).
    pub first: PathBuf,
    /// The second hypothesis.
    pub second: PathBuf,
    /// Where to write the joined hypothesis.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite the output when it exists (it may never be one of the inputs).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: JoinArgs) -> Result<(), ScenarioError> {
    let (folder, file) = destination(&args)?;
    let out = ReportDir::prepare(&folder)?;
    let first = HypothesisFile::load(&args.first)?;
    let second = HypothesisFile::load(&args.second)?;
    let names = (
        args.first.display().to_string(),
        args.second.display().to_string(),
    );
    // Checked before any data is loaded, so a mismatch is reported as such.
    let resolved = (
        registry::resolve(&first.scenario, &args.first)?,
        registry::resolve(&second.scenario, &args.second)?,
    );
    if resolved.0 != resolved.1 {
        return Err(ScenarioError::Scrub(format!(
            "{} is about scenario `{}` and {} about `{}`; only hypotheses about one scenario can be joined",
            names.0, first.scenario, names.1, second.scenario
        )));
    }
    let options = OpenOptions {
        data_dir: args.run.data_dir.clone(),
        ..OpenOptions::default()
    };
    let scenario = registry::open(&first.scenario, &args.first, &options)?;
    let base = scenario.graph()?;
    let mut joined = join_files(
        scenario.as_ref(),
        &base,
        (&first, &second),
        (&names.0, &names.1),
    )?;
    // A task named relative to the first file is named relative to where the join goes.
    if let registry::Resolved::Task(dir) = &resolved.0 {
        joined.scenario = registry::relative_to(dir, &folder);
    }
    let ron = joined.to_ron();
    let written = out.write_or_print(&[(&file, &ron)], &ron)?;
    if args.run.json {
        println!("{}", serde_json::json!({ "written": written.0[0] }));
    } else {
        println!("wrote {written}");
    }
    Ok(())
}

/// `-o`'s folder and file name; refused when it is an input (compared as canonical paths,
/// so `./a.ron` and links count), a folder, or an existing file without `--force`.
fn destination(args: &JoinArgs) -> Result<(PathBuf, String), ScenarioError> {
    let o = &args.output;
    let refuse = |why: String| Err(ScenarioError::Scrub(format!("-o {}: {why}", o.display())));
    let (Some(parent), Some(file)) = (o.parent(), o.file_name()) else {
        return refuse("not a file path".into());
    };
    let folder = if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent.to_path_buf()
    };
    let target = std::fs::canonicalize(o)
        .or_else(|_| std::fs::canonicalize(&folder).map(|f| f.join(file)))
        .unwrap_or_else(|_| o.clone());
    for input in [&args.first, &args.second] {
        if std::fs::canonicalize(input).is_ok_and(|i| i == target) {
            return refuse(format!(
                "that is the input {}; the join would overwrite it, write it elsewhere",
                input.display()
            ));
        }
    }
    if o.is_dir() {
        return refuse("that is a folder; name the file to write".into());
    }
    if !args.force && exists(o) {
        return refuse("the file exists; pass --force to overwrite it".into());
    }
    Ok((folder, file.to_string_lossy().into_owned()))
}

/// Whether anything, a dangling link included, is at `p`.
fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
