// Row-wise LayerNorm (biased variance, as TransformerLens) or RMSNorm, optionally gathering
// rows and optionally also writing the shortformer query/key input:
//   out[r, :]     = (x[src] - mean) / sqrt(var + EPS) * w + b     (x[src] itself if !HAS_LN)
// where for RMS the mean is 0 and var is mean(x²) (b is then a zero row), so
// out = x / sqrt(mean(x²) + EPS) * w as Hugging Face's LlamaRMSNorm.
//   out_pos[r, :] = out[r, :] + W_pos[position[r], :]             (only when ADD_POS)
// where src = gather[r] when GATHER, else r. Padding columns (D..DP4*4) stay zero because
// w, b and W_pos are zero there, and they are masked out of the variance.
//
// Workgroup size: 64 threads, one thread per row (d_model is small, so a row is a short
// serial loop; this keeps the kernel free of barriers, which the software rasteriser
// handles slowly). Workgroups on a 2-D grid (linear index = wid.x + wid.y * nwg.x).
// Injected constants: M_FIELD (count of rows to produce), D = d_model, DP4 = padded
// d_model / 4, EPS, HAS_LN, RMS, ADD_POS, GATHER.
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0); rows produced = counts[M_FIELD]
//   1 x:       array<vec4<f32>>  [*, DP4]  input residual stream
//   2 ln:      array<vec4<f32>>  [2, DP4]  scale row then shift row (unused if !HAS_LN)
//   3 rowinfo: array<vec2<u32>>  [rows]    (token, position), read when ADD_POS
//   4 w_pos:   array<vec4<f32>>  [n_ctx, DP4], read when ADD_POS
//   5 gather:  array<u32>        [count]   source rows, read when GATHER
//   6 out:     array<vec4<f32>>  [count, DP4] written
//   7 out_pos: array<vec4<f32>>  [count, DP4] written when ADD_POS

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ln: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> rowinfo: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read> w_pos: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> gather: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out_pos: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = (wid.x + wid.y * nwg.x) * 64u + lid;
    if r >= counts[M_FIELD] {
        return;
    }
    var src = r;
    if GATHER {
        src = gather[r];
    }
    let base = src * DP4;
    var mean = 0.0;
    var inv = 1.0;
    if HAS_LN {
        var sum = vec4<f32>(0.0);
        for (var c = 0u; c < DP4; c++) {
            sum += x[base + c];
        }
        if !RMS {
            mean = (sum.x + sum.y + sum.z + sum.w) / f32(D);
        }
        var sq = vec4<f32>(0.0);
        for (var c = 0u; c < DP4; c++) {
            let lane = vec4<u32>(0u, 1u, 2u, 3u) + c * 4u;
            let dev = select(vec4<f32>(0.0), x[base + c] - mean, lane < vec4<u32>(D));
            sq += dev * dev;
        }
        let var_ = (sq.x + sq.y + sq.z + sq.w) / f32(D);
        inv = 1.0 / sqrt(var_ + EPS);
    }
    var pos_base = 0u;
    if ADD_POS {
        pos_base = rowinfo[r].y * DP4;
    }
    for (var c = 0u; c < DP4; c++) {
        var v = x[base + c];
        if HAS_LN {
            v = (v - mean) * inv * ln[c] + ln[DP4 + c];
        }
        out[r * DP4 + c] = v;
        if ADD_POS {
            out_pos[r * DP4 + c] = v + w_pos[pos_base + c];
        }
    }
}
