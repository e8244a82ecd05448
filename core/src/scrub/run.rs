//! One causal scrubbing run: sample data for every slot of a tree, evaluate it, and score
//! each sample's output against its reference datum (log loss for a classifier or language
//! model, squared error or negative reward for the scalar counterexamples).

use crate::error::{ModelError, Result};
use crate::feature::{resolve, DatumId, FeatureColumn};
use crate::metrics::target_outcome;
use crate::sampler::{Assignment, Sampler, Sharing};
use crate::scrub::evaluate::evaluate_into;
use crate::scrub::graph::ScrubGraph;
use crate::scrub::plain_cache::PlainCache;
use crate::scrub::tree::Tree;

/// The loss of one scrub sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleOutcome {
    /// The reference datum the output is scored against.
    pub reference: DatumId,
    /// The sample's loss (lower is better).
    pub loss: f64,
    /// Whether the output counts as correct.
    pub correct: bool,
}

/// Everything a run needs besides the graph and the tree.
pub struct RunSpec<'a> {
    /// Feature columns, by name; must include every feature the tree names.
    pub features: &'a [FeatureColumn],
    /// The data references and agreeing draws come from.
    pub pool: Vec<DatumId>,
    pub samples: usize,
    /// The index of the run's first sample: a run of samples `first_sample..first_sample +
    /// samples` draws exactly what those samples draw in a run from 0 (a shard).
    pub first_sample: usize,
    pub seed: u64,
    /// Overrides the tree's sharing policy when set.
    pub sharing: Option<Sharing>,
    /// Loss and correctness of an output `[rows, width]` for a reference datum.
    pub score: &'a Score<'a>,
    /// Plain values remembered across runs over the same graph (the adversary's many
    /// near-identical trees); `None` computes everything.
    pub cache: Option<&'a PlainCache>,
    /// Samples evaluated together ([`crate::scrub::evaluate::SAMPLE_BATCH`] unless values are large: a batch holds
    /// `[batch, n_ctx, width]` per live tree node).
    pub batch: usize,
}

/// How a sample's output is scored against its reference: `(loss, correct)`.
pub type Score<'s> = dyn Fn(DatumId, &[f32]) -> (f64, bool) + Sync + 's;

/// Mean log loss over `(row, label)` targets of the reference, for outputs of `width` logits
/// per row; correct when every target's label is the arg-max.
pub fn log_loss(
    targets: impl Fn(DatumId) -> Vec<(usize, u32)> + Sync,
    width: usize,
) -> impl Fn(DatumId, &[f32]) -> (f64, bool) + Sync {
    move |reference, out| {
        let targets = targets(reference);
        let mut loss = 0.0;
        let mut correct = true;
        for &(row, label) in &targets {
            let o = target_outcome(&out[row * width..(row + 1) * width], label as usize);
            loss += o.loss as f64;
            correct &= o.correct;
        }
        (loss / targets.len().max(1) as f64, correct)
    }
}

/// The gradient of a [`Score`]'s loss with respect to the output `[rows, width]` it reads,
/// for a reference datum: what attribution patching multiplies activation changes with.
pub type ScoreGradient<'s> = dyn Fn(DatumId, &[f32]) -> Vec<f32> + Sync + 's;

/// Which metric attribution differentiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricKind {
    /// The scenario's own loss.
    Loss,
    /// The negative log-odds of the label ([`log_odds`]), for classifiers and language
    /// models.
    #[default]
    LogOdds,
}

/// A metric with its gradient and its definition in words.
pub struct Differentiable<'s> {
    pub score: Box<Score<'s>>,
    pub gradient: Box<ScoreGradient<'s>>,
    pub definition: String,
}

impl<'s> Differentiable<'s> {
    /// [`log_loss`] or [`log_odds`] over `targets`, with their gradients.
    pub fn of_targets<T>(
        kind: MetricKind,
        targets: T,
        width: usize,
        loss_definition: String,
    ) -> Self
    where
        T: Fn(DatumId) -> Vec<(usize, u32)> + Sync + Clone + 's,
    {
        match kind {
            MetricKind::Loss => Differentiable {
                score: Box::new(log_loss(targets.clone(), width)),
                gradient: Box::new(log_loss_gradient(targets, width)),
                definition: loss_definition,
            },
            MetricKind::LogOdds => Differentiable {
                score: Box::new(log_odds(targets.clone(), width)),
                gradient: Box::new(log_odds_gradient(targets, width)),
                definition: "per sample: −(logit of the label − log Σ exp(other logits)), the \
                             negative log-odds of the label, at the loss's positions (lower is better)"
                    .into(),
            },
        }
    }
}

/// The gradient of [`log_loss`] with respect to the logits: at each target row,
/// (softmax − one-hot(label)) / (number of targets); zero elsewhere.
pub fn log_loss_gradient(
    targets: impl Fn(DatumId) -> Vec<(usize, u32)> + Sync,
    width: usize,
) -> impl Fn(DatumId, &[f32]) -> Vec<f32> + Sync {
    per_target_gradient(targets, width, |logits, label| {
        let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let z: f64 = logits.iter().map(|&l| (l as f64 - m).exp()).sum();
        logits
            .iter()
            .enumerate()
            .map(|(j, &l)| (l as f64 - m).exp() / z - (j == label) as u8 as f64)
            .collect()
    })
}

