//! `scrub_cs.discover(task, ...)`: `scrub discover` over the same library call — a
//! hypothesis found greedily (attribution orders, real scrubs decide), then attacked.

use std::path::Path;

use pyo3::prelude::*;

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::AttackSettings;
use scrub_core::discover::{DiscoverSettings, Discovery as Found};
use scrub_core::experiment::Scenario;
use scrub_scenarios::discover::find_and_attack;
use scrub_scenarios::groundtruth::TrueCircuit;
use scrub_scenarios::scrub_graph::ScrubExecutor;

use crate::scrub_err;
use crate::task::{executor_kind, reporter, Hypothesis, Task};
use crate::worker::interruptible;

/// A discovered hypothesis with the report of its search and its attack.
#[pyclass(module = "scrub_cs", frozen)]
pub struct Discovery {
    /// The hypothesis found; `task.run(d.hypothesis)` scores it again.
    #[pyo3(get)]
    hypothesis: Hypothesis,
    /// Its % loss recovered on the search's samples.
    #[pyo3(get)]
    pct_recovered: f64,
    /// Whether it survived the attack (`None` when not attacked).
    #[pyo3(get)]
    survives: Option<bool>,
    /// F1 on heads and MLPs against the task's true hypothesis, where it has one.
    #[pyo3(get)]
    f1: Option<f64>,
    ron: String,
    json: String,
    markdown: String,
    terminal: String,
}

#[pymethods]
impl Discovery {
    /// The hypothesis as RON with a comment before each node saying why it is there.
    fn to_ron(&self) -> String {
        self.ron.clone()
    }
    /// The report as `discover-<name>.json` holds it: every change tried, the attack.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.json.as_str(),))
    }
    /// The report as markdown.
    fn markdown(&self) -> String {
        self.markdown.clone()
    }
    fn __str__(&self) -> String {
        self.terminal.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "Discovery(pct_recovered={:.1}, survives={:?})",
            self.pct_recovered, self.survives
        )
    }
}

/// Finds a hypothesis for `task`: from the output recomputed from every input, drops
/// inputs (least important by attribution first) and gives each kept one the coarsest
/// feature of the task's library while % recovered stays at `threshold`, down to the
/// embeddings (or `depth` levels below the output), every step a real scrub; then the
/// adversary plays `attack_budget` rounds (0: no attack). The defaults are `scrub
/// discover`'s.
#[pyfunction]
#[pyo3(signature = (task, threshold = 90.0, samples = 500, seed = 0, budget = 2000, attribution_pairs = 200, depth = None, attack_budget = 4, executor = "cpu", progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn discover(
    py: Python<'_>,
    task: &Task,
    threshold: f64,
    samples: usize,
    seed: u64,
    budget: usize,
    attribution_pairs: usize,
    depth: Option<usize>,
    attack_budget: usize,
    executor: &str,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Discovery> {
    if !threshold.is_finite()
        || budget == 0
        || samples < scrub_core::stats::MIN_SAMPLES
        || depth == Some(0)
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "threshold must be a finite percentage, budget at least 1 scrub, samples at least 2, \
             depth at least 1 (or None)",
        ));
    }
    let kind = executor_kind(executor)?;
    let reporter = reporter(progress)?;
    let scenario: &(dyn Scenario + Send) = task.scenario.as_ref();
    let settings = DiscoverSettings {
        threshold,
        samples,
        seed,
        budget,
        attribution_pairs,
        screen: None,
        depth,
    };
    let attack = AttackSettings {
        library: scenario.feature_library(),
        samples,
        seed,
        budget: attack_budget,
        tolerance: Tolerance::default(),
        prune: Some(Prune::default()),
        given: Vec::new(),
    };
    // A task directory's file names it by its absolute path, so the RON runs from anywhere.
    let dir = task
        .origin
        .parent()
        .filter(|d| d.join(scrub_scenarios::task::MANIFEST).is_file());
    let scenario_field = match dir {
        Some(d) => d.display().to_string(),
        None => scenario.name().to_string(),
    };
    let report = interruptible(py, || {
        let truth = match dir {
            Some(d) => TrueCircuit::load(d).map_err(|e| e.to_string())?,
            None => None,
        };
        let base = scenario.graph().map_err(|e| e.to_string())?;
        let exec = ScrubExecutor::new(kind, &base).map_err(|e| e.to_string())?;
        find_and_attack(
            scenario,
            exec.graph(),
            &base,
            &settings,
            (attack_budget > 0).then_some(&attack),
            truth.as_ref(),
            &reporter,
            &mut |d: &mut Found| {
                d.file.scenario = scenario_field.clone();
                Ok(String::new())
            },
        )
        .map_err(|e| e.to_string())
    })?;
    let name = format!("found-{}", scenario.name());
    let ron = report.discovery.ron();
    let file = scrub_core::scrub::hypothesis::HypothesisFile::parse(&ron, Path::new(&name))
        .map_err(scrub_err)?;
    Ok(Discovery {
        hypothesis: Hypothesis {
            file,
            name,
            path: None,
        },
        pct_recovered: report.discovery.score.pct_recovered,
        survives: report.attack.as_ref().map(|a| a.survives),
        f1: report.truth.as_ref().map(|t| t.f1),
        json: report.json(),
        markdown: report.markdown(),
        terminal: report.terminal(),
        ron,
    })
}
