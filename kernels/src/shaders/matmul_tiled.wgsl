// Tiled matrix multiply for real GPUs:
//   C[row, COFF4*4 + col] (+)= act(A[row, :] · B[:, col] + bias[col])
// or, with TRANS_B, the same product with B stored transposed (as in matmul_direct.wgsl).
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
// in matmul_direct.wgsl), TRANS_B, BM, BN, BK (multiples of 4), TM, TN (multiples of 4),
// WG_M, WG_N. A transposed B is stored into workgroup memory in the same [k][n] layout as a
// plain one (scattered like A), so the inner loop is the same for both. The nonlinearities
// (`activate`) are appended from activation.wgsl.
//
// Bindings (group 0):
//   0 counts: uniform vec4<u32>        (rows, seqs, targets, 0); M = counts[M_FIELD]
//   1 a:      array<vec4<f32>>  [M, K4]   row-major, K padded to a multiple of 4 with zeros
//   2 b:      array<vec4<f32>>  [K4*4, N4] row-major; with TRANS_B [N4*4, K4] row-major
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

// Vec4 `e` of one K step's B tile (the step's first K index is k0).
fn load_b(e: u32, k0: u32, n40: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if TRANS_B {
        let n = n40 * 4u + e / BK4;
        let k4 = k0 / 4u + e % BK4;
        if e < BN * BK4 && n < N4 * 4u && k4 < K4 {
            v = b[n * K4 + k4];
        }
    } else {
        let k = k0 + e / BN4;
        let n4 = n40 + e % BN4;
        if e < BK * BN4 && k < K4 * 4u && n4 < N4 {
            v = b[k * N4 + n4];
        }
    }
    return v;
}

// Stores what `load_b` loaded as vec4 `e` into the tile buffer whose first row is `base`.
fn store_b(e: u32, base: u32, v: vec4<f32>) {
    if TRANS_B {
        if e < BN * BK4 {
            let n = e / BK4;
            let k = base + (e % BK4) * 4u;
            b_tile[k][n / 4u][n % 4u] = v.x;
            b_tile[k + 1u][n / 4u][n % 4u] = v.y;
            b_tile[k + 2u][n / 4u][n % 4u] = v.z;
            b_tile[k + 3u][n / 4u][n % 4u] = v.w;
        }
    } else if e < BK * BN4 {
        b_tile[base + e / BN4][e % BN4] = v;
    }
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
        pb[i] = load_b(lid + i * THREADS, 0u, n40);
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
        store_b(lid + i * THREADS, 0u, pb[i]);
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
                pb[i] = load_b(lid + i * THREADS, (step + 1u) * BK, n40);
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
                store_b(lid + i * THREADS, nxt, pb[i]);
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
