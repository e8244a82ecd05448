// Tiled matrix multiply for real GPUs:
//   C[row, COFF4*4 + col] (+)= act(A[row, :] · B[:, col] + bias[col])
//
// Classic SGEMM structure: a workgroup owns a BM x BN tile of C; K is walked in steps of BK
// through two workgroup-memory buffers (the next step's global loads are issued into
// registers before the current step's arithmetic, so one barrier per step suffices); each
// thread accumulates a TM x TN register tile from vec4 reads of workgroup memory.
// A is stored transposed in workgroup memory so a thread's TM rows are TM/4 vec4 reads.
// A thread's rows and columns are interleaved with stride WG_M*4 / WG_N*4 rather than
// contiguous, so neighbouring threads read neighbouring vec4s (no bank conflicts) and
// write neighbouring vec4s of C (coalesced stores).
//
// Workgroup size: WG_M * WG_N threads (WG_M = BM/TM, WG_N = BN/TN); one workgroup per tile,
// tiles in row-major order over a 2-D grid (linear index = wid.x + wid.y * nwg.x).
// Injected constants: M_FIELD, K4, N4, LDC4, COFF4, HAS_BIAS, ACT, ACCUMULATE, MULTIPLY (as
// in matmul_direct.wgsl), BM, BN, BK (multiples of 4), TM, TN (multiples of 4), WG_M, WG_N.
//
// Bindings (group 0):
//   0 counts: uniform vec4<u32>        (rows, seqs, targets, 0); M = counts[M_FIELD]
//   1 a:      array<vec4<f32>>  [M, K4]   row-major, K padded to a multiple of 4 with zeros
//   2 b:      array<vec4<f32>>  [K4*4, N4] row-major
//   3 bias:   array<vec4<f32>>  [N4]      (read only when HAS_BIAS)
//   4 c:      array<vec4<f32>>  [M, LDC4] read-write

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c: array<vec4<f32>>;

const THREADS: u32 = WG_M * WG_N;
const BM4: u32 = BM / 4u;
const BN4: u32 = BN / 4u;
const BK4: u32 = BK / 4u;
const TM4: u32 = TM / 4u;
const TN4: u32 = TN / 4u;
const TILES_N: u32 = (N4 + BN4 - 1u) / BN4;
const K_STEPS: u32 = (K4 + BK4 - 1u) / BK4;
// vec4 global loads per thread per K step.
const A_LOADS: u32 = (BM * BK4 + THREADS - 1u) / THREADS;
const B_LOADS: u32 = (BK * BN4 + THREADS - 1u) / THREADS;

var<workgroup> a_tile: array<array<vec4<f32>, BM4>, 2u * BK>;
var<workgroup> b_tile: array<array<vec4<f32>, BN4>, 2u * BK>;

fn activate(v: vec4<f32>) -> vec4<f32> {
    if ACT == 1u {
        return max(v, vec4<f32>(0.0));
    }
    if ACT == 2u {
        // Clamped so drivers computing tanh as (e^2x - 1)/(e^2x + 1) never see inf/inf.
        let u = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0));
        return 0.5 * v * (1.0 + tanh(u));
    }
    if ACT == 3u {
        return gelu_erf(v);
    }
    if ACT == 4u {
        // SiLU; e^(−x) overflowing to inf for x < −88 gives x/inf = −0, the limit.
        return v / (1.0 + exp(-v));
    }
    return v;
}

// Exact GELU, as in matmul_direct.wgsl (which explains the erfc approximation).
fn gelu_erf(v: vec4<f32>) -> vec4<f32> {
    let z = abs(v) * 0.7071067811865476;
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = vec4<f32>(0.17087277);
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    // erfc(|z|) / 2; exp of a large negative argument is 0, which is the right limit.
    let half_erfc = 0.5 * t * exp(p - z * z);
    let phi = select(1.0 - half_erfc, half_erfc, v < vec4<f32>(0.0));
    return v * phi;
}

