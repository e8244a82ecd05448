//! Errors from the GPU side, each saying what was being attempted.

use scrub_core::ModelError;

/// Everything that can go wrong creating a device, compiling kernels or running them.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// The adapter refused to open a device.
    #[error("cannot open the wgpu device on adapter `{adapter}`: {message}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        message: String,
    },
    /// wgpu reported a validation or out-of-memory error.
    #[error("wgpu rejected {what}: {message}")]
    Wgpu {
        /// The operation, e.g. "compiling kernel `attention`".
        what: String,
        /// wgpu's message.
        message: String,
    },
    /// Waiting for submitted work failed or timed out.
    #[error("waiting for the GPU while {what}: {message}")]
    Wait {
        /// The operation waited on.
        what: String,
        /// wgpu's message.
        message: String,
    },
    /// A readback buffer could not be mapped.
    #[error("mapping a readback buffer failed while {what}")]
    Map {
        /// The operation reading back.
        what: String,
    },
    /// A buffer would exceed the adapter's limits.
    #[error(
        "{what} needs {needed} bytes in one buffer, more than this adapter allows ({limit} bytes)"
    )]
    TooLarge {
        /// What the buffer is for.
        what: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes allowed.
        limit: u64,
    },
    /// Matrix or tile sizes that do not fit together.
    #[error("invalid matrix shape: {0}")]
    Shape(String),
    /// A request this executor was not built for or this model cannot serve.
    #[error("unsupported request: {0}")]
    Unsupported(String),
    /// Invalid model or input, as the CPU executor would report it.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<GpuError> for ModelError {
    fn from(e: GpuError) -> Self {
        match e {
            GpuError::Model(m) => m,
            other => ModelError::Executor(format!("gpu: {other}")),
        }
    }
}

/// Result alias for the kernels crate.
pub type Result<T, E = GpuError> = std::result::Result<T, E>;
