//! Causal scrubbing on the paren balancer: the padded dataset as a scrubbing graph, the
//! features and predictors hypotheses may name, the reference targets, and the trivial
//! hypotheses 0a and 0b that % loss recovered is measured between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scrub_core::feature::JOIN_SEPARATOR;
use scrub_core::scrub::evaluate::SAMPLE_BATCH;
use scrub_core::scrub::rewrite::RewriteLibrary;
use scrub_core::scrub::run::{log_loss, RunSpec, SampleOutcome, Score};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::{DatumRule, Tree, TreeBody};
use scrub_core::scrub::ScrubGraph;
use scrub_core::stats::{Baselines, Estimate, StatsError};
use scrub_core::{DatumId, FeatureColumn, Model, TokenId};

use super::{balanced_subsample, token, ParenDataset, ParenFeatures, Phi};
use crate::data_dir::DataDir;
use crate::error::ScenarioError;

/// Everything scrubbing the paren model needs, loaded once.
pub struct ParenScrub {
    pub model: Model,
    pub dataset: ParenDataset,
    pub features: ParenFeatures,
    /// The data scrubbing draws from: all sequences, or the write-up-like subsample.
    pub pool: Vec<DatumId>,
    tokens: Vec<Vec<TokenId>>,
    phi: Arc<Phi>,
    columns: Mutex<HashMap<String, FeatureColumn>>,
}

impl ParenScrub {
    /// Loads model and data from `dir`; with `balanced_fraction`, the pool keeps every
    /// unbalanced sequence and a subset (seeded by `subsample_seed`) of the balanced ones.
    pub fn load(
        dir: &DataDir,
        balanced_fraction: Option<f64>,
        subsample_seed: u64,
    ) -> Result<Self, ScenarioError> {
        let model = super::load_model(dir)?;
        let dataset = super::load_dataset(dir)?;
        let features = ParenFeatures::new(&dataset, &model)?;
        let pool = match balanced_fraction {
            Some(f) => balanced_subsample(&dataset, f, subsample_seed)?,
            None => (0..dataset.len() as u32).map(DatumId).collect(),
        };
        let n_ctx = model.config.n_ctx;
        let tokens = dataset
            .examples
            .iter()
            .map(|e| {
                let mut t = e.tokens();
                t.resize(n_ctx, token::PAD);
                t
            })
            .collect();
        let phi = Arc::new(Phi::from_model(&model)?);
        Ok(ParenScrub {
            model,
            dataset,
            features,
            pool,
            tokens,
            phi,
            columns: Mutex::new(HashMap::new()),
        })
    }

    /// The model over the padded dataset, evaluated on the CPU.
    pub fn graph(&self) -> Result<TransformerGraph<'_>, ScenarioError> {
        Ok(TransformerGraph::new(&self.model, self.tokens.clone())?)
    }

    /// Predictors for rewrites: `phi` is phi(p_1) at position 1 (zero elsewhere), the
    /// write-up's estimate of head 0.0's output there (experiment 2b).
    pub fn library(&self) -> RewriteLibrary {
        let phi = Arc::clone(&self.phi);
        let texts: Arc<Vec<String>> = Arc::new(
            self.dataset
                .examples
                .iter()
                .map(|e| e.text.clone())
                .collect(),
        );
        let (rows, d) = (self.model.config.n_ctx, self.model.config.d_model);
        RewriteLibrary::default().predictor("phi", move |datum: DatumId| {
            let text = &texts[datum.index()];
            let opens = text.bytes().filter(|&b| b == b'(').count();
            let p1 = opens as f64 / text.len().max(1) as f64;
            let mut v = vec![0.0f32; rows * d];
            v[d..2 * d].copy_from_slice(&phi.at(p1));
            v
        })
    }

    /// Feature columns for `names`, with clear errors for unknown ones; a joined name
    /// (`a & b`) contributes its parts, which the run joins.
    pub fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ScenarioError> {
        let mut parts: Vec<&str> = Vec::new();
        for p in names.iter().flat_map(|n| n.split(JOIN_SEPARATOR)) {
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
        // Columns are recomputed from every sequence, so an attack's hundreds of runs ask
        // for them once each.
        let mut memo = self.columns.lock().unwrap_or_else(|e| e.into_inner());
        parts
            .iter()
            .map(|n| match memo.get(*n) {
                Some(c) => Ok(c.clone()),
                None => {
                    let c = self.features.column(n)?;
                    memo.insert(n.to_string(), c.clone());
                    Ok(c)
                }
            })
            .collect()
    }

    /// The features the adversary may join in: every plain feature and every per-position
    /// one as a template (`horizon_at({i})`).
    pub fn feature_library(&self) -> Vec<String> {
        self.features.library()
    }

    /// The classification target of a reference: position 0, its label.
    pub fn targets(&self) -> impl Fn(DatumId) -> Vec<(usize, u32)> + Sync + '_ {
        move |d: DatumId| vec![(0, self.dataset.examples[d.index()].label())]
    }

    /// Log loss of the output at position 0 against the reference's label.
    pub fn score(&self) -> impl Fn(DatumId, &[f32]) -> (f64, bool) + Sync + '_ {
        log_loss(self.targets(), self.model.config.d_vocab_out)
    }

    /// A run specification over this scenario's pool.
    pub fn spec<'a>(
        &'a self,
        columns: &'a [FeatureColumn],
        score: &'a Score<'a>,
        samples: usize,
        seed: u64,
    ) -> RunSpec<'a> {
        RunSpec {
            features: columns,
            pool: self.pool.clone(),
            samples,
            seed,
            sharing: None,
            score,
            cache: None,
            batch: SAMPLE_BATCH,
        }
    }

    /// Whether datum `d` is balanced.
    pub fn balanced(&self, d: DatumId) -> bool {
        self.dataset.examples[d.index()].balanced
    }
}

