//! Matrix multiply with fused bias, activation and residual accumulation; the tile
//! configuration is picked per device kind and shape.

use scrub_core::ActFn;

use crate::device::GpuContext;
use crate::error::{GpuError, Result};
use crate::shader::{div_ceil, with_consts, Const, Kernel, Slot};

const DIRECT_WGSL: &str = concat!(
    include_str!("shaders/matmul_direct.wgsl"),
    include_str!("shaders/activation.wgsl")
);
const TILED_WGSL: &str = concat!(
    include_str!("shaders/matmul_tiled.wgsl"),
    include_str!("shaders/activation.wgsl")
);

/// Elementwise function applied after the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Identity.
    None,
    /// max(0, x).
    Relu,
    /// tanh-approximated GELU.
    GeluTanh,
    /// Exact (erf) GELU, through an erfc approximation in the shader (|error| ≤ 4e-7 over
    /// [−10, 10]; tested against the CPU's f64 GELU).
    Gelu,
    /// SiLU, x·σ(x) = x / (1 + e^(−x)).
    Silu,
}

impl From<ActFn> for Activation {
    fn from(a: ActFn) -> Self {
        match a {
            ActFn::Relu => Activation::Relu,
            ActFn::GeluTanh => Activation::GeluTanh,
            ActFn::Gelu => Activation::Gelu,
            ActFn::Silu => Activation::Silu,
        }
    }
}

impl Activation {
    /// The `ACT` constant the shaders' `activate` switches on.
    pub(crate) fn code(self) -> u32 {
        match self {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::GeluTanh => 2,
            Activation::Gelu => 3,
            Activation::Silu => 4,
        }
    }
}

/// Which entry of the `counts` uniform (rows, seqs, targets, 0) a kernel reads as its M.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountField {
    /// Token rows of the chunk.
    Rows = 0,
    /// Sequences of the chunk.
    Seqs = 1,
    /// Readout targets of the chunk.
    Targets = 2,
}

/// What one matrix multiply computes: `C[:, c_offset..c_offset+n] (+)= act(A·B + bias)`
/// with `A [M, k]`, `B [k, n]` (stored as `Bᵀ [n, k]` when `trans_b`), all row-major. `k`, `n`, `ldc` and `c_offset` must be
/// multiples of 4 (callers pad with zeros), which lets every load be a vec4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulSpec {
    /// Inner dimension (padded).
    pub k: usize,
    /// Output columns (padded).
    pub n: usize,
    /// Row stride of C in floats.
    pub ldc: usize,
    /// First column of C written.
    pub c_offset: usize,
    /// Whether a bias vector `[n]` is added.
    pub bias: bool,
    /// Activation applied after the bias.
    pub act: Activation,
    /// Add the result to C instead of overwriting it (residual connections).
    pub accumulate: bool,
    /// Multiply C by the result instead of overwriting it (the up projection of a gated
    /// MLP onto its activated gate).
    pub multiply: bool,
    /// Which count is M.
    pub m_field: CountField,
    /// B is given transposed, `[n, k]` row-major: the backward pass multiplies by a forward
    /// weight's transpose without a transposed copy of it.
    pub trans_b: bool,
}

impl MatmulSpec {
    /// Dense `C = A·B` with M taken from the rows count.
    pub fn plain(k: usize, n: usize) -> Self {
        MatmulSpec {
            k,
            n,
            ldc: n,
            c_offset: 0,
            bias: false,
            act: Activation::None,
            accumulate: false,
            multiply: false,
            m_field: CountField::Rows,
            trans_b: false,
        }
    }

