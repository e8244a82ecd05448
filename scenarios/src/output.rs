//! Result files a user keeps. The reports of one command are a set: the folder is checked
//! before any work, and the files are written together or not at all, through temporary
//! names that never survive a failure.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::ScenarioError;

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;

/// A folder checked to take reports; write its set with [`ReportDir::write`]. Folders
/// [`ReportDir::prepare`] made are removed again, if still empty, when nothing was written.
#[derive(Debug)]
pub struct ReportDir {
    dir: PathBuf,
    /// The folders `prepare` created, innermost first.
    created: Vec<PathBuf>,
    written: Cell<bool>,
}

/// The reports a [`ReportDir::write`] put in place; displays as `a and b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written(pub Vec<PathBuf>);

impl ReportDir {
    /// Creates `dir` and proves it takes a file (a probe, written and removed), so an
    /// unwritable location fails before the work whose results it would hold.
    pub fn prepare(dir: &Path) -> Result<Self, ScenarioError> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| std::fs::symlink_metadata(a).is_err())
            .map(Path::to_path_buf)
            .collect();
        let mut out = ReportDir::create(dir)?;
        // A failed command leaves no empty folder behind (e.g. `results/` in the cwd).
        out.created = missing;
        let probe = dir.join(format!(".scrub-write-check-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(|source| write_error(dir, source))?;
        std::fs::remove_file(&probe).map_err(|source| write_error(&probe, source))?;
        Ok(out)
    }

    /// Creates `dir` without the probe (for writes that follow no long work).
    fn create(dir: &Path) -> Result<Self, ScenarioError> {
        std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
        Ok(ReportDir {
            dir: dir.to_path_buf(),
            created: Vec::new(),
            written: Cell::new(false),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes every `(name, contents)` to a temporary name, then renames them all into
    /// place; on any failure every temporary file is removed and no report is replaced.
    pub fn write(&self, files: &[(&str, &str)]) -> Result<Written, ScenarioError> {
        let staged: Vec<(PathBuf, PathBuf)> = files
            .iter()
            .map(|(name, _)| {
                (
                    self.dir.join(format!(".{name}.{}.tmp", std::process::id())),
                    self.dir.join(name),
                )
            })
            .collect();
        let result = self.stage_and_rename(files, &staged);
        if result.is_err() {
            for (tmp, _) in &staged {
                // Most were never created or already renamed; only leftovers matter.
                let _ = std::fs::remove_file(tmp);
            }
        }
        result
    }

    fn stage_and_rename(
        &self,
        files: &[(&str, &str)],
        staged: &[(PathBuf, PathBuf)],
    ) -> Result<Written, ScenarioError> {
        for ((_, contents), (tmp, path)) in files.iter().zip(staged) {
            // A failed temporary write is the report's failure: name the report.
            std::fs::write(tmp, contents).map_err(|source| write_error(path, source))?;
        }
        // A directory in a report's place is the one failure rename meets deterministically;
        // finding it before the first rename keeps the set whole.
        if let Some((_, path)) = staged.iter().find(|(_, p)| p.is_dir()) {
            let source = std::io::Error::other("a directory is in the way");
            return Err(write_error(path, source));
        }
        for (tmp, path) in staged {
            std::fs::rename(tmp, path).map_err(|source| write_error(path, source))?;
            self.written.set(true);
        }
        Ok(Written(staged.iter().map(|(_, p)| p.clone()).collect()))
    }

    /// [`ReportDir::write`]; when it fails, `results` (the reports' content, e.g. their
    /// JSON) goes to stdout with a note on stderr, so the finished work is not lost.
    pub fn write_or_print(
        &self,
        files: &[(&str, &str)],
        results: &str,
    ) -> Result<Written, ScenarioError> {
        // The error itself is the command's, printed by whoever reports it.
        self.write(files).inspect_err(|_| {
            eprintln!("the results could not be saved; they follow on stdout");
            println!("{}", results.trim_end());
        })
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if self.written.get() {
            return;
        }
        for d in &self.created {
            // Only empty folders go; one that is not stops the walk outwards.
            if std::fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        for (i, p) in self.0.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == n => " and ",
                _ => ", ",
            };
            write!(f, "{sep}{}", p.display())?;
        }
        Ok(())
    }
}

fn write_error(path: &Path, source: std::io::Error) -> ScenarioError {
    ScenarioError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `dir/name` atomically, creating `dir`.
pub fn write_result(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, ScenarioError> {
    let Written(mut paths) = ReportDir::create(dir)?.write(&[(name, contents)])?;
    Ok(paths.remove(0))
}
