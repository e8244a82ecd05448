//! The one experiment pipeline every command and every scenario goes through: rewrites →
//! tree → sampling → evaluation → statistics. A scenario hands it data through the narrow
//! [`Scenario`] interface (model graph, pool, feature columns, metric, rewrite library,
//! baselines as hypothesis files); nothing here knows which scenario it runs.

mod error;
mod pipeline;
mod progress;
mod result;
mod scenario;
mod score;
mod shard;

pub use error::ExperimentError;
pub use pipeline::{
    baseline_losses, build_tree, evaluate_model, paired_baselines, reference_baselines,
    run_hypothesis, scrub_file, scrub_tree, with_rewrites, RunSettings,
};
pub use progress::{Bar, Progress, Silent};
pub use result::{GroupLoss, HypothesisResult, NamedLoss, ResultLabels, Summary};
pub use scenario::{Baseline, Scenario};
pub use score::TreeScore;
pub use shard::{MergeError, SampleGroups, SampleRecord, Shard};
