//! Hand-written WGSL compute kernels and the wgpu executor of the forward pass.
//!
//! Layout: `device` opens the adapter; `shader` turns WGSL plus baked-in constants into
//! pipelines; one module per kernel family (`embed`, `layernorm`, `matmul`, `attention`,
//! `loss`, WGSL beside them in `shaders/`); `weights` uploads a model, `pipeline` compiles
//! its kernels, `workspace` holds a chunk's activations, `chunks` cuts batches to fit, and
//! `executor` ties them into `scrub_core::Executor`. `standalone` is a bare matmul for
//! benchmarks.

#![warn(missing_docs)]

pub mod attention;
pub mod buffers;
pub mod chunks;
pub mod device;
pub mod dims;
pub mod embed;
pub mod error;
pub mod executor;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod pipeline;
pub mod shader;
pub mod standalone;
pub mod weights;
pub mod workspace;

pub use device::{test_context, GpuContext};
pub use error::{GpuError, Result};
pub use executor::GpuExecutor;
pub use matmul::{Activation, Matmul, MatmulSpec, Tiling};
pub use standalone::StandaloneMatmul;
