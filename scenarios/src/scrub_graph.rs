//! The scrubbing graph a command evaluates on: the CPU reference or the GPU kernels.

use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::ScrubGraph;
use scrub_kernels::{GpuContext, GpuScrubGraph};

use crate::error::ScenarioError;
use crate::executor_choice::ExecutorKind;

/// A transformer scrubbing graph on the chosen executor.
pub struct ScrubExecutor<'g> {
    cpu: &'g TransformerGraph<'g>,
    gpu: Option<GpuScrubGraph<'g>>,
}

impl<'g> ScrubExecutor<'g> {
    /// The graph for `kind` over `base`. `auto` uses the CPU graph: the GPU graph still
    /// assembles every node's inputs on the host and measured slower than the CPU graph even
    /// on an H200 (README), so it is used only when asked for.
    pub fn new(kind: ExecutorKind, base: &'g TransformerGraph<'g>) -> Result<Self, ScenarioError> {
        match kind {
            ExecutorKind::Cpu => Ok(ScrubExecutor {
                cpu: base,
                gpu: None,
            }),
            ExecutorKind::Auto => {
                tracing::info!("scrubbing on the CPU graph (faster than the GPU graph today; `--executor gpu` to use the kernels)");
                Ok(ScrubExecutor {
                    cpu: base,
                    gpu: None,
                })
            }
            ExecutorKind::Gpu => {
                let ctx = GpuContext::shared().ok_or_else(|| {
                    ScenarioError::NoGpu("no wgpu adapter was found (install `mesa-vulkan-drivers`, or use --executor cpu)".into())
                })?;
                let gpu =
                    GpuScrubGraph::new(ctx, base).map_err(|e| ScenarioError::Gpu(e.to_string()))?;
                Ok(ScrubExecutor {
                    cpu: base,
                    gpu: Some(gpu),
                })
            }
        }
    }

    /// The graph to evaluate on.
    pub fn graph(&self) -> &dyn ScrubGraph {
        match &self.gpu {
            Some(g) => g,
            None => self.cpu,
        }
    }

    /// `cpu` or `gpu`.
    pub fn name(&self) -> &'static str {
        if self.gpu.is_some() {
            "gpu"
        } else {
            "cpu"
        }
    }
}
