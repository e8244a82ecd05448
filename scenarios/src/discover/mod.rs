//! `scrub discover`: a hypothesis found by the core's greedy search, handed to the caller
//! (to be written), then attacked by the adversary; the report of both, and for a program
//! with a true hypothesis how the found circuit compares with it. The CLI and the
//! ground-truth suite both go through [`find_and_attack`].

mod report;

pub use report::DiscoverReport;

use scrub_adversary::{attack_file, AttackSettings};
use scrub_core::discover::{discover, DiscoverSettings, Discovery};
use scrub_core::experiment::{Progress, Scenario};
use scrub_core::scrub::graph::ScrubGraph;
use scrub_core::scrub::transformer::TransformerGraph;

use crate::error::ScenarioError;
use crate::groundtruth::{Comparison, TrueCircuit};

/// Finds a hypothesis for `scenario` on `graph` (`base` names its nodes), calls `found`
/// with it before anything else can fail (it may rename the scenario and must say where the
/// file went), attacks it with `attack` unless `None`, and compares it with `truth`.
#[allow(clippy::too_many_arguments)]
pub fn find_and_attack(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    settings: &DiscoverSettings,
    attack: Option<&AttackSettings>,
    truth: Option<&TrueCircuit>,
    progress: &dyn Progress,
    found: &mut dyn FnMut(&mut Discovery) -> Result<String, ScenarioError>,
) -> Result<DiscoverReport, ScenarioError> {
    let name = scenario.name().to_string();
    let mut discovery = discover(scenario, graph, base, settings, progress)
        .map_err(|e| ScenarioError::Scrub(format!("discover on {name}: {e}")))?;
    let file = found(&mut discovery)?;
    let attack = match attack {
        None => None,
        Some(a) => {
            let stem = format!("found-{}", file_safe(&name));
            let (report, _) =
                attack_file(scenario, graph, base, &discovery.file, &stem, a, progress)?;
            Some(report)
        }
    };
    let truth = match truth {
        Some(t) => Some(Comparison::new(t, &discovery.file, scenario)?),
        None => None,
    };
    Ok(DiscoverReport {
        scenario: name,
        file,
        discovery,
        attack,
        truth,
    })
}

/// A file-name-safe form of a scenario's name.
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c,
                false => '_',
            },
        )
        .collect();
    match s.is_empty() {
        true => "task".into(),
        false => s,
    }
}