    fn check(&self) -> Result<()> {
        let all = [self.k, self.n, self.ldc, self.c_offset];
        if all.iter().any(|v| v % 4 != 0) || self.k == 0 || self.n == 0 {
            return Err(GpuError::Shape(format!(
                "k, n, ldc and c_offset must be positive multiples of 4, got {self:?}"
            )));
        }
        if self.accumulate && self.multiply {
            return Err(GpuError::Shape(
                "a product may accumulate into C or multiply it, not both".into(),
            ));
        }
        if self.c_offset + self.n > self.ldc {
            return Err(GpuError::Shape(format!(
                "columns {}..{} do not fit a C row of {}",
                self.c_offset,
                self.c_offset + self.n,
                self.ldc
            )));
        }
        Ok(())
    }
}

/// How a matmul is cut into workgroups and threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tiling {
    /// No workgroup memory; each thread computes `tm` rows × `tn4*4` columns.
    Direct {
        /// Rows per thread.
        tm: u32,
        /// Column vec4s per thread.
        tn4: u32,
        /// Threads along M.
        wg_m: u32,
        /// Threads along N.
        wg_n: u32,
    },
    /// Workgroup-memory tiles `bm × bn`, K steps of `bk`, `tm × tn` per thread.
    Tiled {
        /// Rows of C per workgroup.
        bm: u32,
        /// Columns of C per workgroup.
        bn: u32,
        /// K per step through workgroup memory.
        bk: u32,
        /// Rows per thread (multiple of 4).
        tm: u32,
        /// Columns per thread (multiple of 4).
        tn: u32,
    },
}

impl Tiling {
    /// The configuration this crate uses for a `[m, k] · [k, n]` product on `ctx`.
    pub fn choose(ctx: &GpuContext, m: usize, n: usize, k: usize) -> Tiling {
        if ctx.is_software() {
            // Measured on llvmpipe (8 lanes): 8×8 per thread gave 20-27 GFLOP/s at 512³ and on the
            // model's shapes; larger tiles spill, smaller ones load too often per multiply-add.
            return Tiling::Direct {
                tm: 8,
                tn4: 2,
                wg_m: 8,
                wg_n: 8,
            };
        }
        // Measured on an H200: the 128×128 tile reaches ~32 TFLOP/s at 4096³ but leaves
        // SMs idle when there are few tiles (1024³: 13.5 vs 22 TFLOP/s for 64×64); the
        // model's skinny K = d_model products prefer 64×64 with short K steps.
        let big_tiles = m.div_ceil(128) * n.div_ceil(128);
        if k >= 256 && big_tiles >= 256 {
            Tiling::Tiled {
                bm: 128,
                bn: 128,
                bk: 16,
                tm: 8,
                tn: 8,
            }
        } else {
            Tiling::Tiled {
                bm: 64,
                bn: 64,
                bk: if k >= 64 { 16 } else { 8 },
                tm: 4,
                tn: 4,
            }
        }
    }

    /// Rows and columns of C one workgroup covers.
    fn block(&self) -> (usize, usize) {
        match *self {
            Tiling::Direct {
                tm,
                tn4,
                wg_m,
                wg_n,
            } => ((tm * wg_m) as usize, (tn4 * 4 * wg_n) as usize),
            Tiling::Tiled { bm, bn, .. } => (bm as usize, bn as usize),
        }
    }

    fn check(&self, limits: &wgpu::Limits) -> Result<()> {
        let (threads, shared) = match *self {
            Tiling::Direct { wg_m, wg_n, .. } => (wg_m * wg_n, 0),
            Tiling::Tiled { bm, bn, bk, tm, tn } => {
                let ok = bm % tm == 0 && bn % tn == 0 && tm % 4 == 0 && tn % 4 == 0 && bk % 4 == 0;
                if !ok {
                    return Err(GpuError::Shape(format!("inconsistent tiling {self:?}")));
                }
                ((bm / tm) * (bn / tn), 2 * bk * (bm + bn) * 4)
            }
        };
        if threads > limits.max_compute_invocations_per_workgroup
            || threads > limits.max_compute_workgroup_size_x
            || shared > limits.max_compute_workgroup_storage_size
        {
            return Err(GpuError::Shape(format!(
                "tiling {self:?} needs {threads} threads and {shared} bytes of workgroup memory, \
                 beyond this adapter's limits"
            )));
        }
        Ok(())
    }
}

