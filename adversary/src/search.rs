//! The adversary's greedy search: score the hypothesis, score every permitted move on the
//! same seed and samples (paired: the sampler gives every slot a move does not touch the same
//! draws), apply the move that lowers % loss recovered the most, and repeat within a budget.
//! The search never runs a model: the caller scores trees.

use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::tree::Tree;
use scrub_core::stats::Estimate;

/// Loss and % loss recovered of one tree (the experiment pipeline's [`TreeScore`]).
pub use scrub_core::experiment::TreeScore as Score;
use serde::Serialize;

use crate::enumerate;
use crate::moves::{Move, MoveError};

/// Why an attack could not be played.
#[derive(Debug, thiserror::Error)]
pub enum SearchError<E: std::error::Error + 'static> {
    #[error("the budget must be at least 1 round")]
    ZeroBudget,
    #[error("the number of samples must be at least 2 (for a standard error)")]
    TooFewSamples,
    #[error("the baselines give no range to measure % loss recovered in: the model's loss {l0a} is not below the fully scrubbed loss {l0b}")]
    BadBaselines { l0a: f64, l0b: f64 },
    #[error("the tolerance must be finite and non-negative (got {points} points, {stderrs} standard errors)")]
    BadTolerance { points: f64, stderrs: f64 },
    #[error("scoring returned {got} samples where {expected} were asked for")]
    WrongCount { expected: usize, got: usize },
    #[error("sample {sample} has a different reference under the move than under the hypothesis, so the scores are not paired; the scorer must use the same seed and pool for every tree")]
    Unpaired { sample: usize },
    #[error(transparent)]
    Move(#[from] MoveError),
    #[error("scoring a tree failed: {0}")]
    Scorer(#[source] E),
    #[error(transparent)]
    Stats(#[from] scrub_core::stats::StatsError),
}

/// How far a move may move % loss recovered before the hypothesis fails: the larger of
/// `points` and `stderrs` paired standard errors of that move's difference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    pub points: f64,
    pub stderrs: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            points: 3.0,
            stderrs: 3.0,
        }
    }
}

impl Tolerance {
    /// The allowed change for a difference measured with standard error `se`.
    pub fn allowed(&self, se: f64) -> f64 {
        self.points.max(self.stderrs * se)
    }
}

/// Settings of an attack.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Features the adversary may join in (refinement moves); `{i}` marks per-position
    /// templates. Empty: sampling-together moves only.
    pub library: Vec<String>,
    /// Rounds: moves applied at most.
    pub budget: usize,
    /// Samples every full score uses.
    pub samples: usize,
    /// Losses of the trivial hypotheses 0a (perfect) and 0b (random) on the same samples.
    pub baselines: (f64, f64),
    pub tolerance: Tolerance,
    /// Cheap first pass: score every move on `samples / prune_divisor` samples (the first
    /// ones, since the sampler's streams are per sample index) and re-score on all samples
    /// the `prune_keep` most harmful and every move that [`could_break`] the tolerance, so
    /// the verdict does not depend on pruning. `None`: score every move on all samples.
    pub prune: Option<Prune>,
}

/// The cheap first pass of [`SearchConfig::prune`].
#[derive(Debug, Clone, Copy)]
pub struct Prune {
    pub divisor: usize,
    pub keep: usize,
}

impl Default for Prune {
    /// `scrub attack`'s: 1/8 of the samples first, the 3 most harmful re-scored.
    fn default() -> Self {
        Prune {
            divisor: 8,
            keep: 3,
        }
    }
}

/// What the search reports as it goes (for a progress bar).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchEvent {
    /// Round `round` (1-based) starts with `moves` candidate moves to score.
    RoundStarted { round: usize, moves: usize },
    /// One more tree has been scored in this round.
    Scored {
        round: usize,
        done: usize,
        total: usize,
    },
}

