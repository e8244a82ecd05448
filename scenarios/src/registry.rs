//! The one place a hypothesis file's `scenario` becomes an opened scenario: a registered
//! built-in by name, or a task directory by path (relative to the file). Commands never
//! compare scenario names; each built-in says which options it reads.

use std::path::{Path, PathBuf};

use scrub_core::experiment::Scenario;

use crate::data_dir::DataDir;
use crate::error::ScenarioError;
use crate::induction::scrub::InductionScrub;
use crate::induction::ModelDir;
use crate::paren::scrub::ParenScrub;
use crate::task::Task;

/// Options a command may pass to the scenario it opens.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--balanced-fraction`.
    pub balanced_fraction: Option<f64>,
    /// `--model-dir`.
    pub model_dir: Option<PathBuf>,
}

/// An option of [`OpenOptions`], as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    DataDir,
    BalancedFraction,
    ModelDir,
}

impl Opt {
    const ALL: [Opt; 3] = [Opt::DataDir, Opt::BalancedFraction, Opt::ModelDir];

    fn flag(self) -> &'static str {
        match self {
            Opt::DataDir => "--data-dir",
            Opt::BalancedFraction => "--balanced-fraction",
            Opt::ModelDir => "--model-dir",
        }
    }

    fn given(self, o: &OpenOptions) -> bool {
        match self {
            Opt::DataDir => o.data_dir.is_some(),
            Opt::BalancedFraction => o.balanced_fraction.is_some(),
            Opt::ModelDir => o.model_dir.is_some(),
        }
    }
}

/// Opens a built-in scenario for the hypothesis file at `file` (its folder may hold
/// scenario files, like an induction `baseline.ron`).
type Opener = fn(&OpenOptions, &Path) -> Result<Box<dyn Scenario + Send>, ScenarioError>;

/// Writes a built-in scenario out as a task directory.
type Exporter = fn(&OpenOptions, &Path) -> Result<(), ScenarioError>;

/// A scenario that ships with the binary.
struct BuiltIn {
    name: &'static str,
    reads: &'static [Opt],
    open: Opener,
    /// How to write it as a task directory, where that is possible.
    export: Option<Exporter>,
}

const BUILT_INS: &[BuiltIn] = &[
    BuiltIn {
        name: crate::paren::NAME,
        reads: &[Opt::DataDir, Opt::BalancedFraction],
        open: open_paren,
        export: Some(export_paren),
    },
    BuiltIn {
        name: crate::induction::scrub::NAME,
        reads: &[Opt::ModelDir],
        open: open_induction,
        export: Some(export_induction),
    },
];

fn open_paren(o: &OpenOptions, _file: &Path) -> Result<Box<dyn Scenario + Send>, ScenarioError> {
    let dir = DataDir::resolve(o.data_dir.as_deref())?;
    Ok(Box::new(ParenScrub::load(&dir, o.balanced_fraction, 0)?))
}

fn export_paren(o: &OpenOptions, out: &Path) -> Result<(), ScenarioError> {
    let dir = DataDir::resolve(o.data_dir.as_deref())?;
    let scrub = ParenScrub::load(&dir, None, 0)?;
    crate::paren::export::export_task(&scrub, &dir, out)
}

fn export_induction(o: &OpenOptions, out: &Path) -> Result<(), ScenarioError> {
    let dir = ModelDir::resolve(o.model_dir.as_deref())?;
    let scrub = InductionScrub::load(&dir)?;
    crate::induction::export::export_task(&scrub, &dir, out)
}

