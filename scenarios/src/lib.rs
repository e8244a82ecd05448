//! Datasets, features and hypotheses of the documented experiments, and the `scrub` CLI.

pub mod allocator;
pub mod attribution;
pub mod cells;
pub mod cli;
pub mod counterexample;
pub mod data_dir;
pub mod discover;
pub mod error;
pub mod eval;
pub mod executor_choice;
pub mod groundtruth;
pub mod induction;
pub mod output;
pub mod paren;
pub mod progress;
pub mod registry;
pub mod scrub_graph;
pub mod task;

pub use data_dir::DataDir;
pub use error::ScenarioError;
