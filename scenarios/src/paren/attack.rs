//! The adversary on a hypothesis file of any scenario: rewrites, tree and baselines as
//! `scrub run` has them, then the greedy search with a scorer that scrubs each modified tree
//! on the same seed and pool, so every move is scored on paired samples.

use scrub_adversary::search::{attack, Prune, Score, SearchConfig, SearchEvent, Tolerance};
use scrub_adversary::{AttackReport, Move};
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::Tree;
use scrub_core::scrub::ScrubGraph;

use scrub_core::scrub::plain_cache::PlainCache;

use crate::error::ScenarioError;
use crate::progress::Progress;
use crate::scrub_scenario::with_rewrites;
use crate::scrub_scenario::ScrubScenario;
use scrub_core::scrub::hypothesis::NameResolver;
use scrub_core::stats::Baselines;

/// Settings of one attack on a hypothesis.
#[derive(Debug, Clone)]
pub struct AttackSettings {
    /// Features the adversary may join in (see [`ScrubScenario::feature_library`]); empty
    /// for sampling-together moves only.
    pub library: Vec<String>,
    pub samples: usize,
    pub seed: u64,
    pub budget: usize,
    pub tolerance: Tolerance,
    /// Cheap first pass (see [`SearchConfig::prune`]).
    pub prune: Option<Prune>,
    /// Moves applied before the search (a move file: constraints the user already imposes).
    pub given: Vec<Move>,
}

/// Plays the adversary against `file` on `graph` (the un-rewritten model; `base` names its
/// nodes) and returns the report and the tree after the applied moves.
pub fn attack_file(
    scrub: &dyn ScrubScenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    name: &str,
    settings: &AttackSettings,
    progress: &Progress,
) -> Result<(AttackReport, Baselines), ScenarioError> {
    if settings.budget == 0 {
        return Err(ScenarioError::Scrub(
            "--budget must be at least 1 round".into(),
        ));
    }
    if settings.samples < 2 {
        return Err(ScenarioError::Scrub(
            "--samples must be at least 2 (the paired standard errors need two)".into(),
        ));
    }
    // A rewrite naming a missing term is reported at its position before any scoring.
    file.check_rewrites(base, &NameResolver::transformer(base))?;
    let refs = scrub.reference_baselines(graph, base, settings.samples, settings.seed, progress)?;
    let l = refs.range()?;
    let library = scrub.library();
    with_rewrites(graph, base, &file.rewrites, &library, &mut |g| {
        let file_tree = scrub.build_tree(g, base, file)?;
        let mut tree = file_tree.clone();
        for mv in &settings.given {
            tree = mv
                .apply(&tree)
                .map_err(|e| ScenarioError::Scrub(format!("{name}: given {e}")))?;
        }
        let config = SearchConfig {
            library: settings.library.clone(),
            budget: settings.budget,
            samples: settings.samples,
            baselines: l,
            tolerance: settings.tolerance,
            prune: settings.prune,
        };
        let quiet = Progress::hidden();
        // Moves change a few datum rules; paired sampling keeps every other node's data, so
        // their plain values are computed once for the whole attack.
        let cache = PlainCache::default();
        let mut score =
            |t: &Tree, n: usize| scrub.scrub(g, t, n, settings.seed, Some(&cache), &quiet, name);
        let mut bar = progress.bar(0, "trees scored");
        let mut on_event = |e: SearchEvent| match e {
            SearchEvent::RoundStarted { round, moves } => {
                bar.finish_and_clear();
                bar = progress.bar(moves as u64, &format!("trees scored (round {round})"));
            }
            SearchEvent::Scored { done, total, .. } => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        };
        // The file's own score, on the same samples, so the report can set the given
        // moves' effect beside it.
        let file_score = match settings.given.is_empty() {
            true => None,
            false => Some(Score::of(&score(&file_tree, settings.samples)?, l)?),
        };
        let a = attack(&tree, &config, &mut score, &mut on_event)
            .map_err(|e| ScenarioError::Scrub(format!("attack on {name}: {e}")))?;
        bar.finish_and_clear();
        let mut report = AttackReport::new(
            name,
            settings.samples,
            settings.seed,
            l,
            settings.tolerance,
            &a,
        );
        if let Some(f) = file_score {
            report = report.with_given_moves(settings.given.clone(), f);
        }
        Ok((report, refs))
    })
}
