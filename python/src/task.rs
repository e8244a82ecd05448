//! `Task`, `Hypothesis`, `RunResult`, `AttackReport`, `merge` and `join`: the CLI's `run`,
//! `attack` and `join` over the same library calls, with numpy results.

use std::path::{Path, PathBuf};

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::{attack_file, join_files, AttackSettings};
use scrub_core::experiment::{HypothesisResult, RunSettings, Scenario, Shard};
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_scenarios::executor_choice::ExecutorKind;
use scrub_scenarios::registry::{self, OpenOptions};
use scrub_scenarios::scrub_graph::ScrubExecutor;

use crate::progress::Reporter;
use crate::scrub_err;
use crate::worker::interruptible;

/// A hypothesis file: which nodes matter and what each may be resampled on.
#[pyclass(module = "scrub_cs", frozen)]
#[derive(Clone)]
pub struct Hypothesis {
    pub(crate) file: HypothesisFile,
    /// The name in reports (the file's stem).
    #[pyo3(get)]
    pub(crate) name: String,
    /// Where it was read from (`None` for a string); the file's `scenario` is relative to it.
    pub(crate) path: Option<PathBuf>,
}

#[pymethods]
impl Hypothesis {
    /// Reads a hypothesis file (RON); errors name the file, line and column.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Hypothesis> {
        let file = HypothesisFile::load(&path).map_err(scrub_err)?;
        Ok(Hypothesis {
            name: stem(&path),
            file,
            path: Some(path),
        })
    }

    /// Parses a hypothesis from RON text; `name` is used in reports and errors.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<string>"))]
    fn from_str(text: &str, name: &str) -> PyResult<Hypothesis> {
        let file = HypothesisFile::parse(text, Path::new(name)).map_err(scrub_err)?;
        Ok(Hypothesis {
            file,
            name: name.to_string(),
            path: None,
        })
    }

    /// Builds a hypothesis from a dict: the RON file's fields (`scenario`, `root`, ...;
    /// `root` a node dict with `name`, `feature`, `reads`, `computes`, `inputs`), `None` for
    /// absent options; `to_dict()` of any hypothesis shows the form.
    #[staticmethod]
    #[pyo3(signature = (d, name = "<dict>"))]
    fn from_dict(py: Python<'_>, d: &Bound<'_, PyDict>, name: &str) -> PyResult<Hypothesis> {
        let text: String = py.import("json")?.call_method1("dumps", (d,))?.extract()?;
        let file = HypothesisFile::from_json(&text, name).map_err(scrub_err)?;
        Ok(Hypothesis {
            file,
            name: name.to_string(),
            path: None,
        })
    }

    /// The hypothesis as a dict (the form `from_dict` reads).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.file).map_err(scrub_err)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The hypothesis as RON text (what `scrub join` writes).
    fn to_ron(&self) -> String {
        self.file.to_ron()
    }

    /// The scenario the file names (a built-in or a task directory relative to the file).
    #[getter]
    fn scenario(&self) -> String {
        self.file.scenario.clone()
    }

    /// The file's default sample count.
    #[getter]
    fn samples(&self) -> usize {
        self.file.samples
    }

    /// The file's default seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.file.seed
    }

    fn __repr__(&self) -> String {
        format!(
            "Hypothesis({:?}, scenario={:?})",
            self.name, self.file.scenario
        )
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A scenario to scrub on: a task directory or a built-in (`paren`, `induction`).
#[pyclass(module = "scrub_cs", frozen)]
pub struct Task {
    pub(crate) scenario: Box<dyn Scenario + Send>,
    /// Where a hypothesis file's relative `scenario` is resolved from, for `join`.
    pub(crate) origin: PathBuf,
}

/// Parses `executor=`.
pub(crate) fn executor_kind(name: &str) -> PyResult<ExecutorKind> {
    match name {
        "cpu" => Ok(ExecutorKind::Cpu),
        "gpu" => Ok(ExecutorKind::Gpu),
        "auto" => Ok(ExecutorKind::Auto),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "executor {other:?}: choose \"cpu\", \"gpu\" or \"auto\""
        ))),
    }
}

