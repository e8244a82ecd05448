//! The adversary against a hypothesis file of any scenario: rewrites, tree and baselines as
//! the experiment pipeline has them, then the greedy search with a scorer that scrubs each
//! modified tree on the same seed and pool, so every move is scored on paired samples.

use scrub_core::experiment::{
    build_tree, reference_baselines, scrub_tree, with_rewrites, ExperimentError, Progress,
    RunSettings, Scenario, Silent,
};
use scrub_core::scrub::graph::ScrubGraph;
use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::Tree;
use scrub_core::stats::Baselines;

use crate::search::{attack, Prune, Score, SearchConfig, SearchError, SearchEvent, Tolerance};
use crate::{AttackReport, Move, MoveError};

/// Settings of one attack on a hypothesis.
#[derive(Debug, Clone)]
pub struct AttackSettings {
    /// Features the adversary may join in (see [`Scenario::feature_library`]); empty for
    /// sampling-together moves only.
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

/// Why an attack on a file could not be played.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("--budget must be at least 1 round")]
    ZeroBudget,
    #[error("--samples must be at least 2 (the paired standard errors need two)")]
    TooFewSamples,
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error("{hypothesis}: given {source}")]
    GivenMove {
        hypothesis: String,
        source: MoveError,
    },
    #[error("attack on {hypothesis}: {source}")]
    Search {
        hypothesis: String,
        source: Box<SearchError<ExperimentError>>,
    },
}

impl From<scrub_core::scrub::rewrite::RewriteError> for PlayError {
    fn from(e: scrub_core::scrub::rewrite::RewriteError) -> Self {
        PlayError::Experiment(e.into())
    }
}

/// Plays the adversary against `file` on `graph` (the un-rewritten model; `base` names its
/// nodes) and returns the report and the baselines it measured.
pub fn attack_file(
    scenario: &dyn Scenario,
    graph: &dyn ScrubGraph,
    base: &TransformerGraph,
    file: &HypothesisFile,
    name: &str,
    settings: &AttackSettings,
    progress: &dyn Progress,
) -> Result<(AttackReport, Baselines), PlayError> {
    if settings.budget == 0 {
        return Err(PlayError::ZeroBudget);
    }
    if settings.samples < scrub_core::stats::MIN_SAMPLES {
        return Err(PlayError::TooFewSamples);
    }
    // A rewrite naming a missing term is reported at its position before any scoring.
    file.check_rewrites(base, &NameResolver::transformer(base))
        .map_err(ExperimentError::from)?;
    let run = RunSettings {
        samples: settings.samples,
        first_sample: 0,
        seed: settings.seed,
        cache: None,
        progress,
    };
    let refs = reference_baselines(scenario, graph, base, &run)?;
    let l = refs.range().map_err(ExperimentError::from)?;
    let [low, high] = scenario.baselines()?;
    let library = scenario.rewrite_library();
    with_rewrites(graph, base, &file.rewrites, &library, &mut |g| {
        let file_tree = build_tree(scenario, g, base, file)?;
        let mut tree = file_tree.clone();
        for mv in &settings.given {
            tree = mv.apply(&tree).map_err(|source| PlayError::GivenMove {
                hypothesis: name.to_string(),
                source,
            })?;
        }
        let config = SearchConfig {
            library: settings.library.clone(),
            budget: settings.budget,
            samples: settings.samples,
            baselines: l,
            tolerance: settings.tolerance,
            prune: settings.prune,
        };
        // Moves change a few datum rules; paired sampling keeps every other node's data, so
        // their plain values are computed once for the whole attack.
        let cache = PlainCache::default();
        let mut score = |t: &Tree, n: usize| {
            let quiet = RunSettings {
                samples: n,
                first_sample: 0,
                seed: settings.seed,
                cache: Some(&cache),
                progress: &Silent,
            };
            scrub_tree(scenario, g, t, &quiet, name)
        };
        let mut bar = progress.start(0, "trees scored");
        let mut on_event = |e: SearchEvent| match e {
            SearchEvent::RoundStarted { round, moves } => {
                bar.finish();
                bar = progress.start(moves as u64, &format!("trees scored (round {round})"));
            }
            SearchEvent::Scored { done, total, .. } => bar.set(done as u64, total as u64),
        };
        // The file's own score, on the same samples, so the report can set the given
        // moves' effect beside it.
        let file_score = match settings.given.is_empty() {
            true => None,
            false => Some(
                Score::of(&score(&file_tree, settings.samples)?, l)
                    .map_err(ExperimentError::from)?,
            ),
        };
        let a = attack(&tree, &config, &mut score, &mut on_event).map_err(|source| {
            PlayError::Search {
                hypothesis: name.to_string(),
                source: Box::new(source),
            }
        })?;
        bar.finish();
        let mut report = AttackReport::new(
            name,
            settings.samples,
            settings.seed,
            [(&low.name, l.0), (&high.name, l.1)],
            settings.tolerance,
            &a,
        );
        if let Some(f) = file_score {
            report = report.with_given_moves(settings.given.clone(), f);
        }
        Ok((report, refs))
    })
}