/// A move as scored against the tree of its round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluatedMove {
    #[serde(rename = "move")]
    pub mv: Move,
    /// Samples it was scored on (fewer than the attack's when pruned in the first pass).
    pub samples: usize,
    pub pct_recovered: f64,
    /// % loss recovered with the move minus without, on paired samples.
    pub delta: f64,
    /// Paired standard error of `delta`.
    pub delta_stderr: f64,
    /// Whether |delta| exceeds the tolerance for this move.
    pub significant: bool,
}

/// One applied move.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    #[serde(rename = "move")]
    pub mv: Move,
    /// % loss recovered after the move.
    pub pct_recovered: f64,
    pub delta: f64,
    pub delta_stderr: f64,
    pub loss: f64,
    pub stderr: f64,
    /// Every move scored this round, most harmful first.
    pub evaluated: Vec<EvaluatedMove>,
}

/// The outcome of an attack.
#[derive(Debug, Clone)]
pub struct Attack {
    /// Moves the hypothesis permits before any is applied.
    pub moves_available: usize,
    pub initial: Score,
    pub rounds: Vec<Round>,
    /// The scan that ended the search without applying a move (none when the budget ran out
    /// or no move was left); its moves were evaluated too.
    pub last_scan: Vec<EvaluatedMove>,
    pub final_score: Score,
    /// The tree after every applied move.
    pub final_tree: Tree,
    /// Whether no move scored on every sample changed % loss recovered by more than the
    /// tolerance (cheap-pass scores never decide).
    pub survives: bool,
    /// The move that decided the verdict: the first applied one (round 1's, which broke the
    /// tolerance), or, when no move lowering % recovered broke it, the fully scored move that
    /// raised % recovered the most beyond it; `None` when the hypothesis survives.
    pub deciding_move: Option<EvaluatedMove>,
    /// Why the search stopped.
    pub stopped: String,
}

/// Paired difference in % loss recovered of `moved` against `base` (same samples), with its
/// standard error: from the per-sample loss differences, scaled by 100 / (L_0b − L_0a).
pub fn paired_delta<E: std::error::Error>(
    base: &[SampleOutcome],
    moved: &[SampleOutcome],
    (l0a, l0b): (f64, f64),
) -> Result<(f64, f64), SearchError<E>> {
    if base.len() != moved.len() {
        return Err(SearchError::WrongCount {
            expected: base.len(),
            got: moved.len(),
        });
    }
    if let Some(sample) = (0..base.len()).find(|&i| base[i].reference != moved[i].reference) {
        return Err(SearchError::Unpaired { sample });
    }
    let loss = |o: &[SampleOutcome]| o.iter().map(|o| o.loss).collect::<Vec<_>>();
    let d = Estimate::paired(&loss(base), &loss(moved), "a move's loss difference")?;
    let scale = 100.0 / (l0b - l0a);
    // Higher loss means less recovered, hence the sign.
    Ok((-d.mean * scale, d.stderr * scale))
}

/// Scores a tree on its first `n` samples with the attack's fixed seed and pool.
pub type Scorer<'s, E> = dyn FnMut(&Tree, usize) -> Result<Vec<SampleOutcome>, E> + 's;