/// The sample count and seed of a call: the arguments, else the file's.
fn samples_and_seed(
    h: &Hypothesis,
    samples: Option<usize>,
    seed: Option<u64>,
) -> PyResult<(usize, u64)> {
    let n = samples.unwrap_or(h.file.samples);
    if n < scrub_core::stats::MIN_SAMPLES {
        return Err(scrub_err(format!(
            "{}: samples={n} is too few: at least {} are needed (a standard error needs two)",
            h.name,
            scrub_core::stats::MIN_SAMPLES
        )));
    }
    Ok((n, seed.unwrap_or(h.file.seed)))
}

#[pymethods]
impl Task {
    /// Opens a task directory (a `task.ron` beside a model and a dataset).
    #[staticmethod]
    fn from_dir(py: Python<'_>, path: PathBuf) -> PyResult<Task> {
        let task = py
            .detach(|| scrub_scenarios::task::Task::open(&path))
            .map_err(scrub_err)?;
        let origin = task.dir.join(scrub_scenarios::task::MANIFEST);
        Ok(Task {
            scenario: Box::new(task),
            origin,
        })
    }

    /// Opens a built-in scenario: `paren` (reads `data_dir`, `balanced_fraction`) or
    /// `induction` (reads `model_dir`).
    #[staticmethod]
    #[pyo3(signature = (name, data_dir = None, balanced_fraction = None, model_dir = None))]
    fn builtin(
        py: Python<'_>,
        name: &str,
        data_dir: Option<PathBuf>,
        balanced_fraction: Option<f64>,
        model_dir: Option<PathBuf>,
    ) -> PyResult<Task> {
        let options = OpenOptions {
            data_dir,
            balanced_fraction,
            model_dir,
        };
        let origin = PathBuf::from(format!("<{name}>"));
        let scenario = py
            .detach(|| registry::open(name, &origin, &options))
            .map_err(scrub_err)?;
        Ok(Task { scenario, origin })
    }

    /// The scenario's name in reports.
    #[getter]
    fn name(&self) -> String {
        self.scenario.name().to_string()
    }

