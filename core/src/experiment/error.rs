//! Errors of the experiment pipeline, typed by the layer they come from.

/// What can stop an experiment; each variant keeps the error of the layer that failed.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Model(#[from] crate::ModelError),
    #[error(transparent)]
    Hypothesis(#[from] crate::scrub::hypothesis::HypothesisError),
    #[error(transparent)]
    Rewrite(#[from] crate::scrub::rewrite::RewriteError),
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    #[error(transparent)]
    UndefinedRecovery(#[from] crate::stats::UndefinedRecovery),
    /// A feature the scenario cannot give a column for.
    #[error("unknown feature `{name}` in scenario `{scenario}`; its features are: {known}")]
    UnknownFeature {
        scenario: String,
        name: String,
        known: String,
    },
    /// An error of the scenario's own data (its loader, its feature code).
    #[error("{0}")]
    Scenario(Box<dyn std::error::Error + Send + Sync>),
}

impl ExperimentError {
    /// Wraps a scenario's own error.
    pub fn scenario(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ExperimentError::Scenario(Box::new(e))
    }
}