@compute @workgroup_size(THREADS)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m = counts[M_FIELD];
    let tile = wid.x + wid.y * nwg.x;
    let m0 = (tile / TILES_N) * BM;
    let n40 = (tile % TILES_N) * BN4;
    // Uniform per workgroup, so returning here cannot split a barrier.
    if m0 >= m {
        return;
    }
    let tx = lid % WG_N;
    let ty = lid / WG_N;

    var pa: array<vec4<f32>, A_LOADS>;
    var pb: array<vec4<f32>, B_LOADS>;

    // Step 0's tile goes straight to buffer 0.
    for (var i = 0u; i < A_LOADS; i++) {
        let e = lid + i * THREADS;
        let row = m0 + e / BK4;
        let k4 = e % BK4;
        var v = vec4<f32>(0.0);
        if e < BM * BK4 && row < m && k4 < K4 {
            v = a[row * K4 + k4];
        }
        pa[i] = v;
    }
    for (var i = 0u; i < B_LOADS; i++) {
        let e = lid + i * THREADS;
        let k = e / BN4;
        let n4 = n40 + e % BN4;
        var v = vec4<f32>(0.0);
        if e < BK * BN4 && k < K4 * 4u && n4 < N4 {
            v = b[k * N4 + n4];
        }
        pb[i] = v;
    }
    for (var i = 0u; i < A_LOADS; i++) {
        let e = lid + i * THREADS;
        if e < BM * BK4 {
            let r = e / BK4;
            let k = (e % BK4) * 4u;
            a_tile[k][r / 4u][r % 4u] = pa[i].x;
            a_tile[k + 1u][r / 4u][r % 4u] = pa[i].y;
            a_tile[k + 2u][r / 4u][r % 4u] = pa[i].z;
            a_tile[k + 3u][r / 4u][r % 4u] = pa[i].w;
        }
    }
    for (var i = 0u; i < B_LOADS; i++) {
        let e = lid + i * THREADS;
        if e < BK * BN4 {
            b_tile[e / BN4][e % BN4] = pb[i];
        }
    }
    workgroupBarrier();

    var acc: array<array<vec4<f32>, TN4>, TM>;
    for (var step = 0u; step < K_STEPS; step++) {
        let cur = (step % 2u) * BK;
        let has_next = step + 1u < K_STEPS;
        if has_next {
            let kbase4 = (step + 1u) * BK4;
            for (var i = 0u; i < A_LOADS; i++) {
                let e = lid + i * THREADS;
                let row = m0 + e / BK4;
                let k4 = kbase4 + e % BK4;
                var v = vec4<f32>(0.0);
                if e < BM * BK4 && row < m && k4 < K4 {
                    v = a[row * K4 + k4];
                }
                pa[i] = v;
            }
            for (var i = 0u; i < B_LOADS; i++) {
                let e = lid + i * THREADS;
                let k = (step + 1u) * BK + e / BN4;
                let n4 = n40 + e % BN4;
                var v = vec4<f32>(0.0);
                if e < BK * BN4 && k < K4 * 4u && n4 < N4 {
                    v = b[k * N4 + n4];
                }
                pb[i] = v;
            }
        }
        for (var k = 0u; k < BK; k++) {
            var af: array<vec4<f32>, TM4>;
            var bf: array<vec4<f32>, TN4>;
            for (var g = 0u; g < TM4; g++) {
                af[g] = a_tile[cur + k][ty + g * WG_M];
            }
            for (var h = 0u; h < TN4; h++) {
                bf[h] = b_tile[cur + k][tx + h * WG_N];
            }
            for (var g = 0u; g < TM4; g++) {
                for (var r = 0u; r < 4u; r++) {
                    let av = vec4<f32>(af[g][r]);
                    for (var h = 0u; h < TN4; h++) {
                        acc[g * 4u + r][h] = fma(av, bf[h], acc[g * 4u + r][h]);
                    }
                }
            }
        }
        if has_next {
            let nxt = BK - cur;
            for (var i = 0u; i < A_LOADS; i++) {
                let e = lid + i * THREADS;
                if e < BM * BK4 {
                    let r = e / BK4;
                    let k = nxt + (e % BK4) * 4u;
                    a_tile[k][r / 4u][r % 4u] = pa[i].x;
                    a_tile[k + 1u][r / 4u][r % 4u] = pa[i].y;
                    a_tile[k + 2u][r / 4u][r % 4u] = pa[i].z;
                    a_tile[k + 3u][r / 4u][r % 4u] = pa[i].w;
                }
            }
            for (var i = 0u; i < B_LOADS; i++) {
                let e = lid + i * THREADS;
                if e < BK * BN4 {
                    b_tile[nxt + e / BN4][e % BN4] = pb[i];
                }
            }
        }
        workgroupBarrier();
    }

    for (var g = 0u; g < TM4; g++) {
        for (var r = 0u; r < 4u; r++) {
            let row = m0 + (ty + g * WG_M) * 4u + r;
            if row < m {
                for (var h = 0u; h < TN4; h++) {
                    let col = n40 + tx + h * WG_N;
                    if col < N4 {
                        var v = acc[g * 4u + r][h];
                        if HAS_BIAS {
                            v += bias[col];
                        }
                        v = activate(v);
                        let at = row * LDC4 + COFF4 + col;
                        if ACCUMULATE {
                            v += c[at];
                        }
                        if MULTIPLY {
                            v *= c[at];
                        }
                        c[at] = v;
                    }
                }
            }
        }
    }
}
