//! The scrubbing graph a command evaluates on: the CPU reference or the GPU kernels.

use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::ScrubGraph;

use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;

/// A transformer scrubbing graph on the chosen executor.
pub struct ScrubExecutor<'g> {
    cpu: &'g TransformerGraph<'g>,
}

impl<'g> ScrubExecutor<'g> {
    /// The graph for `kind` over `base`.
    pub fn new(kind: ExecutorKind, base: &'g TransformerGraph<'g>) -> Result<Self, ScenarioError> {
        match kind {
            ExecutorKind::Cpu | ExecutorKind::Auto => Ok(ScrubExecutor { cpu: base }),
            ExecutorKind::Gpu => Err(ScenarioError::NoGpu(
                "scrubbing on the GPU is not wired into the CLI yet; use --executor cpu".into(),
            )),
        }
    }

    /// The graph to evaluate on.
    pub fn graph(&self) -> &dyn ScrubGraph {
        self.cpu
    }

    /// `cpu` or `gpu`.
    pub fn name(&self) -> &'static str {
        "cpu"
    }
}
