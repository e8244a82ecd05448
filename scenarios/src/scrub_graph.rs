//! The scrubbing graph a command evaluates on: the CPU reference or the GPU kernels.

use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::ScrubGraph;
use scrub_kernels::{GpuContext, GpuScrubGraph};

use crate::error::ScenarioError;
use crate::executor_choice::{auto_gpu, ExecutorKind};

/// A transformer scrubbing graph on the chosen executor.
pub struct ScrubExecutor<'g> {
    cpu: &'g TransformerGraph<'g>,
    gpu: Option<GpuScrubGraph<'g>>,
}

impl<'g> ScrubExecutor<'g> {
    /// The graph for `kind` over `base`; `auto` follows [`auto_gpu`]'s rule.
    pub fn new(kind: ExecutorKind, base: &'g TransformerGraph<'g>) -> Result<Self, ScenarioError> {
        let gpu =
            |ctx| GpuScrubGraph::new(ctx, base).map_err(|e| ScenarioError::Gpu(e.to_string()));
        match kind {
            ExecutorKind::Cpu => Ok(ScrubExecutor {
                cpu: base,
                gpu: None,
            }),
            ExecutorKind::Auto => Ok(ScrubExecutor {
                cpu: base,
                gpu: auto_gpu().map(gpu).transpose()?,
            }),
            ExecutorKind::Gpu => {
                let ctx = GpuContext::shared().ok_or_else(|| {
                    ScenarioError::NoGpu("no wgpu adapter was found (install `mesa-vulkan-drivers`, or use --executor cpu)".into())
                })?;
                Ok(ScrubExecutor {
                    cpu: base,
                    gpu: Some(gpu(ctx)?),
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