/// A compiled matrix multiply for one [`MatmulSpec`].
#[derive(Debug)]
pub struct Matmul {
    kernel: Kernel,
    spec: MatmulSpec,
    tiling: Tiling,
}

impl Matmul {
    /// Compiles `spec` with the tiling [`Tiling::choose`] picks for about `m_hint` rows.
    pub fn new(ctx: &GpuContext, spec: MatmulSpec, m_hint: usize) -> Result<Matmul> {
        let tiling = Tiling::choose(ctx, m_hint, spec.n, spec.k);
        Self::with_tiling(ctx, spec, tiling)
    }

    /// Compiles `spec` with an explicit tiling.
    pub fn with_tiling(ctx: &GpuContext, spec: MatmulSpec, tiling: Tiling) -> Result<Matmul> {
        spec.check()?;
        tiling.check(ctx.limits())?;
        let u = |v: usize| Const::U32(v as u32);
        let mut consts = vec![
            ("M_FIELD", Const::U32(spec.m_field as u32)),
            ("K4", u(spec.k / 4)),
            ("N4", u(spec.n / 4)),
            ("LDC4", u(spec.ldc / 4)),
            ("COFF4", u(spec.c_offset / 4)),
            ("HAS_BIAS", Const::Bool(spec.bias)),
            ("ACT", Const::U32(spec.act.code())),
            ("ACCUMULATE", Const::Bool(spec.accumulate)),
            ("MULTIPLY", Const::Bool(spec.multiply)),
            ("TRANS_B", Const::Bool(spec.trans_b)),
        ];
        let (body, threads) = match tiling {
            Tiling::Direct {
                tm,
                tn4,
                wg_m,
                wg_n,
            } => {
                consts.extend([
                    ("TM", Const::U32(tm)),
                    ("TN4", Const::U32(tn4)),
                    ("WG_M", Const::U32(wg_m)),
                    ("WG_N", Const::U32(wg_n)),
                ]);
                (DIRECT_WGSL, wg_m * wg_n)
            }
            Tiling::Tiled { bm, bn, bk, tm, tn } => {
                consts.extend([
                    ("BM", Const::U32(bm)),
                    ("BN", Const::U32(bn)),
                    ("BK", Const::U32(bk)),
                    ("TM", Const::U32(tm)),
                    ("TN", Const::U32(tn)),
                    ("WG_M", Const::U32(bm / tm)),
                    ("WG_N", Const::U32(bn / tn)),
                ]);
                (TILED_WGSL, (bm / tm) * (bn / tn))
            }
        };
        let source = with_consts(body, &consts);
        let t = if spec.trans_b { "ᵀ" } else { "" };
        let label = format!("matmul k={} n={}{t} {:?}", spec.k, spec.n, tiling);
        let kernel = Kernel::new(
            ctx,
            &label,
            &source,
            &[
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::Read,
                Slot::ReadWrite,
            ],
            threads,
        )?;
        Ok(Matmul {
            kernel,
            spec,
            tiling,
        })
    }

    /// The product this kernel computes.
    pub fn spec(&self) -> &MatmulSpec {
        &self.spec
    }

    /// The tiling it was compiled with.
    pub fn tiling(&self) -> Tiling {
        self.tiling
    }

    /// Workgroups needed for `m` rows.
    pub fn workgroups(&self, m: usize) -> u32 {
        let (bm, bn) = self.tiling.block();
        div_ceil(m, bm).saturating_mul(div_ceil(self.spec.n, bn))
    }

    /// Bind group: counts uniform, A, B, bias (any buffer when there is none), C.
    pub fn bind(
        &self,
        ctx: &GpuContext,
        counts: &wgpu::Buffer,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        bias: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        self.kernel.bind(ctx, "matmul", &[counts, a, b, bias, c])
    }

