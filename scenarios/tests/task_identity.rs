//! The built-in scenarios written as task directories (`scrub task export`) and run through
//! the task path in one process: every shipped paren hypothesis gives the built-in's
//! numbers exactly (the same floats, not close ones), the adversary plays the same rounds on
//! 3c, and induction files do the same. This is the proof that nothing scenario-specific is
//! left in the pipeline: both sides are opened through the registry and scored by the same
//! functions `scrub run` and `scrub attack` call.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::{attack_file, AttackSettings};
use scrub_core::experiment::{
    reference_baselines, run_hypothesis, HypothesisResult, RunSettings, Scenario, Silent,
};
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_scenarios::registry::{self, OpenOptions};

const SHIPPED: [&str; 11] = [
    "0a", "0b", "1a", "1b", "2a", "2b", "3a", "3b", "3c", "3d", "4",
];

fn export(scenario: &str, options: &OpenOptions) -> PathBuf {
    let dir = temp_dir(&format!("{scenario}-identity")).join("task");
    registry::export(scenario, options, &dir).unwrap();
    dir
}

/// Every file of `paths` scored as `scrub run` scores it (its scenario opened by the
/// registry), against the baselines measured once on the same samples.
fn run_all(
    scenario: &dyn Scenario,
    paths: &[PathBuf],
    samples: usize,
    seed: u64,
) -> Vec<HypothesisResult> {
    let base = scenario.graph().unwrap();
    let settings = RunSettings {
        samples,
        first_sample: 0,
        seed,
        cache: None,
        progress: &Silent,
    };
    let refs = reference_baselines(scenario, &base, &base, &settings).unwrap();
    paths
        .iter()
        .map(|p| {
            let file = HypothesisFile::load(p).unwrap();
            run_hypothesis(scenario, &base, &base, &file, "h", &settings, &refs, "cpu").unwrap()
        })
        .collect()
}

/// The figures of a result that must agree bit for bit.
fn figures(r: &HypothesisResult) -> Vec<Option<f64>> {
    let mut v = vec![
        Some(r.loss),
        Some(r.stderr),
        r.accuracy,
        r.pct_recovered,
        Some(r.low.loss),
        Some(r.high.loss),
        Some(r.low.stderr),
        Some(r.high.stderr),
    ];
    v.extend(r.groups.iter().map(|g| Some(g.loss)));
    v
}

#[test]
fn paren_files_and_the_attack_on_3c_are_identical_through_the_task_directory() {
    let options = OpenOptions {
        data_dir: Some(data_dir()),
        ..Default::default()
    };
    let task = export("paren", &options);
    let shipped = |n: &str| {
        PathBuf::from(format!(
            "{}/paren/hypotheses/{n}.ron",
            env!("CARGO_MANIFEST_DIR")
        ))
    };
    let built_in = registry::open("paren", &shipped("1b"), &options).unwrap();
    let via_task = registry::open(
        "..",
        &task.join("hypotheses/1b.ron"),
        &OpenOptions::default(),
    )
    .unwrap();
    let ours: Vec<PathBuf> = SHIPPED.iter().map(|n| shipped(n)).collect();
    let theirs: Vec<PathBuf> = SHIPPED
        .iter()
        .map(|n| task.join(format!("hypotheses/{n}.ron")))
        .collect();
    let a = run_all(built_in.as_ref(), &ours, 64, 5);
    let b = run_all(via_task.as_ref(), &theirs, 64, 5);
    for ((name, a), b) in SHIPPED.iter().zip(&a).zip(&b) {
        assert_eq!(figures(a), figures(b), "{name}: built-in {a:?}\ntask {b:?}");
        assert_eq!((&a.low.name, &a.high.name), (&b.low.name, &b.high.name));
    }
    // The adversary, with refinements from each side's feature library.
    let attack = |scenario: &dyn Scenario, path: &Path| {
        let file = HypothesisFile::load(path).unwrap();
        let base = scenario.graph().unwrap();
        let settings = AttackSettings {
            // Sampling-together moves: refinements differ only in spelling, checked below.
            library: Vec::new(),
            samples: 100,
            seed: 0,
            budget: 1,
            tolerance: Tolerance::default(),
            prune: Some(Prune {
                divisor: 3,
                keep: 3,
            }),
            given: Vec::new(),
        };
        let (report, _) =
            attack_file(scenario, &base, &base, &file, "3c", &settings, &Silent).unwrap();
        // Per-position features are spelt `horizon_at[i]` in the task, `horizon_at(i)` built in.
        serde_json::to_string(&report)
            .unwrap()
            .replace("at[", "at(")
            .replace("]`", ")`")
            .replace("]\"", ")\"")
    };
    // The adversary's refinement library is the same, in the same order, up to spelling.
    let spelt = |s: &dyn Scenario| {
        s.feature_library()
            .iter()
            .map(|f| f.replace("[{i}]", "({i})"))
            .collect::<Vec<_>>()
    };
    assert_eq!(spelt(built_in.as_ref()), spelt(via_task.as_ref()));
    let a = attack(built_in.as_ref(), &shipped("3c"));
    let b = attack(via_task.as_ref(), &task.join("hypotheses/3c.ron"));
    assert!(a.contains("\"rounds\""));
    assert_eq!(a, b);
}

#[test]
fn induction_files_are_identical_through_the_task_directory() {
    let task = export("induction", &OpenOptions::default());
    let shipped = |n: &str| {
        PathBuf::from(format!(
            "{}/induction/hypotheses/{n}.ron",
            env!("CARGO_MANIFEST_DIR")
        ))
    };
    let built_in =
        registry::open("induction", &shipped("naive_q"), &OpenOptions::default()).unwrap();
    let via_task = registry::open(
        "..",
        &task.join("hypotheses/naive_q.ron"),
        &OpenOptions::default(),
    )
    .unwrap();
    // A naive file, and one conditioning on `typical_at` at every position with patterns
    // recomputed from other inputs.
    let names = ["naive_q", "refined5_all"];
    let a = run_all(built_in.as_ref(), &names.map(shipped), 24, 2);
    let theirs = names.map(|n| task.join(format!("hypotheses/{n}.ron")));
    let b = run_all(via_task.as_ref(), &theirs, 24, 2);
    for ((name, a), b) in names.iter().zip(&a).zip(&b) {
        assert_eq!(figures(a), figures(b), "{name}: built-in {a:?}\ntask {b:?}");
    }
}
