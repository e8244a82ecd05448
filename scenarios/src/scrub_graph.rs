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
    /// The graph for `kind` over `base`. `auto` takes the GPU graph on a real GPU and the
    /// CPU graph otherwise: the GPU graph still assembles node inputs on the host, so on a
    /// software adapter it is several times slower than the CPU (README has the figures).
    pub fn new(kind: ExecutorKind, base: &'g TransformerGraph<'g>) -> Result<Self, ScenarioError> {
        let gpu =
            |ctx| GpuScrubGraph::new(ctx, base).map_err(|e| ScenarioError::Gpu(e.to_string()));
        match kind {
            ExecutorKind::Cpu => Ok(ScrubExecutor {
                cpu: base,
                gpu: None,
            }),
            ExecutorKind::Auto => match GpuContext::shared() {
                Some(ctx) if ctx.is_real_gpu() => Ok(ScrubExecutor {
                    cpu: base,
                    gpu: Some(gpu(ctx)?),
                }),
                _ => {
                    tracing::info!("scrubbing on the CPU graph (no hardware GPU; `--executor gpu` forces the kernels)");
                    Ok(ScrubExecutor {
                        cpu: base,
                        gpu: None,
                    })
                }
            },
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