/// Whether `x` is a finite number at least 0 (false for NaN).
fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// Plays the adversary against `tree`. `score(tree, n)` must return the outcomes of the
/// first `n` samples of `tree` with the attack's fixed seed and pool.
pub fn attack<E: std::error::Error + 'static>(
    tree: &Tree,
    config: &SearchConfig,
    score: &mut Scorer<'_, E>,
    progress: &mut dyn FnMut(SearchEvent),
) -> Result<Attack, SearchError<E>> {
    let (l0a, l0b) = config.baselines;
    if config.budget == 0 {
        return Err(SearchError::ZeroBudget);
    }
    if config.samples < 2 {
        return Err(SearchError::TooFewSamples);
    }
    // Losses may be negative (a reward scenario scores loss = −reward); only their order
    // and finiteness matter.
    if !l0a.is_finite() || !l0b.is_finite() || l0b <= l0a {
        return Err(SearchError::BadBaselines { l0a, l0b });
    }
    let tol = config.tolerance;
    if !non_negative(tol.points) || !non_negative(tol.stderrs) {
        return Err(SearchError::BadTolerance {
            points: tol.points,
            stderrs: tol.stderrs,
        });
    }
    let n = config.samples;
    let mut run = |t: &Tree, k: usize| -> Result<Vec<SampleOutcome>, SearchError<E>> {
        let out = score(t, k).map_err(SearchError::Scorer)?;
        if out.len() != k {
            return Err(SearchError::WrongCount {
                expected: k,
                got: out.len(),
            });
        }
        Ok(out)
    };

    let mut current = tree.clone();
    let mut base = run(&current, n)?;
    let initial = Score::of(&base, config.baselines)?;
    let moves_available = enumerate(&current, &config.library).len();
    let mut rounds = Vec::new();
    let mut last_scan = Vec::new();
    let mut deciding_move = None;
    let mut stopped = format!("budget of {} rounds spent", config.budget);

    for round in 1..=config.budget {
        let moves = enumerate(&current, &config.library);
        if moves.is_empty() {
            stopped = "no permitted move left".into();
            break;
        }
        let prune = config
            .prune
            .filter(|p| p.divisor > 1 && n / p.divisor >= 2 && moves.len() > p.keep.max(1));
        progress(SearchEvent::RoundStarted {
            round,
            moves: moves.len(),
        });
        let mut evaluated = scan(
            &current, moves, &base, prune, config, round, &mut run, progress,
        )?;
        // Only moves measured on every sample count: a cheap score never decides.
        let breaks = |e: &Scanned| e.full.is_some() && e.eval.significant;
        let broke = evaluated.iter().any(breaks);
        // `scan` sorts the fully scored moves first, most harmful first, so this is the
        // move that lowers % recovered the most beyond the tolerance.
        let best = evaluated
            .iter()
            .position(|e| breaks(e) && e.eval.delta < 0.0);
        let Some(best) = best else {
            if broke && deciding_move.is_none() {
                // Only moves that raise % recovered break the tolerance: the largest decides.
                deciding_move = evaluated
                    .iter()
                    .filter(|e| breaks(e))
                    .max_by(|a, b| a.eval.delta.abs().total_cmp(&b.eval.delta.abs()))
                    .map(|e| e.eval.clone());
            }
            stopped = format!(
                "no move lowers % loss recovered by more than the tolerance (round {round})"
            );
            last_scan = evaluated.into_iter().map(|e| e.eval).collect();
            break;
        };
        let chosen = evaluated.remove(best);
        let out = chosen
            .full
            .expect("a move that breaks the tolerance is fully scored");
        let s = Score::of(&out, config.baselines)?;
        tracing::debug!(
            round,
            delta = chosen.eval.delta,
            se = chosen.eval.delta_stderr,
            "applied: {}",
            chosen.eval.mv.description
        );
        if deciding_move.is_none() {
            deciding_move = Some(chosen.eval.clone());
        }
        let mut all = vec![chosen.eval.clone()];
        all.extend(evaluated.into_iter().map(|e| e.eval));
        rounds.push(Round {
            mv: chosen.eval.mv,
            pct_recovered: s.pct_recovered,
            delta: chosen.eval.delta,
            delta_stderr: chosen.eval.delta_stderr,
            loss: s.loss,
            stderr: s.stderr,
            evaluated: all,
        });
        current = chosen.tree;
        base = out;
    }
    let final_score = Score::of(&base, config.baselines)?;
    Ok(Attack {
        moves_available,
        initial,
        rounds,
        last_scan,
        final_score,
        final_tree: current,
        survives: deciding_move.is_none(),
        deciding_move,
        stopped,
    })
}

