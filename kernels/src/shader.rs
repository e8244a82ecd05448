//! Turning a WGSL file plus compile-time constants into a compute pipeline, and splitting
//! large dispatches so no grid dimension exceeds the adapter's limit.
//!
//! Shapes are baked in as WGSL `const`s prepended to the shader text rather than passed in
//! uniforms: the driver compiler can then unroll loops and fold index arithmetic, which
//! matters most on the software rasteriser.

use std::fmt::Write;

use crate::device::GpuContext;
use crate::error::Result;

/// A compile-time constant for a shader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Const {
    /// `u32`.
    U32(u32),
    /// `f32`, written so it parses to the same bits.
    F32(f32),
    /// `bool`.
    Bool(bool),
}

/// WGSL source prefixed with `const` declarations.
pub fn with_consts(body: &str, consts: &[(&str, Const)]) -> String {
    let mut src = String::with_capacity(body.len() + 64 * consts.len());
    for (name, v) in consts {
        // Rust prints f32 with the shortest text that round-trips, so the shader sees the
        // exact same bits as the CPU reference.
        let _ = match v {
            Const::U32(x) => writeln!(src, "const {name}: u32 = {x}u;"),
            Const::F32(x) => writeln!(src, "const {name}: f32 = {x:e}f;"),
            Const::Bool(x) => writeln!(src, "const {name}: bool = {x};"),
        };
    }
    src.push_str(body);
    src
}

/// Binding kinds used by the kernels' explicit layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A compiled kernel: pipeline plus the layout its bind groups must follow.
#[derive(Debug)]
pub struct Kernel {
    /// The compute pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Layout of group 0.
    pub layout: wgpu::BindGroupLayout,
    /// Threads per workgroup, for dispatch arithmetic.
    pub workgroup_size: u32,
}

impl Kernel {
    /// Compiles `source` (entry point `main`) with the given group-0 bindings.
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        source: &str,
        slots: &[Slot],
        workgroup_size: u32,
    ) -> Result<Kernel> {
        ctx.checked(&format!("compiling kernel `{label}`"), || {
            let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
                .iter()
                .enumerate()
                .map(|(i, s)| wgpu::BindGroupLayoutEntry {
                    binding: i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: match s {
                            Slot::Uniform => wgpu::BufferBindingType::Uniform,
                            Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                            Slot::ReadWrite => {
                                wgpu::BufferBindingType::Storage { read_only: false }
                            }
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect();
            let layout = ctx
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(label),
                    entries: &entries,
                });
            let pipeline_layout =
                ctx.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(label),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            };
            // Bounds checks stay on; only naga's loop-bounding counters go. They stop the
            // driver compilers from unrolling the register-tile loops: measured 16x slower
            // on an H200 (2 vs 32 TFLOP/s at 4096^3) and 3x on llvmpipe.
            let mut checks = wgpu::ShaderRuntimeChecks::checked();
            checks.force_loop_bounding = false;
            // SAFETY: `force_loop_bounding = false` requires that no loop in the shader can
            // run forever. Every loop in this crate's kernels steps a u32 counter by a small
            // constant up to a bound fixed before the loop starts: a shape constant, or a
            // sequence length (at most n_ctx, as the executor validates every batch). Such
            // bounds are far below u32::MAX, so no counter can wrap and each loop ends.
            // Memory bounds checks remain enabled.
            let module = unsafe { ctx.device.create_shader_module_trusted(desc, checks) };
            let pipeline = ctx
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(label),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &[],
                        // Every kernel writes its workgroup memory before reading it.
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
            Kernel {
                pipeline,
                layout,
                workgroup_size,
            }
        })
    }

    /// A bind group of whole buffers, in binding order.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        label: &str,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Records a dispatch of `workgroups` workgroups (laid out by [`grid`]).
    pub fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        bind_group: &wgpu::BindGroup,
        workgroups: u32,
        max_per_dim: u32,
    ) {
        if workgroups == 0 {
            return;
        }
        let (x, y) = grid(workgroups, max_per_dim);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }
}

/// Splits `n` workgroups into an `x × y` grid with `x ≤ max_per_dim`; kernels recover the
/// linear index as `wid.x + wid.y * nwg.x` and skip indices `≥ n` (the grid may overshoot).
pub fn grid(n: u32, max_per_dim: u32) -> (u32, u32) {
    if n <= max_per_dim {
        (n, 1)
    } else {
        let y = n.div_ceil(max_per_dim);
        (n.div_ceil(y), y)
    }
}

/// Ceiling division for dispatch sizes.
pub fn div_ceil(a: usize, b: usize) -> u32 {
    u32::try_from(a.div_ceil(b)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_without_exceeding_the_limit() {
        for n in [1u32, 7, 65535, 65536, 200_001, 10_000_000] {
            let (x, y) = grid(n, 65535);
            assert!(x <= 65535 && y <= 65535, "{n}: {x}x{y}");
            assert!(u64::from(x) * u64::from(y) >= u64::from(n), "{n}: {x}x{y}");
        }
    }

    #[test]
    fn float_constants_round_trip() {
        let src = with_consts("", &[("EPS", Const::F32(1e-5)), ("N", Const::U32(3))]);
        assert_eq!(src, "const EPS: f32 = 1e-5f;\nconst N: u32 = 3u;\n");
        let third = with_consts("", &[("X", Const::F32(1.0 / 3.0))]);
        let text = third
            .trim_start_matches("const X: f32 = ")
            .trim_end_matches("f;\n");
        assert_eq!(text.parse::<f32>().unwrap(), 1.0 / 3.0);
    }
}
