//! Buffer helpers: creation with size checks against the adapter's limits, uploads.

use crate::device::GpuContext;
use crate::error::{GpuError, Result};

/// Usage of buffers kernels read and write.
pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

/// A storage buffer of `bytes` bytes (at least 16, so empty inputs still bind), refused
/// with a clear error when it exceeds what one binding may hold.
pub fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
    let limit = ctx.max_binding_bytes();
    if bytes > limit {
        return Err(GpuError::TooLarge {
            what: label.to_string(),
            needed: bytes,
            limit,
        });
    }
    ctx.checked(&format!("allocating `{label}` ({bytes} bytes)"), || {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(4),
            usage: STORAGE,
            mapped_at_creation: false,
        })
    })
}

/// A storage buffer holding `data`.
pub fn storage_init(ctx: &GpuContext, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
    let buf = storage(ctx, label, std::mem::size_of_val(data) as u64)?;
    ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
    Ok(buf)
}

/// The 16-byte `counts` uniform (rows, seqs, targets, 0) every kernel reads.
pub fn counts_uniform(ctx: &GpuContext) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("counts"),
        size: 16,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A host-readable buffer for results.
pub fn readback(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
    let limit = ctx.limits().max_buffer_size;
    if bytes > limit {
        return Err(GpuError::TooLarge {
            what: label.to_string(),
            needed: bytes,
            limit,
        });
    }
    ctx.checked(&format!("allocating `{label}` ({bytes} bytes)"), || {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })
}

/// Copies `rows × cols` row-major into a zero-padded `prows × pcols` layout.
pub fn pad2(data: &[f32], rows: usize, cols: usize, prows: usize, pcols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; prows * pcols];
    for r in 0..rows {
        out[r * pcols..r * pcols + cols].copy_from_slice(&data[r * cols..(r + 1) * cols]);
    }
    out
}

/// Rounds up to a multiple of 4 (every row stride on the GPU is vec4-aligned).
pub fn pad4(n: usize) -> usize {
    n.next_multiple_of(4)
}
