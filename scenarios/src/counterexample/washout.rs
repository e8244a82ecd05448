//! The paren washout (end of the write-up's paren section): hypotheses 3c and 3d split
//! x2[i] into terms sampled on separate sequences that each agree on horizon_at(i). Sampling
//! them apart washes out evidence of imbalance, so they score above 3a, though the
//! hypothesis equally permits sampling them together — which gives 3a back. The adversary
//! here plays sampling-together moves only, the ones this claim is about.

use scrub_adversary::search::Prune;
use scrub_adversary::{attack_file, AttackSettings};
use scrub_core::experiment::Scenario;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::stats::pct_recovered;

use super::{AlsoScored, CounterexampleOutcome, PlaySettings};
use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;
use crate::paren::experiment::run_file;
use crate::paren::scrub::ParenScrub;
use crate::paren::table::load_shipped;
use crate::progress::Progress;
use crate::scrub_graph::ScrubExecutor;

/// The paren scenario as the washout runs it.
pub struct WashoutData {
    pub scrub: ParenScrub,
    pub executor: ExecutorKind,
}

fn shipped(name: &str) -> Result<HypothesisFile, ScenarioError> {
    load_shipped(name)
}

/// Scores 3a and 3d and attacks 3c with sampling-together moves.
pub fn play(
    data: &WashoutData,
    settings: &PlaySettings,
    progress: &Progress,
) -> Result<CounterexampleOutcome, ScenarioError> {
    let scrub = &data.scrub;
    let base = scrub.graph()?;
    let exec = ScrubExecutor::new(data.executor, &base)?;
    let attack_settings = AttackSettings {
        library: Vec::new(),
        samples: settings.samples,
        seed: settings.seed,
        budget: settings.budget,
        tolerance: settings.tolerance,
        prune: Some(Prune {
            divisor: 4,
            keep: 3,
        }),
        given: Vec::new(),
    };
    // 0a and 0b as the attack measured them, on the same samples and seed.
    let (report, l) = attack_file(
        scrub,
        exec.graph(),
        &base,
        &shipped("3c")?,
        "3c",
        &attack_settings,
        progress,
    )?;
    let (l0a, l0b) = l.range()?;
    let mut also = Vec::new();
    for name in ["3a", "3d"] {
        let r = run_file(
            scrub,
            exec.graph(),
            &base,
            &shipped(name)?,
            name,
            settings.samples,
            settings.seed,
            &l,
            exec.name(),
            progress,
        )?;
        also.push(AlsoScored {
            hypothesis: name.to_string(),
            pct_recovered: pct_recovered(r.loss, l0a, l0b),
            pct_stderr: r.stderr * 100.0 / (l0b - l0a),
        });
    }
    let mut out = CounterexampleOutcome::from_attack(
        "paren-washout",
        "3c: x2[i]'s terms from attention 0, mlp0 and mlp1 each on its own sequence agreeing on horizon_at(i)",
        Some(also[0].pct_recovered),
        report,
    );
    out.also = also;
    Ok(out)
}
