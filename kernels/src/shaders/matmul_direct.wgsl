// Matrix multiply without workgroup memory, for software rasterisers (llvmpipe):
//   C[row, COFF4*4 + col] (+)= act(A[row, :] · B[:, col] + bias[col])
// or, with TRANS_B, the same product with B stored transposed (op(B) = Bᵀ): the backward
// pass's dY·Wᵀ reads a forward weight W in place instead of keeping a transposed copy.
//
// On a CPU "workgroup memory" is ordinary memory, and a barrier is a coroutine switch, so
// tiling through it only adds cost. What does pay is a large per-thread register tile:
// llvmpipe runs 8 invocations in SIMD lanes and performs every non-uniform load lane by
// lane, so the ratio of multiply-adds to loads decides the speed. Each thread loads vec4s
// (one lane-loop fetches four floats) and computes TM rows x TN4*4 columns.
//
// Workgroup size: WG_M * WG_N threads; one workgroup per BM x BN4*4 tile of C, tiles in
// row-major order over a 2-D grid (linear index = wid.x + wid.y * nwg.x).
// Injected constants: M_FIELD (which entry of `counts` is the row count M), K4 = K/4,
// N4 = N/4, LDC4 = row stride of C in vec4s, COFF4 = first column of C in vec4s,
// HAS_BIAS, ACT (0 none, 1 ReLU, 2 tanh-GELU, 3 exact GELU, 4 SiLU), ACCUMULATE (add to C
// instead of overwriting), MULTIPLY (multiply C by the result instead), TRANS_B, TM, TN4,
// WG_M, WG_N. The nonlinearities (`activate`) are appended from activation.wgsl.
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

const BM: u32 = WG_M * TM;
const BN4: u32 = WG_N * TN4;
const TILES_N: u32 = (N4 + BN4 - 1u) / BN4;

@compute @workgroup_size(WG_M * WG_N)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let m = counts[M_FIELD];
    let tile = wid.x + wid.y * nwg.x;
    let tile_m = tile / TILES_N;
    let row0 = tile_m * BM + (lid / WG_N) * TM;
    let col0 = (tile % TILES_N) * BN4 + (lid % WG_N) * TN4;
    if row0 >= m || col0 >= N4 {
        return;
    }
    // Rows and columns past the edge are clamped onto the last valid one: their results
    // are computed but never stored, which keeps the inner loop free of branches.
    var arow: array<u32, TM>;
    for (var i = 0u; i < TM; i++) {
        arow[i] = min(row0 + i, m - 1u) * K4;
    }
    var bcol: array<u32, TN4>;
    for (var j = 0u; j < TN4; j++) {
        bcol[j] = min(col0 + j, N4 - 1u);
    }
    var acc: array<array<vec4<f32>, TN4>, TM>;
    for (var k4 = 0u; k4 < K4; k4++) {
        var av: array<vec4<f32>, TM>;
        for (var i = 0u; i < TM; i++) {
            av[i] = a[arow[i] + k4];
        }
        if TRANS_B {
            // Column vec4 j of C is rows 4·bcol[j] .. +3 of the stored Bᵀ: four vec4s along
            // K, each dotted with A's vec4.
            for (var j = 0u; j < TN4; j++) {
                let at = bcol[j] * 4u * K4 + k4;
                let b0 = b[at];
                let b1 = b[at + K4];
                let b2 = b[at + 2u * K4];
                let b3 = b[at + 3u * K4];
                for (var i = 0u; i < TM; i++) {
                    let x = av[i];
                    acc[i][j] += vec4<f32>(dot(x, b0), dot(x, b1), dot(x, b2), dot(x, b3));
                }
            }
        } else {
            for (var kk = 0u; kk < 4u; kk++) {
                let brow = (k4 * 4u + kk) * N4;
                for (var j = 0u; j < TN4; j++) {
                    let bv = b[brow + bcol[j]];
                    for (var i = 0u; i < TM; i++) {
                        acc[i][j] = fma(vec4<f32>(av[i][kk]), bv, acc[i][j]);
                    }
                }
            }
        }
    }
    for (var i = 0u; i < TM; i++) {
        let row = row0 + i;
        if row >= m {
            break;
        }
        for (var j = 0u; j < TN4; j++) {
            let col = col0 + j;
            if col < N4 {
                var v = acc[i][j];
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
