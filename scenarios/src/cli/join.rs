//! `scrub join A.ron B.ron -o C.ron`: the hypothesis permitting exactly the swaps both
//! permit, written as an explicit hypothesis file.

use std::path::PathBuf;

use clap::Args;

use super::RunOptions;
use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::output::write_result;
use crate::paren::join::{join_files, same_scenario};
use crate::paren::scrub::ParenScrub;
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
    #[command(flatten)]
    pub run: RunOptions,
}

pub(super) fn run(args: JoinArgs) -> Result<(), ScenarioError> {
    let first = HypothesisFile::load(&args.first)?;
    let second = HypothesisFile::load(&args.second)?;
    let names = (
        args.first.display().to_string(),
        args.second.display().to_string(),
    );
    // Checked before any data is loaded, so a mismatch is reported as such.
    same_scenario((&first, &second), (&names.0, &names.1))?;
    let dir = DataDir::resolve(args.run.data_dir.as_deref())?;
    let scrub = ParenScrub::load(&dir, None, 0)?;
    let base = scrub.graph()?;
    let joined = join_files(&scrub, &base, (&first, &second), (&names.0, &names.1))?;
    let (folder, file) = match (args.output.parent(), args.output.file_name()) {
        (Some(p), Some(f)) => (
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            },
            f.to_string_lossy().into_owned(),
        ),
        _ => {
            return Err(ScenarioError::Scrub(format!(
                "-o {}: not a file path",
                args.output.display()
            )))
        }
    };
    let path = write_result(&folder, &file, &joined.to_ron())?;
    if args.run.json {
        println!("{}", serde_json::json!({ "written": path }));
    } else {
        println!("wrote {}", path.display());
    }
    Ok(())
}
