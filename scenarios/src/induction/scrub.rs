//! Causal scrubbing on the induction model: the validation sequences as a scrubbing graph
//! (attention patterns as nodes of their own), the features and predictors hypotheses may
//! name, and the loss.
//!
//! A datum is one validation sequence. A scrub sample's loss is the mean next-token log
//! loss over the sequence's "inductiony" positions (those whose token is in the subset),
//! as the original code averaged its masked loss; the pool is the sequences that have at
//! least one such position. The write-up's "emb2" is the one random datum that every
//! unimportant node of a sample shares (`sharing: Global`): the same stream for every
//! hypothesis, so each reference is paired with the same other sequence in every
//! experiment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use scrub_core::experiment::{Baseline, ExperimentError, Scenario};
use scrub_core::feature::JOIN_SEPARATOR;
use scrub_core::scrub::hypothesis::{FeatureNames, HypothesisFile};
use scrub_core::scrub::rewrite::RewriteLibrary;
use scrub_core::scrub::run::{log_loss, Differentiable, MetricKind, RunSpec, Score};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::{DatumId, FeatureColumn, Model, TokenId};

use super::error::InductionError;
use super::paths::{ModelDir, SUBSET};
use super::scenario::Induction;
use super::subset_file::SubsetFile;
use super::typicality::Typicality;

/// The scenario name hypothesis files give.
pub const NAME: &str = "induction";

/// Samples evaluated together: a recomputed node holds `[batch, 256, 256]` floats.
pub const BATCH: usize = 64;

/// Everything scrubbing the induction model needs, loaded once.
pub struct InductionScrub {
    pub induction: Induction,
    pub subset: SubsetFile,
    /// Validation sequences by datum.
    pub seqs: Vec<Vec<u32>>,
    /// Inductiony positions of each sequence (the rows the loss reads).
    pub positions: Vec<Vec<usize>>,
    /// Sequences with at least one inductiony position.
    pub pool: Vec<DatumId>,
    /// Where the baseline that `scrub run` and `scrub attack` measure against is read.
    pub hypotheses_dir: PathBuf,
    typicality: Typicality,
    columns: Mutex<HashMap<String, FeatureColumn>>,
}

/// Where the committed hypothesis files are.
pub fn hypotheses_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("induction/hypotheses")
}

impl InductionScrub {
    /// Loads the model, tokenizer, validation data and subset from `dir`.
    pub fn load(dir: &ModelDir) -> Result<Self, InductionError> {
        let induction = Induction::load(dir)?;
        let subset = SubsetFile::load(&dir.file(SUBSET), induction.model.config.d_vocab)?;
        let n_ctx = induction.model.config.n_ctx;
        let seqs: Vec<Vec<u32>> = induction
            .validation
            .sequences()
            .expect("checked on load")
            .map(|s| s.iter().map(|&t| t as u32).collect())
            .collect();
        if let Some((i, s)) = seqs.iter().enumerate().find(|(_, s)| s.len() != n_ctx) {
            return Err(InductionError::Invalid(format!(
                "validation sequence {i} has {} tokens; scrubbing needs exactly n_ctx = {n_ctx}",
                s.len()
            )));
        }
        let ids: std::collections::HashSet<u32> = subset.ids().into_iter().collect();
        let positions: Vec<Vec<usize>> = seqs
            .iter()
            .map(|s| (0..s.len() - 1).filter(|&p| ids.contains(&s[p])).collect())
            .collect();
        let pool: Vec<DatumId> = positions
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(i, _)| DatumId(i as u32))
            .collect();
        if pool.is_empty() {
            return Err(InductionError::Invalid(
                "no validation sequence contains a token of the inductiony subset".into(),
            ));
        }
        let typicality = Typicality::new(&induction.vocab);
        Ok(InductionScrub {
            induction,
            subset,
            seqs,
            positions,
            pool,
            hypotheses_dir: hypotheses_dir(),
            typicality,
            columns: Mutex::new(HashMap::new()),
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.induction.model
    }

    /// Feature columns for `names` (`typical_at(i)`, and joins `a & b` of them).
    pub fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ExperimentError> {
        let mut memo = self.columns.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for part in names.iter().flat_map(|n| n.split(JOIN_SEPARATOR)) {
            if out.iter().any(|c: &FeatureColumn| c.name == part) {
                continue;
            }
            let c = match memo.get(part) {
                Some(c) => c.clone(),
                None => {
                    let i =
                        self.position_of(part)
                            .ok_or_else(|| ExperimentError::UnknownFeature {
                                scenario: NAME.into(),
                                name: part.into(),
                                known: self.feature_library().join(", "),
                            })?;
                    let c = self.typicality.column(&self.seqs, i);
                    memo.insert(part.to_string(), c.clone());
                    c
                }
            };
            out.push(c);
        }
        Ok(out)
    }

    /// `i` of `typical_at(i)`, when `i` is a position.
    fn position_of(&self, name: &str) -> Option<usize> {
        let i: usize = name
            .strip_prefix("typical_at(")?
            .strip_suffix(')')?
            .trim()
            .parse()
            .ok()?;
        (i < self.model().config.n_ctx).then_some(i)
    }

    /// Feature names as hypothesis files and the adversary see them.
    pub fn feature_names(&self) -> FeatureNames<'_> {
        FeatureNames::new(self.feature_library(), |n| {
            self.position_of(n).map(|i| format!("typical_at({i})"))
        })
    }

