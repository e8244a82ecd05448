//! Hand-written WGSL compute kernels and the wgpu executor of the forward pass.