    /// Scores hypothesis `h` by causal scrubbing, with the task's two baselines on the same
    /// samples. `samples`/`seed` default to the file's; `sample_range=(a, b)` runs only
    /// samples a..b of that run (a shard: `scrub_cs.merge` of shards covering 0..samples
    /// equals the whole run exactly). Returns a `RunResult`: `loss`, `stderr`,
    /// `pct_recovered`, `per_sample` (numpy) and the rest of `scrub run --json`.
    #[pyo3(signature = (h, samples = None, seed = None, sample_range = None, executor = "cpu", progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        h: &Hypothesis,
        samples: Option<usize>,
        seed: Option<u64>,
        sample_range: Option<(usize, usize)>,
        executor: &str,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RunResult> {
        let (n, seed) = samples_and_seed(h, samples, seed)?;
        let (first, count) = match sample_range {
            None => (0, n),
            Some((a, b)) if a < b && b <= n => (a, b - a),
            Some((a, b)) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "sample_range=({a}, {b}) must satisfy 0 <= a < b <= samples ({n})"
                )))
            }
        };
        let kind = executor_kind(executor)?;
        let reporter = reporter(progress)?;
        let scenario: &(dyn Scenario + Send) = self.scenario.as_ref();
        let shard = interruptible(py, || {
            let base = scenario.graph().map_err(|e| e.to_string())?;
            let exec = ScrubExecutor::new(kind, &base).map_err(|e| e.to_string())?;
            let settings = RunSettings {
                samples: count,
                first_sample: first,
                seed,
                cache: None,
                progress: &reporter,
            };
            Shard::run(
                scenario,
                exec.graph(),
                &base,
                &h.file,
                &h.name,
                &settings,
                exec.name(),
            )
            .map_err(|e| e.to_string())
        })?;
        RunResult::new(shard, n)
    }

    /// Plays the adversary against `h`: applies the moves the hypothesis permits that hurt
    /// it most (sampling terms together, joining in features of the task's library), up to
    /// `budget` rounds, and says whether it survives. Returns an `AttackReport`. The
    /// defaults are `scrub attack`'s.
    #[pyo3(signature = (h, budget = 8, samples = None, seed = None, tolerance = 3.0, tolerance_stderrs = 3.0, prune_keep = 3, prune_divisor = 8, ties_only = false, executor = "cpu", progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn attack(
        &self,
        py: Python<'_>,
        h: &Hypothesis,
        budget: usize,
        samples: Option<usize>,
        seed: Option<u64>,
        tolerance: f64,
        tolerance_stderrs: f64,
        prune_keep: usize,
        prune_divisor: usize,
        ties_only: bool,
        executor: &str,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AttackReport> {
        let (samples, seed) = samples_and_seed(h, samples, seed)?;
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if budget == 0 || !ok(tolerance) || !ok(tolerance_stderrs) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "budget must be at least 1; tolerance and tolerance_stderrs finite and non-negative",
            ));
        }
        let kind = executor_kind(executor)?;
        let reporter = reporter(progress)?;
        let scenario: &(dyn Scenario + Send) = self.scenario.as_ref();
        let settings = AttackSettings {
            library: match ties_only {
                true => Vec::new(),
                false => scenario.feature_library(),
            },
            samples,
            seed,
            budget,
            tolerance: Tolerance {
                points: tolerance,
                stderrs: tolerance_stderrs,
            },
            prune: (prune_keep > 0).then_some(Prune {
                divisor: prune_divisor.max(1),
                keep: prune_keep,
            }),
            given: Vec::new(),
        };
        let report = interruptible(py, || {
            let base = scenario.graph().map_err(|e| e.to_string())?;
            let exec = ScrubExecutor::new(kind, &base).map_err(|e| e.to_string())?;
            let (report, _) = attack_file(
                scenario,
                exec.graph(),
                &base,
                &h.file,
                &h.name,
                &settings,
                &reporter,
            )
            .map_err(|e| e.to_string())?;
            Ok(report)
        })?;
        Ok(AttackReport {
            json: serde_json::to_string(&report).map_err(scrub_err)?,
            markdown: report.markdown(),
            terminal: report.terminal(),
            survives: report.survives,
        })
    }

    /// The hypothesis permitting exactly the swaps both `a` and `b` permit.
    fn join(&self, py: Python<'_>, a: &Hypothesis, b: &Hypothesis) -> PyResult<Hypothesis> {
        let scenario: &(dyn Scenario + Send) = self.scenario.as_ref();
        // Named as `scrub join` names them: by path when read from a file.
        let label = |h: &Hypothesis| match &h.path {
            Some(p) => p.display().to_string(),
            None => h.name.clone(),
        };
        let (la, lb) = (label(a), label(b));
        let joined = py
            .detach(|| {
                let base = scenario.graph().map_err(|e| e.to_string())?;
                join_files(scenario, &base, (&a.file, &b.file), (&la, &lb))
                    .map_err(|e| e.to_string())
            })
            .map_err(scrub_err)?;
        Ok(Hypothesis {
            name: format!("{}+{}", a.name, b.name),
            file: joined,
            path: a.path.clone().or_else(|| Some(self.origin.clone())),
        })
    }

    fn __repr__(&self) -> String {
        format!("Task({:?})", self.scenario.name())
    }
}

