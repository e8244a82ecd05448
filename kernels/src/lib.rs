//! Hand-written WGSL compute kernels and the wgpu executor of the forward pass.
//!
//! Layout: `device` opens the adapter; `shader` turns WGSL plus baked-in constants into
//! pipelines; one module per kernel family (`embed`, `layernorm`, `matmul`, `attention`,
//! `loss`, WGSL beside them in `shaders/`); `weights` uploads a model, `pipeline` compiles
//! its kernels, `workspace` holds a chunk's activations, `chunks` cuts batches to fit, and
//! `executor` ties them into `scrub_core::Executor`. `scrub_graph` evaluates causal
//! scrubbing trees on the GPU: core's transformer graph with plain values read from hooks of
//! the same forward, nodes recomputed from mixed inputs by `recompute` and differentiated by
//! `gradient` (the backward pass of those recomputations). `standalone` is a
//! bare matmul for benchmarks.

#![warn(missing_docs)]

pub mod attention;
pub mod buffers;
pub mod chunks;
pub mod device;
pub mod dims;
pub mod embed;
pub mod error;
pub mod executor;
mod gradient;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod pipeline;
mod recompute;
pub mod rotary;
pub mod scrub_graph;
pub mod shader;
pub mod standalone;
pub mod step;
pub mod weights;
pub mod workspace;

pub use device::{test_context, GpuContext};
pub use error::{GpuError, Result};
pub use executor::{GpuExecutor, HookChunk};
pub use matmul::{Activation, Matmul, MatmulSpec, Tiling};
pub use scrub_graph::GpuScrubGraph;
pub use standalone::StandaloneMatmul;
pub use workspace::Hook;
