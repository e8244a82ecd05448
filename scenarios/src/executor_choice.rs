//! Picks the executor a command runs on. `auto` follows one rule (README, "Choosing the
//! executor"): the WGSL kernels on a hardware GPU, the CPU reference otherwise — on a
//! software adapter (llvmpipe) the CPU reference is 8–30× faster than the kernels it emulates
//! (measured on the paren forward and the scrubbing graph), so `auto` never picks one.

use std::sync::Arc;

use clap::ValueEnum;

use scrub_core::{CpuExecutor, Executor, Model};
use scrub_kernels::{GpuContext, GpuExecutor};

use crate::error::ScenarioError;

/// The user's choice of executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// The GPU kernels on a hardware GPU, else the CPU reference.
    Auto,
    /// The CPU reference executor.
    Cpu,
    /// The WGSL kernels, on a software adapter too; an error when no adapter exists.
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
        ExecutorKind::Auto => match auto_gpu() {
            Some(ctx) => Ok(Box::new(GpuExecutor::new(ctx, model).map_err(|e| ScenarioError::Gpu(e.to_string()))?)),
            None => Ok(Box::new(CpuExecutor::new(model))),
        },
    }
}

/// The adapter `auto` runs on: the shared context when it is a hardware GPU, else `None`
/// (saying why once, in the log).
pub fn auto_gpu() -> Option<Arc<GpuContext>> {
    match GpuContext::shared() {
        Some(ctx) if ctx.is_real_gpu() => Some(ctx),
        Some(ctx) => {
            tracing::info!(
                adapter = ctx.adapter_name(),
                "running on the CPU reference: the only adapter is not a hardware GPU (`--executor gpu` forces the kernels)"
            );
            None
        }
        None => {
            tracing::info!("running on the CPU reference: no GPU adapter found");
            None
        }
    }
}