pub(crate) fn reporter(progress: Option<&Bound<'_, PyAny>>) -> PyResult<Reporter> {
    match progress {
        None => Ok(Reporter::Bars(
            scrub_scenarios::progress::Progress::visible(),
        )),
        Some(p) => Reporter::from_arg(p),
    }
}

/// Joins two hypotheses read from files about the same scenario (opened from the first
/// file, as `scrub join` does); `task=` gives the scenario for hypotheses from strings.
#[pyfunction]
#[pyo3(signature = (a, b, task = None))]
pub fn join(
    py: Python<'_>,
    a: &Hypothesis,
    b: &Hypothesis,
    task: Option<&Task>,
) -> PyResult<Hypothesis> {
    if let Some(t) = task {
        return t.join(py, a, b);
    }
    let (Some(pa), Some(pb)) = (&a.path, &b.path) else {
        return Err(scrub_err(
            "join: a hypothesis from a string has no folder to find its scenario from; pass task=",
        ));
    };
    let (ra, rb) = (
        registry::resolve(&a.file.scenario, pa).map_err(scrub_err)?,
        registry::resolve(&b.file.scenario, pb).map_err(scrub_err)?,
    );
    if ra != rb {
        return Err(scrub_err(format!(
            "{} is about scenario `{}` and {} about `{}`; only hypotheses about one scenario can be joined",
            pa.display(),
            a.file.scenario,
            pb.display(),
            b.file.scenario
        )));
    }
    let scenario = py
        .detach(|| registry::open(&a.file.scenario, pa, &OpenOptions::default()))
        .map_err(scrub_err)?;
    Task {
        scenario,
        origin: pa.clone(),
    }
    .join(py, a, b)
}

/// A scored hypothesis: what `scrub run --json` prints, with the per-sample losses.
#[pyclass(module = "scrub_cs", frozen)]
pub struct RunResult {
    shard: Shard,
    result: HypothesisResult,
    /// The run's total sample count (the shard holds `sample_range` of it).
    total: usize,
}

impl RunResult {
    fn new(shard: Shard, total: usize) -> PyResult<RunResult> {
        let result = shard.result().map_err(scrub_err)?;
        Ok(RunResult {
            shard,
            result,
            total,
        })
    }

    fn array<'py>(
        &self,
        py: Python<'py>,
        f: impl Fn(&scrub_core::experiment::SampleRecord) -> f64,
    ) -> Bound<'py, PyArray1<f64>> {
        let v: Vec<f64> = self.shard.samples.iter().map(f).collect();
        let a = PyArray1::from_vec(py, v);
        // Results are values: a caller cannot change them in place.
        a.readwrite().make_nonwriteable();
        a
    }
}

