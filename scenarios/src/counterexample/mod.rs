//! The write-up's counterexamples: hypotheses that make correct-looking predictions while
//! being false, each run naively, then attacked by the adversary with the moves the
//! hypothesis itself permits, beside the truth where the scenario knows it.
//!
//! - `paren-washout`: paren 3c samples the terms of x2[i] apart and scores above 3a.
//! - `polysemanticity`: splitting the interference term of a superposed neuron into halves
//!   sampled apart looks better than the model.
//! - `sneaking-knowledge`: "on HARD the output is the correct answer" scrubs far above the
//!   model in the hash game.
//! - `inhibition`: an induction-like term alone scores 100% because an inhibitory term and
//!   other terms it ignores cancel.

mod inhibition;
mod polysemanticity;
mod report;
mod scalar_case;
mod sneaking;
mod washout;

use serde::Serialize;

use scrub_adversary::search::Tolerance;
use scrub_adversary::AttackReport;

use crate::error::ScenarioError;
use crate::progress::Progress;

pub use washout::WashoutData;

/// The counterexamples, by the names `scrub counterexample` takes.
pub const NAMES: [&str; 4] = [
    "paren-washout",
    "polysemanticity",
    "sneaking-knowledge",
    "inhibition",
];

/// How one counterexample is played.
#[derive(Debug, Clone)]
pub struct PlaySettings {
    pub samples: usize,
    pub seed: u64,
    pub budget: usize,
    pub tolerance: Tolerance,
}

/// Another hypothesis scored on the same samples.
#[derive(Debug, Clone, Serialize)]
pub struct AlsoScored {
    pub hypothesis: String,
    pub pct_recovered: f64,
    pub pct_stderr: f64,
}

/// What one counterexample showed.
#[derive(Debug, Clone, Serialize)]
pub struct CounterexampleOutcome {
    pub name: String,
    /// What the flawed hypothesis claims.
    pub claim: String,
    /// % loss recovered by the flawed hypothesis, scrubbed as stated.
    pub naive_pct: f64,
    pub naive_stderr: f64,
    /// % loss recovered after the adversary's moves.
    pub adversary_pct: f64,
    /// % loss recovered by the true hypothesis, where the scenario knows it.
    pub truth_pct: Option<f64>,
    /// Whether the adversary's verdict is that the flawed hypothesis does not survive.
    pub exposed: bool,
    /// Move evaluations the adversary made, over all rounds.
    pub moves_tried: usize,
    /// The first move applied, if any.
    pub chosen_move: Option<String>,
    /// Other hypotheses the scenario scores beside it (e.g. paren 3a and 3d).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoScored>,
    pub attack: AttackReport,
}

impl CounterexampleOutcome {
    /// The outcome of an attack on the flawed hypothesis.
    pub fn from_attack(
        name: &str,
        claim: &str,
        truth_pct: Option<f64>,
        attack: AttackReport,
    ) -> Self {
        let moves_tried = attack
            .rounds
            .iter()
            .map(|r| r.evaluated.len())
            .sum::<usize>()
            + attack.last_scan.len();
        CounterexampleOutcome {
            name: name.into(),
            claim: claim.into(),
            naive_pct: attack.initial.pct_recovered,
            naive_stderr: attack.initial.pct_stderr,
            adversary_pct: attack.final_score.pct_recovered,
            truth_pct,
            exposed: !attack.survives,
            moves_tried,
            chosen_move: attack.rounds.first().map(|r| r.mv.description.clone()),
            also: Vec::new(),
            attack,
        }
    }
}

/// Runs the counterexample `name` (one of [`NAMES`]); `paren` loads the paren data when
/// the washout needs it.
pub fn play(
    name: &str,
    settings: &PlaySettings,
    paren: &dyn Fn() -> Result<WashoutData, ScenarioError>,
    progress: &Progress,
) -> Result<CounterexampleOutcome, ScenarioError> {
    match name {
        "paren-washout" => washout::play(&paren()?, settings, progress),
        "polysemanticity" => polysemanticity::case(settings.seed).play(settings, progress),
        "sneaking-knowledge" => sneaking::case(settings.seed).play(settings, progress),
        "inhibition" => inhibition::case(settings.seed).play(settings, progress),
        other => Err(ScenarioError::Scrub(format!(
            "unknown counterexample `{other}`; known: {}, all",
            NAMES.join(", ")
        ))),
    }
}

pub use report::{markdown, terminal};