    /// Records the multiply of `m` rows.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        bind_group: &wgpu::BindGroup,
        m: usize,
    ) {
        let max = ctx.limits().max_compute_workgroups_per_dimension;
        self.kernel
            .dispatch(pass, bind_group, self.workgroups(m), max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::{counts_uniform, readback, storage_init};
    use crate::device::test_context;

    fn gelu(x: f32) -> f32 {
        let mut v = [x];
        scrub_core::forward::activate(&mut v, ActFn::GeluTanh);
        v[0]
    }

    /// Bias, activation, accumulation, a strided C with a column offset, M read from the
    /// targets count, and B stored transposed: C[i, off + j] = c0 + act(A·B + bias).
    #[test]
    fn fused_epilogue_matches_reference() {
        let Some(ctx) = test_context() else { return };
        let (m, k, n, ldc, off) = (37usize, 12usize, 20usize, 32usize, 8usize);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.05)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 11 % 19) as f32 - 9.0) * 0.05)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1 - 1.0).collect();
        let c0: Vec<f32> = (0..m * ldc).map(|i| (i % 7) as f32).collect();
        let b_t: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let tilings = [
            Tiling::choose(&ctx, m, n, k),
            Tiling::Direct {
                tm: 8,
                tn4: 2,
                wg_m: 8,
                wg_n: 8,
            },
            Tiling::Tiled {
                bm: 64,
                bn: 64,
                bk: 8,
                tm: 4,
                tn: 4,
            },
        ];
        for act in [
            Activation::None,
            Activation::Relu,
            Activation::GeluTanh,
            Activation::Gelu,
            Activation::Silu,
        ] {
            // The transposed layout only changes how B is read, so one activation suffices.
            let layouts: &[bool] = match act {
                Activation::None => &[false, true],
                _ => &[false],
            };
            for (accumulate, multiply) in [(false, false), (true, false), (false, true)] {
                for (tiling, &trans_b) in tilings
                    .iter()
                    .flat_map(|t| layouts.iter().map(move |l| (*t, l)))
                {
                    let spec = MatmulSpec {
                        k,
                        n,
                        ldc,
                        c_offset: off,
                        bias: true,
                        act,
                        accumulate,
                        multiply,
                        m_field: CountField::Targets,
                        trans_b,
                    };
                    let mm = Matmul::with_tiling(&ctx, spec, tiling).unwrap();
                    let bufs = [
                        storage_init(&ctx, "a", &a).unwrap(),
                        storage_init(&ctx, "b", if trans_b { &b_t } else { &b }).unwrap(),
                        storage_init(&ctx, "bias", &bias).unwrap(),
                        storage_init(&ctx, "c", &c0).unwrap(),
                    ];
                    let counts = counts_uniform(&ctx);
                    // rows and seqs deliberately wrong: only the targets field is M here.
                    ctx.queue.write_buffer(
                        &counts,
                        0,
                        bytemuck::cast_slice(&[999u32, 999, m as u32, 0]),
                    );
                    let bg = mm.bind(&ctx, &counts, &bufs[0], &bufs[1], &bufs[2], &bufs[3]);
                    let bytes = (c0.len() * 4) as u64;
                    let staging = readback(&ctx, "c", bytes).unwrap();
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        mm.dispatch(&ctx, &mut pass, &bg, m);
                    }
                    enc.copy_buffer_to_buffer(&bufs[3], 0, &staging, 0, bytes);
                    let sub = ctx.queue.submit([enc.finish()]);
                    let raw = ctx.read_mapped(&staging, bytes, sub, "test").unwrap();
                    let c: &[f32] = bytemuck::cast_slice(&raw);
                    for i in 0..m {
                        for col in 0..ldc {
                            let at = i * ldc + col;
                            let want = if (off..off + n).contains(&col) {
                                let j = col - off;
                                let dot: f32 =
                                    (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>()
                                        + bias[j];
                                let y = match act {
                                    Activation::None => dot,
                                    Activation::Relu => dot.max(0.0),
                                    Activation::GeluTanh => gelu(dot),
                                    Activation::Gelu => {
                                        scrub_core::forward::gelu(dot as f64) as f32
                                    }
                                    Activation::Silu => {
                                        let mut v = [dot];
                                        scrub_core::forward::activate(&mut v, ActFn::Silu);
                                        v[0]
                                    }
                                };
                                if accumulate {
                                    c0[at] + y
                                } else if multiply {
                                    c0[at] * y
                                } else {
                                    y
                                }
                            } else {
                                c0[at]
                            };
                            assert!(
                                (c[at] - want).abs() < 1e-5 * want.abs().max(1.0),
                                "{act:?} acc={accumulate} mul={multiply} trans_b={trans_b} {tiling:?} ({i},{col}): {} vs {want}",
                                c[at]
                            );
                        }
                    }
                }
            }
        }
    }

    /// The shader's exact GELU (an erfc approximation; WGSL has no erf) against the CPU's
    /// f64 GELU on a fine grid over [−10, 10]: A = x·e₀ᵀ, B = I, so C[:, 0] = GELU(x).
    #[test]
    fn exact_gelu_is_within_1e_6_of_the_cpu_everywhere() {
        let Some(ctx) = test_context() else { return };
        let m = 20_001usize;
        let xs: Vec<f32> = (0..m).map(|i| -10.0 + i as f32 * 1e-3).collect();
        let a: Vec<f32> = xs.iter().flat_map(|&x| [x, 0.0, 0.0, 0.0]).collect();
        let b: Vec<f32> = (0..16)
            .map(|i| if i % 5 == 0 { 1.0 } else { 0.0 })
            .collect();
        let mut spec = MatmulSpec::plain(4, 4);
        spec.act = Activation::Gelu;
        let mm = Matmul::new(&ctx, spec, m).unwrap();
        let bufs = [
            storage_init(&ctx, "a", &a).unwrap(),
            storage_init(&ctx, "b", &b).unwrap(),
            storage_init(&ctx, "bias", &[0.0f32; 4]).unwrap(),
            storage_init(&ctx, "c", &vec![0.0f32; m * 4]).unwrap(),
        ];
        let counts = counts_uniform(&ctx);
        ctx.queue
            .write_buffer(&counts, 0, bytemuck::cast_slice(&[m as u32, 0, 0, 0]));
        let bg = mm.bind(&ctx, &counts, &bufs[0], &bufs[1], &bufs[2], &bufs[3]);
        let bytes = (m * 16) as u64;
        let staging = readback(&ctx, "c", bytes).unwrap();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            mm.dispatch(&ctx, &mut pass, &bg, m);
        }
        enc.copy_buffer_to_buffer(&bufs[3], 0, &staging, 0, bytes);
        let sub = ctx.queue.submit([enc.finish()]);
        let raw = ctx.read_mapped(&staging, bytes, sub, "test").unwrap();
        let c: &[f32] = bytemuck::cast_slice(&raw);
        let (mut worst, mut at) = (0.0f64, 0.0f32);
        for (i, &x) in xs.iter().enumerate() {
            let err = (c[i * 4] as f64 - scrub_core::forward::gelu(x as f64)).abs();
            if err > worst {
                (worst, at) = (err, x);
            }
        }
        eprintln!("shader GELU: max |error| {worst:.3e} at x = {at}");
        assert!(worst <= 1e-6, "max |error| {worst} at x = {at}");
    }

    #[test]
    fn misaligned_specs_are_rejected() {
        let Some(ctx) = test_context() else { return };
        let mut spec = MatmulSpec::plain(6, 8);
        assert!(Matmul::new(&ctx, spec, 10).is_err());
        spec = MatmulSpec::plain(8, 8);
        spec.c_offset = 4;
        assert!(Matmul::new(&ctx, spec, 10).is_err(), "columns past ldc");
    }
}
