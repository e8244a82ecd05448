//! The ground-truth suite: compiled transformers (Tracr) whose circuits are known, each a
//! task directory with planted hypotheses and, in `expect.ron`, what the scrubber and the
//! adversary must find for each. The suite is data: a directory of task directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use scrub_adversary::search::{Prune, Tolerance};
use scrub_adversary::{attack_file, AttackReport, AttackSettings};
use scrub_core::experiment::{Progress, Scenario};
use scrub_core::scrub::hypothesis::HypothesisFile;

use crate::discover::{find_and_attack, DiscoverReport};
use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;
use crate::scrub_graph::ScrubExecutor;
use crate::task::Task;
use scrub_core::discover::DiscoverSettings;

mod report;
mod truth;
pub use report::{markdown, terminal};
pub use truth::{Comparison, FeatureCheck, Relation, TrueCircuit, TRUE_HYPOTHESIS};

/// The file in each task directory that says what each hypothesis must show.
pub const EXPECT: &str = "expect.ron";

/// What a hypothesis of the suite must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expect {
    /// The true circuit: ≥ 99% recovered, its loss within 2 s.e. of the model's, and it
    /// survives the attack.
    Exact,
    /// A false hypothesis (a needed block left out, or a block on the wrong variable):
    /// its loss beyond 3 s.e. above the model's, or exposed by the adversary.
    Lower,
    /// A washout: it scores higher than the adversary lets it keep and is exposed, the
    /// first move tying nodes among `parts` (the paths of the split term's parts).
    Washout { parts: Vec<String> },
    /// Set by the suite for the hypothesis `scrub discover` finds (never in `expect.ron`):
    /// the true circuit's heads and MLPs (F1 ≥ [`DISCOVERED_F1`]), the threshold kept, and
    /// it survives the attack.
    #[serde(skip_deserializing)]
    Discovered,
}

/// F1 on the heads and MLPs a discovered hypothesis must reach against the true one.
pub const DISCOVERED_F1: f64 = 0.9;

/// % loss recovered the suite's discovery keeps at every step.
pub const DISCOVER_THRESHOLD: f64 = 90.0;

/// How the suite is played.
#[derive(Debug, Clone)]
pub struct SuiteSettings {
    pub samples: usize,
    pub seed: u64,
    pub budget: usize,
    pub executor: ExecutorKind,
    /// Also discover a hypothesis on each program and judge it against the true one.
    pub discover: bool,
}

/// One hypothesis of one program: its scores, the verdict, and whether that is expected.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub program: String,
    pub hypothesis: String,
    pub expect: Expect,
    /// The model's own loss (100% recovered) and the all-resampled one (0%).
    pub model_loss: f64,
    pub random_loss: f64,
    /// The hypothesis as written.
    pub loss: f64,
    pub stderr: f64,
    pub pct_recovered: f64,
    pub pct_stderr: f64,
    /// After the adversary's moves.
    pub attacked_pct: f64,
    pub survives: bool,
    /// The move that decided the verdict, or the first applied (none: survives untouched).
    pub deciding_move: Option<String>,
    /// Whether what was found is what `expect` says, and why not if not.
    pub as_expected: bool,
    pub why: String,
    /// The full attack, for the markdown report.
    #[serde(skip)]
    pub attack: Option<AttackReport>,
    /// For the discovered hypothesis: how it compares with the true one, and its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truth: Option<Comparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// One program of the suite: its outcomes and the nodes that are identically zero.
#[derive(Debug, Clone, Serialize)]
pub struct Program {
    pub name: String,
    pub data: usize,
    pub zero: Vec<String>,
    pub outcomes: Vec<Outcome>,
}

/// The task directories under `suite` (each holds `task.ron` and `expect.ron`), by name.
pub fn programs(suite: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let entries = std::fs::read_dir(suite).map_err(|source| ScenarioError::Read {
        path: suite.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(EXPECT).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(ScenarioError::Scrub(format!(
            "{}: no task directory with an `{EXPECT}` in it",
            suite.display()
        )));
    }
    Ok(dirs)
}

/// Reads `dir/expect.ron`: hypothesis name → expectation.
pub fn expectations(dir: &Path) -> Result<BTreeMap<String, Expect>, ScenarioError> {
    let path = dir.join(EXPECT);
    let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Read {
        path: path.clone(),
        source,
    })?;
    scrub_core::text::parse_ron(&text).map_err(|f| {
        ScenarioError::Scrub(format!(
            "{}:{}:{}: {}",
            path.display(),
            f.line,
            f.column,
            f.message
        ))
    })
}