    /// The features the adversary may join in, as templates.
    pub fn feature_library(&self) -> Vec<String> {
        vec!["typical_at({i})".into()]
    }

    /// Whether position `i` of datum `d` is typical for the previous-token head.
    pub fn typical(&self, d: DatumId, i: usize) -> bool {
        self.typicality.typical(&self.seqs[d.index()], i)
    }

    /// Next-token targets of a reference: each inductiony position and the token after it.
    pub fn targets(&self) -> impl Fn(DatumId) -> Vec<(usize, u32)> + Sync + Clone + '_ {
        move |d: DatumId| {
            let s = &self.seqs[d.index()];
            self.positions[d.index()]
                .iter()
                .map(|&p| (p, s[p + 1]))
                .collect()
        }
    }

    /// Mean log loss over the reference's inductiony positions.
    pub fn score(&self) -> impl Fn(DatumId, &[f32]) -> (f64, bool) + Sync + '_ {
        log_loss(self.targets(), self.model().config.d_vocab_out)
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
            batch: BATCH,
        }
    }

    /// Number of (sequence, position) examples in the pool.
    pub fn n_examples(&self) -> usize {
        self.positions.iter().map(Vec::len).sum()
    }
}

/// The unscrubbed model on the references: the baseline counted as 100% recovered.
pub const MODEL_TREE: &str = r#"Hypothesis(scenario: "induction", root: Node(name: "out", reference: true, reads: ["out"]))"#;

impl Scenario for InductionScrub {
    fn name(&self) -> &str {
        NAME
    }

    /// The model over the validation sequences, patterns as nodes, logits computed only
    /// at the scored positions.
    fn graph(&self) -> Result<TransformerGraph<'_>, ExperimentError> {
        let tokens: Vec<Vec<TokenId>> = self
            .seqs
            .iter()
            .map(|s| s.iter().map(|&t| TokenId(t)).collect())
            .collect();
        Ok(TransformerGraph::with_patterns(self.model(), tokens)?
            .with_output_rows(self.positions.clone())?)
    }

    fn pool(&self) -> &[DatumId] {
        &self.pool
    }

    fn columns(&self, names: &[String]) -> Result<Vec<FeatureColumn>, ExperimentError> {
        InductionScrub::columns(self, names)
    }

    fn feature_names(&self) -> FeatureNames<'_> {
        InductionScrub::feature_names(self)
    }

    fn feature_library(&self) -> Vec<String> {
        InductionScrub::feature_library(self)
    }

    /// No predictors: the identity-attention rewrite is the `eye` mask, computed from the
    /// head's own ports.
    fn rewrite_library(&self) -> RewriteLibrary {
        RewriteLibrary::default()
    }

    fn score(&self) -> Box<Score<'_>> {
        Box::new(InductionScrub::score(self))
    }

    fn differentiable(&self, kind: MetricKind) -> Option<Differentiable<'_>> {
        Some(Differentiable::of_targets(
            kind,
            self.targets(),
            self.model().config.d_vocab_out,
            self.loss_definition(),
        ))
    }

    /// The unscrubbed model, and `baseline.ron` of the hypotheses folder (induction heads
    /// on emb2).
    fn baselines(&self) -> Result<[Baseline; 2], ExperimentError> {
        let path = self.hypotheses_dir.join("baseline.ron");
        let model = HypothesisFile::parse(MODEL_TREE, &self.hypotheses_dir.join("model"))?;
        let baseline = HypothesisFile::load(&path)?;
        if baseline.scenario != NAME {
            return Err(ExperimentError::scenario(InductionError::Invalid(format!(
                "{}: scenario `{}`, expected `{NAME}`",
                path.display(),
                baseline.scenario
            ))));
        }
        Ok([
            Baseline {
                name: "model".into(),
                file: model,
            },
            Baseline {
                name: "baseline".into(),
                file: baseline,
            },
        ])
    }

    fn loss_definition(&self) -> String {
        "per sample: the mean next-token log loss (nats) over the reference sequence's inductiony positions; reported: the mean over samples".into()
    }

    fn batch(&self) -> usize {
        BATCH
    }

    /// The graph computes logits only at each sequence's own inductiony positions, and a
    /// sample is scored at its reference's: the output must be computed on the reference.
    fn check_tree(&self, tree: &scrub_core::scrub::tree::Tree) -> Result<(), ExperimentError> {
        match tree.nodes.first().map(|n| &n.datum) {
            Some(scrub_core::scrub::tree::DatumRule::Reference) => Ok(()),
            _ => Err(ExperimentError::scenario(InductionError::Invalid(
                "the root of an induction hypothesis must run on the reference (`reference: true`): logits are computed only at each sequence's own inductiony positions, and the loss reads the reference's".into(),
            ))),
        }
    }
}
