//! The adversary: joins of hypotheses (`join`), the moves a hypothesis permits — sampling together (`moves`) and joins with
//! refinements from a feature library (`refine`) — the paired greedy search over them
//! (`search`) and the game report (`report`). It depends on `scrub-core` only, never on a
//! device or a scenario: scoring a tree is the caller's job.

pub mod join;
pub mod moves;
pub mod refine;
pub mod report;
pub mod search;

pub use moves::{enumerate_ties, family, Move, MoveError, MoveKind, Refinement, Tie};
pub use refine::enumerate_refinements;
pub use report::AttackReport;
pub use search::{
    attack, paired_delta, Attack, EvaluatedMove, Prune, Round, Score, Scorer, SearchConfig,
    SearchError, SearchEvent, Tolerance,
};

use scrub_core::scrub::tree::Tree;

/// Every move the hypothesis `tree` permits: sampling-together ties, then refinements by
/// the features of `library` (empty: ties only).
pub fn enumerate(tree: &Tree, library: &[String]) -> Vec<Move> {
    let mut moves = enumerate_ties(tree);
    moves.extend(enumerate_refinements(tree, library));
    moves
}
