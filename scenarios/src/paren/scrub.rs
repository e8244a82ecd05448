//! Causal scrubbing on the paren balancer: the padded dataset as a scrubbing graph, the
//! features and predictors hypotheses may name, the reference targets, and the trivial
//! hypotheses 0a and 0b that % loss recovered is measured between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scrub_core::experiment::{Baseline, ExperimentError, Scenario};
use scrub_core::feature::JOIN_SEPARATOR;
use scrub_core::scrub::evaluate::SAMPLE_BATCH;
use scrub_core::scrub::hypothesis::{FeatureNames, HypothesisFile};
use scrub_core::scrub::rewrite::RewriteLibrary;
use scrub_core::scrub::run::{log_loss, Differentiable, MetricKind, RunSpec, Score};
use scrub_core::scrub::transformer::TransformerGraph;
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
            let mut v = vec![0.0f32; rows * d];
            v[d..2 * d].copy_from_slice(&phi_of(&phi, &texts[datum.index()]));
            v
        })
    }

    /// phi(p_1) of datum `d`: the `phi` predictor's value at position 1.
    pub fn phi_at_1(&self, d: DatumId) -> Vec<f32> {
        phi_of(&self.phi, &self.dataset.examples[d.index()].text)
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

    /// The classification target of a reference: position 0, its label.
    pub fn targets(&self) -> impl Fn(DatumId) -> Vec<(usize, u32)> + Sync + Clone + '_ {
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
            first_sample: 0,
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

/// phi(p_1) for the sequence `text`, p_1 being its fraction of "(".
fn phi_of(phi: &Phi, text: &str) -> Vec<f32> {
    let opens = text.bytes().filter(|&b| b == b'(').count();
    phi.at(opens as f64 / text.len().max(1) as f64)
}

/// The baselines 0a and 0b, as the committed files say them.
const BASELINE_0A: &str = include_str!("../../paren/hypotheses/0a.ron");
const BASELINE_0B: &str = include_str!("../../paren/hypotheses/0b.ron");

impl Scenario for ParenScrub {
    fn name(&self) -> &str {
        super::NAME
    }

    fn graph(&self) -> Result<TransformerGraph<'_>, ExperimentError> {
        Ok(TransformerGraph::new(&self.model, self.tokens.clone())?)
    }

    fn pool(&self) -> &[DatumId] {
        &self.pool
    }

    fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ExperimentError> {
        ParenScrub::columns(self, names).map_err(ExperimentError::scenario)
    }

    fn feature_names(&self) -> FeatureNames<'_> {
        FeatureNames::new(self.features.names(), |n| self.features.canonical_name(n))
    }

    fn feature_library(&self) -> Vec<String> {
        self.features.library()
    }

    fn rewrite_library(&self) -> RewriteLibrary {
        self.library()
    }

    fn score(&self) -> Box<Score<'_>> {
        Box::new(ParenScrub::score(self))
    }

    fn differentiable(&self, kind: MetricKind) -> Option<Differentiable<'_>> {
        Some(Differentiable::of_targets(
            kind,
            self.targets(),
            self.model.config.d_vocab_out,
            self.loss_definition(),
        ))
    }

    fn baselines(&self) -> Result<[Baseline; 2], ExperimentError> {
        let parse = |name: &str, text: &str| -> Result<Baseline, ExperimentError> {
            let path = super::table::hypotheses_dir().join(format!("{name}.ron"));
            Ok(Baseline {
                name: name.to_string(),
                file: HypothesisFile::parse(text, &path)?,
            })
        };
        Ok([parse("0a", BASELINE_0A)?, parse("0b", BASELINE_0B)?])
    }

    fn loss_definition(&self) -> String {
        "per sample: the log loss (nats) of the classifier's output at position 0 against the reference's label".into()
    }

    fn groups(&self) -> Result<Vec<FeatureColumn>, ExperimentError> {
        <Self as Scenario>::columns(self, &["is_balanced".to_string()])
    }
}