/// Writes built-in scenario `name` as a task directory at `out`, which must not hold a
/// task yet.
pub fn export(name: &str, options: &OpenOptions, out: &Path) -> Result<(), ScenarioError> {
    let b = BUILT_INS.iter().find(|b| b.name == name).ok_or_else(|| {
        ScenarioError::Scrub(format!(
            "no built-in scenario `{name}` (built-ins: {})",
            built_in_names().join(", ")
        ))
    })?;
    let export = b.export.ok_or_else(|| {
        ScenarioError::Scrub(format!(
            "scenario `{name}` cannot be written as a task directory yet"
        ))
    })?;
    if out.join(crate::task::MANIFEST).exists() {
        return Err(ScenarioError::Scrub(format!(
            "{} already holds a task; choose an empty folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|source| ScenarioError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    export(options, out)
}

/// The model of `--model-dir`, and the baseline from `baseline.ron` beside the file (the
/// committed one when there is none).
fn open_induction(o: &OpenOptions, file: &Path) -> Result<Box<dyn Scenario + Send>, ScenarioError> {
    let dir = ModelDir::resolve(o.model_dir.as_deref())?;
    let mut scrub = InductionScrub::load(&dir)?;
    if let Some(parent) = file.parent() {
        if parent.join("baseline.ron").is_file() {
            scrub.hypotheses_dir = parent.to_path_buf();
        }
    }
    Ok(Box::new(scrub))
}

/// The names of the built-in scenarios.
pub fn built_in_names() -> Vec<&'static str> {
    BUILT_INS.iter().map(|b| b.name).collect()
}

/// Where `scenario` (a hypothesis file's field) points: a built-in, or the task directory
/// it names relative to the folder of `file`.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    BuiltIn(&'static str),
    Task(PathBuf),
}

/// Resolves `scenario` as written in the file at `file`, with a clear error when it is
/// neither a built-in name nor a task directory.
pub fn resolve(scenario: &str, file: &Path) -> Result<Resolved, ScenarioError> {
    if let Some(b) = BUILT_INS.iter().find(|b| b.name == scenario) {
        return Ok(Resolved::BuiltIn(b.name));
    }
    let dir = file.parent().unwrap_or(Path::new("")).join(scenario);
    if dir.join(crate::task::MANIFEST).is_file() {
        return Ok(Resolved::Task(std::fs::canonicalize(&dir).unwrap_or(dir)));
    }
    Err(ScenarioError::Scrub(format!(
        "{}: scenario `{scenario}` is neither a built-in ({}) nor a task directory (no {} at {})",
        file.display(),
        built_in_names().join(", "),
        crate::task::MANIFEST,
        dir.join(crate::task::MANIFEST).display()
    )))
}

/// Opens the scenario a hypothesis file at `file` names, refusing options it does not
/// read (so nobody believes they took effect).
pub fn open(
    scenario: &str,
    file: &Path,
    options: &OpenOptions,
) -> Result<Box<dyn Scenario + Send>, ScenarioError> {
    let resolved = resolve(scenario, file)?;
    let reads: &[Opt] = match &resolved {
        Resolved::BuiltIn(name) => {
            BUILT_INS
                .iter()
                .find(|b| b.name == *name)
                .expect("resolved")
                .reads
        }
        Resolved::Task(_) => &[],
    };
    for opt in Opt::ALL {
        if opt.given(options) && !reads.contains(&opt) {
            let applies: Vec<&str> = BUILT_INS
                .iter()
                .filter(|b| b.reads.contains(&opt))
                .map(|b| b.name)
                .collect();
            return Err(ScenarioError::Scrub(format!(
                "{}: {} does not apply to scenario `{scenario}` (only to {} files)",
                file.display(),
                opt.flag(),
                applies
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    match resolved {
        Resolved::BuiltIn(name) => {
            let b = BUILT_INS.iter().find(|b| b.name == name).expect("resolved");
            (b.open)(options, file)
        }
        Resolved::Task(dir) => Ok(Box::new(Task::open(&dir)?)),
    }
}

/// How a hypothesis file in `folder` names the task directory `task`: a relative path when
/// one exists, else the absolute path.
pub fn relative_to(task: &Path, folder: &Path) -> String {
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let (t, f): (Vec<_>, Vec<_>) = (task.components().collect(), folder.components().collect());
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return task.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c);
    }
    if rel.as_os_str().is_empty() {
        ".".into()
    } else {
        rel.display().to_string()
    }
}