/// The gradient of a metric averaged over `(row, label)` targets, from the gradient
/// `of_target(logits, label)` of one target's term with respect to its row's logits.
fn per_target_gradient(
    targets: impl Fn(DatumId) -> Vec<(usize, u32)> + Sync,
    width: usize,
    of_target: impl Fn(&[f32], usize) -> Vec<f64> + Sync,
) -> impl Fn(DatumId, &[f32]) -> Vec<f32> + Sync {
    move |reference, out| {
        let targets = targets(reference);
        let mut grad = vec![0.0f32; out.len()];
        let share = 1.0 / targets.len().max(1) as f64;
        for &(row, label) in &targets {
            let g = of_target(&out[row * width..(row + 1) * width], label as usize);
            for (acc, x) in grad[row * width..(row + 1) * width].iter_mut().zip(g) {
                *acc += (x * share) as f32;
            }
        }
        grad
    }
}

/// The negative log-odds of each target's label, −(l_y − log Σ_{j≠y} exp l_j), averaged over
/// `(row, label)` targets (the logit difference, for two classes): a classifier's metric
/// whose gradient does not vanish where the log loss is near 0. Correct as [`log_loss`].
pub fn log_odds(
    targets: impl Fn(DatumId) -> Vec<(usize, u32)> + Sync,
    width: usize,
) -> impl Fn(DatumId, &[f32]) -> (f64, bool) + Sync {
    move |reference, out| {
        let targets = targets(reference);
        let mut sum = 0.0;
        let mut correct = true;
        for &(row, label) in &targets {
            let logits = &out[row * width..(row + 1) * width];
            let (others, _) = rest_softmax(logits, label as usize);
            sum += others - logits[label as usize] as f64;
            correct &= target_outcome(logits, label as usize).correct;
        }
        (sum / targets.len().max(1) as f64, correct)
    }
}

/// The gradient of [`log_odds`] with respect to the logits: −1 at the label, the softmax of
/// the other logits elsewhere (each target's share).
pub fn log_odds_gradient(
    targets: impl Fn(DatumId) -> Vec<(usize, u32)> + Sync,
    width: usize,
) -> impl Fn(DatumId, &[f32]) -> Vec<f32> + Sync {
    per_target_gradient(targets, width, |logits, label| {
        let (_, mut p) = rest_softmax(logits, label);
        p[label] = -1.0;
        p
    })
}

/// `(log Σ_{j≠y} exp l_j, softmax over j≠y)` in f64 (0 at y).
fn rest_softmax(logits: &[f32], y: usize) -> (f64, Vec<f64>) {
    let m = logits
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != y)
        .map(|(_, &l)| l as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits
        .iter()
        .enumerate()
        .map(|(j, &l)| if j == y { 0.0 } else { (l as f64 - m).exp() })
        .collect();
    let z: f64 = e.iter().sum();
    (m + z.ln(), e.iter().map(|x| x / z).collect())
}

/// Samples data for `tree` and returns the assignment (slot 0 holds each sample's reference).
pub fn sample(tree: &Tree, spec: &RunSpec) -> Result<Assignment> {
    let names = tree.features();
    let mut cols = Vec::with_capacity(names.len());
    for n in &names {
        let c = resolve(n, spec.features).map_err(|missing| {
            ModelError::Executor(format!(
                "feature `{missing}` (in `{n}`) was not provided to the run"
            ))
        })?;
        cols.push(c);
    }
    let cols: Vec<&FeatureColumn> = cols.iter().map(|c| c.as_ref()).collect();
    let sampler =
        Sampler::new(spec.pool.clone(), cols).map_err(|e| ModelError::Executor(e.to_string()))?;
    let slots = tree.slots(|f| {
        names
            .iter()
            .position(|n| n == f)
            .expect("collected from the tree")
    });
    sampler
        .sample(
            &slots,
            spec.sharing.unwrap_or(tree.sharing),
            spec.first_sample..spec.first_sample + spec.samples,
            spec.seed,
        )
        .map_err(|e| ModelError::Executor(e.to_string()))
}

/// Samples, evaluates and scores `tree`; `progress(done)` is called as batches finish.
pub fn run(
    graph: &dyn ScrubGraph,
    tree: &Tree,
    spec: &RunSpec,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<SampleOutcome>> {
    // Every figure a run feeds carries a standard error, which one sample cannot give.
    if spec.samples < crate::stats::MIN_SAMPLES {
        return Err(crate::stats::StatsError::TooFewSamples {
            what: "scrub samples".into(),
            got: spec.samples,
        }
        .into());
    }
    let assignment = sample(tree, spec)?;
    let mut outcomes = Vec::with_capacity(spec.samples);
    evaluate_into(
        graph,
        tree,
        &assignment,
        spec.batch,
        spec.cache,
        progress,
        &mut |s, out| {
            let reference = assignment.get(s, Tree::reference_slot());
            let (loss, correct) = (spec.score)(reference, out);
            outcomes.push(SampleOutcome {
                reference,
                loss,
                correct,
            });
        },
    )?;
    Ok(outcomes)
}
