//! Picks the executor a command runs on: a GPU adapter when asked or available, else the
//! CPU reference, saying once when it falls back.

use clap::ValueEnum;

use scrub_core::{CpuExecutor, Executor, Model};
use scrub_kernels::{GpuContext, GpuExecutor};

use crate::error::ScenarioError;

/// The user's choice of executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// A GPU (or software Vulkan) adapter if any, else the CPU.
    Auto,
    /// The CPU reference executor.
    Cpu,
    /// The WGSL kernels; an error when no adapter exists.
    Gpu,
}

/// Builds the executor for `kind` over `model`.
pub fn make_executor<'m>(
    kind: ExecutorKind,
    model: &'m Model,
) -> Result<Box<dyn Executor + 'm>, ScenarioError> {
    match kind {
        ExecutorKind::Cpu => Ok(Box::new(CpuExecutor::new(model))),
        ExecutorKind::Gpu => match GpuContext::shared() {
            Some(ctx) => Ok(Box::new(GpuExecutor::new(ctx, model).map_err(|e| ScenarioError::Gpu(e.to_string()))?)),
            None => Err(ScenarioError::NoGpu(
                "no wgpu adapter was found (install `mesa-vulkan-drivers` for the software Vulkan driver, or use --executor cpu)".into(),
            )),
        },
        ExecutorKind::Auto => match GpuContext::shared() {
            Some(ctx) => {
                if ctx.is_software() {
                    tracing::info!(adapter = ctx.adapter_name(), "only a software adapter was found; `--executor cpu` is usually faster on such a machine");
                }
                Ok(Box::new(GpuExecutor::new(ctx, model).map_err(|e| ScenarioError::Gpu(e.to_string()))?))
            }
            None => {
                tracing::warn!("no GPU adapter found (not even the software Vulkan driver); using the CPU executor");
                Ok(Box::new(CpuExecutor::new(model)))
            }
        },
    }
}
