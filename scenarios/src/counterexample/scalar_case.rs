//! A counterexample on a small scalar graph: its data, features, the model's and the fully
//! scrubbed losses, the flawed hypothesis, and (where known) the true one; and playing the
//! adversary against the flawed hypothesis on that graph.

use scrub_adversary::search::{attack, SearchConfig, SearchEvent};
use scrub_adversary::AttackReport;
use scrub_core::scrub::evaluate::SAMPLE_BATCH;
use scrub_core::scrub::plain_cache::PlainCache;
use scrub_core::scrub::run::{run, RunSpec, SampleOutcome};
use scrub_core::scrub::scalar::ScalarGraph;
use scrub_core::scrub::tree::{DatumRule, Tree, TreeBody};
use scrub_core::scrub::validate::validate;
use scrub_core::scrub::ScrubGraph;
use scrub_core::stats::{pct_recovered, Baselines, Estimate};
use scrub_core::{DatumId, FeatureColumn};

use super::{CounterexampleOutcome, PlaySettings};
use crate::error::ScenarioError;
use crate::progress::Progress;

/// Scores one output against its reference: `(loss, correct)`.
pub type ScalarScore = Box<dyn Fn(DatumId, &[f32]) -> (f64, bool) + Sync>;

/// Everything one scalar counterexample needs.
pub struct ScalarCase {
    pub name: &'static str,
    /// What the flawed hypothesis claims, in words.
    pub claim: String,
    /// The graph the flawed hypothesis is stated on (a rewrite of the model).
    pub graph: ScalarGraph,
    /// The graph the true hypothesis is stated on, when it needs a different rewrite.
    pub truth_graph: Option<ScalarGraph>,
    pub columns: Vec<FeatureColumn>,
    /// Features the adversary may join in.
    pub library: Vec<String>,
    pub n_data: usize,
    pub score: ScalarScore,
    pub flawed: Tree,
    pub truth: Option<Tree>,
    /// Fewest samples that tell the model from the fully scrubbed tree (found by running
    /// seeds); fewer are refused up front, naming this number.
    pub min_samples: usize,
    /// Why `min_samples` is what it is, for the message.
    pub min_samples_reason: &'static str,
}

/// The model itself: the output read plainly on the reference.
pub fn model_tree(graph: &dyn ScrubGraph) -> Tree {
    output_on(graph, DatumRule::Reference)
}

/// Everything scrubbed: the output read plainly on a random datum.
pub fn scrubbed_tree(graph: &dyn ScrubGraph) -> Tree {
    output_on(graph, DatumRule::Unimportant)
}

/// The output read plainly on a datum drawn by `rule`.
pub fn output_on(graph: &dyn ScrubGraph, rule: DatumRule) -> Tree {
    let out = graph.output();
    Tree::new(
        graph.node(out).name.clone(),
        rule,
        TreeBody::Plain { terms: vec![out] },
    )
}

/// Mean of `outcomes`' losses.
fn mean_loss(outcomes: &[SampleOutcome]) -> Result<f64, ScenarioError> {
    let xs: Vec<f64> = outcomes.iter().map(|o| o.loss).collect();
    Ok(Estimate::of(&xs, "loss")?.mean)
}

impl ScalarCase {
    fn scrub(
        &self,
        graph: &dyn ScrubGraph,
        tree: &Tree,
        samples: usize,
        seed: u64,
        cache: Option<&PlainCache>,
    ) -> Result<Vec<SampleOutcome>, ScenarioError> {
        validate(tree, graph).map_err(|e| self.failed(self.name.to_string(), e))?;
        let spec = RunSpec {
            features: &self.columns,
            pool: (0..self.n_data as u32).map(DatumId).collect(),
            samples,
            first_sample: 0,
            seed,
            sharing: None,
            score: &self.score,
            cache,
            batch: SAMPLE_BATCH,
        };
        Ok(run(graph, tree, &spec, &mut |_| {})?)
    }

    /// `e`, a typed error of this case, kept as the source of the error saying where.
    fn failed(
        &self,
        case: String,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> ScenarioError {
        ScenarioError::Counterexample {
            case,
            source: Box::new(e),
        }
    }

    /// Scores the flawed hypothesis, the truth, and plays the adversary.
    pub fn play(
        &self,
        settings: &PlaySettings,
        progress: &Progress,
    ) -> Result<CounterexampleOutcome, ScenarioError> {
        let (n, seed) = (settings.samples, settings.seed);
        if n < self.min_samples {
            return Err(ScenarioError::Scrub(format!(
                "{} needs at least {} samples ({}); got {n}: pass --samples {} or more",
                self.name, self.min_samples, self.min_samples_reason, self.min_samples
            )));
        }
        let g = &self.graph;
        let losses = |o: Vec<SampleOutcome>| o.iter().map(|o| o.loss).collect::<Vec<_>>();
        let l = Baselines::from_paired(
            &losses(self.scrub(g, &model_tree(g), n, seed, None)?),
            &losses(self.scrub(g, &scrubbed_tree(g), n, seed, None)?),
        )?;
        let (l0a, l0b) = l
            .range()
            .map_err(|e| self.failed(format!("{} with {n} samples", self.name), e))?;
        let pct = |l: f64| pct_recovered(l, l0a, l0b);
        let truth_pct = match &self.truth {
            Some(t) => {
                let tg = self.truth_graph.as_ref().unwrap_or(g);
                Some(pct(mean_loss(&self.scrub(tg, t, n, seed, None)?)?))
            }
            None => None,
        };
        let cache = PlainCache::default();
        let mut score = |t: &Tree, k: usize| self.scrub(g, t, k, seed, Some(&cache));
        let config = SearchConfig {
            library: self.library.clone(),
            budget: settings.budget,
            samples: n,
            baselines: (l0a, l0b),
            tolerance: settings.tolerance,
            prune: None,
        };
        let bar = progress.bar(0, &format!("moves scored ({})", self.name));
        let mut on_event = |e: SearchEvent| match e {
            SearchEvent::RoundStarted { moves, .. } => bar.set_length(moves as u64),
            SearchEvent::Scored { done, total, .. } => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        };
        let a = attack(&self.flawed, &config, &mut score, &mut on_event)
            .map_err(|e| self.failed(self.name.to_string(), e))?;
        bar.finish_and_clear();
        let report = AttackReport::new(
            self.name,
            n,
            seed,
            [("0a", l0a), ("0b", l0b)],
            settings.tolerance,
            &a,
        );
        Ok(CounterexampleOutcome::from_attack(
            self.name,
            &self.claim,
            truth_pct,
            report,
        ))
    }
}
