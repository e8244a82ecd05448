//! The adversary: the sampling-together constraints a hypothesis permits (`moves`), the
//! paired greedy search over them (`search`) and the game report (`report`). It depends on
//! `scrub-core` only, never on a device or a scenario: scoring a tree is the caller's job.

pub mod moves;
pub mod report;
pub mod search;

pub use moves::{enumerate, family, Move, MoveError, MoveKind, Tie};
pub use report::AttackReport;
pub use search::{
    attack, paired_delta, Attack, EvaluatedMove, Prune, Round, Score, Scorer, SearchConfig,
    SearchError, SearchEvent, Tolerance,
};
