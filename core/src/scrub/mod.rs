//! The causal scrubbing engine, for any computational graph whose nodes are functions of
//! their inputs: the graph interface (`graph`), treeified hypotheses over it (`tree`), their
//! checks (`validate`), and their evaluation on sampled data (`evaluate`). The transformer
//! is one graph (`transformer`); small scalar graphs implement the same interface.

pub mod evaluate;
pub mod graph;
pub mod hypothesis;
pub mod masked;
pub mod neurons;
mod parts;
pub mod plain_cache;
pub mod rewrite;
pub mod run;
pub mod scalar;
pub mod transformer;
pub mod tree;
pub mod validate;

pub use evaluate::{evaluate, ScrubOutcomes};
pub use graph::{GraphNode, NodeId, Port, ScrubGraph};
pub use tree::{Piece, Rows, Tree, TreeBody, TreeId, TreeNode};
