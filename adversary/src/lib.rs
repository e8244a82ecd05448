//! The adversary: joins of hypotheses (`join`), the moves a hypothesis permits — sampling together (`moves`) and joins with
//! refinements from a feature library (`refine`) — the paired greedy search over them
//! (`search`) and the game report (`report`). It depends on `scrub-core` only, never on a
//! device or a scenario: scoring a tree is the caller's job, or the experiment pipeline's
//! (`play`, `join_files`) over any [`scrub_core::experiment::Scenario`].

pub mod join;
pub mod join_files;
pub mod moves;
pub mod play;
pub mod refine;
pub mod report;
pub mod search;

pub use join_files::{join_files, JoinFilesError};
pub use moves::{enumerate_ties, family, Move, MoveError, MoveKind, Refinement, Tie};
pub use play::{attack_file, AttackSettings, PlayError};
pub use refine::enumerate_refinements;
pub use report::{AttackReport, Reference};
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