/// Plays every hypothesis of the program in `dir` and checks it against its expectation.
pub fn play(
    dir: &Path,
    settings: &SuiteSettings,
    progress: &dyn Progress,
) -> Result<Program, ScenarioError> {
    let expect = expectations(dir)?;
    let task = Task::open(dir)?;
    let base = task.graph()?;
    let exec = ScrubExecutor::new(settings.executor, &base)?;
    let attack = AttackSettings {
        library: task.feature_library(),
        samples: settings.samples,
        seed: settings.seed,
        budget: settings.budget,
        tolerance: Tolerance::default(),
        prune: Some(Prune::default()),
        given: Vec::new(),
    };
    let mut outcomes = Vec::new();
    for (name, expect) in expect {
        let path = dir.join("hypotheses").join(format!("{name}.ron"));
        let file = HypothesisFile::load(&path)?;
        tracing::info!(program = %task.name, hypothesis = %name, "attacking");
        let (report, _) = attack_file(&task, exec.graph(), &base, &file, &name, &attack, progress)?;
        outcomes.push(judge(&task.name, &name, expect, report));
    }
    if settings.discover {
        tracing::info!(program = %task.name, "discovering");
        let truth = TrueCircuit::load(dir)?;
        let found = DiscoverSettings {
            threshold: DISCOVER_THRESHOLD,
            samples: settings.samples,
            seed: settings.seed,
            ..DiscoverSettings::default()
        };
        let report = find_and_attack(
            &task,
            exec.graph(),
            &base,
            &found,
            Some(&attack),
            truth.as_ref(),
            progress,
            &mut |_| Ok(String::new()),
        )?;
        outcomes.push(judge_discovered(&task.name, report));
    }
    Ok(Program {
        name: task.name.clone(),
        data: task.dataset.len(),
        zero: task.model.zero_components(),
        outcomes,
    })
}

/// Whether a discovered hypothesis found the true circuit, kept the threshold and survived.
fn judge_discovered(program: &str, r: DiscoverReport) -> Outcome {
    let d = &r.discovery;
    let f1 = r.truth.as_ref().map(|t| t.f1);
    let mut why = Vec::new();
    match f1 {
        None => why.push("the program has no true hypothesis to compare with".to_string()),
        Some(f) if f < DISCOVERED_F1 => why.push(format!("F1 {f:.2} < {DISCOVERED_F1}")),
        Some(_) => {}
    }
    if d.score.pct_recovered < d.threshold {
        why.push(format!(
            "{:.1}% recovered, below the threshold",
            d.score.pct_recovered
        ));
    }
    let attack = r.attack.clone().expect("the suite attacks what it finds");
    if !attack.survives {
        why.push("the adversary exposed it".into());
    }
    let mut o = outcome(
        program,
        "discovered",
        Expect::Discovered,
        attack,
        why.is_empty(),
        why.join("; "),
    );
    o.found = Some(d.ron());
    o.truth = r.truth;
    o
}

/// Whether an attack's report shows what `expect` says.
fn judge(program: &str, hypothesis: &str, expect: Expect, r: AttackReport) -> Outcome {
    let s = &r.initial;
    let above_model = s.loss - r.low.loss;
    let first = r.rounds.first().map(|round| &round.mv);
    let (ok, why) = match &expect {
        Expect::Exact => {
            // Rounding apart (a recomputed sum in another order), within 2 s.e.
            let close = above_model.abs() <= 2.0 * s.stderr + 1e-6 * r.low.loss.abs().max(1.0);
            match (s.pct_recovered >= 99.0 && close, r.survives) {
                (true, true) => (true, String::new()),
                (false, _) => (
                    false,
                    format!(
                        "recovers {:.2}% (loss {:.4} ± {:.4}, the model's {:.4})",
                        s.pct_recovered, s.loss, s.stderr, r.low.loss
                    ),
                ),
                (true, false) => (false, "the adversary exposed it".into()),
            }
        }
        Expect::Lower => {
            if above_model > 3.0 * s.stderr || !r.survives {
                (true, String::new())
            } else {
                (false, format!("its loss {:.4} ± {:.4} is within 3 s.e. of the model's {:.4} and it survives", s.loss, s.stderr, r.low.loss))
            }
        }
        Expect::Washout { parts } => {
            let tied_parts = first.is_some_and(|m| {
                !m.ties.is_empty()
                    && m.ties
                        .iter()
                        .all(|t| parts.contains(&t.follower) && parts.contains(&t.leader))
            });
            let drop = s.pct_recovered - r.final_score.pct_recovered;
            let pct_se = s.pct_stderr.max(r.final_score.pct_stderr);
            if r.survives {
                (false, "it survives the attack".into())
            } else if !tied_parts {
                (
                    false,
                    format!(
                        "the first move is not a tie of the split parts: {}",
                        first.map_or("none", |m| m.description.as_str())
                    ),
                )
            } else if drop <= 3.0 * pct_se {
                (
                    false,
                    format!("the attack lowers it by only {drop:.1} points"),
                )
            } else {
                (true, String::new())
            }
        }
        Expect::Discovered => (false, "judged by judge_discovered".into()),
    };
    outcome(program, hypothesis, expect, r, ok, why)
}

/// The outcome row of an attack report, judged `ok` (or not, because of `why`).
fn outcome(
    program: &str,
    hypothesis: &str,
    expect: Expect,
    r: AttackReport,
    ok: bool,
    why: String,
) -> Outcome {
    let s = r.initial;
    let deciding = r
        .deciding_move
        .as_ref()
        .map(|m| m.mv.description.clone())
        .or_else(|| r.rounds.first().map(|round| round.mv.description.clone()));
    Outcome {
        program: program.to_string(),
        hypothesis: hypothesis.to_string(),
        expect,
        model_loss: r.low.loss,
        random_loss: r.high.loss,
        loss: s.loss,
        stderr: s.stderr,
        pct_recovered: s.pct_recovered,
        pct_stderr: s.pct_stderr,
        attacked_pct: r.final_score.pct_recovered,
        survives: r.survives,
        deciding_move: deciding,
        as_expected: ok,
        why,
        attack: Some(r),
        truth: None,
        found: None,
    }
}