#[pymethods]
impl RunResult {
    /// Mean scrubbed loss over the samples.
    #[getter]
    fn loss(&self) -> f64 {
        self.result.loss
    }
    /// Standard error of the mean loss.
    #[getter]
    fn stderr(&self) -> f64 {
        self.result.stderr
    }
    /// % of the loss recovered, or None when the baselines are not clearly apart.
    #[getter]
    fn pct_recovered(&self) -> Option<f64> {
        self.result.pct_recovered
    }
    /// Fraction of samples scored correct (None when the metric has no "correct").
    #[getter]
    fn accuracy(&self) -> Option<f64> {
        self.result.accuracy
    }
    /// Samples in this result.
    #[getter]
    fn samples(&self) -> usize {
        self.result.samples
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.result.seed
    }
    /// The sample indices `(a, b)` this result holds.
    #[getter]
    fn sample_range(&self) -> (usize, usize) {
        let r = self.shard.range();
        (r.start, r.end)
    }
    /// Per-sample scrubbed losses (float64, read-only), in sample-index order.
    #[getter]
    fn per_sample<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.array(py, |s| s.loss)
    }
    /// Per-sample losses of the 100%-recovered baseline.
    #[getter]
    fn low_per_sample<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.array(py, |s| s.low)
    }
    /// Per-sample losses of the 0%-recovered baseline.
    #[getter]
    fn high_per_sample<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.array(py, |s| s.high)
    }
    /// Each sample's reference datum (its index in the task's dataset).
    #[getter]
    fn references<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        let v: Vec<u32> = self.shard.samples.iter().map(|s| s.reference.0).collect();
        PyArray1::from_vec(py, v)
    }

    /// The result as `scrub run --json` prints it, plus `sample_range` and, under `shard`,
    /// every sample's record (what `from_dict` and pickling need).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut v = serde_json::to_value(&self.result).map_err(scrub_err)?;
        let r = self.shard.range();
        v["sample_range"] = serde_json::json!([r.start, r.end]);
        v["total_samples"] = serde_json::json!(self.total);
        v["shard"] = serde_json::to_value(&self.shard).map_err(scrub_err)?;
        let text = serde_json::to_string(&v).map_err(scrub_err)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// A result from `to_dict()`'s output.
    #[staticmethod]
    fn from_dict(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<RunResult> {
        let text: String = py.import("json")?.call_method1("dumps", (d,))?.extract()?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(scrub_err)?;
        let shard: Shard = serde_json::from_value(v["shard"].clone())
            .map_err(|e| scrub_err(format!("not a RunResult dict (its `shard`): {e}")))?;
        let total = v["total_samples"]
            .as_u64()
            .unwrap_or(shard.samples.len() as u64) as usize;
        RunResult::new(shard, total)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
        let py = slf.py();
        let from = py.get_type::<RunResult>().getattr("from_dict")?;
        Ok((from, (slf.get().to_dict(py)?,)))
    }

    fn __repr__(&self) -> String {
        let r = self.shard.range();
        format!(
            "RunResult({:?}: loss {:.6} ± {:.6}, {} recovered, samples {}..{} of {})",
            self.result.hypothesis,
            self.result.loss,
            self.result.stderr,
            self.result
                .pct_recovered
                .map_or("undefined".to_string(), |p| format!("{p:.2}%")),
            r.start,
            r.end,
            self.total
        )
    }
}

/// Merges results of one run split by `sample_range` (in any order) into the whole run's
/// result: the same numbers, to the last digit, as one `task.run` over all samples.
#[pyfunction]
pub fn merge(shards: Vec<PyRef<'_, RunResult>>) -> PyResult<RunResult> {
    let mut parts: Vec<&RunResult> = shards.iter().map(|r| &**r).collect();
    parts.sort_by_key(|r| r.shard.first_sample);
    let total = parts.first().map_or(0, |r| r.total);
    let owned: Vec<Shard> = parts.iter().map(|r| r.shard.clone()).collect();
    let merged = Shard::merge(&owned).map_err(scrub_err)?;
    RunResult::new(merged, total)
}

/// What the adversary did to a hypothesis and its verdict.
#[pyclass(module = "scrub_cs", frozen)]
pub struct AttackReport {
    json: String,
    markdown: String,
    terminal: String,
    /// Whether the hypothesis survived every permitted move within the budget.
    #[pyo3(get)]
    survives: bool,
}

#[pymethods]
impl AttackReport {
    /// The report as `scrub attack --json` writes it: rounds, every move scored, verdict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.json.as_str(),))
    }
    /// The rounds played, each with its move and the score after it.
    #[getter]
    fn rounds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_dict(py)?.get_item("rounds")
    }
    /// "survives" or "does not survive".
    #[getter]
    fn verdict(&self) -> &'static str {
        match self.survives {
            true => "survives",
            false => "does not survive",
        }
    }
    /// The report as markdown (what `attack-<name>.md` holds).
    fn markdown(&self) -> String {
        self.markdown.clone()
    }
    fn __str__(&self) -> String {
        self.terminal.clone()
    }
    fn __repr__(&self) -> String {
        format!("AttackReport(verdict={:?})", self.verdict())
    }
}