/// How many of its cheap-pass standard errors a move's full-sample delta may plausibly lie
/// from its cheap-pass delta: a move is re-scored on every sample unless its cheap interval
/// (delta ± this many standard errors) stays inside the tolerance.
pub const CHEAP_REACH_STDERRS: f64 = 3.0;

/// Whether a move scored on the cheap pass could break the tolerance on every sample, in
/// either direction. The full-sample tolerance, max(points, stderrs × full standard error),
/// is unknown on the cheap pass; `points` is its lower bound, so the test is conservative.
pub fn could_break(e: &EvaluatedMove, tolerance: &Tolerance) -> bool {
    e.delta.abs() + CHEAP_REACH_STDERRS * e.delta_stderr > tolerance.points
}

/// [`Scorer`] with its count of outcomes checked.
type Checked<'s, E> = dyn FnMut(&Tree, usize) -> Result<Vec<SampleOutcome>, SearchError<E>> + 's;

/// One move of a round's scan: its scores, the tree it gives, and its outcomes on every
/// sample once it has been scored on all of them.
struct Scanned {
    eval: EvaluatedMove,
    tree: Tree,
    full: Option<Vec<SampleOutcome>>,
}

/// Scores every move against `current` (whose outcomes on all samples are `base`): on the
/// cheap pass when `prune` is set, then again on every sample for the `keep` most harmful and
/// every move that [`could_break`] the tolerance. Returns the moves fully scored first, each
/// group most harmful first.
#[allow(clippy::too_many_arguments)]
fn scan<E: std::error::Error + 'static>(
    current: &Tree,
    moves: Vec<Move>,
    base: &[SampleOutcome],
    prune: Option<Prune>,
    config: &SearchConfig,
    round: usize,
    run: &mut Checked<'_, E>,
    progress: &mut dyn FnMut(SearchEvent),
) -> Result<Vec<Scanned>, SearchError<E>> {
    let n = base.len();
    let tol = config.tolerance;
    let measure = |mv: Move, out: &[SampleOutcome]| -> Result<EvaluatedMove, SearchError<E>> {
        let (delta, delta_stderr) = paired_delta(&base[..out.len()], out, config.baselines)?;
        Ok(EvaluatedMove {
            mv,
            samples: out.len(),
            pct_recovered: Score::of(out, config.baselines)?.pct_recovered,
            delta,
            delta_stderr,
            significant: delta.abs() > tol.allowed(delta_stderr),
        })
    };
    let first_n = prune.map_or(n, |p| n / p.divisor);
    let mut total = moves.len();
    let mut done = 0;
    let mut evaluated = Vec::with_capacity(moves.len());
    for mv in moves {
        let tree = mv.apply(current)?;
        let out = run(&tree, first_n)?;
        let eval = measure(mv, &out)?;
        done += 1;
        progress(SearchEvent::Scored { round, done, total });
        evaluated.push(Scanned {
            eval,
            tree,
            full: (first_n == n).then_some(out),
        });
    }
    evaluated.sort_by(|a, b| a.eval.delta.total_cmp(&b.eval.delta));
    let Some(p) = prune else {
        return Ok(evaluated);
    };
    let keep = p.keep.max(1);
    let rescore: Vec<bool> = evaluated
        .iter()
        .enumerate()
        .map(|(k, e)| k < keep || could_break(&e.eval, &tol))
        .collect();
    total += rescore.iter().filter(|&&r| r).count();
    for (e, _) in evaluated.iter_mut().zip(rescore).filter(|(_, r)| *r) {
        let out = run(&e.tree, n)?;
        e.eval = measure(e.eval.mv.clone(), &out)?;
        e.full = Some(out);
        done += 1;
        progress(SearchEvent::Scored { round, done, total });
    }
    evaluated.sort_by(|a, b| {
        (b.full.is_some())
            .cmp(&a.full.is_some())
            .then(a.eval.delta.total_cmp(&b.eval.delta))
    });
    Ok(evaluated)
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
