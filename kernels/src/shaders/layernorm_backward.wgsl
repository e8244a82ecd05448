// Input gradient of the row-wise LayerNorm or RMSNorm of layernorm.wgsl (the CPU's
// scrub_core::gradient::norm::normalize_vjp): with the forward's own statistics of x,
//   x̂ = (x − mean) · inv,  inv = 1/sqrt(var + EPS),  ĝ = dy ⊙ w,
//   dx = inv · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))
// where for RMS the mean is 0 and mean(ĝ) is dropped. The shift b does not enter.
// Padding columns (D..DP4*4) get exactly 0, so dx can feed a matmul or be read back as is.
//
// Workgroup size: 64 threads, one thread per row (rows are short; no barriers, as the
// forward). Workgroups on a 2-D grid (linear index = wid.x + wid.y * nwg.x).
// Injected constants: D = d_model, DP4 = padded d_model / 4, EPS, RMS.
//
// Bindings (group 0):
//   0 counts: uniform vec4<u32>   (rows, seqs, targets, 0); rows = counts.x
//   1 x:      array<vec4<f32>>  [rows, DP4]  the normalisation's input
//   2 ln:     array<vec4<f32>>  [2, DP4]     scale row (then the unused shift row)
//   3 dy:     array<vec4<f32>>  [rows, DP4]  gradient of the output
//   4 dx:     array<vec4<f32>>  [rows, DP4]  gradient of the input, written

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ln: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4<f32>>;

fn live(c: u32) -> vec4<bool> {
    return vec4<u32>(0u, 1u, 2u, 3u) + c * 4u < vec4<u32>(D);
}

fn hsum(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = (wid.x + wid.y * nwg.x) * 64u + lid;
    if r >= counts.x {
        return;
    }
    let base = r * DP4;
    // The statistics exactly as layernorm.wgsl computes them.
    var mean = 0.0;
    if !RMS {
        var sum = vec4<f32>(0.0);
        for (var c = 0u; c < DP4; c++) {
            sum += x[base + c];
        }
        mean = hsum(sum) / f32(D);
    }
    var sq = vec4<f32>(0.0);
    for (var c = 0u; c < DP4; c++) {
        let dev = select(vec4<f32>(0.0), x[base + c] - mean, live(c));
        sq += dev * dev;
    }
    let inv = 1.0 / sqrt(hsum(sq) / f32(D) + EPS);
    var sum_g = vec4<f32>(0.0);
    var sum_gx = vec4<f32>(0.0);
    for (var c = 0u; c < DP4; c++) {
        // w is zero in the padding, so ĝ is too.
        let g = dy[base + c] * ln[c];
        let xhat = select(vec4<f32>(0.0), (x[base + c] - mean) * inv, live(c));
        sum_g += g;
        sum_gx += g * xhat;
    }
    var mean_g = 0.0;
    if !RMS {
        mean_g = hsum(sum_g) / f32(D);
    }
    let mean_gx = hsum(sum_gx) / f32(D);
    for (var c = 0u; c < DP4; c++) {
        let g = dy[base + c] * ln[c];
        let xhat = (x[base + c] - mean) * inv;
        let v = inv * (g - mean_g - xhat * mean_gx);
        dx[base + c] = select(vec4<f32>(0.0), v, live(c));
    }
}