/// 0a: the whole model, on a datum that agrees with the reference on `is_balanced`.
pub fn hypothesis_0a(graph: &dyn ScrubGraph) -> Tree {
    Tree::new(
        "out",
        DatumRule::Agrees("is_balanced".into()),
        TreeBody::Plain {
            terms: vec![graph.output()],
        },
    )
}

/// 0b: the whole model on a random datum (equivalently, shuffled labels).
pub fn hypothesis_0b(graph: &dyn ScrubGraph) -> Tree {
    Tree::new(
        "out",
        DatumRule::Unimportant,
        TreeBody::Plain {
            terms: vec![graph.output()],
        },
    )
}

/// Loss statistics of one scrub, split by the reference's label.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ScrubStats {
    pub loss: f64,
    pub stderr: f64,
    pub accuracy: f64,
    /// Mean loss over balanced references; `None` when the samples hold none.
    pub loss_balanced: Option<f64>,
    /// Mean loss over unbalanced references; `None` when the samples hold none.
    pub loss_unbalanced: Option<f64>,
}

impl ScrubStats {
    /// Statistics of `outcomes`; `balanced(d)` says whether reference `d` is balanced.
    pub fn of(
        outcomes: &[SampleOutcome],
        balanced: impl Fn(DatumId) -> bool,
    ) -> Result<Self, StatsError> {
        let mean = |xs: &[&SampleOutcome]| {
            (!xs.is_empty()).then(|| xs.iter().map(|o| o.loss).sum::<f64>() / xs.len() as f64)
        };
        let losses: Vec<f64> = outcomes.iter().map(|o| o.loss).collect();
        let loss = Estimate::of(&losses, "scrubbed loss")?;
        let (b, u): (Vec<&SampleOutcome>, Vec<&SampleOutcome>) =
            outcomes.iter().partition(|o| balanced(o.reference));
        Ok(ScrubStats {
            loss: loss.mean,
            stderr: loss.stderr,
            accuracy: outcomes.iter().filter(|o| o.correct).count() as f64 / loss.n as f64,
            loss_balanced: mean(&b),
            loss_unbalanced: mean(&u),
        })
    }
}

impl crate::scrub_scenario::ScrubScenario for ParenScrub {
    fn library(&self) -> RewriteLibrary {
        ParenScrub::library(self)
    }

    fn build_tree(
        &self,
        graph: &dyn ScrubGraph,
        base: &TransformerGraph,
        file: &scrub_core::scrub::hypothesis::HypothesisFile,
    ) -> Result<Tree, ScenarioError> {
        super::experiment::build_tree(self, graph, base, file)
    }

    fn scrub(
        &self,
        graph: &dyn ScrubGraph,
        tree: &Tree,
        samples: usize,
        seed: u64,
        cache: Option<&scrub_core::scrub::plain_cache::PlainCache>,
        progress: &crate::progress::Progress,
        label: &str,
    ) -> Result<Vec<SampleOutcome>, ScenarioError> {
        super::experiment::scrub_tree_cached(
            self, graph, tree, samples, seed, cache, progress, label,
        )
    }

    /// 0a and 0b.
    fn reference_baselines(
        &self,
        graph: &dyn ScrubGraph,
        _base: &TransformerGraph,
        samples: usize,
        seed: u64,
        progress: &crate::progress::Progress,
    ) -> Result<Baselines, ScenarioError> {
        super::experiment::baselines(self, graph, samples, seed, progress)
    }

    fn feature_library(&self) -> Vec<String> {
        ParenScrub::feature_library(self)
    }
}
